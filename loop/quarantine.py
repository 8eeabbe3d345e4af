"""The quarantine, for the people who fix data: list held records, explain one, replay them after a fix, and
isolate landed records that turned out to be wrong.

Records are held in ``ops.quarantine`` with their file, position, raw payload, reason and kind of reason. Replaying
takes held records back through the current contract and checks (after a contract or mapping fix, or once a
missing reference has landed): those that pass land with their original file and position, the others stay held
with their current reason. Released entries are kept (marked released) so the history is never lost, and every
replay is logged with ``rows_read = rows_loaded + rows_quarantined``.

Isolating moves landed records of a file (all of them, or some positions) out of ``raw`` into quarantine with the
operator's reason (kind ``isolated``): a record that passed its contract but broke a pillar's validation stops
blocking the pillar from the next cycle on, and can be replayed once it is understood.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from loop.contracts import SOURCES, source_named
from loop.errors import LoopError
from loop.landing import FileLanding
from loop.landing.files import replay_held
from loop.landing.schema import ensure_tables
from loop.settings import Settings
from loop.warehouse import connect

KINDS = (
    "malformed",
    "missing_column",
    "contract",
    "rule",
    "duplicate",
    "unknown_reference",
    "late",
    "future",
    "isolated",
)


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    kind: str | None = None
    partition_date: date | None = None
    source_file: str | None = None

    def check(self) -> None:
        if self.source is not None:
            try:
                source_named(self.source)
            except KeyError as error:
                raise LoopError(str(error).strip("'\"")) from None
        if self.kind is not None and self.kind not in KINDS:
            raise LoopError(f"Unknown reason kind {self.kind!r}; kinds are {', '.join(KINDS)}.")

    def sql(self) -> tuple[str, dict[str, Any]]:
        where, params = ["released_at IS NULL"], {}
        for column, value in (
            ("source", self.source),
            ("reason_kind", self.kind),
            ("partition_date", self.partition_date),
            ("source_file", self.source_file),
        ):
            if value is not None:
                where.append(f"{column} = ${column}")
                params[column] = value
        return " AND ".join(where), params


def summary(settings: Settings, filters: Filters) -> list[dict[str, Any]]:
    """Held records grouped by source, kind and reason (the variable part of a reason cut off)."""
    filters.check()
    where, params = filters.sql()
    with connect(settings, write=False) as con:
        cursor = con.execute(
            f"""
            SELECT source, reason_kind AS kind, regexp_replace(reason, '[:(].*$', '') AS reason, count(*) AS records,
                   count(DISTINCT source_file) AS files, min(partition_date) AS first_date,
                   max(partition_date) AS last_date
            FROM ops.quarantine WHERE {where} GROUP BY ALL ORDER BY records DESC, source, kind
            """,
            params,
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def records(settings: Settings, filters: Filters, limit: int) -> list[dict[str, Any]]:
    """Held records, oldest first."""
    filters.check()
    where, params = filters.sql()
    with connect(settings, write=False) as con:
        cursor = con.execute(
            f"""
            SELECT source_file AS file, row_number AS record, reason_kind AS kind, reason
            FROM ops.quarantine WHERE {where} ORDER BY partition_date, source_file, row_number LIMIT $limit
            """,
            params | {"limit": limit},
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def explain(settings: Settings, source_file: str, record: int) -> dict[str, Any]:
    """One quarantined record: where it came from, its payload, the reason, and the contract's own explanation."""
    with connect(settings, write=False) as con:
        row = con.execute(
            """SELECT source, source_file, row_number, partition_date, reason_kind, reason, payload, released_at
               FROM ops.quarantine WHERE source_file = ? AND row_number = ?
               ORDER BY quarantined_at DESC LIMIT 1""",
            [source_file, record],
        ).fetchone()
    if row is None:
        raise LoopError(f"No quarantined record {record} of {source_file}; `loop quarantine list` shows them.")
    source = source_named(str(row[0]))
    explanation: list[str] = []
    try:
        parsed = json.loads(row[6], parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError, TypeError):
        parsed = None
    if isinstance(parsed, dict):
        try:
            source.model.model_validate(parsed)
        except ValidationError as error:
            for problem in error.errors():
                where = ".".join(str(p) for p in problem["loc"]) or "record"
                field = source.model.model_fields.get(str(problem["loc"][0])) if problem["loc"] else None
                about = f" ({field.description})" if field is not None and field.description else ""
                explanation.append(f"{where}{about}: {problem['msg']}")
    fields = [
        f"{info.alias or name}: {info.description or _type_name(info.annotation)}"
        for name, info in source.model.model_fields.items()
    ]
    return {
        "source": source.name,
        "file": row[1],
        "record": row[2],
        "date": row[3],
        "kind": row[4],
        "reason": row[5],
        "payload": row[6],
        "released": row[7] is not None,
        "contract": explanation,
        "fields": fields,
    }


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", str(annotation)).replace("typing.", "")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@dataclass(frozen=True)
class ReplayOutcome:
    """What a replay did: records evaluated and released, and the files that got records back (their counts as
    they stand now: rows read = rows landed + rows still held)."""

    evaluated: int
    released: int
    files: list[FileLanding]


def replay(settings: Settings, filters: Filters, run_id: str) -> ReplayOutcome:
    """Replay the held records matching the filters (all sources when none is given), source by source."""
    filters.check()
    sources = [source_named(filters.source)] if filters.source else list(SOURCES)
    where, params = filters.sql()
    files: list[FileLanding] = []
    with connect(settings, write=True) as con:
        ensure_tables(con, SOURCES)
        [(evaluated,)] = con.execute(f"SELECT count(*) FROM ops.quarantine WHERE {where}", params).fetchall()
        for source in sources:
            files += replay_held(
                con,
                source,
                settings,
                run_id,
                kinds=(filters.kind,) if filters.kind else None,
                source_file=filters.source_file,
                partition_date=filters.partition_date,
            )
        [(released,)] = con.execute(
            "SELECT count(*) FROM ops.quarantine WHERE released_run_id = ?", [run_id]
        ).fetchall()
    return ReplayOutcome(int(evaluated), int(released), files)


def isolate(settings: Settings, source_file: str, records: list[int] | None, reason: str, run_id: str) -> int:
    """Move landed records of ``source_file`` (every record, or the given positions) into quarantine, in one
    transaction; returns how many were isolated."""
    from datetime import UTC, datetime

    from loop.landing.compile import Compiler, plan_fields, quote_ident
    from loop.landing.files import _payload_sql, log_current

    if not reason.strip():
        raise LoopError("Say why the records are isolated (--reason): it is what the quarantine will show.")
    with connect(settings, write=True) as con:
        ensure_tables(con, SOURCES)
        row = con.execute(
            "SELECT source, pillar, partition_date FROM ops.landing_log WHERE source_file = ? "
            "ORDER BY landed_at DESC LIMIT 1",
            [source_file],
        ).fetchall()
        if not row:
            raise LoopError(f"{source_file} was never landed; `loop status` lists the landed files.")
        source = source_named(str(row[0][0]))
        plans = plan_fields(source.model)
        compiler = Compiler()
        payload = _payload_sql(plans, compiler)
        now = datetime.now(UTC)
        chosen = "" if records is None else " AND list_contains($records, _row_number)"
        params = compiler.params | {"file": source_file, "run_id": run_id, "now": now, "source": source.name}
        params |= {"reason": f"isolated by an operator: {reason.strip()}"}
        if records is not None:
            params["records"] = records
        table = f"raw.{quote_ident(source.name)}"
        con.execute("BEGIN TRANSACTION")
        try:
            isolated = con.execute(
                f"""
                INSERT INTO ops.quarantine (source, source_file, row_number, payload, reason, partition_date, run_id,
                                            quarantined_at, reason_kind)
                SELECT $source, _source_file, _row_number, {payload}, $reason, _partition_date, $run_id, $now,
                       'isolated'
                FROM {table} WHERE _source_file = $file{chosen}
                """,
                params,
            ).fetchall()
            count = int(isolated[0][0]) if isolated else 0
            delete_params = {"file": source_file} | ({"records": records} if records is not None else {})
            con.execute(f"DELETE FROM {table} WHERE _source_file = $file{chosen}", delete_params)
            log_current(con, source, source_file, "isolated", run_id, now)  # the file's counts as they are now
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    if records is not None and count != len(set(records)):
        raise LoopError(
            f"Isolated {count} of the {len(set(records))} record(s) asked for: the others are not landed from "
            f"{source_file} (already held, or never there)."
        )
    return count
