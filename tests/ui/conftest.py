"""The pages of `loop ui` in a real browser: the app served by :mod:`loop.ui.server` on a free port, on a copy of
the cycle tests' reference run (``tests/cycle_world.py``), driven by Debian's Chromium through Playwright.

``open_page(page, ui_url, path)`` loads a page and waits until Streamlit has finished running it (the page header
is shown and the app's script state is ``notRunning``); it returns the seconds that took. ``screenshot(page, name)``
writes ``docs/screenshots/<name>.png`` for the README. ``pick`` adds an option to a multiselect; ``published`` runs a
query on the published tables through the reader the app uses.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from loop.publish.reader import run_query
from loop.settings import Settings
from loop.ui import server

from .. import cycle_world

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: A page slower than this on the sample, after one warm-up load of the app, is broken whatever the machine is doing.
#: The aim is 2 s (issue 10): `benchmarks/bench_ui.py` measures it on a quiet machine. The suite shares its two cores
#: with dbt builds and cycles, which makes the browser alone take 1-3 s, so a 2 s assertion here would only be flaky.
LOAD_LIMIT_SECONDS = 8.0
#: Playwright's waits (a cold first load imports pandas, altair and DuckDB in the app's process).
WAIT_MS = 30_000

if not CHROMIUM.exists():  # pragma: no cover - the project's set-up installs it
    pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed", allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="session")
def ui_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the reference run's data directory (published datasets and the ops snapshot)."""
    reference = cycle_world.reference(tmp_path_factory)
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui") / "data")
    shutil.copytree(reference.root, settings.root)
    return settings


@pytest.fixture(scope="session")
def ui_url(ui_settings: Settings) -> Iterator[str]:
    """The app served on a free port of 127.0.0.1 (stopped at the end of the session)."""
    port = server.free_port()
    process = server.start(ui_settings, port)
    try:
        base = server.url(port)
        server.wait_ready(base, timeout=90, process=process)
        yield base
    finally:
        server.stop(process)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield launched
        finally:
            launched.close()


_warmed: set[str] = set()


@pytest.fixture
def page(browser: Browser, ui_url: str) -> Iterator[Page]:
    """A fresh browser context (downloads accepted, 1400x1000); the app is warmed up once per session."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    if ui_url not in _warmed:
        open_page(opened, ui_url, "")
        _warmed.add(ui_url)
    try:
        yield opened
    finally:
        context.close()


def wait_idle(page: Page) -> None:
    """Wait until Streamlit is connected, has run the script to its end, shows the page header and has drawn every
    element."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=WAIT_MS)
    page.wait_for_selector(".st-key-page-header", state="visible", timeout=WAIT_MS)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=WAIT_MS)
    page.wait_for_selector("[data-testid='stStatusWidget'] >> text=Running", state="detached", timeout=WAIT_MS)
    # Elements whose code loads on demand (tables, charts) show a skeleton until they are drawn.
    page.wait_for_function("() => !document.querySelector('[data-testid=stSkeleton]')", timeout=WAIT_MS)


def open_page(page: Page, ui_url: str, path: str) -> float:
    """Load ``ui_url/path`` and wait until Streamlit has finished running it; the seconds that took."""
    started = time.monotonic()
    page.goto(f"{ui_url}/{path}")
    wait_idle(page)
    return time.monotonic() - started


def load_seconds(page: Page, ui_url: str, path: str, tries: int = 3) -> float:
    """The fastest of up to ``tries`` loads of a page (stopping at the first one under :data:`LOAD_LIMIT_SECONDS`): a
    machine busy with other work only ever adds time, so the best load is the page's own cost."""
    best = open_page(page, ui_url, path)
    for _ in range(tries - 1):
        if best < LOAD_LIMIT_SECONDS:
            break
        best = min(best, open_page(page, ui_url, path))
    return best


def rerun_done(page: Page) -> None:
    """After a widget change: wait for the rerun it starts to finish."""
    page.wait_for_timeout(150)
    wait_idle(page)


def pick(page: Page, label: str, option: str) -> None:
    """Add ``option`` to the multiselect labelled ``label`` (typed, then chosen from the list) and close it."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.evaluate("element => element.scrollIntoView({block: 'center'})")
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def published(settings: Settings, sql: str) -> pd.DataFrame:
    result = run_query(settings, sql, limit=100_000)
    return pd.DataFrame(result.rows, columns=result.columns)


def header_text(page: Page) -> str:
    return page.locator(".st-key-page-header").inner_text()


def screenshot(page: Page, name: str) -> Path:
    """The whole page as ``docs/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # Streamlit scrolls inside its main section, not the document: grow the viewport to the content's height.
    viewport = page.viewport_size or {"width": 1400, "height": 1000}
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], [data-testid=stMainBlockContainer]')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": viewport["width"], "height": max(viewport["height"], int(height) + 40)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(viewport)
    return path
