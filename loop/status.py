"""What the cycles did, read from the ops tables: each cycle attempt's outcome and durations, rows per source,
files set aside, layout notices, schema drift, validation and publications."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from loop import publish
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.warehouse import connect


@dataclass(frozen=True)
class CycleStatus:
    """Figures for a window of cycle dates."""

    cycles: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    quarantine_reasons: list[dict[str, Any]] = field(default_factory=list)
    set_aside: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    validations: list[dict[str, Any]] = field(default_factory=list)
    publications: list[dict[str, Any]] = field(default_factory=list)


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
    """Status of the cycle dates between ``start`` and ``end`` (or of the ``last`` cycle dates seen)."""
    if not settings.warehouse_path.exists():
        return CycleStatus()
    with connect(settings, write=False) as con:
        if not _has(con, "ops.landing_log"):
            return CycleStatus()
        if start is None or end is None:
            dates = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT partition_date FROM ops.landing_log ORDER BY 1 DESC LIMIT ?", [last]
                ).fetchall()
            ]
            if _has(con, "ops.cycle_steps"):
                dates += [
                    r[0]
                    for r in con.execute(
                        "SELECT DISTINCT cycle_date FROM ops.cycle_steps ORDER BY 1 DESC LIMIT ?", [last]
                    ).fetchall()
                ]
            dates = sorted(set(dates))[-last:]
            if not dates:
                return CycleStatus()
            start, end = dates[0], dates[-1]
        window = [start, end]
        cycles: list[dict[str, Any]] = []
        if _has(con, "ops.cycle_steps"):
            cycles = _rows(
                con,
                """
                WITH attempts AS (
                    SELECT cycle_date, attempt, min(started_at) AS started_at, max(finished_at) AS finished_at,
                           count(*) FILTER (outcome = 'failed') AS failed_steps,
                           count(*) FILTER (outcome = 'running') AS unfinished_steps,
                           count(*) FILTER (step LIKE 'publish_%' AND outcome = 'success') AS published,
                           string_agg(step || ' ' || round(epoch(finished_at - started_at), 1) || ' s', ', '
                                      ORDER BY started_at) FILTER (finished_at IS NOT NULL) AS durations,
                           string_agg(step, ', ' ORDER BY started_at) FILTER (outcome = 'failed') AS failed
                    FROM ops.cycle_steps WHERE cycle_date BETWEEN ? AND ? GROUP BY ALL
                ),
                ranked AS (
                    SELECT *, row_number() OVER (PARTITION BY cycle_date ORDER BY started_at DESC) AS recency
                    FROM attempts
                )
                SELECT cycle_date, attempt,
                       CASE WHEN failed_steps > 0 THEN 'failed'
                            WHEN unfinished_steps > 0 AND recency > 1 THEN 'interrupted'
                            WHEN unfinished_steps > 0 THEN 'running or interrupted'
                            WHEN published = ? THEN 'success'
                            ELSE 'incomplete' END AS outcome,
                       strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started,
                       round(epoch(finished_at - started_at), 1) AS seconds,
                       failed, durations
                FROM ranked ORDER BY cycle_date, started_at
                """,
                [*window, len(PUBLISHED_PILLARS)],
            )
        # Current figures per file: rows read in its latest landing = rows in raw now + rows held now.
        sources = _rows(
            con,
            """
            WITH latest AS (
                SELECT * FROM ops.landing_log
                WHERE partition_date BETWEEN ? AND ? AND status IN ('landed', 'replaced', 'set_aside')
                QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY landed_at DESC) = 1
            ),
            held AS (
                SELECT source_file, count(*) AS held FROM ops.quarantine WHERE released_at IS NULL GROUP BY ALL
            )
            SELECT pillar, source, count(*) FILTER (status <> 'set_aside') AS files,
                   count(*) FILTER (status = 'set_aside') AS set_aside, sum(rows_read) AS rows_read,
                   sum(rows_read) - coalesce(sum(held), 0) AS rows_loaded, coalesce(sum(held), 0) AS rows_quarantined
            FROM latest LEFT JOIN held USING (source_file) GROUP BY ALL ORDER BY pillar, source
            """,
            window,
        )
        reasons = _rows(
            con,
            """
            SELECT source, reason_kind AS kind,
                   CASE
                       WHEN reason LIKE 'duplicate %' THEN regexp_extract(reason, '^duplicate [a-z_]+( [+] [a-z_]+)*')
                       WHEN reason LIKE 'unknown campaign_id%' THEN 'unknown campaign_id (held)'
                       ELSE regexp_replace(reason, '[:(].*$', '')
                   END AS reason,
                   count(*) AS records
            FROM ops.quarantine WHERE partition_date BETWEEN ? AND ? AND released_at IS NULL
            GROUP BY ALL ORDER BY records DESC, source LIMIT 12
            """,
            window,
        )
        set_aside = _rows(
            con,
            """
            SELECT partition_date, source_file AS file, reason FROM ops.landing_log
            WHERE partition_date BETWEEN ? AND ? AND status IN ('landed', 'replaced', 'set_aside')
            QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY landed_at DESC) = 1 AND status = 'set_aside'
            ORDER BY partition_date, file
            """,
            window,
        )
        notices = (
            _rows(
                con,
                "SELECT path, notice, strftime(last_noticed_at, '%Y-%m-%d %H:%M') AS last_seen "
                "FROM ops.layout_notices WHERE path IS NOT NULL ORDER BY path",
            )
            if _has(con, "ops.layout_notices")
            else []
        )
        notices = [n for n in notices if (settings.landing_dir / n["path"]).exists() or _is_link(settings, n["path"])]
        drift = (
            _rows(
                con,
                """
                SELECT source, change, column_name AS "column", count(DISTINCT source_file) AS files,
                       sum(records) AS records, min(partition_date) AS first_date, max(partition_date) AS last_date
                FROM ops.schema_drift WHERE partition_date BETWEEN ? AND ? GROUP BY ALL ORDER BY source, "column"
                """,
                window,
            )
            if _has(con, "ops.schema_drift")
            else []
        )
        validations: list[dict[str, Any]] = []
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
    publications = []
    for pillar in PUBLISHED_PILLARS:
        current = publish.current(settings, pillar)
        publications.append(
            {
                "pillar": pillar,
                "as of": current.as_of if current else "never published",
                "published by cycle": current.cycle_date if current else "",
                "version": current.version if current else "",
                "rows": current.rows if current else 0,
            }
        )
    return CycleStatus(cycles, sources, reasons, set_aside, notices, drift, validations, publications)


def _is_link(settings: Settings, path: str) -> bool:
    return (settings.landing_dir / path).is_symlink()


def scorecard_extremes(settings: Settings, count: int = 3) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Top and bottom campaigns of the published cycle scorecard."""
    from loop.publish.reader import open_reader

    if publish.current(settings, "cycle") is None:
        return [], []
    con = open_reader(settings)
    try:
        # one attribution model (first_touch: about the campaign of the customers' first session), with its reason
        columns = (
            "scorecard_rank AS rank, campaign_id, channel, round(attributed_customers, 1) AS acquired, "
            "round(attributed_roas, 2) AS attributed_roas, round(promise_area_error_rate, 3) AS promise_area_errors, "
            "round(nps) AS nps, promise_kept_score AS promise_kept, flag_reason"
        )
        scorecard = "FROM cycle.campaign_scorecard WHERE model = 'first_touch'"
        top = _rows(con, f"SELECT {columns} {scorecard} ORDER BY scorecard_rank LIMIT ?", [count])
        bottom = _rows(con, f"SELECT {columns} {scorecard} ORDER BY scorecard_rank DESC LIMIT ?", [count])
        return top, bottom
    finally:
        con.close()


def loop_turning(settings: Settings) -> dict[str, Any] | None:
    """The loop's own outputs from the published cycle pillar: top signal, audiences, latest actions, outcomes."""
    from loop.publish.reader import open_reader

    current = publish.current(settings, "cycle")
    if current is None or "product_signals" not in current.tables:
        return None
    con = open_reader(settings)
    try:
        signals = _rows(
            con,
            "SELECT product_area, symptom, customers_affected, customer_revenue, campaigns_broken, example_feedback "
            "FROM cycle.product_signals ORDER BY signal_rank LIMIT 1",
        )
        audiences = _rows(
            con,
            "SELECT audience_id AS audience, channel, members, holdout_members AS held_out, "
            "exported_members AS exported FROM cycle.audiences ORDER BY audience_id",
        )
        actions = _rows(
            con,
            "SELECT action_id AS action, treatment_size AS cohort, holdout_size AS holdout, "
            "coalesce(product_area || ': ' || symptom, rule_version) AS what "
            "FROM cycle.actions ORDER BY taken_at DESC, action_id LIMIT 8",
        )
        outcomes = _rows(
            con,
            """
            SELECT subject, metric, cohort_n, round(cohort_rate, 3) AS cohort, comparison, comparison_n,
                   round(comparison_rate, 3) AS compared, round(difference, 3) AS difference,
                   '[' || round(difference_low, 3) || ', ' || round(difference_high, 3) || ']' AS interval_95,
                   verdict
            FROM cycle.action_outcomes
            WHERE verdict <> 'too few to tell yet'
            ORDER BY verdict = 'better' DESC, abs(difference) DESC NULLS LAST, subject, metric
            LIMIT 10
            """,
        )
    finally:
        con.close()
    return {
        "top_signal": signals[0] if signals else None,
        "audiences": audiences,
        "actions": actions,
        "outcomes": outcomes,
    }
