"""A published ``cycle`` pillar without a dbt build: a small scorecard table in the warehouse, then published."""

from __future__ import annotations

from datetime import date

import pytest

from loop import publish
from loop.settings import Settings
from loop.warehouse import connect

from ..conftest import empty_marts


def make_scorecard(settings: Settings, campaigns: int) -> None:
    empty_marts(settings, "cycle", besides=("campaign_scorecard",))
    with connect(settings, write=True) as con:
        con.execute(
            "CREATE OR REPLACE TABLE main.campaign_scorecard AS "
            "SELECT 'cmp_' || i AS campaign_id, i AS scorecard_rank, 100 - i AS promise_kept_score "
            "FROM range(1, $n + 1) t(i)",
            {"n": campaigns},
        )


def publish_cycle(
    settings: Settings, as_of: date, run: str = "r1", cycle_date: date | None = None
) -> publish.Publication:
    return publish.publish(
        settings, "cycle", cycle_date=cycle_date or as_of, as_of=as_of, run_id=run, attempt=f"{run}#0"
    )


@pytest.fixture
def published(settings: Settings) -> Settings:
    make_scorecard(settings, 3)
    publish_cycle(settings, date(2026, 3, 2))
    return settings
