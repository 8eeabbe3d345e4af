"""What a manifest tells of each published table: schema, rows, data interval, validation, SHA-256 and the
pseudonymized columns; manifests written before these keys existed still load."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from loop import publish
from loop.errors import LoopError
from loop.publish.export import export_feedback
from loop.settings import PROJECT_ROOT, Settings
from loop.transform import catalog

from .conftest import FEEDBACK_ROWS, publish_product

VALIDATION = {
    "pillar": "product",
    "success": True,
    "evaluated": 12,
    "failed": 0,
    "summary": "product: all 12 expectations passed.",
    "result_path": "/somewhere/validation/r1#0/product.json",
    "validated_at": "2026-03-05T06:00:00+00:00",
    "attempt": "r1#0",
}


def test_every_table_entry_describes_its_dataset(product: Settings) -> None:
    publication = publish_product(product, date(2026, 3, 6), run="r2", validation=VALIDATION)
    manifest = json.loads((product.published_dir / "product" / "manifest.json").read_text())
    assert manifest["version"] == publication.version
    for table, entry in manifest["tables"].items():
        mart = catalog.mart(table)
        path = product.published_dir / "product" / entry["path"]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (
            [c["name"] for c in entry["schema"]]
            == [c.name for c in mart.columns]
            == [c["name"] for c in entry["columns"]]
        )
        assert all(set(c) == {"name", "type", "description"} for c in entry["schema"])
        [(rows,)] = duckdb.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(path)}).fetchall()
        assert entry["rows"] == rows
        assert entry["validation"] == VALIDATION
        assert entry["pseudonymized"] == list(mart.pseudonymized)
        if mart.interval_column is None:
            assert entry["data_interval"] == {"start": "2026-03-06", "end": "2026-03-06"}
    feedback = manifest["tables"]["feedback"]
    assert feedback["rows"] == len(FEEDBACK_ROWS) and feedback["pseudonymized"] == ["customer_id"]
    assert publication.pseudonymized("feedback") == ("customer_id",)


def test_the_data_interval_is_the_marked_time_columns_range(
    product: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "dbt_project"
    for part in ("models", "seeds"):
        shutil.copytree(PROJECT_ROOT / "dbt_project" / part, project / part)
    path = project / "models" / "marts" / "product" / "_product__models.yml"
    document = yaml.safe_load(path.read_text())
    for model in document["models"]:
        for column in model.get("columns", []):
            column.get("config", {}).get("meta", {}).pop("interval", None)  # only the mark made here
            if model["name"] == "feedback" and column["name"] == "submitted_at":
                column.setdefault("config", {}).setdefault("meta", {})["interval"] = True
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    shipped = catalog.marts
    monkeypatch.setattr(catalog, "marts", lambda project_dir=project: shipped(project))
    publish_product(product, date(2026, 3, 6), run="r2")
    current = publish.current(product, "product")
    assert current is not None
    assert current.tables["feedback"]["data_interval"] == {
        "start": "2026-03-01T22:30:00+00:00",
        "end": "2026-03-05T08:00:00+00:00",
    }
    assert current.tables["nps_by_area_version"]["data_interval"] == {"start": "2026-03-06", "end": "2026-03-06"}


def test_a_manifest_from_before_these_keys_still_loads(product: Settings, tmp_path: Path) -> None:
    path = product.published_dir / "product" / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["tables"].values():
        for key in ("schema", "data_interval", "validation", "sha256", "pseudonymized"):
            del entry[key]
    path.write_text(json.dumps(manifest))
    current = publish.current(product, "product")
    assert current is not None and current.rows == len(FEEDBACK_ROWS)
    assert current.pseudonymized("feedback") is None
    # A feedback pull refuses a publication that may carry raw ids.
    with pytest.raises(LoopError, match="before customer ids were pseudonymized"):
        export_feedback(product, tmp_path / "pull.parquet")
