"""Exports: a pillar's current published tables to files a marketer or product team opens in their own tools, and
filtered pulls of the published product feedback.

Parquet exports are byte copies of the published files; CSV exports are written by DuckDB's relational API. The
output folder is a path handed to the filesystem and to DuckDB as an argument, never SQL text, so any folder name
works (quotes, spaces, unicode).

A **feedback pull** (:func:`export_feedback`, ``loop export feedback``) reads only the current published
``product.feedback`` file (customer ids pseudonymized there, never the warehouse), keeps the rows submitted on or
after a business day (midnight in ``LOOP_TIMEZONE``), about some product areas and of some kinds, and writes one
file plus ``<file>.manifest.json``: the publication it came from, the filters, rows, schema, the file's SHA-256
and the pseudonymized columns. Filter values are bound parameters, checked against the values the published table
holds. Free text keeps its exact characters: CSV quotes any field holding a comma, quote or line break, so a comment
with newlines reads back whole (Python's ``csv``, pandas, DuckDB, spreadsheets).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, get_args

import duckdb

from loop import publish
from loop.errors import LoopError
from loop.settings import Settings

ExportFormat = Literal["parquet", "csv"]


@dataclass(frozen=True)
class ExportedTable:
    table: str
    path: Path
    rows: int


def export_pillar(settings: Settings, pillar: str, out: Path, fmt: ExportFormat = "parquet") -> list[ExportedTable]:
    """Write every current table of ``pillar`` into ``out`` as ``<table>.<fmt>`` (replacing files of that name)."""
    publish.check_pillar(pillar)
    publication = publish.current(settings, pillar)
    if publication is None:
        raise LoopError(f"The {pillar} pillar has not been published yet; run `loop run` first.")
    if out.exists() and not out.is_dir():
        raise LoopError(f"{out} exists and is not a folder; give --out a folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LoopError(f"Cannot create the folder {out}: {error.strerror}.") from None
    exported = []
    con = duckdb.connect(":memory:")
    try:
        for table, info in publication.tables.items():
            source = publication.path(settings, table)
            target = out / f"{table}.{fmt}"
            partial = out / f".{table}.{fmt}.{os.getpid()}.partial"
            try:
                if fmt == "parquet":
                    shutil.copyfile(source, partial)
                else:
                    con.read_parquet(str(source)).write_csv(str(partial), header=True)
                os.replace(partial, target)
            except (OSError, duckdb.Error) as error:
                partial.unlink(missing_ok=True)
                raise LoopError(f"Cannot write {target}: {str(error).splitlines()[0]}") from None
            exported.append(ExportedTable(table, target, int(info["rows"])))
    finally:
        con.close()
    return exported


#: The published table a feedback pull reads, and its pillar.
FEEDBACK_PILLAR, FEEDBACK_TABLE = "product", "feedback"


@dataclass(frozen=True)
class FeedbackPull:
    """A written feedback pull: the file, its manifest and what it holds."""

    path: Path
    manifest_path: Path
    rows: int
    manifest: dict[str, Any]


def split_values(values: Iterable[str] | None) -> tuple[str, ...]:
    """Repeated options and comma lists as one list (``--area checkout,billing --area search``), blanks dropped,
    first occurrence kept."""
    found: dict[str, None] = {}
    for value in values or ():
        for part in value.split(","):
            if part.strip():
                found[part.strip()] = None
    return tuple(found)


def _check_values(option: str, asked: Sequence[str], known: Iterable[str], as_of: date) -> None:
    unknown = [value for value in asked if value not in set(known)]
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise LoopError(
            f"{option} {', '.join(repr(v) for v in unknown)}: not in the published feedback (as of {as_of}); "
            f"known values: {listed}."
        )


def export_feedback(
    settings: Settings,
    out: Path,
    fmt: ExportFormat = "parquet",
    *,
    since: date | None = None,
    areas: Sequence[str] = (),
    kinds: Sequence[str] = (),
) -> FeedbackPull:
    """Write the current published feedback, filtered, to ``out`` (a file) and ``out`` + ``.manifest.json``."""
    from loop.contracts.feedback import FeedbackKind

    publication = publish.current(settings, FEEDBACK_PILLAR)
    if publication is None or FEEDBACK_TABLE not in publication.tables:
        raise LoopError("The product feedback has not been published yet; run `loop run` first.")
    pseudonymized = publication.pseudonymized(FEEDBACK_TABLE)
    if pseudonymized is None:
        raise LoopError(
            f"The current product publication ({publication.version}) was written before customer ids were "
            "pseudonymized; run `loop run` to publish it again before pulling feedback."
        )
    entry = publication.tables[FEEDBACK_TABLE]
    source = publication.path(settings, FEEDBACK_TABLE)
    if entry.get("sha256") and publish.file_sha256(source) != entry["sha256"]:
        raise LoopError(f"{source} no longer matches its manifest's SHA-256; run `loop run` to publish it again.")
    if out.is_dir():
        raise LoopError(f"{out} is a folder; give --out a file path such as {out / f'feedback.{fmt}'}.")
    manifest_path = out.with_name(out.name + ".manifest.json")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        params: dict[str, Any] = {"source": str(source)}
        present = con.execute(
            "SELECT list(DISTINCT product_area) FILTER (WHERE product_area IS NOT NULL), "
            "list(DISTINCT kind) FILTER (WHERE kind IS NOT NULL) FROM read_parquet($source)",
            params,
        ).fetchone()
        known_areas, known_kinds = (present[0] or [], present[1] or []) if present else ([], [])
        _check_values("--area", areas, known_areas, publication.as_of)
        # A kind the contract knows is never an error, even when the published feedback has none of it yet.
        _check_values("--kind", kinds, {*get_args(FeedbackKind), *known_kinds}, publication.as_of)
        where = []
        since_instant = None
        if since is not None:
            since_instant = datetime.combine(since, time(), tzinfo=settings.zone)
            where.append("submitted_at >= $since")
            params["since"] = since_instant
        if areas:
            where.append("list_contains($areas, product_area)")
            params["areas"] = list(areas)
        if kinds:
            where.append("list_contains($kinds, kind)")
            params["kinds"] = list(kinds)
        query = "SELECT * FROM read_parquet($source)" + (" WHERE " + " AND ".join(where) if where else "")
        [(rows,)] = con.execute(f"SELECT count(*) FROM ({query})", params).fetchall()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LoopError(f"Cannot create the folder {out.parent}: {error.strerror}.") from None
        partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
        try:
            relation = con.sql(query, params=params)
            if fmt == "parquet":
                relation.write_parquet(str(partial), compression="zstd")
            else:
                relation.write_csv(str(partial), header=True)
            digest = publish.file_sha256(partial)
            os.replace(partial, out)
        except (OSError, duckdb.Error) as error:
            partial.unlink(missing_ok=True)
            raise LoopError(f"Cannot write {out}: {str(error).splitlines()[0]}") from None
    finally:
        con.close()
    manifest = {
        "dataset": f"{FEEDBACK_PILLAR}.{FEEDBACK_TABLE}",
        "file": out.name,
        "format": fmt,
        "rows": int(rows),
        "sha256": digest,
        "source": {
            "pillar": FEEDBACK_PILLAR,
            "table": FEEDBACK_TABLE,
            "version": publication.version,
            "as_of": publication.as_of.isoformat(),
            "published_at": publication.published_at,
            "sha256": entry.get("sha256"),
            "data_interval": entry.get("data_interval"),
            "validation": entry.get("validation"),
        },
        "filters": {
            "since": since.isoformat() if since else None,
            "since_instant": since_instant.isoformat() if since_instant else None,
            "timezone": settings.timezone,
            "areas": list(areas),
            "kinds": list(kinds),
        },
        "schema": entry.get("schema", entry.get("columns", [])),
        "pseudonymized": list(pseudonymized),
        "exported_at": datetime.now(settings.zone).isoformat(timespec="seconds"),
    }
    _write_json(manifest_path, manifest)
    return FeedbackPull(out, manifest_path, int(rows), manifest)


def _write_json(path: Path, document: dict[str, Any]) -> None:
    """Write a JSON file atomically (temporary file, fsync, rename)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise LoopError(f"Cannot write {path}: {error.strerror}.") from None
