"""What the cycles did: landing, quarantine, validation and publication figures, read from the ops tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from loop import publish
from loop.settings import Settings
from loop.warehouse import connect


@dataclass(frozen=True)
class CycleStatus:
    """Figures for a set of cycle dates (or the latest cycles)."""

    sources: list[dict[str, Any]]
    validations: list[dict[str, Any]]
    cycles: list[dict[str, Any]]
    quarantine_reasons: list[dict[str, Any]]
    publications: list[dict[str, Any]]


def _rows(con: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _has(con: Any, table: str) -> bool:
    schema, name = table.split(".")
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchone()
    return bool(found and found[0])


def cycle_status(settings: Settings, start: date | None = None, end: date | None = None, last: int = 7) -> CycleStatus:
    """Per-source landing counts, validation results and cycles between ``start`` and ``end`` (or the last ones)."""
    with connect(settings, write=False) as con:
        if not _has(con, "ops.landing_log"):
            return CycleStatus([], [], [], [], [])
        if start is None or end is None:
            bounds = con.execute(
                "SELECT max(partition_date) - INTERVAL (? - 1) DAY, max(partition_date) FROM ops.landing_log", [last]
            ).fetchone()
            assert bounds is not None
            start = start or (bounds[0].date() if hasattr(bounds[0], "date") else bounds[0])
            end = end or bounds[1]
        window = [start, end]
        # The latest landing of each file counts (re-landings replace, unchanged files repeat earlier counts).
        sources = _rows(
            con,
            """
            WITH latest AS (
                SELECT * FROM ops.landing_log
                WHERE partition_date BETWEEN ? AND ?
                QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY landed_at DESC) = 1
            )
            SELECT pillar, source, count(*) AS files, sum(rows_read) AS rows_read, sum(rows_loaded) AS rows_loaded,
                   sum(rows_quarantined) AS rows_quarantined
            FROM latest GROUP BY ALL ORDER BY pillar, source
            """,
            window,
        )
        reasons = _rows(
            con,
            """
            SELECT source,
                   CASE
                       WHEN reason LIKE 'duplicate %' THEN regexp_extract(reason, '^duplicate [a-z_]+( [+] [a-z_]+)*')
                       WHEN reason LIKE 'unknown campaign_id%' THEN 'unknown campaign_id'
                       ELSE regexp_replace(reason, '[:(].*$', '')
                   END AS reason,
                   count(*) AS records
            FROM ops.quarantine WHERE partition_date BETWEEN ? AND ?
            GROUP BY ALL ORDER BY records DESC LIMIT 12
            """,
            window,
        )
        validations: list[dict[str, Any]] = []
        cycles: list[dict[str, Any]] = []
        publications: list[dict[str, Any]] = []
        if _has(con, "ops.validation_log"):
            validations = _rows(
                con,
                """
                SELECT cycle_date, pillar, success, evaluated, failed, summary, result_path
                FROM ops.validation_log WHERE cycle_date BETWEEN ? AND ?
                QUALIFY row_number() OVER (PARTITION BY cycle_date, pillar ORDER BY validated_at DESC) = 1
                ORDER BY cycle_date, pillar
                """,
                window,
            )
        if _has(con, "ops.publication_log"):
            publications = _rows(
                con,
                """
                SELECT cycle_date, pillar, version, rows FROM ops.publication_log WHERE cycle_date BETWEEN ? AND ?
                QUALIFY row_number() OVER (PARTITION BY cycle_date, pillar ORDER BY published_at DESC) = 1
                ORDER BY cycle_date, pillar
                """,
                window,
            )
        cycles = _rows(
            con,
            """
            WITH latest AS (
                SELECT * FROM ops.landing_log WHERE partition_date BETWEEN ? AND ?
                QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY landed_at DESC) = 1
            )
            SELECT partition_date AS cycle_date, sum(rows_loaded) AS rows_loaded,
                   sum(rows_quarantined) AS rows_quarantined, max(landed_at) AS last_landed_at
            FROM latest GROUP BY ALL ORDER BY cycle_date
            """,
            window,
        )
        return CycleStatus(sources, validations, cycles, reasons, publications)


def scorecard_extremes(settings: Settings, count: int = 3) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Top and bottom campaigns of the published cycle scorecard."""
    if publish.current(settings, "loop") is None:
        return [], []
    con = publish.reader(settings)
    try:
        columns = (
            "scorecard_rank AS rank, campaign_id, channel, customers_acquired AS acquired, round(roas, 2) AS roas, "
            "round(conversion_rate, 3) AS conversion, round(error_rate, 3) AS error_rate, nps, "
            "promise_kept_score AS promise_kept"
        )
        top = _rows(con, f"SELECT {columns} FROM loop.campaign_scorecard ORDER BY scorecard_rank LIMIT ?", [count])
        bottom = _rows(
            con, f"SELECT {columns} FROM loop.campaign_scorecard ORDER BY scorecard_rank DESC LIMIT ?", [count]
        )
        return top, bottom
    finally:
        con.close()
