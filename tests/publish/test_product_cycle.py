"""The product pillar through real cycles (the generated sample and reference run of ``tests/cycle_world.py``): its
published files carry no raw customer id and record the validation that let them out; a failing product validation
keeps the previous published version."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from loop import cycle, publish
from loop.settings import Settings
from loop.warehouse import connect

from .. import cycle_world
from ..cycle_world import DAYS
from .test_pseudonym import string_values


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The uninterrupted, in-order run (shared with the cycle tests; copied before any change)."""
    return cycle_world.reference(tmp_path_factory)


def test_published_product_files_hold_no_raw_customer_id(reference: Settings) -> None:
    with connect(reference, write=False) as con:
        raw = {r[0] for r in con.execute("SELECT DISTINCT customer_id FROM raw.feedback").fetchall() if r[0]}
        raw |= {r[0] for r in con.execute("SELECT DISTINCT customer_id FROM main.feedback").fetchall() if r[0]}
        feedback_customers = len(raw)
        raw |= {r[0] for r in con.execute("SELECT customer_id FROM main.customer_360").fetchall() if r[0]}
    assert feedback_customers > 5 and len(raw) > 100
    any_raw = re.compile("|".join(re.escape(value) for value in sorted(raw, key=len, reverse=True)))
    current = publish.current(reference, "product")
    assert current is not None
    for table in current.tables:
        leaked = {value for value in string_values(current.path(reference, table)) if any_raw.search(value)}
        assert not leaked, (table, sorted(leaked)[:5])
    hashed = current.tables["feedback"]["pseudonymized"]
    assert hashed == ["customer_id"]


def test_a_product_publication_records_the_validation_that_let_it_out(reference: Settings) -> None:
    current = publish.current(reference, "product")
    assert current is not None
    for entry in current.tables.values():
        validation = entry["validation"]
        assert validation["pillar"] == "product" and validation["success"] is True
        assert validation["attempt"] == current.attempt and validation["failed"] == 0 and validation["evaluated"] > 0
        assert Path(validation["result_path"]).exists()
    for table, entry in current.tables.items():
        assert entry["sha256"] == publish.file_sha256(current.path(reference, table))


def test_a_failing_product_validation_keeps_the_previous_version(reference: Settings, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "copy")
    shutil.copytree(reference.root, settings.root)
    before = publish.current(settings, "product")
    manifest = (settings.published_dir / "product" / "manifest.json").read_bytes()
    # A survey tool bug answers every NPS question with 10: each record is valid and dbt's tests pass, but the
    # promoter share is off the charts.
    day = DAYS[-1]
    folder = settings.landing_dir / f"product/feedback/date={day}"
    template = json.loads(next(folder.glob("*.ndjson")).read_text().splitlines()[0])
    with connect(settings, write=False) as con:
        customers = [r[0] for r in con.execute("SELECT DISTINCT customer_id FROM main.feedback ORDER BY 1").fetchall()]
    kept = {"feedback_id", "kind", "customer_id", "submitted_at", "product_area", "product_version", "score", "text"}
    records = []
    for n in range(1000):
        record = {k: v for k, v in template.items() if k in kept}
        record |= {
            "feedback_id": f"fb-all-tens-{n}",
            "kind": "nps",
            "customer_id": customers[n % len(customers)],
            "submitted_at": f"{day}T12:{n % 60:02d}:00Z",
            "score": 10,
            "text": "Perfect",
        }
        records.append(json.dumps(record) + "\n")
    (folder / "survey-bug.ndjson").write_text("".join(records))
    summary = cycle.run_locally(settings, day, f"scheduled__{day}")
    failed = [f.split(":")[0] for f in summary["failed"]]
    assert "validate_product" in failed and "build" not in failed, summary["failed"]
    assert "product" not in summary["publish"]
    assert publish.current(settings, "product") == before
    assert (settings.published_dir / "product" / "manifest.json").read_bytes() == manifest
    with connect(settings, write=False) as con:
        [(success,)] = con.execute(
            "SELECT success FROM ops.validation_log WHERE attempt = ? AND pillar = 'product'", [summary["attempt"]]
        ).fetchall()
    assert success is False
