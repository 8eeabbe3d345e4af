"""Actions: what the loop did, recorded so the next cycles can measure what it changed.

After a cycle published its marts, :func:`record_actions` writes, for the cycle's as-of date:

* one ``audience_export`` action per audience that gained members since its last action: the cohort is the new
  members outside the holdout (exported), the holdout the new members inside it (kept out of every export); a
  customer belongs to the cohort or holdout of the action that first reached them, so cohorts never overlap;
* one ``signal`` action per product signal among the top ``LOOP_SIGNALS_SENT_PER_CYCLE`` that was never sent
  before: the symptom, its product area and the customers it touched, handed to product.

An action is taken at the end of its as-of day (not at the wall-clock time), so a rerun records nothing new and two
runs of the same days record the same actions. The ``action_outcomes`` mart measures each action on the following
cycles: cohorts against their holdouts, signals against the release that names their area.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb

from loop.business_day import day_end
from loop.landing.schema import ensure_table
from loop.settings import Settings
from loop.warehouse import connect

#: The action tables (the dbt source ``cycle``), created and evolved like every ops table.
ACTION_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "ops.actions": (
        ("action_id", "VARCHAR NOT NULL"),
        ("kind", "VARCHAR NOT NULL"),
        ("subject", "VARCHAR NOT NULL"),
        ("cycle_date", "DATE NOT NULL"),
        ("as_of", "DATE NOT NULL"),
        ("taken_at", "TIMESTAMPTZ NOT NULL"),
        ("rule_version", "VARCHAR"),
        ("product_area", "VARCHAR"),
        ("symptom", "VARCHAR"),
        ("treatment_size", "BIGINT NOT NULL"),
        ("holdout_size", "BIGINT NOT NULL"),
        ("details", "VARCHAR"),
        ("run_id", "VARCHAR"),
        ("recorded_at", "TIMESTAMPTZ NOT NULL"),
    ),
    "ops.action_members": (
        ("action_id", "VARCHAR NOT NULL"),
        ("customer_id", "VARCHAR NOT NULL"),
        ("arm", "VARCHAR NOT NULL"),
    ),
}


#: What the action tables and their columns hold (the dbt source ``cycle`` is rendered from these and the types).
ACTION_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "ops.actions": {
        "": "One row per action: an audience export (its cohort and holdout) or a product signal sent to product.",
        "action_id": "<as-of date>:<kind>:<subject>.",
        "kind": "audience_export or signal.",
        "subject": "The audience id, or the signal id.",
        "cycle_date": "The cycle whose run took the action.",
        "as_of": "The data the action was decided on was complete up to this date.",
        "taken_at": "When the action took effect (the end of its as-of day).",
        "rule_version": "The rule version behind the action.",
        "product_area": "Signals: the product area.",
        "symptom": "Signals: the symptom.",
        "treatment_size": "Customers in the cohort (exported); for a signal, the customers it touched.",
        "holdout_size": "Customers held out of the export (0 for signals).",
        "details": "JSON details: export destinations, campaigns whose promise a signal breaks.",
        "run_id": "The cycle attempt that recorded it.",
        "recorded_at": "When it was recorded (wall clock; outcomes count from taken_at).",
    },
    "ops.action_members": {
        "": "One row per customer an audience export first reached: in its cohort (treatment) or its holdout.",
        "action_id": "The action.",
        "customer_id": "The customer.",
        "arm": "treatment (exported) or holdout (held out of every export).",
    },
}


@dataclass(frozen=True)
class RecordedAction:
    action_id: str
    kind: str
    subject: str
    treatment_size: int
    holdout_size: int


def ensure_action_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table, columns in ACTION_TABLES.items():
        ensure_table(con, table, columns)


def taken_at(as_of: date, zone: ZoneInfo) -> datetime:
    """When a cycle's actions take effect: the end of its as-of day (a business day in ``zone``)."""
    return day_end(as_of, zone).astimezone(UTC)


def record_actions(
    settings: Settings, *, cycle_date: date, as_of: date, run_id: str, exported: dict[str, list[str]] | None = None
) -> list[RecordedAction]:
    """Record the audience exports and signals of the cycle as of ``as_of`` (idempotent per as-of date).

    ``exported`` maps each audience to the destinations it was exported to (kept in the action's details).
    """
    recorded: list[RecordedAction] = []
    when = taken_at(as_of, settings.zone)
    now = datetime.now(UTC)
    with connect(settings, write=True) as con:
        ensure_action_tables(con)
        con.execute("BEGIN TRANSACTION")
        try:
            audiences = con.execute(
                "SELECT audience_id, rule_version FROM main.audiences ORDER BY audience_id"
            ).fetchall()
            for audience_id, rule_version in audiences:
                action_id = f"{as_of.isoformat()}:audience_export:{audience_id}"
                if _exists(con, action_id):
                    continue
                con.execute(
                    """
                    CREATE OR REPLACE TEMP TABLE _entrants AS
                    SELECT customer_id, CASE WHEN is_holdout THEN 'holdout' ELSE 'treatment' END AS arm
                    FROM main.audience_members
                    WHERE audience_id = $audience
                      AND customer_id NOT IN (
                          SELECT m.customer_id FROM ops.action_members AS m
                          JOIN ops.actions AS a USING (action_id)
                          WHERE a.kind = 'audience_export' AND a.subject = $audience
                      )
                    """,
                    {"audience": audience_id},
                )
                [(treatment, holdout)] = con.execute(
                    "SELECT count(*) FILTER (arm = 'treatment'), count(*) FILTER (arm = 'holdout') FROM _entrants"
                ).fetchall()
                if not treatment and not holdout:
                    continue  # nobody new: the export wrote no additions, there is nothing to measure
                details = {"destinations": (exported or {}).get(audience_id, [])}
                con.execute(
                    "INSERT INTO ops.actions VALUES (?, 'audience_export', ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?)",
                    [
                        action_id,
                        audience_id,
                        cycle_date,
                        as_of,
                        when,
                        rule_version,
                        treatment,
                        holdout,
                        json.dumps(details),
                        run_id,
                        now,
                    ],
                )
                con.execute(
                    "INSERT INTO ops.action_members SELECT $action, customer_id, arm FROM _entrants",
                    {"action": action_id},
                )
                recorded.append(RecordedAction(action_id, "audience_export", audience_id, treatment, holdout))
            signals = con.execute(
                """
                SELECT signal_id, product_area, symptom, customers_affected, campaigns_broken
                FROM main.product_signals
                WHERE signal_rank <= $top
                  AND signal_id NOT IN (SELECT subject FROM ops.actions WHERE kind = 'signal')
                ORDER BY signal_rank
                """,
                {"top": settings.signals_sent_per_cycle},
            ).fetchall()
            for signal_id, area, symptom, customers, campaigns in signals:
                action_id = f"{as_of.isoformat()}:signal:{signal_id}"
                if _exists(con, action_id):
                    continue
                details = {"campaigns_broken": list(campaigns or [])}
                con.execute(
                    "INSERT INTO ops.actions "
                    "VALUES (?, 'signal', ?, ?, ?, ?, 'product_signals/v1', ?, ?, ?, 0, ?, ?, ?)",
                    [
                        action_id,
                        signal_id,
                        cycle_date,
                        as_of,
                        when,
                        area,
                        symptom,
                        customers,
                        json.dumps(details),
                        run_id,
                        now,
                    ],
                )
                recorded.append(RecordedAction(action_id, "signal", signal_id, int(customers), 0))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return recorded


def _exists(con: duckdb.DuckDBPyConnection, action_id: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM ops.actions WHERE action_id = ?", [action_id]).fetchall()[0][0])
