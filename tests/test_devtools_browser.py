"""The web inspector end to end in a real headless Chromium (Debian's, driven by Playwright).

A small app (an atom store, an entity client, an event bus and thread workers) runs in this
process with DevTools serving the inspector; the browser must show its values live, restore the
store when a timeline entry is clicked, filter the event stream and show job progress.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from atomiton.devtools import DevTools
from atomiton.events import EventBus
from atomiton.execution import ThreadWorkers, current_job
from atomiton.store import atom, computed, create_client, create_store

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


@pytest.fixture
def page(browser: Browser, app: App) -> Iterator[Page]:
    server = app.devtools.serve(port=0)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.url)
    expect(page.get_by_test_id("status")).to_contain_text("live")
    yield page
    context.close()


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
