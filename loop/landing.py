"""Landing: raw files into the warehouse's ``raw`` schema through the contracts, vectorized in DuckDB.

For each file the whole file is checked in a handful of SQL statements generated from its pydantic contract (no
Python loop per record): JSON validity, required fields, types, allowed values, ranges and patterns, cross-field
rules, then duplicates (within the file and against what already landed), unknown campaign ids and, for events,
the lookback window. Valid records go to ``raw.<source>``; every other record goes to ``ops.quarantine`` with its
file, position, raw payload and a readable reason. Each landing appends to ``ops.landing_log`` where
``rows_read = rows_loaded + rows_quarantined``.

A file is identified by its path under the landing folder. Landing it again is a no-op when its content is
unchanged, and a replacement (its earlier rows and quarantine entries removed first, in one transaction) when it
changed, so landing never duplicates rows.
"""

from __future__ import annotations

import csv
import hashlib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import annotated_types
import duckdb
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from loop.contracts import Source, sources_of
from loop.errors import LoopError
from loop.settings import Settings
from loop.warehouse import connect

PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
LandingStatus = Literal["landed", "replaced", "unchanged"]


@dataclass(frozen=True)
class FileLanding:
    """The outcome of landing one file."""

    source: str
    file: str
    partition_date: date
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    status: LandingStatus


# --------------------------------------------------------------------------------------------------------------
# Contract -> SQL
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnCheck:
    """One contract field as landing sees it."""

    name: str
    key: str
    sql_type: str
    required: bool
    checks: tuple[tuple[str, str], ...]
    """(predicate over ``typed`` and ``raw`` that must hold, message prefix) pairs, applied when the value is
    present."""

    @property
    def is_json(self) -> bool:
        return self.sql_type == "JSON"


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _sql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _column_check(name: str, field: FieldInfo) -> ColumnCheck:
    annotation = _unwrap_optional(field.annotation)
    key = field.alias or name
    checks: list[tuple[str, str]] = []
    if typing.get_origin(annotation) is Literal:
        allowed = typing.get_args(annotation)
        sql_type = "VARCHAR"
        checks.append(
            (f"typed IN ({', '.join(_sql_literal(v) for v in allowed)})", f"must be one of {', '.join(allowed)}")
        )
    elif annotation is AwareDatetime or annotation is datetime:
        sql_type = "TIMESTAMPTZ"
        if annotation is AwareDatetime:
            checks.append(
                (
                    r"(right(raw, 1) IN ('Z', 'z') OR regexp_matches(raw, '[+-]\d{2}:?\d{2}$'))",
                    "must carry a time zone (e.g. Z or +01:00)",
                )
            )
    elif annotation is date:
        sql_type = "DATE"
    elif annotation is Decimal:
        sql_type = "DECIMAL(18,2)"
    elif annotation is int:
        sql_type = "BIGINT"
    elif annotation is float:
        sql_type = "DOUBLE"
    elif annotation is str:
        sql_type = "VARCHAR"
    elif typing.get_origin(annotation) is dict:
        sql_type = "JSON"
        checks.append(("json_type(raw) = 'OBJECT'", "must be a JSON object"))
    else:  # pragma: no cover - a contract author's mistake, caught by the contract tests
        raise TypeError(f"landing cannot check field {name!r} of type {annotation!r}")
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge):
            checks.append((f"typed >= {meta.ge}", f"must be >= {meta.ge}"))
        elif isinstance(meta, annotated_types.Le):
            checks.append((f"typed <= {meta.le}", f"must be <= {meta.le}"))
        elif getattr(meta, "pattern", None):
            pattern = meta.pattern
            checks.append((f"regexp_full_match(raw, {_sql_literal(pattern)})", f"must match {pattern}"))
    return ColumnCheck(name, key, sql_type, field.is_required(), tuple(checks))


def contract_columns(model: type[BaseModel]) -> tuple[ColumnCheck, ...]:
    """The landing view of a pydantic contract: one :class:`ColumnCheck` per field, in declaration order."""
    return tuple(_column_check(name, field) for name, field in model.model_fields.items())


def raw_table_ddl(source: Source) -> str:
    """``CREATE TABLE`` for a source's raw table: the contract's typed fields plus landing metadata."""
    columns = [f'"{c.name}" {c.sql_type}' for c in contract_columns(source.model)]
    columns += [
        "_source_file VARCHAR NOT NULL",
        "_row_number BIGINT NOT NULL",
        "_partition_date DATE NOT NULL",
        "_landed_at TIMESTAMPTZ NOT NULL",
    ]
    return f"CREATE TABLE IF NOT EXISTS {source.table} (\n  " + ",\n  ".join(columns) + "\n)"


OPS_DDL = (
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SCHEMA IF NOT EXISTS ops",
    """CREATE TABLE IF NOT EXISTS ops.quarantine (
        source VARCHAR NOT NULL,
        source_file VARCHAR NOT NULL,
        row_number BIGINT NOT NULL,
        payload VARCHAR,
        reason VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        run_id VARCHAR,
        quarantined_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ops.landing_log (
        source VARCHAR NOT NULL,
        pillar VARCHAR NOT NULL,
        source_file VARCHAR NOT NULL,
        partition_date DATE NOT NULL,
        file_sha256 VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        run_id VARCHAR,
        landed_at TIMESTAMPTZ NOT NULL,
        CHECK (rows_read = rows_loaded + rows_quarantined)
    )""",
)


def ensure_schema(con: duckdb.DuckDBPyConnection, sources: tuple[Source, ...]) -> None:
    """Create the ``raw`` and ``ops`` schemas and tables that landing writes (idempotent)."""
    for statement in OPS_DDL:
        con.execute(statement)
    for source in sources:
        con.execute(raw_table_ddl(source))


# --------------------------------------------------------------------------------------------------------------
# Landing one file
# --------------------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


def _stage_ndjson(con: duckdb.DuckDBPyConnection, path: Path, columns: tuple[ColumnCheck, ...]) -> None:
    """``_lines`` (position, payload) and ``_incoming`` (position, each field as text) from an NDJSON file.

    Each line is validated (``json_valid``, cheap) and parsed once (``from_json`` into a struct of text and JSON
    fields); a line that is not a JSON object is reported as malformed. Blank lines are not records.
    """
    struct = "{" + ", ".join(f'"{c.key}": "{"JSON" if c.is_json else "VARCHAR"}"' for c in columns) + "}"
    picks = [
        f'_s."{c.key}" AS "{c.name}"' if c.is_json else f'nullif(trim(_s."{c.key}"), \'\') AS "{c.name}"'
        for c in columns
    ]
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _lines AS
        SELECT row_number() OVER () AS _row_number, line AS _payload
        FROM read_csv(?, columns = {'line': 'VARCHAR'}, header = false, delim = '\x1e', quote = '',
                      escape = '', auto_detect = false, strict_mode = false, hive_partitioning = false)
        """,
        [str(path)],
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _incoming AS
        WITH parsed AS (
            SELECT _row_number,
                   CASE WHEN json_valid(_payload) AND starts_with(ltrim(_payload), '{{')
                        THEN from_json(_payload, {_sql_literal(struct)}) END AS _s
            FROM _lines WHERE _payload IS NOT NULL AND trim(_payload) <> ''
        )
        SELECT _row_number,
               CASE WHEN _s IS NULL THEN 'malformed JSON: not a JSON object on one line' END AS _file_reason,
               {", ".join(picks)}
        FROM parsed
        """
    )


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, columns: tuple[ColumnCheck, ...]) -> None:
    """``_lines`` and ``_incoming`` from a CSV file; rows DuckDB cannot parse are kept with a reason too."""
    header = _csv_header(path)
    missing = [c.key for c in columns if c.key not in header]
    file_reason = _sql_literal(f"the file has no {', '.join(repr(m) for m in missing)} column") if missing else "NULL"
    picks = [
        f'nullif(trim("{c.key}"), \'\') AS "{c.name}"' if c.key in header else f'NULL::VARCHAR AS "{c.name}"'
        for c in columns
    ]
    payload = "json_object(" + ", ".join(f'{_sql_literal(h)}, "{h}"' for h in header) + ")::VARCHAR"
    con.execute("DROP TABLE IF EXISTS _rejects; DROP TABLE IF EXISTS _reject_scans")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _parsed AS
        SELECT row_number() OVER () AS _rank, {payload} AS _payload, {", ".join(picks)}
        FROM read_csv(?, header = true, all_varchar = true, delim = ',', quote = '"', escape = '"',
                      hive_partitioning = false, store_rejects = true, rejects_table = '_rejects',
                      rejects_scan = '_reject_scans')
        """,
        [str(path)],
    )
    # Record positions count every data row, parsed or rejected: rank the good rows into the gaps.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _positions AS
        WITH rejected AS (SELECT DISTINCT line - 1 AS _row_number FROM _rejects)
        SELECT p AS _row_number, row_number() OVER (ORDER BY p) AS _rank
        FROM range(1, (SELECT count(*) FROM _parsed) + (SELECT count(*) FROM rejected) + 1) AS t(p)
        WHERE p NOT IN (SELECT _row_number FROM rejected)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _lines AS
        SELECT _positions._row_number, _parsed._payload FROM _parsed JOIN _positions USING (_rank)
        UNION ALL
        SELECT DISTINCT ON (line) line - 1, csv_line FROM _rejects
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _incoming AS
        SELECT _positions._row_number, {file_reason}::VARCHAR AS _file_reason,
               {", ".join(f'_parsed."{c.name}"' for c in columns)}
        FROM _parsed JOIN _positions USING (_rank)
        UNION ALL
        SELECT DISTINCT ON (line) line - 1, 'malformed CSV row: ' || error_message, {", ".join("NULL" for _ in columns)}
        FROM _rejects
        """
    )


def _contract_reason_sql(columns: tuple[ColumnCheck, ...]) -> tuple[str, str]:
    """(typed select list, reason expression) for the contract checks over ``_incoming``."""
    typed = []
    reasons: list[str] = []
    for c in columns:
        raw = f'"{c.name}"'
        typed_expr = f"TRY_CAST({raw} AS {c.sql_type})"
        typed.append(f'{typed_expr} AS "{c.name}"')
        if c.required:
            reasons.append(f"CASE WHEN {raw} IS NULL THEN 'missing required field \"{c.key}\"' END")
        type_name = c.sql_type.split("(")[0].lower().replace("timestamptz", "timestamp").replace("bigint", "integer")
        reasons.append(
            f"CASE WHEN {raw} IS NOT NULL AND {typed_expr} IS NULL THEN "
            f"'\"{c.key}\" is not a valid {type_name}: ' || left({raw}, 80) END"
        )
        for predicate, message in c.checks:
            condition = predicate.replace("typed", typed_expr).replace("raw", raw)
            reasons.append(
                f"CASE WHEN {typed_expr} IS NOT NULL AND NOT coalesce({condition}, false) THEN "
                f"'\"{c.key}\" {message.replace(chr(39), chr(39) * 2)}: ' || left({raw}, 80) END"
            )
    field_reasons = "nullif(concat_ws('; ', " + ", ".join(reasons) + "), '')"
    return ", ".join(typed), f"coalesce(_file_reason, {field_reasons})"


def _land_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    relative: str,
    partition_date: date,
    run_id: str | None,
    settings: Settings,
) -> FileLanding:
    sha = _sha256(path)
    previous = con.execute(
        "SELECT file_sha256, rows_read, rows_loaded, rows_quarantined FROM ops.landing_log "
        "WHERE source_file = ? AND status <> 'unchanged' ORDER BY landed_at DESC LIMIT 1",
        [relative],
    ).fetchone()
    now = datetime.now(UTC)
    if previous is not None and previous[0] == sha:
        read, loaded, quarantined = (int(v) for v in previous[1:])
        result = FileLanding(source.name, relative, partition_date, read, loaded, quarantined, status="unchanged")
        _log(con, source, result, sha, run_id, now)
        return result

    columns = contract_columns(source.model)
    fmt = path.suffix.lstrip(".").lower()
    con.execute("BEGIN TRANSACTION")
    try:
        if previous is not None:
            con.execute(f"DELETE FROM {source.table} WHERE _source_file = ?", [relative])
            con.execute("DELETE FROM ops.quarantine WHERE source_file = ?", [relative])
        (_stage_ndjson if fmt == "ndjson" else _stage_csv)(con, path, columns)
        typed, contract_reason = _contract_reason_sql(columns)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _checked AS
                SELECT _row_number, {contract_reason} AS _reason, {typed} FROM _incoming"""
        )
        _apply_record_checks(con, source, partition_date, settings)
        names = ", ".join(f'"{c.name}"' for c in columns)
        con.execute(
            f"""INSERT INTO {source.table} ({names}, _source_file, _row_number, _partition_date, _landed_at)
                SELECT {names}, ?, _row_number, ?, ? FROM _checked WHERE _reason IS NULL ORDER BY _row_number""",
            [relative, partition_date, now],
        )
        con.execute(
            """INSERT INTO ops.quarantine
               SELECT ?, ?, _row_number, _lines._payload, _reason, ?, ?, ?
               FROM _checked JOIN _lines USING (_row_number) WHERE _reason IS NOT NULL
               ORDER BY _row_number""",
            [source.name, relative, partition_date, run_id, now],
        )
        counts = con.execute("SELECT count(*), count(*) FILTER (_reason IS NULL) FROM _checked").fetchone()
        assert counts is not None
        read, loaded = int(counts[0]), int(counts[1])
        result = FileLanding(
            source.name,
            relative,
            partition_date,
            read,
            loaded,
            read - loaded,
            status="replaced" if previous is not None else "landed",
        )
        _log(con, source, result, sha, run_id, now)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return result


def _apply_record_checks(
    con: duckdb.DuckDBPyConnection, source: Source, partition_date: date, settings: Settings
) -> None:
    """Rules across fields, duplicates, unknown campaigns and the lookback window, for contract-valid records."""
    clauses: list[str] = [
        f"CASE WHEN NOT coalesce({rule.sql}, false) THEN {_sql_literal(rule.message)} END" for rule in source.rules
    ]
    joins: list[str] = []
    if source.key:
        key_cols = ", ".join(f'"{k}"' for k in source.key)
        key_label = " + ".join(source.key)
        key_text = " || '/' || ".join(f'"{k}"::VARCHAR' for k in source.key)
        joins.append(
            f"""LEFT JOIN (SELECT {key_cols}, min(_source_file) AS _landed_in FROM {source.table}
                          WHERE ({key_cols}) IN (SELECT ({key_cols}) FROM _checked)
                          GROUP BY ALL) AS landed USING ({key_cols})"""
        )
        clauses.append(
            f"CASE WHEN _landed_in IS NOT NULL THEN 'duplicate {key_label} ' || {key_text} "
            f"|| ', already landed from ' || _landed_in END"
        )
        clauses.append(
            f"CASE WHEN _first_row < _row_number THEN 'duplicate {key_label} ' || {key_text} "
            f"|| ' (first seen at record ' || _first_row || ' of this file)' END"
        )
        joins.append(
            f"""LEFT JOIN (SELECT {key_cols}, min(_row_number) AS _first_row FROM _checked WHERE _reason IS NULL
                          GROUP BY ALL) AS firsts USING ({key_cols})"""
        )
    if source.references_campaign:
        joins.append(
            f"""LEFT JOIN (SELECT DISTINCT campaign_id AS _known_campaign FROM raw.campaigns
                          WHERE _partition_date <= DATE '{partition_date.isoformat()}') AS catalog
                ON catalog._known_campaign = campaign_id"""
        )
        clauses.append(
            "CASE WHEN _known_campaign IS NULL THEN 'unknown campaign_id ' || campaign_id "
            "|| ': not in the campaign catalog' END"
        )
    if source.event_time:
        day_start = datetime.combine(partition_date, datetime.min.time(), tzinfo=UTC)
        oldest = day_start - timedelta(days=settings.lookback_days)
        newest = day_start + timedelta(days=1, hours=settings.future_tolerance_hours)
        column = f'"{source.event_time}"'
        clauses.append(
            f"CASE WHEN {column} < TIMESTAMPTZ '{oldest.isoformat()}' THEN 'late event: "
            f"{source.event_time} ' || strftime({column}, '%Y-%m-%dT%H:%M:%SZ') || ' is more than "
            f"{settings.lookback_days} days before its landing date {partition_date.isoformat()}' "
            f"WHEN {column} >= TIMESTAMPTZ '{newest.isoformat()}' THEN 'future event: "
            f"{source.event_time} ' || strftime({column}, '%Y-%m-%dT%H:%M:%SZ') || ' is after its landing date "
            f"{partition_date.isoformat()}' END"
        )
    if not clauses:
        return
    # Only contract-valid records get these reasons; the first reason that applies is kept.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _checked AS
        SELECT * EXCLUDE (_reason{", _first_row, _landed_in" if source.key else ""}
                          {", _known_campaign" if source.references_campaign else ""}),
               coalesce(_reason, {"coalesce(" + ", ".join(clauses) + ")" if len(clauses) > 1 else clauses[0]})
                   AS _reason
        FROM _checked {" ".join(joins)}
        """
    )


def _log(
    con: duckdb.DuckDBPyConnection, source: Source, result: FileLanding, sha: str, run_id: str | None, now: datetime
) -> None:
    con.execute(
        "INSERT INTO ops.landing_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            source.name,
            source.pillar,
            result.file,
            result.partition_date,
            sha,
            result.status,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            run_id,
            now,
        ],
    )


# --------------------------------------------------------------------------------------------------------------
# Landing a pillar's partition
# --------------------------------------------------------------------------------------------------------------


def partition_files(landing_dir: Path, source: Source, partition_date: date) -> list[Path]:
    """The files of one source for one date, in name order; a file of an unsupported format is an error."""
    folder = landing_dir / source.pillar / source.name / f"date={partition_date.isoformat()}"
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))
    for path in files:
        if path.suffix.lstrip(".").lower() not in source.formats:
            raise LoopError(f"{path} is not a {' or '.join(source.formats)} file, the formats {source.name} accepts.")
    return files


def land_pillar(
    settings: Settings,
    pillar: str,
    partition_date: date,
    *,
    run_id: str | None = None,
    on_file: Callable[[FileLanding], None] | None = None,
) -> list[FileLanding]:
    """Land every file of ``pillar`` for ``partition_date`` (all its sources, catalog first)."""
    sources = sources_of(pillar)
    if not sources:
        raise LoopError(f"Unknown pillar {pillar!r}; pillars that land data are marketing, experience, product.")
    results: list[FileLanding] = []
    with connect(settings, write=True) as con:
        ensure_schema(con, sources_of("marketing") + sources)
        for source in sources:
            for path in partition_files(settings.landing_dir, source, partition_date):
                relative = path.relative_to(settings.landing_dir).as_posix()
                result = _land_file(con, source, path, relative, partition_date, run_id, settings)
                results.append(result)
                if on_file is not None:
                    on_file(result)
    return results
