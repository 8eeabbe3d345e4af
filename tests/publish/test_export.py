"""Exports: any output folder works, because paths never become SQL text."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from loop.errors import LoopError
from loop.publish.export import export_pillar
from loop.settings import Settings

AWKWARD = [
    "it's here",
    'say "cheese"',
    "semi;colon -- comment",
    "x'); copy (select 1) to '/tmp/pwned.csv'; --",
    "ünï cødé",
]


@pytest.mark.parametrize("folder", AWKWARD)
def test_any_folder_name_works(published: Settings, tmp_path: Path, folder: str) -> None:
    out = tmp_path / folder / "exports"
    csv_files = {item.table: item for item in export_pillar(published, "cycle", out, "csv")}
    scorecard = csv_files["campaign_scorecard"]
    assert scorecard.path == out / "campaign_scorecard.csv" and scorecard.rows == 3
    assert scorecard.path.read_text().splitlines()[0] == "campaign_id,scorecard_rank,promise_kept_score"
    parquet = {item.table: item for item in export_pillar(published, "cycle", out, "parquet")}["campaign_scorecard"]
    assert duckdb.connect().execute("select count(*) from read_parquet($p)", {"p": str(parquet.path)}).fetchall() == [
        (3,)
    ]
    assert not Path("/tmp/pwned.csv").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.{x}" for t in csv_files for x in ("csv", "parquet"))


def test_export_errors_are_one_sentence(published: Settings, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(LoopError, match="is not a folder"):
        export_pillar(published, "cycle", a_file, "csv")
    with pytest.raises(LoopError, match="has not been published yet"):
        export_pillar(published, "product", tmp_path / "out", "csv")
    with pytest.raises(LoopError, match="Unknown pillar"):
        export_pillar(published, "sales", tmp_path / "out", "csv")
