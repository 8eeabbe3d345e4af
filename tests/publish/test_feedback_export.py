"""Feedback pulls: a filtered slice of the published product feedback with its manifest; free text keeps its exact
characters in Parquet and CSV; filters are checked against the published values; the warehouse is never read."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
import pandas
import pytest

from loop import publish
from loop.errors import LoopError
from loop.publish.export import export_feedback, split_values
from loop.settings import Settings

from .conftest import FEEDBACK_ROWS, TEST_KEY, text_column

TEXTS = {row[0]: row[8] for row in FEEDBACK_ROWS}


def test_a_pull_keeps_the_filtered_rows_and_describes_them(product: Settings, tmp_path: Path) -> None:
    out = tmp_path / "pulls" / "new" / "checkout.parquet"  # the parent folders are made
    pull = export_feedback(product, out, since=date(2026, 3, 2), areas=["checkout", "billing"], kinds=["ticket"])
    assert pull.path == out and pull.manifest_path == tmp_path / "pulls" / "new" / "checkout.parquet.manifest.json"
    rows = duckdb.execute("SELECT feedback_id FROM read_parquet($p)", {"p": str(out)}).fetchall()
    assert rows == [("fb-2",)] and pull.rows == 1
    manifest = json.loads(pull.manifest_path.read_text())
    current = publish.current(product, "product")
    assert current is not None
    assert manifest["source"]["version"] == current.version and manifest["source"]["as_of"] == "2026-03-05"
    assert manifest["filters"] == {
        "since": "2026-03-02",
        "since_instant": "2026-03-02T00:00:00+00:00",
        "timezone": "UTC",
        "areas": ["checkout", "billing"],
        "kinds": ["ticket"],
    }
    assert manifest["rows"] == 1 and manifest["format"] == "parquet" and manifest["pseudonymized"] == ["customer_id"]
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["schema"] == current.tables["feedback"]["schema"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["checkout.parquet", "checkout.parquet.manifest.json"]


@pytest.mark.parametrize(
    ("since", "areas", "kinds", "expected"),
    [
        (None, (), (), {"fb-1", "fb-2", "fb-3", "fb-4", "fb-5", "fb-6"}),
        (date(2026, 3, 3), (), (), {"fb-3", "fb-4", "fb-5", "fb-6"}),
        (None, ("search",), (), {"fb-4", "fb-5"}),
        (None, (), ("nps", "review"), {"fb-1", "fb-3", "fb-4"}),
        (date(2026, 3, 4), ("search", "billing"), ("nps", "csat"), {"fb-4", "fb-6"}),
        (None, ("checkout",), ("csat",), set()),
    ],
)
def test_filters(
    product: Settings,
    tmp_path: Path,
    since: date | None,
    areas: tuple[str, ...],
    kinds: tuple[str, ...],
    expected: set[str],
) -> None:
    pull = export_feedback(product, tmp_path / "pull.parquet", since=since, areas=areas, kinds=kinds)
    ids = {r[0] for r in duckdb.execute("SELECT feedback_id FROM read_parquet($p)", {"p": str(pull.path)}).fetchall()}
    assert ids == expected and pull.rows == len(expected)


def test_since_is_a_business_day_in_the_configured_time_zone(product: Settings, tmp_path: Path) -> None:
    # fb-1 was given at 22:30 UTC on 1 March: 2 March already in Tokyo (07:30), still 1 March in New York.
    tokyo = Settings(data_dir=product.root, timezone="Asia/Tokyo", pseudonym_key=TEST_KEY)
    pull = export_feedback(tokyo, tmp_path / "b.parquet", since=date(2026, 3, 2), kinds=["nps"])
    assert pull.rows == 2 and pull.manifest["filters"]["since_instant"] == "2026-03-02T00:00:00+09:00"
    new_york = Settings(data_dir=product.root, timezone="America/New_York")
    assert export_feedback(new_york, tmp_path / "n.parquet", since=date(2026, 3, 2), kinds=["nps"]).rows == 1


def test_unknown_filter_values_are_clear_errors(product: Settings, tmp_path: Path) -> None:
    with pytest.raises(
        LoopError, match=r"--area 'chekout': not in the published feedback .* billing, checkout, search"
    ):
        export_feedback(product, tmp_path / "x.csv", "csv", areas=["checkout", "chekout"])
    with pytest.raises(LoopError, match="--kind 'complaint'"):
        export_feedback(product, tmp_path / "x.csv", "csv", kinds=["complaint"])
    # A kind the contract knows is no error even when no published feedback is of it.
    assert export_feedback(product, tmp_path / "x.csv", "csv", kinds=["nps"]).rows == 2
    with pytest.raises(LoopError, match="is a folder"):
        export_feedback(product, tmp_path, "csv")
    assert not list(tmp_path.glob(".*partial"))


def test_comma_lists_and_repeated_options_are_one_list() -> None:
    assert split_values(["checkout,billing", " search ", "checkout", ""]) == ("checkout", "billing", "search")
    assert split_values(None) == ()


def test_csv_keeps_free_text_exactly(product: Settings, tmp_path: Path) -> None:
    out = tmp_path / 'it\'s "odd"; folder' / "feedback.csv"
    pull = export_feedback(product, out, "csv")
    column = text_column()
    assert pull.rows == len(FEEDBACK_ROWS)
    with out.open(newline="", encoding="utf-8") as handle:
        read = {row["feedback_id"]: row for row in csv.DictReader(handle)}
    assert {k: row[column] for k, row in read.items()} == {k: v or "" for k, v in TEXTS.items()}
    assert read["fb-5"]["customer_id"] == ""  # NULL stays empty, never a raw id
    frame = pandas.read_csv(out, dtype=str, keep_default_na=False)
    assert dict(zip(frame["feedback_id"], frame[column], strict=True)) == TEXTS
    back = duckdb.execute(f'SELECT feedback_id, "{column}" FROM read_csv($p)', {"p": str(out)}).fetchall()
    assert dict(back) == TEXTS
    assert json.loads(pull.manifest_path.read_text())["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_parquet_keeps_free_text_exactly(product: Settings, tmp_path: Path) -> None:
    pull = export_feedback(product, tmp_path / "feedback.parquet")
    column = text_column()
    back = duckdb.execute(f'SELECT feedback_id, "{column}" FROM read_parquet($p)', {"p": str(pull.path)}).fetchall()
    assert dict(back) == TEXTS


def test_a_pull_reads_only_the_published_files(product: Settings, tmp_path: Path) -> None:
    product.warehouse_path.unlink()
    assert export_feedback(product, tmp_path / "f.parquet", areas=["search"]).rows == 2
    assert not product.warehouse_path.exists()


def test_nothing_published_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(LoopError, match="has not been published yet"):
        export_feedback(settings, tmp_path / "f.parquet")
