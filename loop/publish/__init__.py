"""Published datasets: each pillar's validated marts as versioned Parquet behind a manifest.

```
published/<pillar>/manifest.json                     the current version of the pillar (replaced atomically)
published/<pillar>/versions/<version>/<table>.parquet
```

Publication is a promise to readers, so it only moves forward: a version carries the date its data is complete up to
(``as_of``), and the manifest is switched to a new version only when that version is at least as recent as the
current one; a rerun of an earlier day refreshes the numbers without ever taking "current" back in time. A pillar is
published only from the build and validations of the same cycle attempt (checked by :mod:`loop.cycle`).

Each table of a manifest describes its dataset: ``path``, ``rows``, ``schema`` (the dbt contract's columns with type
and description; ``columns`` is the same list under its older name), ``data_interval`` (min and max of the column its
mart marks ``meta: {interval: true}``, else the publication's as-of date), ``validation`` (the pillar's Great
Expectations result in the attempt that published it), ``sha256`` of the Parquet file and ``pseudonymized`` (the
columns written as keyed hashes). Manifests written before some of these keys existed still load.

Columns a mart marks ``meta: {pseudonymize: true}`` are published as keyed hashes of the raw ids
(:mod:`loop.publish.pseudonym`); a product publication is refused while any customer-id column of its marts is not
marked.

```
__init__.py   versions, manifests, forward-only switch, pruning, pseudonymized columns
pseudonym.py  the key and the keyed hash of customer ids
reader.py     the read-only connection for `loop query`, notebooks and pages: published files only, limited
export.py     a pillar's current tables to Parquet or CSV files, and filtered feedback pulls; paths never in SQL
ops.py        the ops snapshot (published/_ops/status.json): what the cycles did, for readers kept off the warehouse
```
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from loop.errors import LoopError
from loop.publish.pseudonym import Pseudonymizer
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.transform import catalog
from loop.warehouse import connect

#: How many published versions of a pillar are kept on disk (the current one always is).
KEEP_VERSIONS = 10
#: A version is never pruned sooner than this after it stopped being current (readers may still hold it).
PRUNE_GRACE_SECONDS = 600
#: Pillars whose publication refuses a customer-id column (``customer_id``, ``..._customer_id``) not marked
#: ``pseudonymize: true``: their datasets are pulled out of the loop (`loop export feedback`).
PSEUDONYMIZED_PILLARS = ("product",)


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

    def pseudonymized(self, table: str) -> tuple[str, ...] | None:
        """The table's columns published as keyed hashes; None for a manifest written before pseudonymization."""
        names = self.tables[table].get("pseudonymized")
        return None if names is None else tuple(names)

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
    return [
        {"name": c.name, "type": "varchar" if c.pseudonymize else c.data_type, "description": c.description}
        for c in mart.columns
    ]


def check_pseudonymized(pillar: str, marts: tuple[catalog.Mart, ...]) -> None:
    """Refuse to publish a pillar of :data:`PSEUDONYMIZED_PILLARS` while one of its marts has a customer-id column
    that is not marked ``pseudonymize: true`` (it would be published raw)."""
    if pillar not in PSEUDONYMIZED_PILLARS:
        return
    unmarked = [f"{m.name}.{column}" for m in marts for column in m.unmarked_customer_ids]
    if unmarked:
        raise LoopError(
            f"{pillar} is not published (previous version kept): {', '.join(unmarked)} "
            f"{'holds' if len(unmarked) == 1 else 'hold'} customer ids but {'is' if len(unmarked) == 1 else 'are'} "
            "not marked `config: {meta: {pseudonymize: true}}` in the mart's YAML; mark it so the published file "
            "carries pseudonyms, never raw ids."
        )


def _write_table(
    con: duckdb.DuckDBPyConnection, mart: catalog.Mart, target: Path, pseudonymizer: Pseudonymizer | None
) -> None:
    """Write one mart to Parquet, its marked columns replaced by pseudonyms (NULL stays NULL).

    The distinct ids are hashed once each in Python and joined as a registered frame: no value becomes SQL text.
    """
    import pandas

    from loop.landing.compile import quote_ident

    table = f"main.{quote_ident(mart.name)}"
    marked = mart.pseudonymized
    if not marked or pseudonymizer is None:
        con.sql(f"SELECT * FROM {table}").write_parquet(str(target), compression="zstd")
        return
    ids = " UNION ".join(f"SELECT CAST({quote_ident(c)} AS VARCHAR) AS raw FROM {table}" for c in marked)
    distinct = [row[0] for row in con.execute(f"SELECT DISTINCT raw FROM ({ids}) WHERE raw IS NOT NULL").fetchall()]
    raw, pseudonyms = pseudonymizer.mapping(distinct)
    frame = pandas.DataFrame(
        {"raw": pandas.Series(raw, dtype=object), "pseudonym": pandas.Series(pseudonyms, dtype=object)}
    )
    con.register("loop_pseudonyms", frame)
    try:
        replaced = ", ".join(f"CAST(p{n}.pseudonym AS VARCHAR) AS {quote_ident(c)}" for n, c in enumerate(marked))
        joins = " ".join(
            f"LEFT JOIN loop_pseudonyms AS p{n} ON CAST(p{n}.raw AS VARCHAR) = CAST(t.{quote_ident(c)} AS VARCHAR)"
            for n, c in enumerate(marked)
        )
        con.sql(f"SELECT t.* REPLACE ({replaced}) FROM {table} AS t {joins}").write_parquet(
            str(target), compression="zstd"
        )
    finally:
        con.unregister("loop_pseudonyms")


def _interval(con: duckdb.DuckDBPyConnection, mart: catalog.Mart, as_of: date) -> dict[str, str | None]:
    """The table's data interval: min and max of its marked time column, else the publication's as-of date."""
    from loop.landing.compile import quote_ident

    column = mart.interval_column
    if column is None:
        return {"start": as_of.isoformat(), "end": as_of.isoformat()}
    [(start, end)] = con.execute(
        f"SELECT min({quote_ident(column)}), max({quote_ident(column)}) FROM main.{quote_ident(mart.name)}"
    ).fetchall()
    return {"start": _iso(start), "end": _iso(end)}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).isoformat()
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def publish(
    settings: Settings,
    pillar: str,
    *,
    cycle_date: date,
    as_of: date,
    run_id: str,
    attempt: str,
    lineage: tuple[str, ...] = (),
    validation: dict[str, Any] | None = None,
) -> Publication:
    """Copy the pillar's marts to a new Parquet version and point the manifest at it, if it is not older than the
    current version. Returns the publication; raises if a newer version is current (nothing is switched).

    Marked customer-id columns are written as pseudonyms; ``validation`` is the pillar's validation result in the
    attempt that publishes (``loop.cycle`` passes it), recorded with every table of the manifest."""
    from loop.landing.compile import quote_ident

    check_pillar(pillar)
    marts = tuple(catalog.mart(table) for table in tables_of(pillar))
    check_pseudonymized(pillar, marts)
    pseudonymizer = Pseudonymizer.of(settings) if any(m.pseudonymized for m in marts) else None
    now = datetime.now(UTC)
    version = _version_name(as_of, attempt, now)
    pillar_dir = settings.published_dir / pillar
    version_dir = pillar_dir / "versions" / version
    staging_dir = pillar_dir / "versions" / (version + ".tmp")
    _clean_partial(pillar_dir)
    staging_dir.mkdir(parents=True)
    tables: dict[str, dict[str, Any]] = {}
    try:
        with connect(settings, write=False) as con:
            for mart in marts:
                table = mart.name
                target = staging_dir / f"{table}.parquet"
                _write_table(con, mart, target, pseudonymizer)
                [(count,)] = con.execute(f"SELECT count(*) FROM main.{quote_ident(table)}").fetchall()
                columns = _columns(table)
                tables[table] = {
                    "path": f"versions/{version}/{table}.parquet",
                    "rows": int(count),
                    "columns": columns,
                    "schema": columns,
                    "data_interval": _interval(con, mart, as_of),
                    "validation": validation,
                    "sha256": file_sha256(target),
                    "pseudonymized": list(mart.pseudonymized),
                }
    except BaseException:
        shutil.rmtree(staging_dir, ignore_errors=True)
        raise
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
