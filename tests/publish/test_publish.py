"""Publication: versioned Parquet per pillar behind an atomically switched manifest that only moves forward."""

from __future__ import annotations

import json
import os
import time
from datetime import date

import pytest

from loop import publish
from loop.errors import LoopError
from loop.publish.reader import open_reader
from loop.settings import Settings

from .conftest import make_scorecard, publish_cycle


def test_publish_writes_parquet_and_a_manifest_with_the_contract_schema(settings: Settings) -> None:
    make_scorecard(settings, 3)
    publication = publish_cycle(settings, date(2026, 3, 2), run="backfill__2026-03-02T00:00:00+00:00")
    manifest = json.loads((settings.published_dir / "cycle" / "manifest.json").read_text())
    assert manifest["version"] == publication.version
    assert publication.version.startswith("2026-03-02__")
    assert manifest["as_of"] == "2026-03-02" and manifest["attempt"] == "backfill__2026-03-02T00:00:00+00:00#0"
    table = manifest["tables"]["campaign_scorecard"]
    assert table["rows"] == 3 and (settings.published_dir / "cycle" / table["path"]).exists()
    # The schema in the manifest is the mart's declared contract (its YAML), with descriptions.
    columns = {c["name"]: c for c in table["columns"]}
    assert "promise_kept_score" in columns and columns["scorecard_rank"]["description"]
    con = open_reader(settings)
    assert con.execute("SELECT count(*) FROM cycle.campaign_scorecard").fetchall() == [(3,)]
    assert con.execute("SELECT max(scorecard_rank) FROM campaign_scorecard").fetchall() == [(3,)]


def test_readers_see_a_new_version_only_after_the_switch(settings: Settings) -> None:
    make_scorecard(settings, 3)
    publish_cycle(settings, date(2026, 3, 2))
    make_scorecard(settings, 5)  # the warehouse moved on, nothing published yet
    assert open_reader(settings).execute("SELECT count(*) FROM campaign_scorecard").fetchall() == [(3,)]
    publish_cycle(settings, date(2026, 3, 3), run="r2")
    assert open_reader(settings).execute("SELECT count(*) FROM campaign_scorecard").fetchall() == [(5,)]
    current = publish.current(settings, "cycle")
    assert current is not None and current.as_of == date(2026, 3, 3) and current.rows == 5


def test_publication_never_moves_back_in_time(settings: Settings) -> None:
    make_scorecard(settings, 5)
    publish_cycle(settings, date(2026, 3, 5), run="r5")
    make_scorecard(settings, 2)
    with pytest.raises(LoopError, match="publications only move forward"):
        publish_cycle(settings, date(2026, 3, 3), run="r3")
    current = publish.current(settings, "cycle")
    assert current is not None and current.as_of == date(2026, 3, 5) and current.rows == 5
    versions = [p.name for p in (settings.published_dir / "cycle" / "versions").iterdir()]
    assert len(versions) == 1  # the refused version is not left behind
    # A rerun of an earlier day that carries data as of the newest date refreshes "current".
    publish_cycle(settings, date(2026, 3, 5), run="rerun-of-3", cycle_date=date(2026, 3, 3))
    refreshed = publish.current(settings, "cycle")
    assert refreshed is not None and refreshed.rows == 2 and refreshed.cycle_date == date(2026, 3, 3)


def test_old_versions_are_pruned_after_a_grace_period(settings: Settings) -> None:
    make_scorecard(settings, 1)
    for day in range(1, publish.KEEP_VERSIONS + 4):
        publish_cycle(settings, date(2026, 3, day), run=f"r{day}")
    versions = sorted((settings.published_dir / "cycle" / "versions").iterdir())
    assert len(versions) == publish.KEEP_VERSIONS + 3  # all within the grace period: readers may hold them
    old = time.time() - publish.PRUNE_GRACE_SECONDS - 60
    for version in versions:
        os.utime(version, (old, old))
    publish_cycle(settings, date(2026, 3, 20), run="r20")
    remaining = sorted(p.name for p in (settings.published_dir / "cycle" / "versions").iterdir())
    assert len(remaining) == publish.KEEP_VERSIONS
    assert remaining[-1] == publish.current(settings, "cycle").version  # type: ignore[union-attr]


def test_an_interrupted_publication_leaves_nothing_a_reader_sees(settings: Settings) -> None:
    make_scorecard(settings, 3)
    publish_cycle(settings, date(2026, 3, 2))
    versions = settings.published_dir / "cycle" / "versions"
    (versions / "2026-03-03__partial.tmp").mkdir()
    (settings.published_dir / "cycle" / ".manifest.123.tmp").write_text("{")
    assert publish.current(settings, "cycle").as_of == date(2026, 3, 2)  # type: ignore[union-attr]
    publish_cycle(settings, date(2026, 3, 3), run="r2")
    assert not list(versions.glob("*.tmp")) and not list((settings.published_dir / "cycle").glob(".manifest.*"))


def test_a_manifest_pointing_outside_the_published_folder_is_refused(published: Settings) -> None:
    path = published.published_dir / "cycle" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["tables"]["campaign_scorecard"]["path"] = "../../warehouse/loop.duckdb"
    path.write_text(json.dumps(manifest))
    with pytest.raises(LoopError, match="points outside its published folder"):
        open_reader(published)


def test_nothing_published_and_unknown_pillars_are_clear_errors(settings: Settings) -> None:
    with pytest.raises(LoopError, match="Nothing is published"):
        open_reader(settings)
    with pytest.raises(LoopError, match="Unknown pillar 'sales'"):
        publish.current(settings, "sales")
