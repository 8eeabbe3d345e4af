"""
### loop cycle — one day of the customer data loop

Each run covers one **data interval** of one day (`CronDataIntervalTimetable`, midnight UTC): the run for
2026-03-02 processes the files that landed under `date=2026-03-02` once that day is over.

1. **land_marketing / land_experience / land_product** — the pillar's raw files for the day go through their
   pydantic contracts into DuckDB; bad records go to quarantine with a reason.
2. **build** — `dbt build`: staging, intermediate and marts, with dbt data and unit tests.
3. **validate** — every pillar's Great Expectations suites run on its marts, and each outcome is recorded. If
   any pillar fails, the task fails (after validating them all), naming the failed expectations.
4. **publish_<pillar>** — runs once validation is done (`all_done`) and publishes the pillar's marts as a new
   Parquet version (an Asset update) only if that pillar passed in this run; otherwise it fails and the
   previous version stays published. So a failing suite blocks its own pillar and fails the run loudly.

Writers to the warehouse are serialized by a file lock, so the parallel tasks queue instead of failing.
Re-running a day is idempotent. Everything happens in the `loop` package; this file only wires the steps.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, dag, get_current_context, task

LANDING_PILLARS = ("marketing", "experience", "product")
PUBLISHED_PILLARS = ("marketing", "experience", "product", "loop")


def _cycle() -> tuple[object, object, str]:
    """The settings, the cycle date (start of the data interval) and the run id of the running task."""
    from loop.settings import get_settings

    context = get_current_context()
    start = context["data_interval_start"]
    assert start is not None, "loop_cycle runs need a data interval"
    return get_settings(), start.date(), context["run_id"]


@task(retries=0)
def land(pillar: str) -> dict:
    from loop import cycle

    settings, cycle_date, run_id = _cycle()
    return cycle.land(settings, pillar, cycle_date, run_id)  # type: ignore[arg-type]


@task(retries=0)
def build() -> dict:
    from loop import cycle

    settings, cycle_date, run_id = _cycle()
    return cycle.build(settings, cycle_date, run_id)  # type: ignore[arg-type]


@task(retries=0)
def validate() -> dict:
    from loop import cycle

    settings, cycle_date, run_id = _cycle()
    return cycle.validate(settings, cycle_date, run_id)  # type: ignore[arg-type]


@task(retries=0, trigger_rule="all_done")
def publish(pillar: str) -> dict:
    from loop import cycle

    settings, cycle_date, run_id = _cycle()
    return cycle.publish_pillar(settings, pillar, cycle_date, run_id)  # type: ignore[arg-type]


@dag(
    dag_id="loop_cycle",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["loop"],
    doc_md=__doc__,
)
def loop_cycle() -> None:
    built = build()
    checked = validate()
    for pillar in LANDING_PILLARS:
        land.override(task_id=f"land_{pillar}")(pillar) >> built
    built >> checked
    for pillar in PUBLISHED_PILLARS:
        checked >> publish.override(task_id=f"publish_{pillar}", outlets=[Asset(f"loop://published/{pillar}")])(pillar)


loop_cycle()
