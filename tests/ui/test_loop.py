"""The Loop page in Chromium: audience sizes and holdouts equal the published audiences, and the kind-of-action
filter keeps exactly the published actions and outcomes of that kind."""

from __future__ import annotations

import time

import pandas as pd
from playwright.sync_api import Page

from loop.settings import Settings

from .conftest import LOAD_LIMIT_SECONDS, open_page, pick, published, rerun_done, screenshot


def test_loop_page_shows_the_published_audiences_and_filters_actions_by_kind(
    page: Page, ui_url: str, ui_settings: Settings
) -> None:
    open_page(page, ui_url, "loop")  # warm-up
    started = time.monotonic()
    open_page(page, ui_url, "loop")
    page.locator(".st-key-loop-audiences table").wait_for()
    seconds = time.monotonic() - started
    print(f"loop loaded in {seconds:.2f} s")
    assert seconds < LOAD_LIMIT_SECONDS
    assert "action_outcomes" in page.locator(".st-key-page-header").inner_text()

    audiences = published(
        ui_settings,
        "select audience_id, members, holdout_members, exported_members from audiences "
        "order by members desc, audience_id",
    )
    table = page.locator(".st-key-loop-audiences table")
    columns = [cell.inner_text().strip() for cell in table.locator("thead th").all()]
    rows = [
        [cell.inner_text().strip() for cell in row.locator("th, td").all()] for row in table.locator("tbody tr").all()
    ]
    shown = pd.DataFrame(rows, columns=columns)
    assert list(shown.iloc[:, 0]) == list(audiences["audience_id"])
    for column in ("members", "holdout_members", "exported_members"):
        assert [int(v) for v in shown[column]] == [int(v) for v in audiences[column]], column

    screenshot(page, "loop")

    open_page(page, ui_url, "loop?section=actions")  # each section has its address
    actions = published(ui_settings, "select action_id, action_kind from actions")
    outcomes = published(ui_settings, "select action_id, action_kind from action_outcomes")
    assert page.locator(".st-key-loop-actions").inner_text().startswith(f"Actions taken: {len(actions)}")
    assert page.locator(".st-key-loop-outcomes").inner_text().startswith(f"Outcomes shown: {len(outcomes)}")
    screenshot(page, "loop_actions")

    pick(page, "Kind of action", "signal")
    rerun_done(page)
    signals = int((actions["action_kind"] == "signal").sum())
    signal_outcomes = int((outcomes["action_kind"] == "signal").sum())
    assert 0 < signals < len(actions)
    assert page.locator(".st-key-loop-actions").inner_text().startswith(f"Actions taken: {signals}")
    assert page.locator(".st-key-loop-outcomes").inner_text().startswith(f"Outcomes shown: {signal_outcomes}")
