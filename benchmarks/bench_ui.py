"""Benchmark: how long each page of `loop ui` takes to load in a real browser (the aim is under 2 s on the sample).

Not a test: it prints figures. Run it on a quiet machine after `make demo` (or against any data directory):

    .venv/bin/python benchmarks/bench_ui.py                     # the data directory of Settings() (./.loop)
    LOOP_DATA_DIR=/path/to/data .venv/bin/python benchmarks/bench_ui.py --loads 10
    .venv/bin/python benchmarks/bench_ui.py --pages experience scorecard     # only these pages

It starts the app on a free port of 127.0.0.1 (as `loop ui` does), drives Debian's Chromium headless with
Playwright, loads every page once to warm the app up, then ``--loads`` times each in a fresh browser context, timing
from navigation until Streamlit has run the page to its end and drawn every table and chart. It prints the median,
best and worst seconds per page.
"""

from __future__ import annotations

import argparse
import statistics
import time

from playwright.sync_api import Page, sync_playwright

from loop.settings import Settings
from loop.ui import server

PAGES = {
    "scorecard": "",
    "experience": "experience",
    "product": "product",
    "feedback": "product?section=feedback",
    "loop": "loop",
    "actions": "loop?section=actions",
    "operations": "operations",
}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _load(page: Page, url: str) -> float:
    started = time.monotonic()
    page.goto(url)
    page.wait_for_selector(".st-key-page-header", state="visible", timeout=60_000)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=stSkeleton]')", timeout=60_000)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="timed loads per page (after one warm-up load)")
    parser.add_argument(
        "--pages", nargs="+", choices=list(PAGES), default=list(PAGES), metavar="PAGE", help="the pages to time (all)"
    )
    args = parser.parse_args()
    pages = {name: PAGES[name] for name in args.pages}
    settings = Settings()
    port = server.free_port()
    process = server.start(settings, port)
    try:
        base = server.url(port)
        server.wait_ready(base, timeout=90, process=process)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            warm = browser.new_page()
            for path in pages.values():
                _load(warm, f"{base}/{path}")
            print(f"loop ui on {settings.root}: {args.loads} loads per page after a warm-up")
            for name, path in pages.items():
                times = []
                for _ in range(args.loads):
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    times.append(_load(context.new_page(), f"{base}/{path}"))
                    context.close()
                verdict = "under 2 s" if statistics.median(times) < 2 else "OVER 2 s"
                print(
                    f"{name:<11} median {statistics.median(times):.2f} s  best {min(times):.2f} s  "
                    f"worst {max(times):.2f} s  ({verdict})"
                )
            browser.close()
    finally:
        server.stop(process)


if __name__ == "__main__":
    main()
