"""Record actions in a warehouse the way the cycles do: ``ops.actions`` and ``ops.action_members``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from loop.sample import Action
from loop.settings import Settings
from loop.warehouse import connect

ACTIONS_DDL = """CREATE TABLE IF NOT EXISTS ops.actions (
    action_id VARCHAR, kind VARCHAR, subject VARCHAR, cycle_date DATE, as_of DATE, taken_at TIMESTAMPTZ,
    rule_version VARCHAR, product_area VARCHAR, symptom VARCHAR, treatment_size BIGINT, holdout_size BIGINT,
    details VARCHAR
)"""
MEMBERS_DDL = "CREATE TABLE IF NOT EXISTS ops.action_members (action_id VARCHAR, customer_id VARCHAR, arm VARCHAR)"


def create_tables(settings: Settings) -> None:
    with connect(settings, write=True) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        con.execute(ACTIONS_DDL)
        con.execute(MEMBERS_DDL)


def record(settings: Settings, actions: Iterable[Action]) -> None:
    """Insert the actions and their members (creating the tables if needed)."""
    create_tables(settings)
    with connect(settings, write=True) as con:
        for a in actions:
            con.execute(
                "INSERT INTO ops.actions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    a.action_id,
                    a.kind,
                    a.subject,
                    a.cycle_date,
                    a.as_of or a.cycle_date,
                    datetime.now(UTC),
                    f"{a.subject}/v1",
                    a.product_area,
                    a.symptom,
                    len(a.treatment),
                    len(a.holdout),
                    "{}",
                ],
            )
            rows = [(a.action_id, c, "treatment") for c in a.treatment] + [
                (a.action_id, c, "holdout") for c in a.holdout
            ]
            if rows:
                con.executemany("INSERT INTO ops.action_members VALUES (?, ?, ?)", rows)
