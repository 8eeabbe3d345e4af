"""The Experience page in Chromium: its figures equal the published experience_daily, summed the same way, its chart
shows the metric and breakdown chosen, and a channel filter changes the figures to that channel's."""

from __future__ import annotations

import time

import pandas as pd
from playwright.sync_api import Page

from loop.publish.reader import run_query
from loop.settings import Settings

from .conftest import LOAD_LIMIT_SECONDS, open_page, pick, rerun_done, screenshot


def published_by(settings: Settings, column: str, *, channel: str | None = None) -> pd.DataFrame:
    """Sessions, converted and error sessions of experience_daily by ``column`` (one channel's, if named)."""
    result = run_query(
        settings,
        f"select {column} as label, session_date, channel, sessions, converted_sessions, error_sessions "
        "from experience_daily",
        limit=100_000,
    )
    rows = pd.DataFrame(result.rows, columns=result.columns)
    if channel is not None:
        rows = rows[rows["channel"] == channel]
    summed = rows.groupby("label")[["sessions", "converted_sessions", "error_sessions"]].sum()
    return summed.sort_index()


def shown_table(page: Page, key: str) -> pd.DataFrame:
    """The table (Markdown) in the container keyed ``key``: its header and rows as text."""
    table = page.locator(f".st-key-{key} table")
    header = [cell.inner_text().strip() for cell in table.locator("thead th").all()]
    rows = [
        [cell.inner_text().strip() for cell in row.locator("th, td").all()] for row in table.locator("tbody tr").all()
    ]
    return pd.DataFrame(rows, columns=header)


def choose(page: Page, breakdown: str) -> None:
    """Pick what the charts and the table break the figures down by."""
    page.locator(".st-key-experience-breakdown").get_by_text(breakdown, exact=True).click()
    rerun_done(page)


def choose_metric(page: Page, metric: str) -> None:
    """Pick the metric the chart shows."""
    page.locator(".st-key-experience-metric").get_by_text(metric, exact=True).click()
    rerun_done(page)


def chart_axes(page: Page) -> list[str]:
    """What the chart's axes say (Vega's own descriptions of its SVG axes: title, scale and values)."""
    chart = page.locator("[data-testid='stVegaLiteChart']")
    assert chart.count() == 1  # one chart at a time
    return [
        str(label)
        for label in chart.locator("[aria-label*='axis titled']").evaluate_all(
            "axes => axes.map(axis => axis.getAttribute('aria-label'))"
        )
    ]


def check_figures(shown: pd.DataFrame, expected: pd.DataFrame) -> None:
    shown = shown.set_index(shown.columns[0]).sort_index()
    assert list(shown.index) == [str(label) for label in expected.index]
    assert [int(v) for v in shown["Sessions"]] == [int(v) for v in expected["sessions"]]
    assert [int(v) for v in shown["Converted sessions"]] == [int(v) for v in expected["converted_sessions"]]
    assert [int(v) for v in shown["Sessions with an error"]] == [int(v) for v in expected["error_sessions"]]
    rates = expected["converted_sessions"] / expected["sessions"]
    assert list(shown["Conversion rate"]) == [f"{100 * r:.2f}%" for r in rates]
    errors = expected["error_sessions"] / expected["sessions"]
    assert list(shown["Error rate"]) == [f"{100 * r:.2f}%" for r in errors]


def test_experience_page_shows_the_published_figures_and_filters_by_channel(
    page: Page, ui_url: str, ui_settings: Settings
) -> None:
    open_page(page, ui_url, "experience")  # warm-up: the page's first run imports its libraries and fills caches
    started = time.monotonic()
    open_page(page, ui_url, "experience")
    page.locator(".st-key-experience-by-day table").wait_for()
    seconds = time.monotonic() - started
    print(f"experience loaded in {seconds:.2f} s")
    assert seconds < LOAD_LIMIT_SECONDS
    assert "experience_daily" in page.locator(".st-key-page-header").inner_text()

    by_day = published_by(ui_settings, "cast(session_date as varchar)")
    check_figures(shown_table(page, "experience-by-day"), by_day)
    totals = page.locator(".st-key-experience-totals").inner_text()
    assert f"{int(by_day['sessions'].sum()):,}" in totals
    screenshot(page, "experience")
    axes = chart_axes(page)  # sessions by day by default
    assert any(axis.startswith("X-axis titled 'Day' for a time scale") for axis in axes), axes
    assert any(axis.startswith("Y-axis titled 'Sessions'") for axis in axes), axes

    choose(page, "Channel")
    by_channel = published_by(ui_settings, "coalesce(channel, '(unknown)')")
    check_figures(shown_table(page, "experience-by-channel"), by_channel)
    choose_metric(page, "Error rate (%)")
    axes = chart_axes(page)
    assert any(
        axis.startswith(f"X-axis titled 'Channel' for a discrete scale with {len(by_channel)} values") for axis in axes
    ), axes
    assert any(axis.startswith("Y-axis titled 'Error rate (%)'") for axis in axes), axes
    check_figures(shown_table(page, "experience-by-channel"), by_channel)  # the table keeps every metric

    # Keep one channel: every table now shows that channel's sessions only.
    channel = str(by_channel["sessions"].idxmax())
    pick(page, "Channel", channel)
    rerun_done(page)
    only = published_by(ui_settings, "cast(session_date as varchar)", channel=channel)
    assert only["sessions"].sum() < by_day["sessions"].sum()
    choose(page, "Day")
    check_figures(shown_table(page, "experience-by-day"), only)
    choose(page, "Channel")
    shown = shown_table(page, "experience-by-channel")
    assert list(shown.iloc[:, 0]) == [channel]
    assert f"{int(only['sessions'].sum()):,}" in page.locator(".st-key-experience-totals").inner_text()
