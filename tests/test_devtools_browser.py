"""The web inspector end to end in a real headless Chromium (Debian's, driven by Playwright).

A small app (an atom store, an entity client, an event bus and thread workers) runs in this
process with DevTools serving the inspector; the browser must show its values live, restore the
store when a timeline entry is clicked, filter the event stream and show job progress. Every page
also collects console errors, uncaught exceptions and failed requests (a missing favicon
included) and the test fails if there was any.
"""

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from atomiton.devtools import DevTools
from atomiton.events import EventBus, connect_bus
from atomiton.execution import ThreadWorkers, current_job
from atomiton.store import StoreHub, atom, computed, create_client, create_store, define_store

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    # chromium_path (atomiton.platform.testing) skips outside CI, fails under CI, when missing.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=ARGS
        )
        yield browser
        browser.close()


class App:
    def __init__(self) -> None:
        self.count = atom(0, name="count")
        self.title = atom("draft", name="title")
        self.doubled = computed(lambda get: get(self.count) * 2, name="doubled")
        self.store = create_store()
        self.bus = EventBus()
        self.client = create_client(events=self.bus)
        self.workers = ThreadWorkers(max_workers=1)
        self.devtools = DevTools()
        self.devtools.attach(self.store, name="app", atoms=[self.doubled])
        self.devtools.attach(self.client, name="entities")
        self.devtools.attach(self.bus, name="events")
        self.devtools.attach(self.workers, name="workers")

    def close(self) -> None:
        self.devtools.close()
        self.workers.shutdown()
        self.client.dispose()


@pytest.fixture
def app() -> Iterator[App]:
    app = App()
    yield app
    app.close()


class Problems:
    """Console errors, page exceptions and failed responses seen by one page."""

    def __init__(self, page: Page) -> None:
        self.seen: list[str] = []
        page.on(
            "console",
            lambda message: (
                self.seen.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: self.seen.append(f"exception: {error}"))
        page.on(
            "response",
            lambda response: (
                self.seen.append(f"HTTP {response.status}: {response.url}")
                if response.status >= 400
                else None
            ),
        )


def open_page(browser: Browser, url: str, **context_options: Any) -> tuple[Page, Problems]:
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = Problems(page)
    page.goto(url)
    expect(page.get_by_test_id("status")).to_contain_text("live")
    return page, problems


@pytest.fixture
def opened(browser: Browser, app: App) -> Iterator[tuple[Page, Problems]]:
    server = app.devtools.serve(port=0)
    page, problems = open_page(browser, server.url)
    yield page, problems
    page.context.close()
    assert problems.seen == []


@pytest.fixture
def page(opened: tuple[Page, Problems]) -> Page:
    return opened[0]


def test_shown_value_follows_app_writes_and_timeline_click_restores(app: App, page: Page) -> None:
    shown = page.get_by_test_id("atom-value-app-count")
    app.store.set(app.count, 1)
    expect(shown).to_have_text("1")
    app.store.set(app.count, 2)
    app.store.set(app.title, "final")
    expect(shown).to_have_text("2")
    expect(page.get_by_test_id("atom-value-app-title")).to_have_text('"final"')

    first_write = app.devtools.timeline.entries("atom")[0]
    assert first_write.data == {"count": 1}
    page.get_by_test_id(f"timeline-entry-{first_write.seq}").click()
    expect(shown).to_have_text("1")
    assert app.store.get(app.count) == 1  # the store itself was restored, not only the page
    assert app.store.get(app.title) == "draft"

    page.get_by_test_id("redo-app").click()
    expect(shown).to_have_text("2")
    assert app.store.get(app.count) == 2


def test_derived_atoms_are_shown_read_only_and_follow_writes_and_restores(
    app: App, page: Page
) -> None:
    doubled = page.get_by_test_id("atom-value-app-doubled")
    expect(doubled).to_have_text("0")
    expect(page.get_by_test_id("atom-derived-app-doubled")).to_have_text("derived")
    expect(page.get_by_test_id("atom-derived-app-count")).to_have_count(0)
    app.store.set(app.count, 21)
    expect(doubled).to_have_text("42")
    page.get_by_test_id("undo-app").click()  # the restore recomputes the derived atom
    expect(doubled).to_have_text("0")
    assert app.store.get(app.doubled) == 0


def _steps(steps: int) -> int:
    job = current_job()
    for n in range(1, steps + 1):
        job.report_progress(n, steps)
    return steps


def test_entities_events_with_filter_and_jobs_are_shown(app: App, page: Page) -> None:
    tasks = app.client.stores.Task
    tasks.add_many([{"title": "alpha"}, {"title": "beta"}])
    expect(page.get_by_test_id("entity-count-Task")).to_have_text("2")
    expect(page.get_by_test_id("entity-Task")).to_contain_text("beta")
    tasks.add_one({"title": "gamma"})
    expect(page.get_by_test_id("entity-count-Task")).to_have_text("3")
    page.get_by_test_id("undo-entities").click()  # the client's last write, really undone
    expect(page.get_by_test_id("entity-count-Task")).to_have_text("2")
    assert sorted(t["title"] for t in tasks.get_all()) == ["alpha", "beta"]

    app.bus.emit("job.done", {"id": 1}, source="test")
    app.bus.emit("user.login", {"name": "ada"}, source="test")
    events = page.get_by_test_id("event")
    expect(events.filter(has_text="user.login")).to_have_count(1)
    page.get_by_test_id("event-filter").fill("job.*")
    expect(events.filter(has_text="user.login")).to_have_count(0)
    expect(events.filter(has_text="job.done")).to_have_count(1)
    for event in events.all():
        assert event.get_attribute("data-type") == "job.done"

    job = app.workers.schedule(_steps, args=(5,), name="five-steps")
    assert job.result(timeout=10) == 5
    row = page.get_by_test_id(f"job-{job.id}")
    expect(row).to_contain_text("succeeded")
    bar: Any = row.locator("progress")
    expect(bar).to_have_attribute("value", "5")
    expect(bar).to_have_attribute("max", "5")


HOSTILE_PAGE = """<!doctype html><title>cute cats</title>
<form id="attack" method="post" enctype="text/plain" action="{action}">
<input name='{{"action":"undo","store":"app","x":"' value='"}}'></form>
<script>document.getElementById("attack").submit()</script>"""


def test_a_hostile_pages_text_plain_form_post_is_refused(browser: Browser, app: App) -> None:
    # A page on another origin auto-submits the CSRF form at the inspector; Chromium sends
    # it with its real Origin and Sec-Fetch-Site headers and the server must refuse it.
    server = app.devtools.serve(port=0)
    app.store.set(app.count, 7)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        action = f"http://127.0.0.1:{server.port}/api/command"
        page.route(
            "http://cats.example/**",
            lambda route: route.fulfill(
                content_type="text/html", body=HOSTILE_PAGE.format(action=action)
            ),
        )
        with page.expect_navigation(url=action):
            page.goto("http://cats.example/")
        expect(page.locator("body")).to_contain_text("cross-site request refused")
    finally:
        context.close()
    assert app.store.get(app.count) == 7
    assert len(app.devtools.history("app")) == 2  # nothing undone, nothing restored


# -- issue 21, part 1: redraws, readable values, layout, paged timeline ----------------------------


def test_slider_jump_redraws_the_values_while_the_slider_keeps_focus(app: App, page: Page) -> None:
    shown = page.get_by_test_id("atom-value-app-count")
    for value in (1, 2, 3):
        app.store.set(app.count, value)
    expect(page.get_by_test_id("position-app")).to_have_text("position 3 of 3")
    slider = page.get_by_test_id("slider-app")
    slider.focus()
    slider.fill("1")  # sets the value and fires change with the slider still focused
    expect(shown).to_have_text("1")
    expect(page.get_by_test_id("position-app")).to_have_text("position 1 of 3")
    assert app.store.get(app.count) == 1
    # A real pointer: press on the slider's left end and release; the redraw follows the release.
    box = slider.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    expect(shown).to_have_text("0")
    expect(page.get_by_test_id("position-app")).to_have_text("position 0 of 3")
    assert app.store.get(app.count) == 0


def test_an_atom_not_yet_written_at_a_jump_shows_its_initial_value(app: App, page: Page) -> None:
    app.store.set(app.count, 1)  # position 1: title never written yet
    app.store.set(app.title, "final")  # position 2
    title = page.get_by_test_id("atom-value-app-title")
    expect(title).to_have_text('"final"')
    app.devtools.jump_to("app", 1)
    expect(page.get_by_test_id("position-app")).to_have_text("position 1 of 2")
    expect(title).to_have_text('"draft"')  # its initial value, not gone from the table
    assert app.store.get(app.title) == "draft"


ULIDS = [f"01J9ZQ4K7M{n:016d}" for n in range(4)]


def test_values_are_readable_iso_times_collapsible_json_and_unwrapped_ulid_keys(
    app: App, page: Page
) -> None:
    start: dict[str, Any] = {"by_id": {u: {"done": n % 2 == 0} for n, u in enumerate(ULIDS)}}
    nested = atom(start, name="index")
    app.store.set(nested, {"by_id": {u: {"done": True} for u in ULIDS}, "deep": {"a": {"b": [1]}}})
    app.client.stores.Task.add_one({"title": "alpha", "meta": {"tags": ["x", "y"]}})

    cell = page.get_by_test_id("entity-Task")
    expect(cell.locator(".time").first).to_have_text(
        # updated_at as ISO 8601 in UTC, not epoch seconds
        re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    )
    value = page.get_by_test_id("atom-value-app-index")
    by_id = value.locator("details").nth(1)  # the top level is open; "by_id" is one level down
    expect(by_id.locator("summary").first).to_contain_text("(4)")
    deep = value.locator("details").nth(2)  # closed ones hold no children until opened
    expect(deep.locator("summary")).to_have_text("{a: {…}} (1)")
    expect(deep).not_to_have_attribute("open", "")
    deep.locator("summary").click()
    expect(deep.locator(".key", has_text="a:")).to_be_visible()
    expect(by_id).not_to_have_attribute("open", "")
    by_id.locator("summary").first.click()
    rows = by_id.locator(":scope > .kids > .row")
    expect(rows).to_have_count(4)
    line = rows.first.locator(".key").bounding_box()
    assert line is not None
    for row in rows.all():  # each ULID key on one line of its own, never wrapped into a blob
        box = row.locator(":scope > .key").bounding_box()
        assert box is not None
        assert box["height"] <= line["height"] * 1.5


@pytest.mark.parametrize("width", [800, 1400, 1920])
def test_no_horizontal_overflow_from_800_to_1920_px(browser: Browser, app: App, width: int) -> None:
    wide = {f"field_{n}": f"a rather long value number {n} " * 3 for n in range(9)}
    app.client.stores.Wide.add_many([{**wide, "nested": {"k": list(range(40))}} for _ in range(3)])
    start: dict[str, Any] = {u: {"title": "x" * 300} for u in ULIDS}
    big = atom(start, name="big")
    app.store.set(big, {u: {"title": "y" * 300} for u in ULIDS})
    app.bus.emit("a.very.long.event.type.name.that.goes.on", {"text": "z" * 500}, source="test")
    server = app.devtools.serve(port=0)
    page, problems = open_page(browser, server.url, viewport={"width": width, "height": 900})
    try:
        expect(page.get_by_test_id("entity-count-Wide")).to_have_text("3")
        expect(page.get_by_test_id("event").filter(has_text="goes.on")).to_have_count(1)
        expect(page.locator("[data-testid^=timeline-entry-]").first).to_be_visible()
        scroll_width, viewport = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert scroll_width <= viewport, f"{scroll_width}px of content in a {viewport}px window"
    finally:
        page.context.close()
    assert problems.seen == []


def test_favicon_is_served(app: App, page: Page) -> None:
    icon = page.request.get(page.url.split("?")[0] + "favicon.ico")
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")


def test_timeline_pages_over_the_whole_ring_with_ms_times_and_filters(browser: Browser) -> None:
    devtools = DevTools(entry_limit=400)
    store = create_store()
    count = atom(0, name="count")
    bus = EventBus()
    devtools.attach(store, name="app")
    devtools.attach(bus, name="events")
    try:
        for n in range(1, 451):  # 451 entries into a ring of 400: the oldest 51 fall off
            store.set(count, n)
        bus.emit("user.login", {"name": "ada"}, source="auth")
        server = devtools.serve(port=0)
        page, problems = open_page(browser, server.url)
        counter = page.get_by_test_id("timeline-count")
        expect(counter).to_contain_text("entries 301\u2013400 of 400 shown")
        expect(counter).to_contain_text("400 kept (ring of 400)")
        entries = page.locator("[data-testid^=timeline-entry-]")
        expect(entries).to_have_count(100)
        expect(entries.first.locator(".muted").first).to_have_text(
            re.compile(r"^\d\d:\d\d:\d\d\.\d{3}$")
        )
        for _ in range(3):
            page.get_by_test_id("timeline-older").click()
        expect(counter).to_contain_text("entries 1\u2013100 of 400 shown")
        oldest = devtools.timeline.entries()[0]
        expect(page.get_by_test_id(f"timeline-entry-{oldest.seq}")).to_contain_text("{count: 52}")
        expect(page.get_by_test_id("timeline-older")).to_be_disabled()
        page.get_by_test_id("timeline-newest").click()
        expect(counter).to_contain_text("of 400 shown")

        page.get_by_test_id("timeline-kind").select_option("event")
        expect(entries).to_have_count(1)
        expect(entries.first).to_contain_text("user.login")
        page.get_by_test_id("timeline-kind").select_option("")
        page.get_by_test_id("timeline-source").select_option("auth")
        expect(entries).to_have_count(1)
        page.get_by_test_id("timeline-source").select_option("")
        page.get_by_test_id("timeline-origin").select_option(label="this process")
        expect(counter).to_contain_text("of 400 shown")
        page.get_by_test_id("timeline-text").fill('"count": 77')
        expect(entries).to_have_count(1)
        expect(entries.first).to_contain_text("{count: 77}")
        page.get_by_test_id("timeline-text").fill("no such text anywhere")
        expect(counter).to_contain_text("nothing matches")
        page.context.close()
        assert problems.seen == []
    finally:
        devtools.close()


# -- issue 21, part 2: diff, action view, edit, pause, export/import, store hub -----------------


def test_an_entry_shows_its_diff_and_a_writable_atom_call_as_the_action(
    app: App, page: Page
) -> None:
    def add(get: Any, set_: Any, n: int, note: str) -> None:
        set_(app.count, get(app.count) + n)
        set_(app.title, note)

    add_to_count = computed(lambda get: get(app.count), write=add, name="add_to_count")
    app.store.set(app.count, 2)
    app.store.set(add_to_count, 5, "bumped")
    action = app.devtools.timeline.entries("atom")[-1]
    entry = page.get_by_test_id(f"timeline-entry-{action.seq}")
    expect(entry).to_contain_text('add_to_count(5, "bumped")')
    entry.click()  # selects it (and jumps there: it is the current point already)
    detail = page.get_by_test_id("detail")
    expect(detail.get_by_test_id("detail-action")).to_have_text('action add_to_count(5, "bumped")')
    count_row = detail.get_by_test_id("diff-count")
    expect(count_row.get_by_test_id("before")).to_have_text("2")
    expect(count_row.get_by_test_id("after")).to_have_text("7")
    title_row = detail.get_by_test_id("diff-title")
    expect(title_row.get_by_test_id("before")).to_have_text('"draft"')
    expect(title_row.get_by_test_id("after")).to_have_text('"bumped"')

    # A nested value: the diff names the leaves that changed, not the whole value twice.
    start: dict[str, Any] = {"theme": "light", "font": {"size": 12, "family": "mono"}}
    prefs = atom(start, name="prefs")
    app.store.set(prefs, {"theme": "dark", "font": {"size": 14, "family": "mono"}, "new": 1})
    nested = app.devtools.timeline.entries("atom")[-1]
    page.get_by_test_id(f"timeline-entry-{nested.seq}").click()
    diff = detail.get_by_test_id("diff")
    expect(diff.locator("tbody tr")).to_have_count(3)
    expect(diff.get_by_test_id("diff-prefs.theme").get_by_test_id("before")).to_have_text('"light"')
    expect(diff.get_by_test_id("diff-prefs.theme").get_by_test_id("after")).to_have_text('"dark"')
    expect(diff.get_by_test_id("diff-prefs.font.size").get_by_test_id("after")).to_have_text("14")
    expect(diff.get_by_test_id("diff-prefs.new").get_by_test_id("before")).to_have_text("—")
    expect(diff.get_by_test_id("diff-prefs.font.family")).to_have_count(0)  # unchanged

    app.client.stores.Task.add_one({"title": "alpha"})
    task_entry = app.devtools.timeline.entries("entity")[-1]
    page.get_by_test_id(f"timeline-entry-{task_entry.seq}").click()
    expect(detail.get_by_test_id("detail-entity")).to_contain_text("Task.add")
    expect(detail.get_by_test_id("detail-strategy")).to_have_text("direct")
    expect(detail.get_by_test_id("detail-entity")).to_contain_text(task_entry.data["ids"][0])
    task_id = task_entry.data["ids"][0]
    # An entity write has a diff too: the new entity against nothing, then field by field.
    expect(detail.get_by_test_id(f"diff-{task_id}").get_by_test_id("before")).to_have_text("—")
    app.client.stores.Task.update_one(task_id, {"title": "beta"}, write_strategy="queue")
    update_entry = app.devtools.timeline.entries("entity")[-1]
    page.get_by_test_id(f"timeline-entry-{update_entry.seq}").click()
    expect(detail.get_by_test_id("detail-strategy")).to_have_text("queue")  # this call's
    title_diff = detail.get_by_test_id(f"diff-{task_id}.title")
    expect(title_diff.get_by_test_id("before")).to_have_text('"alpha"')
    expect(title_diff.get_by_test_id("after")).to_have_text('"beta"')


def test_editing_a_primitive_atom_writes_it_through_the_store(app: App, page: Page) -> None:
    seen: list[int] = []
    app.store.subscribe(app.count, seen.append)
    app.store.set(app.count, 1)
    expect(page.get_by_test_id("atom-value-app-count")).to_have_text("1")
    expect(page.get_by_test_id("edit-app-doubled")).to_have_count(0)  # derived: read-only
    page.get_by_test_id("edit-app-count").click()
    editor = page.get_by_test_id("edit-input-app-count")
    expect(editor).to_be_focused()
    editor.fill("not json")
    editor.press("Enter")
    expect(page.get_by_test_id("status")).to_contain_text("not JSON")
    editor.fill("42")
    editor.press("Enter")
    expect(page.get_by_test_id("atom-value-app-count")).to_have_text("42")
    assert app.store.get(app.count) == 42
    assert seen == [1, 42]  # subscribers saw the edit like any write
    expect(page.get_by_test_id("atom-value-app-doubled")).to_have_text("84")
    last = app.devtools.timeline.entries("atom")[-1]
    assert (last.data, last.before) == ({"count": 42}, {"count": 1})
    page.get_by_test_id("undo-app").click()  # the edit is in the history like any write
    expect(page.get_by_test_id("atom-value-app-count")).to_have_text("1")


def test_pause_stops_recording_until_resume(app: App, page: Page) -> None:
    app.store.set(app.count, 1)
    expect(page.get_by_test_id("position-app")).to_have_text("position 1 of 1")
    page.get_by_test_id("pause").click()
    expect(page.get_by_test_id("status")).to_contain_text("paused")
    expect(page.get_by_test_id("pause")).to_have_text("resume recording")
    recorded = len(app.devtools.timeline)
    app.store.set(app.count, 2)
    app.bus.emit("while.paused", {}, source="test")
    expect(page.get_by_test_id("atom-value-app-count")).to_have_text("2")  # values stay live
    assert len(app.devtools.timeline) == recorded
    expect(page.get_by_test_id("position-app")).to_have_text("position 1 of 1")
    page.get_by_test_id("pause").click()
    expect(page.get_by_test_id("status")).to_contain_text("live")
    app.store.set(app.count, 3)
    expect(page.get_by_test_id("position-app")).to_have_text("position 2 of 2")
    assert len(app.devtools.timeline) == recorded + 1


def test_export_downloads_the_recording_and_import_loads_it_back(
    app: App, opened: tuple[Page, Problems], tmp_path: Any
) -> None:
    page, problems = opened
    app.store.set(app.count, 5)
    app.store.set(app.title, "saved")
    expect(page.get_by_test_id("atom-value-app-count")).to_have_text("5")
    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    exported = json.loads(saved.read_text())
    assert exported["format"] == "atomiton-devtools"
    assert exported["stores"]["app"]["history"][-1]["state"] == {"count": 5, "title": "saved"}

    app.store.set(app.count, 9)
    expect(page.get_by_test_id("atom-value-app-count")).to_have_text("9")
    page.get_by_test_id("import").set_input_files(saved)
    expect(page.get_by_test_id("status")).to_contain_text("live")
    expect(page.get_by_test_id("atom-value-app-count")).to_have_text("5")
    assert app.store.get(app.count) == 5
    assert app.store.get(app.title) == "saved"

    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "something else"}')
    page.get_by_test_id("import").set_input_files(broken)
    expect(page.get_by_test_id("status")).to_contain_text("not a DevTools export")
    # the refused import is the one failed request (and its console line) the page saw
    assert len(problems.seen) == 2
    assert all("400" in problem for problem in problems.seen)
    problems.seen.clear()


def test_the_hub_panel_shows_instances_states_refs_and_errors(app: App, page: Page) -> None:
    def create(store_id: str, hub: StoreHub) -> dict[str, str]:
        if store_id == "broken":
            raise ValueError("board not found")
        return {"id": store_id}

    boards = define_store("boards", create)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def on_loop(make: Any) -> Any:
        async def run() -> Any:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    async def make_hub() -> StoreHub:
        return StoreHub(unused_cache_time=3600)  # a released instance waits an hour

    hub: StoreHub = on_loop(make_hub)
    try:
        expect(page.get_by_test_id("hubs")).to_contain_text("no store hub attached")
        app.devtools.attach(hub, name="boards-hub")

        releases: list[Any] = []

        async def load() -> None:
            releases.append(hub.retain(boards, "b1"))
            releases.append(hub.retain(boards, "b1"))
            await hub.load(boards, "b1")
            with contextlib.suppress(ValueError):
                await hub.load(boards, "broken")

        on_loop(load)
        good = page.get_by_test_id("hub-instance-boards-hub-boards-b1")
        expect(good.get_by_test_id("state")).to_have_text("running")
        expect(good.get_by_test_id("refs")).to_have_text("2")
        bad = page.get_by_test_id("hub-instance-boards-hub-boards-broken")
        expect(bad.get_by_test_id("state")).to_have_text("error")
        expect(bad).to_contain_text("ValueError: board not found")
        page.get_by_test_id("timeline-kind").select_option("hub")
        expect(page.locator("[data-testid^=timeline-entry-]")).to_have_count(2)

        async def release() -> None:
            for done in releases:
                done()

        on_loop(release)
        expect(good.get_by_test_id("refs")).to_have_text("0 · disposing")
        on_loop(hub.dispose)
        expect(page.get_by_test_id("hub-boards-hub")).to_contain_text("disposed")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


# -- issue 21, part 4: one timeline across processes --------------------------------------------

SHARE_CHILD = Path(__file__).with_name("_devtools_share_child.py")


class Child:
    """A real second process running an app that shares its DevTools timeline."""

    def __init__(self, url: str, name: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SHARE_CHILD), url, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = self._line()
        assert ready.startswith("ready "), ready
        self.origin = ready.split(" ", 1)[1]

    def _line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        if command != "quit":
            assert self._line() == "done"

    def close(self) -> None:
        if self.process.poll() is None:
            self.send("quit")
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


def test_one_timeline_across_two_processes_marked_and_filtered_by_origin(
    browser: Browser, app: App, tmp_path: Path
) -> None:
    url = f"sqlite://{tmp_path / 'events.db'}"
    with connect_bus(app.bus, url) as bridge:
        app.devtools.share(app.bus)
        child = Child(url, "worker-ui")
        try:
            server = app.devtools.serve(port=0)
            page, problems = open_page(browser, server.url)
            app.store.set(app.count, 1)
            child.send("set 41")
            child.send("emit order.created")
            entries = page.locator("[data-testid^=timeline-entry-]")
            remote = entries.filter(has_text=child.origin)
            expect(remote).to_have_count(2)  # its atom write and its event, marked with origin
            expect(remote.filter(has_text="worker-ui · count")).to_have_count(1)
            expect(remote.filter(has_text="order.created")).to_have_count(1)
            origins = page.get_by_test_id("timeline-origin")
            origins.select_option(child.origin)
            expect(entries).to_have_count(2)
            origins.select_option(label="this process")
            expect(entries.filter(has_text=child.origin)).to_have_count(0)
            expect(entries.filter(has_text="app · count")).to_have_count(1)
            # the remote write's details: its diff, but no jump (its history is over there)
            origins.select_option(child.origin)
            entries.filter(has_text="worker-ui · count").click()
            detail = page.get_by_test_id("detail")
            expect(detail.get_by_test_id("diff-count").get_by_test_id("after")).to_have_text("41")
            expect(detail).to_contain_text(f"from {child.origin}")
            expect(detail.get_by_test_id("detail-jump")).to_have_count(0)
            assert app.store.get(app.count) == 1  # nothing here was restored
            child.send("job 21")  # its job joins this page's jobs table, marked too
            expect(page.get_by_test_id("jobs")).to_contain_text(f"double · {child.origin}")
            expect(page.get_by_test_id("jobs")).to_contain_text("succeeded")
            page.context.close()
            assert problems.seen == []
        finally:
            child.close()
        assert child.process.returncode == 0
        assert bridge.origin != child.origin


def test_an_imported_stores_entries_show_details_but_never_jump(
    app: App, opened: tuple[Page, Problems]
) -> None:
    page, problems = opened
    with DevTools() as other:
        store = create_store()
        other.attach(store, name="recorded")
        store.set(app.count, 3)
        export = other.export()
    app.devtools.import_(export)  # "recorded" is not attached here: shown read-only
    (entry,) = [e for e in app.devtools.timeline.entries("atom") if e.source == "recorded"]
    expect(page.get_by_test_id("position-recorded")).to_contain_text("position 1 of 1")
    page.get_by_test_id(f"timeline-entry-{entry.seq}").click()
    detail = page.get_by_test_id("detail")
    expect(detail.get_by_test_id("diff-count").get_by_test_id("after")).to_have_text("3")
    expect(detail.get_by_test_id("detail-jump")).to_have_count(0)
    expect(page.get_by_test_id("edit-recorded-count")).to_have_count(0)
    expect(page.get_by_test_id("slider-recorded")).to_be_disabled()
    assert problems.seen == []  # no refused jump was sent
