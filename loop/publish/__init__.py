"""Published datasets: each pillar's validated marts as versioned Parquet behind a manifest.

```
published/<pillar>/manifest.json                     the current version of the pillar (replaced atomically)
published/<pillar>/versions/<version>/<table>.parquet
```

Publication is a promise to readers, so it only moves forward: a version carries the date its data is complete up to
(``as_of``), and the manifest is switched to a new version only when that version is at least as recent as the
current one; a rerun of an earlier day refreshes the numbers without ever taking "current" back in time. A pillar is
published only from the build and validations of the same cycle attempt (checked by :mod:`loop.cycle`).

```
__init__.py   versions, manifests, forward-only switch, pruning
reader.py     the read-only connection for `loop query`, notebooks and pages: published files only, limited
export.py     a pillar's current tables to Parquet or CSV files, paths never in SQL
```
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from loop.errors import LoopError
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.transform import catalog
from loop.warehouse import connect

#: How many published versions of a pillar are kept on disk (the current one always is).
KEEP_VERSIONS = 10
#: A version is never pruned sooner than this after it stopped being current (readers may still hold it).
PRUNE_GRACE_SECONDS = 600


@dataclass(frozen=True)
class Publication:
    """A pillar's published version, as its manifest describes it."""

    pillar: str
    version: str
    cycle_date: date
    """The cycle (day) whose run published it."""
    as_of: date
    """The data is complete up to and including this date."""
    run_id: str
    attempt: str
    published_at: str
    tables: dict[str, dict[str, Any]]
    lineage: tuple[str, ...] = field(default=())
    """Pillars whose validation this publication passed."""

    @property
    def rows(self) -> int:
        return sum(int(t["rows"]) for t in self.tables.values())

    def path(self, settings: Settings, table: str) -> Path:
        """The Parquet file of one table, checked to lie inside the pillar's published folder."""
        pillar_dir = (settings.published_dir / self.pillar).resolve()
        resolved = (pillar_dir / self.tables[table]["path"]).resolve()
        if not resolved.is_relative_to(pillar_dir / "versions"):
            raise LoopError(f"The {self.pillar} manifest points outside its published folder; republish it.")
        return resolved


def check_pillar(pillar: str) -> None:
    if pillar not in PUBLISHED_PILLARS:
        raise LoopError(f"Unknown pillar {pillar!r}; published pillars are {', '.join(PUBLISHED_PILLARS)}.")


def tables_of(pillar: str) -> tuple[str, ...]:
    """The tables a pillar publishes (its marts, from the dbt project)."""
    check_pillar(pillar)
    return catalog.pillar_tables()[pillar]


def _version_name(as_of: date, attempt: str, published_at: datetime) -> str:
    """Unique per publication, sortable by the date the data is complete up to."""
    run = re.sub(r"[^A-Za-z0-9_.-]+", "_", attempt).strip("_")[:80]
    return f"{as_of.isoformat()}__{published_at:%Y%m%dT%H%M%S%f}__{run}"


def _columns(table: str) -> list[dict[str, str]]:
    mart = catalog.mart(table)
    return [{"name": c.name, "type": c.data_type, "description": c.description} for c in mart.columns]


def publish(
    settings: Settings,
    pillar: str,
    *,
    cycle_date: date,
    as_of: date,
    run_id: str,
    attempt: str,
    lineage: tuple[str, ...] = (),
) -> Publication:
    """Copy the pillar's marts to a new Parquet version and point the manifest at it, if it is not older than the
    current version. Returns the publication; raises if a newer version is current (nothing is switched)."""
    from loop.landing.compile import quote_ident

    check_pillar(pillar)
    now = datetime.now(UTC)
    version = _version_name(as_of, attempt, now)
    pillar_dir = settings.published_dir / pillar
    version_dir = pillar_dir / "versions" / version
    staging_dir = pillar_dir / "versions" / (version + ".tmp")
    _clean_partial(pillar_dir)
    staging_dir.mkdir(parents=True)
    tables: dict[str, dict[str, Any]] = {}
    with connect(settings, write=False) as con:
        for table in tables_of(pillar):
            target = staging_dir / f"{table}.parquet"
            relation = con.sql(f"SELECT * FROM main.{quote_ident(table)}")
            relation.write_parquet(str(target), compression="zstd")
            [(count,)] = con.execute(f"SELECT count(*) FROM main.{quote_ident(table)}").fetchall()
            tables[table] = {
                "path": f"versions/{version}/{table}.parquet",
                "rows": int(count),
                "columns": _columns(table),
            }
    staging_dir.rename(version_dir)
    publication = Publication(
        pillar=pillar,
        version=version,
        cycle_date=cycle_date,
        as_of=as_of,
        run_id=run_id,
        attempt=attempt,
        published_at=now.isoformat(timespec="seconds"),
        tables=tables,
        lineage=lineage,
    )
    existing = current(settings, pillar)
    if existing is not None and existing.as_of > as_of:
        shutil.rmtree(version_dir, ignore_errors=True)
        raise LoopError(
            f"{pillar} is not switched to data as of {as_of}: the current version is as of {existing.as_of}, and "
            "publications only move forward."
        )
    manifest = asdict(publication) | {"cycle_date": cycle_date.isoformat(), "as_of": as_of.isoformat()}
    manifest["lineage"] = list(lineage)
    tmp = pillar_dir / f".manifest.{os.getpid()}.tmp"
    with tmp.open("w") as handle:
        handle.write(json.dumps(manifest, indent=2) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, pillar_dir / "manifest.json")
    _prune(pillar_dir, keep=version)
    return publication


def _clean_partial(pillar_dir: Path) -> None:
    """Remove what an interrupted publication left (a staging folder, a temporary manifest)."""
    versions = pillar_dir / "versions"
    if versions.is_dir():
        for leftover in versions.glob("*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in pillar_dir.glob(".manifest.*.tmp"):
        leftover.unlink(missing_ok=True)


def _prune(pillar_dir: Path, keep: str) -> None:
    """Keep the newest versions; never the current one, nor one a reader may still be using."""
    versions = sorted(p for p in (pillar_dir / "versions").iterdir() if p.is_dir() and not p.name.endswith(".tmp"))
    cutoff = time.time() - PRUNE_GRACE_SECONDS
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


def current(settings: Settings, pillar: str) -> Publication | None:
    """The pillar's current publication, or None if it was never published."""
    check_pillar(pillar)
    path = settings.published_dir / pillar / "manifest.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    data["cycle_date"] = date.fromisoformat(data["cycle_date"])
    data["as_of"] = date.fromisoformat(data.get("as_of", data["cycle_date"].isoformat()))
    data["lineage"] = tuple(data.get("lineage", ()))
    data.setdefault("attempt", data.get("run_id", ""))
    return Publication(**data)


def reader(settings: Settings) -> Any:
    """A read-only DuckDB connection on the current published tables (see :mod:`loop.publish.reader`)."""
    from loop.publish.reader import open_reader

    return open_reader(settings)
