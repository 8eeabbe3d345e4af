"""Publication: versioned Parquet per pillar behind an atomically switched manifest; readers use the manifest."""

from __future__ import annotations

import json
from datetime import date

import pytest

from loop import publish
from loop.errors import LoopError
from loop.settings import Settings
from loop.warehouse import connect


def _scorecard(settings: Settings, campaigns: int) -> None:
    with connect(settings, write=True) as con:
        con.execute(
            "CREATE OR REPLACE TABLE main.campaign_scorecard AS "
            "SELECT 'cmp_' || i AS campaign_id, i AS scorecard_rank FROM range(1, ?) t(i)",
            [campaigns + 1],
        )


def test_publish_writes_parquet_and_manifest(settings: Settings) -> None:
    _scorecard(settings, 3)
    publication = publish.publish(settings, "loop", date(2026, 3, 2), "backfill__2026-03-02T00:00:00+00:00")
    manifest = json.loads((settings.published_dir / "loop" / "manifest.json").read_text())
    assert manifest["version"] == publication.version
    assert publication.version.startswith("2026-03-02__backfill__2026-03-02T00_00_00_00_00__")
    assert manifest["tables"]["campaign_scorecard"]["rows"] == 3
    assert (settings.published_dir / "loop" / manifest["tables"]["campaign_scorecard"]["path"]).exists()
    con = publish.reader(settings)
    assert con.execute("SELECT count(*) FROM loop.campaign_scorecard").fetchone() == (3,)
    assert con.execute("SELECT max(scorecard_rank) FROM campaign_scorecard").fetchone() == (3,)


def test_readers_see_the_new_version_only_after_the_switch(settings: Settings) -> None:
    _scorecard(settings, 3)
    publish.publish(settings, "loop", date(2026, 3, 2), "r1")
    _scorecard(settings, 5)  # the warehouse moved on, nothing published yet
    assert publish.reader(settings).execute("SELECT count(*) FROM campaign_scorecard").fetchone() == (3,)
    publish.publish(settings, "loop", date(2026, 3, 3), "r2")
    assert publish.reader(settings).execute("SELECT count(*) FROM campaign_scorecard").fetchone() == (5,)
    current = publish.current(settings, "loop")
    assert current is not None and current.cycle_date == date(2026, 3, 3) and current.rows == 5


def test_old_versions_are_pruned(settings: Settings) -> None:
    _scorecard(settings, 1)
    for day in range(1, publish.KEEP_VERSIONS + 4):
        publish.publish(settings, "loop", date(2026, 3, day), f"r{day}")
    versions = list((settings.published_dir / "loop" / "versions").iterdir())
    assert len(versions) == publish.KEEP_VERSIONS


def test_nothing_published_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(LoopError, match="Nothing is published"):
        publish.reader(settings)
    with pytest.raises(LoopError, match="Unknown pillar 'sales'"):
        publish.current(settings, "sales")
