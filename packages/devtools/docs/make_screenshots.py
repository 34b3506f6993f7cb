"""Regenerate the README's screenshots: the inspector on a fresh ``atomiton demo`` run.

    uv run packages/devtools/docs/make_screenshots.py

Runs the demo in a temporary data folder, serves its saved run (``devtools serve --last``),
opens it in Debian's Chromium through Playwright, selects an atom write (its diff shows below the
timeline) and saves ``inspector-stores.jpg`` and ``inspector-timeline.jpg`` beside this file
(JPEG, to keep them small).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Run the demo, serve its run, take the screenshots."""
    chromium = os.environ.get("ATOMITON_TEST_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Chromium is not installed: apt-get install chromium")
    atomiton = [sys.executable, "-m", "atomiton.devtools._cli"]
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "ATOMITON_DATA_DIR": data}
        subprocess.run([*atomiton, "demo"], env=env, check=True, capture_output=True)
        serve = [*atomiton, "devtools", "serve", "--last", "--port", "0", "--for", "60"]
        with subprocess.Popen(serve, env=env, stdout=subprocess.PIPE, text=True) as server:
            assert server.stdout is not None
            url = next(line.split()[1] for line in server.stdout if line.startswith("inspector:"))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, headless=True, args=["--no-sandbox"]
                )
                page = browser.new_page(viewport={"width": 1200, "height": 560})
                page.goto(url)
                page.get_by_test_id("atom-value-ui-crashes").wait_for()
                page.screenshot(path=HERE / "inspector-stores.jpg", type="jpeg", quality=55)
                page.set_viewport_size({"width": 1200, "height": 1400})
                atoms = page.locator("[data-testid^=timeline-entry-][data-kind=atom]")
                atoms.nth(atoms.count() - 3).click()
                page.get_by_test_id("diff").wait_for()
                timeline = page.locator("section.wide")
                timeline.screenshot(path=HERE / "inspector-timeline.jpg", type="jpeg", quality=55)
                browser.close()
            server.terminate()


if __name__ == "__main__":
    main()
