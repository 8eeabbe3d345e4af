"""The Product page in Chromium: NPS/CSAT with intervals equal the published satisfaction_by_segment, and the
feedback browser's filtered slice (kind and a case-insensitive text search) downloads as the published rows."""

from __future__ import annotations

import time

import pandas as pd
from playwright.sync_api import Page

from loop.settings import Settings

from .conftest import LOAD_LIMIT_SECONDS, open_page, pick, published, rerun_done, screenshot


def one_decimal(value: object) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.1f}"  # type: ignore[arg-type]


def test_product_page_shows_the_published_scores_and_downloads_the_filtered_feedback(
    page: Page, ui_url: str, ui_settings: Settings
) -> None:
    open_page(page, ui_url, "product")  # warm-up
    started = time.monotonic()
    open_page(page, ui_url, "product")
    page.locator(".st-key-product-satisfaction table").wait_for()
    seconds = time.monotonic() - started
    print(f"product loaded in {seconds:.2f} s")
    assert seconds < LOAD_LIMIT_SECONDS
    header = page.locator(".st-key-page-header").inner_text()
    assert "satisfaction_by_segment" in header and "feedback" in header

    scores = published(
        ui_settings,
        "select product_area, product_version, nps, nps_ci_low, nps_ci_high, csat_score, csat_score_ci_low, "
        "csat_score_ci_high from satisfaction_by_segment where segment_level = 'area_version' "
        "order by product_area, product_version",
    )
    table = page.locator(".st-key-product-satisfaction table")
    columns = [cell.inner_text().strip() for cell in table.locator("thead th").all()]
    shown = pd.DataFrame(
        [[cell.inner_text().strip() for cell in row.locator("td").all()] for row in table.locator("tbody tr").all()],
        columns=columns,
    )
    assert list(shown["Area"]) == list(scores["product_area"])
    assert list(shown["Version"]) == list(scores["product_version"])
    for shown_column, column in (
        ("NPS", "nps"),
        ("NPS low", "nps_ci_low"),
        ("NPS high", "nps_ci_high"),
        ("CSAT %", "csat_score"),
        ("CSAT low", "csat_score_ci_low"),
        ("CSAT high", "csat_score_ci_high"),
    ):
        assert list(shown[shown_column]) == [one_decimal(v) for v in scores[column]], shown_column

    screenshot(page, "product")

    # Each section has its address: the feedback browser.
    open_page(page, ui_url, "product?section=feedback")
    feedback = published(ui_settings, "select * from feedback")
    count = page.locator(".st-key-feedback-count")
    assert count.inner_text().startswith(f"{len(feedback)} feedback")
    screenshot(page, "product_feedback")

    # Filter: NPS answers whose text holds a word typed in another case than it is written.
    nps = feedback[feedback["kind"] == "nps"]
    word = max(
        (w.strip(".,!?") for text in nps["scrubbed_text"].dropna() for w in text.split() if len(w.strip(".,!?")) > 3),
        key=lambda w: (sum(w.lower() in str(t).lower() for t in nps["scrubbed_text"]), w),
    )
    expected = nps[nps["scrubbed_text"].str.lower().str.contains(word.lower(), regex=False, na=False)]
    expected = expected.sort_values(["submitted_at", "feedback_id"])
    assert 0 < len(expected) < len(feedback)
    pick(page, "Kind", "nps")
    rerun_done(page)
    search = page.get_by_label("Search the text")
    search.fill(word.upper())
    search.press("Enter")
    rerun_done(page)
    assert count.inner_text().startswith(f"{len(expected)} feedback")

    with page.expect_download() as info:
        page.locator(".st-key-feedback-download button").click()
    downloaded = pd.read_csv(info.value.path(), keep_default_na=False)
    assert list(downloaded["feedback_id"]) == list(expected["feedback_id"])
    assert list(downloaded["scrubbed_text"]) == list(expected["scrubbed_text"])
    assert list(downloaded["customer_id"]) == list(expected["customer_id"])  # the published pseudonyms
    assert list(downloaded.columns) == list(feedback.columns)

    # A search for a LIKE wildcard finds only texts holding it (none here), not every text.
    search.fill("%")
    search.press("Enter")
    rerun_done(page)
    holding = feedback["scrubbed_text"].str.contains("%", regex=False, na=False) & (feedback["kind"] == "nps")
    assert count.inner_text().startswith(f"{int(holding.sum())} feedback")
