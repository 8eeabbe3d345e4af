"""The Operations page in a browser: publications as the manifests say, and the cycles, sources and validations of
the ops snapshot each cycle publishes, which equal the warehouse's ops tables (read here by the test, never by the
page)."""

from __future__ import annotations

import json
from dataclasses import asdict

from playwright.sync_api import Page

from loop import publish
from loop.publish.ops import read_snapshot
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.status import cycle_status

from ..cycle_world import DAYS
from .conftest import LOAD_LIMIT_SECONDS, header_text, load_seconds, screenshot


def table(page: Page, key: str) -> list[list[str]]:
    body = page.locator(f".st-key-{key} tbody tr")
    return [body.nth(i).locator("td, th").all_inner_texts() for i in range(body.count())]


def test_the_snapshot_each_cycle_publishes_equals_the_ops_tables(ui_settings: Settings) -> None:
    snapshot = read_snapshot(ui_settings)
    assert snapshot is not None
    expected = json.loads(json.dumps(asdict(cycle_status(ui_settings, last=14)), default=str))
    assert snapshot["status"]["cycles"] == expected["cycles"]
    assert snapshot["status"]["sources"] == expected["sources"]
    assert snapshot["status"]["validations"] == expected["validations"]
    assert [c["cycle_date"] for c in snapshot["status"]["cycles"]] == [str(day) for day in DAYS]


def test_operations_shows_cycles_sources_validation_and_publications(
    page: Page, ui_url: str, ui_settings: Settings
) -> None:
    seconds = load_seconds(page, ui_url, "operations")
    assert seconds < LOAD_LIMIT_SECONDS, f"operations took {seconds:.2f} s"
    header = header_text(page)
    snapshot = read_snapshot(ui_settings)
    assert snapshot is not None
    status = snapshot["status"]

    published = table(page, "ops-publications")
    assert [row[0] for row in published] == list(PUBLISHED_PILLARS)
    for row in published:
        current = publish.current(ui_settings, row[0])
        assert current is not None
        assert row[1:4] == [str(current.cycle_date), str(current.as_of), current.version]
        assert row[5] == str(current.rows) or row[5] == f"{current.rows:,}"
        assert current.version in header

    cycles = table(page, "ops-cycles")
    assert [(row[0], row[2]) for row in cycles] == [(c["cycle_date"], c["outcome"]) for c in status["cycles"]]
    assert all(row[2] == "success" for row in cycles)

    sources = table(page, "ops-sources")
    assert len(sources) == len(status["sources"])
    for row, source in zip(sources, status["sources"], strict=True):
        assert row[:2] == [source["pillar"], source["source"]]
        assert row[4:7] == [str(source["rows_read"]), str(source["rows_loaded"]), str(source["rows_quarantined"])]
    assert sum(int(s["rows_quarantined"]) for s in status["sources"]) > 0, "the sample plants bad records"

    validations = table(page, "ops-validations")
    assert [(row[0], row[1], row[2]) for row in validations] == [
        (v["cycle_date"], v["pillar"], str(v["success"])) for v in status["validations"]
    ]
    screenshot(page, "operations")
