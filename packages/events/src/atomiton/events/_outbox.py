"""The bridge's outbox: a bounded queue of encoded events and the one thread that sends them.

``put`` runs on the emitting thread and never touches the network: it appends to a deque and
wakes the sender only when the sender is idle. The sender takes up to ``batch_size`` events from
the head *without removing them*, publishes the batch, and removes it only once the transport
acknowledged it; so a batch in flight still counts as pending (``pending()`` shows it, the
bound includes it) and a failed publish is retried whole, with backoff, until it succeeds or
the outbox is closed. Retrying may store an event twice; receivers dedupe by id.

Idle fast path: when ``put`` finds the outbox empty and healthy and the transport has
``begin_publish`` (see ``_transport.StartsPublish``), the emitting thread hands the event to the
driver itself (NATS: schedules the publish on the driver's loop; Redis: writes the ``XADD`` into
the socket's send buffer) and the sender thread, woken only when the transport says the ack is
there (NATS) or at once (Redis, which reads the reply there), finishes it. That saves
the emitting-thread-to-sender-thread hop on the path of a single event; the emitting thread still
never waits for the network (``begin_publish`` must not), and it is one publish in flight at a
time as before, so emit order and the retry-whole-batch rule hold unchanged: a failed fast-path
publish is retried by the sender thread like any batch.

Overflow policy (drop the newest): when ``max_pending`` events are waiting, ``put`` refuses the
arriving event and the caller reports a BridgeOverflowError for the first refusal of an outage;
further refusals are only counted (``dropped``). When the queue has drained after an overflow,
the sender reports how many were dropped in total. Dropping the newest keeps what receivers get
from this process an unbroken prefix in emit order, followed by a gap, then what came after.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import Literal

from atomiton.events._errors import BridgeOverflowError, TransportError
from atomiton.events._event import Event
from atomiton.events._transport import Finish, Transport, WireEvent

PutResult = Literal["queued", "first_drop", "dropped"]

_FIRST_BACKOFF = 0.05
_MAX_BACKOFF = 1.0


class Outbox:
    """Bounded FIFO of (local event, wire record) pairs and its sender thread.

    Args:
        transport: Where batches go (``publish`` is only called from the sender thread).
        max_pending: How many events may wait (in flight included) before ``put`` refuses.
        batch_size: The most events per ``publish`` call.
        report: Called with background problems (a failed publish, the drop total).
        name: The sender thread's name.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        max_pending: int,
        batch_size: int,
        report: Callable[[Exception], None],
        name: str,
    ) -> None:
        self._transport = transport
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._report = report
        self._queue: deque[tuple[Event, WireEvent]] = deque()
        # Reentrant: a transport may call the fast path's ``done`` from within begin_publish.
        self._changed = threading.Condition(threading.RLock())
        self._is_idle = False
        self._is_closing = False
        self._is_overflowing = False
        self._is_failing = False
        self._dropped_in_outage = 0
        # The idle fast path: begin_publish (emitting thread) and the finish it returned, which
        # the sender thread calls to wait for the acknowledgement of the queue's head.
        self._begin_publish: (
            Callable[[list[WireEvent], Callable[[], None]], Finish | None] | None
        ) = getattr(transport, "begin_publish", None)
        self._started: Finish | None = None
        self.sent = 0
        self.dropped = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, event: Event, wire: WireEvent) -> PutResult:
        """Queue one event for sending, unless the outbox is full or closed (then counted).

        Returns:
            ``"queued"``; ``"first_drop"`` for the first refusal since the outbox last drained
            (the caller reports that one); ``"dropped"`` for the later ones.
        """
        with self._changed:
            if self._is_closing or len(self._queue) >= self._max_pending:
                self.dropped += 1
                self._dropped_in_outage += 1
                if self._is_overflowing:
                    return "dropped"
                self._is_overflowing = True
                return "first_drop"
            self._queue.append((event, wire))
            if self._is_idle:
                self._is_idle = False
                begin = self._begin_publish
                if begin is not None and not self._is_failing and len(self._queue) == 1:
                    try:
                        self._started = begin([wire], self._wake)
                    except Exception:  # the sender publishes it and reports what goes wrong
                        self._started = None
                    if self._started is not None:
                        return "queued"  # the sender wakes when ``done`` says the ack is there
                self._changed.notify_all()
        return "queued"

    def _wake(self) -> None:
        """The fast path's ``done``: the started publish can be finished now (any thread)."""
        with self._changed:
            self._changed.notify_all()

    def pending(self) -> list[Event]:
        """The events not yet acknowledged by the transport (in flight included), oldest first."""
        with self._changed:
            return [event for event, _ in self._queue]

    def pending_count(self) -> int:
        """How many events wait to be acknowledged."""
        return len(self._queue)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event is acknowledged; False if ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while self._queue:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def close(self, timeout: float) -> int:
        """Send what is queued for up to ``timeout`` seconds, then stop the sender.

        Returns:
            How many events were left unsent (counted as dropped; the caller reports them).
        """
        self.flush(timeout)
        with self._changed:
            self._is_closing = True
            left = len(self._queue)
            self._queue.clear()
            self.dropped += left
            self._changed.notify_all()
        self._thread.join(timeout=max(timeout, 1.0))
        return left

    # -- the sender thread ---------------------------------------------------------------------

    def _run(self) -> None:
        backoff = _FIRST_BACKOFF
        while True:
            with self._changed:
                while not self._queue and not self._is_closing:
                    self._is_idle = True
                    self._changed.wait()
                if self._is_closing:
                    return
                started, self._started = self._started, None
                batch = (
                    []
                    if started is not None
                    else [wire for _, wire in islice(self._queue, self._batch_size)]
                )
            try:
                if started is not None:  # put() already sent the head: wait for its ack
                    started()
                else:
                    self._transport.publish(batch)
            except Exception as error:  # any failure of a plugin: report it, keep the events
                self.failures += 1
                if not self._is_failing:  # once per outage, not once per retry
                    self._is_failing = True
                    self._report(_as_transport_error(error, backoff))
                with self._changed:
                    if not self._is_closing:
                        self._changed.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff = _FIRST_BACKOFF
            self._is_failing = False
            self._acknowledge(1 if started is not None else len(batch))

    def _acknowledge(self, count: int) -> None:
        dropped = 0
        with self._changed:
            if self._is_closing:  # close() gave up on the queue meanwhile and counted it
                return
            for _ in range(count):
                self._queue.popleft()
            self.sent += count
            if not self._queue:
                if self._is_overflowing:
                    dropped, self._dropped_in_outage = self._dropped_in_outage, 0
                    self._is_overflowing = False
                self._changed.notify_all()  # flush() waiters
        if dropped:
            self._report(
                BridgeOverflowError(
                    f"{dropped} event(s) were not sent to other processes: the bridge's outbox "
                    f"held its limit of {self._max_pending} unacknowledged events (raise "
                    "max_pending, or check the transport); sending has caught up again"
                )
            )


def _as_transport_error(error: Exception, backoff: float) -> Exception:
    if isinstance(error, TransportError):
        return error
    wrapped = TransportError(
        f"publishing to the transport failed ({type(error).__name__}: {error}); "
        f"the events stay queued and are retried in {backoff:g} s"
    )
    wrapped.__cause__ = error
    return wrapped
