"""Published datasets: each pillar's validated marts as versioned Parquet with a manifest.

```
published/<pillar>/manifest.json                     the current version of the pillar (replaced atomically)
published/<pillar>/versions/<version>/<table>.parquet
```

A pillar is published only after its Great Expectations suite passed; when the suite fails, the manifest keeps
pointing at the previous version. Readers (``loop query``, ``loop export``, notebooks) open :func:`reader`, an
in-memory DuckDB whose views read the current Parquet files: they never touch the warehouse and are never
blocked by a running cycle.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from loop.errors import LoopError
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.warehouse import connect

if TYPE_CHECKING:
    import pandas as pd

#: The marts each pillar publishes (the same tables its suite validates).
PILLAR_DATASETS: dict[str, tuple[str, ...]] = {
    "marketing": ("campaign_performance",),
    "experience": ("sessions", "customer_experience"),
    "product": ("feedback", "nps_by_area_version"),
    "loop": ("campaign_scorecard",),
}

#: How many published versions of a pillar are kept on disk.
KEEP_VERSIONS = 10


@dataclass(frozen=True)
class Publication:
    """A pillar's published version."""

    pillar: str
    version: str
    cycle_date: date
    run_id: str
    published_at: str
    tables: dict[str, dict[str, Any]]

    @property
    def rows(self) -> int:
        return sum(int(t["rows"]) for t in self.tables.values())


def check_pillar(pillar: str) -> None:
    if pillar not in PILLAR_DATASETS:
        raise LoopError(f"Unknown pillar {pillar!r}; published pillars are {', '.join(PUBLISHED_PILLARS)}.")


def read_marts(settings: Settings, pillar: str) -> dict[str, pd.DataFrame]:
    """The pillar's mart tables from the warehouse, as DataFrames (read under the shared warehouse lock)."""
    check_pillar(pillar)
    with connect(settings, write=False) as con:
        return {table: con.sql(f"SELECT * FROM main.{table}").df() for table in PILLAR_DATASETS[pillar]}


def _version_name(cycle_date: date, run_id: str, published_at: datetime) -> str:
    """Unique per publication: a re-run of the same Airflow run publishes a new version."""
    run = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")
    return f"{cycle_date.isoformat()}__{run}__{published_at:%Y%m%dT%H%M%S%f}"


def publish(settings: Settings, pillar: str, cycle_date: date, run_id: str) -> Publication:
    """Copy the pillar's marts to a new Parquet version and point the manifest at it."""
    check_pillar(pillar)
    now = datetime.now(UTC)
    version = _version_name(cycle_date, run_id, now)
    pillar_dir = settings.published_dir / pillar
    version_dir = pillar_dir / "versions" / version
    staging_dir = version_dir.with_name(version + ".tmp")
    shutil.rmtree(staging_dir, ignore_errors=True)
    staging_dir.mkdir(parents=True)
    tables: dict[str, dict[str, Any]] = {}
    with connect(settings, write=False) as con:
        for table in PILLAR_DATASETS[pillar]:
            target = staging_dir / f"{table}.parquet"
            con.execute(f"COPY (SELECT * FROM main.{table}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
            count = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()
            columns = [row[0] for row in con.execute(f"DESCRIBE main.{table}").fetchall()]
            tables[table] = {
                "path": f"versions/{version}/{table}.parquet",
                "rows": int(count[0]) if count else 0,
                "columns": columns,
            }
    shutil.rmtree(version_dir, ignore_errors=True)
    staging_dir.rename(version_dir)
    publication = Publication(
        pillar=pillar,
        version=version,
        cycle_date=cycle_date,
        run_id=run_id,
        published_at=now.isoformat(timespec="seconds"),
        tables=tables,
    )
    manifest = {**publication.__dict__, "cycle_date": cycle_date.isoformat()}
    tmp = pillar_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, pillar_dir / "manifest.json")
    _prune(pillar_dir, keep=version)
    return publication


def _prune(pillar_dir: Path, keep: str) -> None:
    versions = sorted((p for p in (pillar_dir / "versions").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current(settings: Settings, pillar: str) -> Publication | None:
    """The pillar's current publication, or None if it was never published."""
    check_pillar(pillar)
    path = settings.published_dir / pillar / "manifest.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    data["cycle_date"] = date.fromisoformat(data["cycle_date"])
    return Publication(**data)


def reader(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per published table (``marketing.campaign_performance``, ...).

    Views are also created unqualified in ``main`` (table names are unique across pillars).
    """
    con = duckdb.connect()
    published = 0
    for pillar in PUBLISHED_PILLARS:
        publication = current(settings, pillar)
        if publication is None:
            continue
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {pillar}")
        for table, info in publication.tables.items():
            path = (settings.published_dir / pillar / info["path"]).as_posix()
            con.execute(f"CREATE VIEW {pillar}.{table} AS SELECT * FROM read_parquet('{path}')")
            con.execute(f"CREATE VIEW main.{table} AS SELECT * FROM {pillar}.{table}")
            published += 1
    if not published:
        con.close()
        raise LoopError(f"Nothing is published under {settings.published_dir} yet; run `loop run` first.")
    return con
