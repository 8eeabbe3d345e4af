"""Landing one file, and replaying held records, each in one transaction.

A file is identified by its path under the landing folder. Landing it again is a no-op when its content is unchanged;
when it changed, its earlier rows and quarantine entries are removed and it lands anew, in the same transaction, so
a file is never half-landed and never counted twice. A file that cannot be read at all is set aside: logged with
the reason, nothing of it landed, and it is tried again when its content changes.

Replaying takes records held in quarantine back through the current contract and checks (after a contract fix, or
when the campaign catalog a record references has landed): the ones that now pass land with their original file and
position, the others stay held with their current reason. Every landing and replay is logged in ``ops.landing_log``
with ``rows_read = rows_loaded + rows_quarantined``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from loop.contracts import Source
from loop.landing import checks, exports, readers
from loop.landing.compile import ColumnPlan, Compiler, fetch_one, plan_fields, quote_ident
from loop.settings import Settings

LandingStatus = Literal["landed", "replaced", "unchanged", "set_aside", "replayed"]


@dataclass(frozen=True)
class FileLanding:
    """The outcome of landing one file (or of replaying its held records)."""

    source: str
    file: str
    partition_date: date
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    status: LandingStatus
    reason: str | None = None
    """Why the file was set aside (status ``set_aside``)."""
    new_columns: tuple[str, ...] = ()
    """Columns or keys the contract does not know (schema drift), recorded in ``ops.schema_drift``."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _why_not_readable(path: Path, source: Source) -> str | None:
    """Why ``path`` is not a file of ``source`` that landing may read; None when it is."""
    try:
        info = os.lstat(path)
    except OSError as error:
        return f"it cannot be read: {error.strerror}"
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link; loop lands regular files only (copy the file into the landing folder)"
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file"
    suffix = path.suffix.lstrip(".").lower()
    if suffix not in source.formats:
        accepted = " or ".join(f".{f}" for f in source.formats)
        formats = "formats" if len(source.formats) > 1 else "format"
        return f"it is not a {accepted} file (the {formats} of {source.name})"
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        return f"it cannot be read: {(error.strerror or str(error)).lower()}"
    return None


def _previous(con: duckdb.DuckDBPyConnection, relative: str) -> tuple[str, str, int, int, int, str | None] | None:
    row = fetch_one(
        con.execute(
            "SELECT file_sha256, status, rows_read, rows_loaded, rows_quarantined, reason FROM ops.landing_log "
            "WHERE source_file = ? AND status IN ('landed', 'replaced', 'set_aside') ORDER BY landed_at DESC LIMIT 1",
            [relative],
        )
    )
    return None if row is None else (str(row[0]), str(row[1]), int(row[2]), int(row[3]), int(row[4]), row[5])


def land_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    relative: str,
    partition_date: date,
    run_id: str | None,
    settings: Settings,
) -> FileLanding:
    """Land one file of ``source`` in one transaction; set it aside if it cannot be read."""
    started = time.monotonic()
    now = datetime.now(UTC)
    problem = _why_not_readable(path, source)
    if problem is None:
        try:
            sha = _sha256(path)
        except OSError as error:
            problem = f"it cannot be read: {(error.strerror or str(error)).lower()}"
    if problem is not None:
        sha = hashlib.sha256(problem.encode()).hexdigest()
    previous = _previous(con, relative)
    if previous is not None and previous[0] == sha:
        if previous[1] == "set_aside":
            result = FileLanding(source.name, relative, partition_date, 0, 0, 0, "set_aside", previous[5])
        else:
            # Counts as they are now: a replay or a later earlier copy may have moved rows since it landed.
            loaded, held = current_counts(con, source, relative)
            result = FileLanding(source.name, relative, partition_date, loaded + held, loaded, held, "unchanged")
        _log(con, source, result, sha, run_id, now, "unchanged", time.monotonic() - started)
        return result

    plans = plan_fields(source.model)
    replaced = previous is not None and previous[1] != "set_aside"
    # A wrong shapes config stops landing with its own error (no file is set aside for it).
    shapes = exports.load_shapes(settings, source.name) if source.export_shapes else None
    try:
        # Reading fills connection-local staging tables, outside the transaction: a reader may try DuckDB's fast
        # path and fall back to Python when DuckDB refuses the file, which would abort a transaction.
        staged = None
        if problem is None:
            fmt = path.suffix.lstrip(".").lower()
            if fmt == "ndjson":
                staged = readers.stage_ndjson(con, path, plans, relative, partition_date, settings.max_record_bytes)
            else:
                lookups = shapes.lookups(con) if shapes is not None else None
                staged = readers.stage_csv(
                    con, path, plans, relative, partition_date, settings.max_record_bytes, shapes, lookups
                )
    except readers.Unreadable as unreadable:
        problem = unreadable.reason
    except (duckdb.Error, OSError, UnicodeError, ValueError, csv.Error) as error:
        problem = _unexpected(error)
    con.execute("BEGIN TRANSACTION")
    try:
        _forget(con, source, relative, previous)
        if problem is not None or staged is None:
            result = _set_aside(con, source, relative, partition_date, problem or "", sha, run_id, now, started)
            con.execute("COMMIT")
            if replaced:
                replay_held(con, source, settings, run_id, duplicate_of=relative)
            return result
        checks.check_records(con, source, plans, settings, staged)
        loaded, quarantined = _apply(con, source, plans, run_id, now, relative=relative, shape=staged.shape)
        _record_drift(con, source, relative, partition_date, staged, run_id, now)
        result = FileLanding(
            source.name,
            relative,
            partition_date,
            loaded + quarantined,
            loaded,
            quarantined,
            "replaced" if replaced else "landed",
            new_columns=tuple(sorted(staged.unknown_keys)),
        )
        _log(con, source, result, sha, run_id, now, result.status, time.monotonic() - started)
        con.execute("COMMIT")
    except (duckdb.Error, OSError, UnicodeError, ValueError, csv.Error) as error:
        # Landing must never stop at one file: an error nobody foresaw sets the file aside with what happened.
        con.execute("ROLLBACK")
        reason = _unexpected(error)
        con.execute("BEGIN TRANSACTION")
        try:
            _forget(con, source, relative, previous)
            result = _set_aside(con, source, relative, partition_date, reason, sha, run_id, now, started)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        if replaced:
            replay_held(con, source, settings, run_id, duplicate_of=relative)
        return result
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if replaced:
        # Records held as duplicates of this file's earlier rows may now be the first copy.
        replay_held(con, source, settings, run_id, duplicate_of=relative)
    return result


def _unexpected(error: BaseException) -> str:
    """The set-aside reason for an error no reader foresaw (landing goes on with the other files)."""
    detail = str(error).splitlines()[0] if str(error) else ""
    return f"it could not be landed ({type(error).__name__}: {detail})"


def _forget(con: duckdb.DuckDBPyConnection, source: Source, relative: str, previous: tuple[object, ...] | None) -> None:
    """Remove what an earlier landing of the file left (its rows, quarantine entries and drift)."""
    if previous is None:
        return
    con.execute(f"DELETE FROM {source.table} WHERE _source_file = ?", [relative])
    con.execute("DELETE FROM ops.quarantine WHERE source_file = ?", [relative])
    con.execute("DELETE FROM ops.schema_drift WHERE source_file = ?", [relative])


def _set_aside(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    relative: str,
    partition_date: date,
    reason: str,
    sha: str,
    run_id: str | None,
    now: datetime,
    started: float,
) -> FileLanding:
    result = FileLanding(source.name, relative, partition_date, 0, 0, 0, "set_aside", reason)
    _log(con, source, result, sha, run_id, now, "set_aside", time.monotonic() - started)
    return result


def _apply(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    plans: tuple[ColumnPlan, ...],
    run_id: str | None,
    now: datetime,
    *,
    replay: bool = False,
    relative: str | None = None,
    shape: str | None = None,
) -> tuple[int, int]:
    """Write ``_checked``: valid records to raw (demoting later copies of their keys), the others to quarantine."""
    names = ", ".join(quote_ident(p.name) for p in plans)
    demoted = checks.demote_later_copies(con, source)
    if demoted is not None:
        compiler = Compiler()
        payload = _payload_sql(plans, compiler)
        label = " + ".join(source.key)
        key_text = " || '/' || ".join(f"{quote_ident(k)}::VARCHAR" for k in source.key)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _demoted AS {demoted}")
        compiler.params |= {"source": source.name, "run_id": run_id, "now": now}
        con.execute(
            f"""
            INSERT INTO ops.quarantine (source, source_file, row_number, payload, reason, partition_date, run_id,
                                        quarantined_at, reason_kind, duplicate_of)
            SELECT $source, _source_file, _row_number, {payload},
                   {compiler.param(f"duplicate {label} ")} || {key_text} || {compiler.param(" (first seen in ")}
                       || _winner_file || {compiler.param(", record ")} || _winner_row || ')',
                   _partition_date, $run_id, $now, 'duplicate', _winner_file
            FROM _demoted
            """,
            compiler.params,
        )
        con.execute(
            f"""DELETE FROM {source.table} AS r WHERE EXISTS (
                    SELECT 1 FROM _demoted AS d WHERE d._source_file = r._source_file
                    AND d._row_number = r._row_number AND ({", ".join(f"d.{quote_ident(k)}" for k in source.key)})
                        = ({", ".join(f"r.{quote_ident(k)}" for k in source.key)}))"""
        )
        demoted_files = con.execute(
            "SELECT DISTINCT _source_file FROM _demoted WHERE _source_file IS DISTINCT FROM $relative ORDER BY 1",
            {"relative": relative},
        ).fetchall()
        for (file,) in demoted_files:
            # Rows of an earlier-landed file became duplicates of an earlier copy: its counts change, logged.
            log_current(con, source, str(file), "recounted", run_id, now)
    # A file's records are in ``_checked`` in their order in the file; a replay's come from several files.
    order = " ORDER BY _partition_date, _source_file, _row_number" if replay else ""
    con.execute(
        f"""INSERT INTO {source.table} ({names}, _source_file, _row_number, _partition_date, _landed_at)
            SELECT {names}, _source_file, _row_number, _partition_date, $now FROM _checked
            WHERE _reason IS NULL{order}""",
        {"now": now},
    )
    if not replay:
        con.execute(
            """INSERT INTO ops.quarantine (source, source_file, row_number, payload, reason, partition_date, run_id,
                                           quarantined_at, reason_kind, duplicate_of, export_shape)
               SELECT $source, _checked._source_file, _checked._row_number, _lines._payload, _reason,
                      _checked._partition_date, $run_id, $now, _reason_kind, _duplicate_of, $shape
               FROM _checked JOIN _lines USING (_row_number) WHERE _reason IS NOT NULL
               ORDER BY _checked._row_number""",
            {"source": source.name, "run_id": run_id, "now": now, "shape": shape},
        )
    counts = fetch_one(
        con.execute("SELECT count(*) FILTER (_reason IS NULL), count(*) FILTER (_reason IS NOT NULL) FROM _checked")
    )
    assert counts is not None
    return int(counts[0]), int(counts[1])


def current_counts(con: duckdb.DuckDBPyConnection, source: Source, file: str) -> tuple[int, int]:
    """(rows in raw, rows held in quarantine) of one file now."""
    loaded = fetch_one(con.execute(f"SELECT count(*) FROM {source.table} WHERE _source_file = ?", [file]))
    held = fetch_one(
        con.execute(
            "SELECT count(*) FROM ops.quarantine WHERE source = ? AND source_file = ? AND released_at IS NULL",
            [source.name, file],
        )
    )
    return (int(loaded[0]) if loaded else 0), (int(held[0]) if held else 0)


def log_current(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    file: str,
    status: LandingStatus | Literal["recounted", "isolated"],
    run_id: str | None,
    now: datetime,
) -> FileLanding | None:
    """Log a file's counts as they are now (after a replay released some of its records, or rows of it became
    duplicates of an earlier copy), so the latest log entry of every file reconciles with raw and quarantine."""
    landed = fetch_one(
        con.execute(
            "SELECT partition_date, file_sha256 FROM ops.landing_log WHERE source_file = ? "
            "AND status IN ('landed', 'replaced') ORDER BY landed_at DESC LIMIT 1",
            [file],
        )
    )
    if landed is None:
        return None
    loaded, held = current_counts(con, source, file)
    result = FileLanding(source.name, file, landed[0], loaded + held, loaded, held, "replayed")
    _log(con, source, result, str(landed[1]), run_id, now, status, 0.0)
    return result


def _payload_sql(plans: tuple[ColumnPlan, ...], compiler: Compiler) -> str:
    """A landed row rendered back as the JSON object a raw file would carry (for a demoted duplicate)."""
    parts = []
    for plan in plans:
        column = quote_ident(plan.name)
        if plan.sql_type == "TIMESTAMPTZ":
            value = f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%fZ')"
        elif plan.sql_type == "DATE":
            value = f"strftime({column}, '%Y-%m-%d')"
        elif plan.sql_type.startswith("DECIMAL"):
            value = f"{column}::VARCHAR"
        else:
            value = column
        parts += [compiler.param(plan.key), value]
    return f"json_object({', '.join(parts)})::VARCHAR"


def _record_drift(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    relative: str,
    partition_date: date,
    staged: readers.Staged,
    run_id: str | None,
    now: datetime,
) -> None:
    rows = [(name, "new", count) for name, count in staged.unknown_keys.items()]
    required = {p.key for p in plan_fields(source.model) if p.required}
    rows += [(name, "missing", staged.records) for name in staged.missing_columns if name not in required]
    for name, change, count in rows:
        con.execute(
            "INSERT INTO ops.schema_drift VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [source.name, relative, partition_date, name, change, count, run_id, now],
        )


def _log(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    result: FileLanding,
    sha: str,
    run_id: str | None,
    now: datetime,
    status: str,
    seconds: float,
) -> None:
    con.execute(
        """INSERT INTO ops.landing_log (source, pillar, source_file, partition_date, file_sha256, status, rows_read,
                                        rows_loaded, rows_quarantined, run_id, landed_at, reason, seconds)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            source.name,
            source.pillar,
            result.file,
            result.partition_date,
            sha,
            status,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            run_id,
            now,
            result.reason,
            round(seconds, 3),
        ],
    )


# ----------------------------------------------------------------------------------------------------------------
# Replay
# ----------------------------------------------------------------------------------------------------------------


def replay_held(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    settings: Settings,
    run_id: str | None,
    *,
    kinds: tuple[str, ...] | None = None,
    source_file: str | None = None,
    partition_date: date | None = None,
    duplicate_of: str | None = None,
) -> list[FileLanding]:
    """Take the held records of ``source`` that match the filters back through the checks, in one transaction.

    Records that pass land with their original file and position (their quarantine entries are kept, marked
    released); the others stay held with their current reason. Each file that got records back is logged
    (``replayed``) and returned with its counts as they are now: rows_read = rows in raw + rows still held.
    """
    where = ["source = $source", "released_at IS NULL"]
    params: dict[str, object] = {"source": source.name}
    if kinds is not None:
        where.append("list_contains($kinds, reason_kind)")
        params["kinds"] = list(kinds)
    if source_file is not None:
        where.append("source_file = $source_file")
        params["source_file"] = source_file
    if partition_date is not None:
        where.append("partition_date = $partition_date")
        params["partition_date"] = partition_date
    if duplicate_of is not None:
        where.append("reason_kind = 'duplicate' AND duplicate_of = $duplicate_of AND source_file <> $duplicate_of")
        params["duplicate_of"] = duplicate_of
    held = fetch_one(con.execute(f"SELECT count(*) FROM ops.quarantine WHERE {' AND '.join(where)}", params))
    if not held or not held[0]:
        return []
    plans = plan_fields(source.model)
    now = datetime.now(UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _lines AS
            SELECT row_number() OVER (ORDER BY source_file, row_number) AS _seq, row_number AS _row_number,
                   source_file AS _source_file, partition_date AS _partition_date, payload AS _payload,
                   CASE WHEN reason_kind = 'malformed' THEN reason END AS _line_reason,
                   NULL::VARCHAR AS _line_kind, export_shape AS _export_shape
            FROM ops.quarantine WHERE {" AND ".join(where)}
            """,
            params,
        )
        if source.export_shapes:
            _remap_held(con, exports.load_shapes(settings, source.name))
        staged = readers.stage_json_incoming(plans, None, None, line_kinds=True)
        checks.check_records(con, source, plans, settings, staged)
        _apply(con, source, plans, run_id, now, replay=True)
        con.execute(
            """
            UPDATE ops.quarantine AS q SET released_at = $now, released_run_id = $run_id
            FROM _checked AS c
            WHERE q.source = $source AND q.released_at IS NULL AND c._reason IS NULL
              AND q.source_file = c._source_file AND q.row_number = c._row_number
            """,
            {"now": now, "run_id": run_id, "source": source.name},
        )
        con.execute(
            """
            UPDATE ops.quarantine AS q SET reason = c._reason, reason_kind = c._reason_kind,
                                           duplicate_of = c._duplicate_of
            FROM _checked AS c
            WHERE q.source = $source AND q.released_at IS NULL AND c._reason IS NOT NULL
              AND q.source_file = c._source_file AND q.row_number = c._row_number
            """,
            {"source": source.name},
        )
        released = con.execute(
            "SELECT DISTINCT _source_file FROM _checked WHERE _reason IS NULL ORDER BY _source_file"
        ).fetchall()
        results = []
        for (file,) in released:
            # One entry per file that got records back, with the file's counts as they are now.
            result = log_current(con, source, str(file), "replayed", run_id, now)
            if result is not None:
                results.append(result)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return results


def _remap_held(con: duckdb.DuckDBPyConnection, shapes: exports.Shapes) -> None:
    """Map held records of export shapes again (``_lines``), with the current shapes config and campaign catalog.

    A held record keeps its file's own values (its payload: the file's header names and texts): each is mapped into
    the contract's fields as its file was (with the shapes config of the day), so a campaign name the catalog now
    knows finds its campaign id. Records that could not be read (``malformed``) and records held in the contract's
    own fields (isolated, or demoted duplicates: no shape) are checked as they are.
    """
    rows = con.execute(
        "SELECT _seq, _payload, _export_shape FROM _lines WHERE _export_shape IS NOT NULL AND _line_reason IS NULL"
    ).fetchall()
    if not rows:
        return
    lookups = shapes.lookups(con)
    mappings: dict[tuple[str, tuple[str, ...]], exports.HeaderMapping] = {}
    updates: list[tuple[int, str, str | None, str | None]] = []
    for seq, payload, shape_name in rows:
        try:
            values = json.loads(payload)
        except (TypeError, ValueError):
            values = None
        shape = shapes.get(str(shape_name))
        if not isinstance(values, dict) or shape is None:
            reason = (
                f"its export shape {shape_name!r} is not configured any more ({shapes.family.env})"
                if shape is None
                else "its held payload is not a JSON object"
            )
            updates.append((int(seq), "{}", reason, "contract"))
            continue
        row = {str(k): "" if v is None else str(v) for k, v in values.items()}
        key = (shape.name, tuple(row))
        mapping = mappings.get(key) or mappings.setdefault(key, exports.HeaderMapping.of(shape, list(row)))
        if mapping.missing_required:
            names = ", ".join(f"'{m}'" for m in mapping.missing_required)
            plural = "s" if len(mapping.missing_required) > 1 else ""
            updates.append((int(seq), payload, f"the file has no {names} column{plural}", "missing_column"))
            continue
        mapped = mapping.map(row, lookups)
        record = {k: v for k, v in mapped.values.items() if v is not None}
        updates.append((int(seq), json.dumps(record, ensure_ascii=False), mapped.reason, mapped.kind))
    frame = pd.DataFrame(
        {
            "_seq": pd.Series([u[0] for u in updates], dtype="int64"),
            "_payload": pd.Series([u[1] for u in updates], dtype=object),
            "_line_reason": pd.Series([u[2] for u in updates], dtype=object),
            "_line_kind": pd.Series([u[3] for u in updates], dtype=object),
        }
    )
    con.register("_remapped", frame)
    con.execute(
        """
        UPDATE _lines SET _payload = r._payload::VARCHAR, _line_reason = r._line_reason::VARCHAR,
                          _line_kind = r._line_kind::VARCHAR
        FROM _remapped AS r WHERE _lines._seq = r._seq
        """
    )
    con.unregister("_remapped")
