"""Which errors of the PostgreSQL and Redis drivers are transient (worth retrying).

The drivers are optional: an exception can only come from a driver that is already imported, so
``sys.modules`` is consulted and nothing is ever imported here.
"""

from __future__ import annotations

import sys

#: PostgreSQL SQLSTATEs worth retrying: connection exceptions (class 08), transaction rollbacks
#: (class 40: serialization failure 40001, deadlock 40P01), query canceled by a timeout (57014),
#: administrator / crash shutdown and "cannot connect now" (57P01-57P03), lock not available
#: (55P03) and too many connections (53300).
POSTGRES_TRANSIENT_STATES = frozenset({"57014", "57P01", "57P02", "57P03", "55P03", "53300"})
POSTGRES_TRANSIENT_CLASSES = frozenset({"08", "40"})

#: Redis error replies worth retrying: a script is running (BUSY), the data set is loading, a
#: replica is read-only during a failover, the primary is down, or a cluster asks to try again.
REDIS_TRANSIENT_REPLIES = ("BUSY ", "LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN")


def is_server_transient(exc: BaseException) -> bool:
    """Tell whether ``exc``, raised by psycopg or redis-py, may pass if the operation is retried.

    Transient: a lost or refused connection, a timeout (socket, pool wait, ``statement_timeout``),
    a serialization failure or deadlock, a server shutting down, Redis ``BUSY``/``LOADING``.
    Not transient: authentication and permission errors, bad SQL, anything else.
    """
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        state = getattr(exc, "sqlstate", None)
        if state is None:
            # No server answer at all: the connection failed, broke or timed out (a refused
            # password is the one connection failure that retrying cannot cure).
            return isinstance(exc, psycopg.OperationalError) and "authentication" not in str(exc)
        return state in POSTGRES_TRANSIENT_STATES or state[:2] in POSTGRES_TRANSIENT_CLASSES
    redis = sys.modules.get("redis.exceptions")
    if redis is not None and isinstance(exc, redis.RedisError):
        if isinstance(exc, redis.AuthenticationError | redis.AuthorizationError):
            return False
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            return True
        return isinstance(exc, redis.ResponseError) and str(exc).startswith(REDIS_TRANSIENT_REPLIES)
    return False
