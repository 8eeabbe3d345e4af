"""
### loop cycle — one day of the customer data loop

Each run covers one **data interval** of one business day (`CronDataIntervalTimetable`, local midnight to local
midnight in `LOOP_TIMEZONE`, default UTC): the run for 2026-03-02 processes the files that landed under
`date=2026-03-02` once that day is over where the business is.

1. **land_marketing / land_experience / land_product** — the pillar's raw files for the day go through their
   pydantic contracts into DuckDB; bad records go to quarantine with a reason, unreadable files are set aside.
2. **build** — `dbt build` as of the newest cycle date: staging, intermediate and marts, with dbt's data tests.
   The session models are incremental (only the sessions of devices whose events changed are recomputed); a run
   whose conf has `full_refresh` (`loop run --full-refresh`) rebuilds them from every event once.
3. **validate_<pillar>** — the pillar's Great Expectations suites on its marts, one task per pillar.
4. **publish_<pillar>** — the pillar's marts become a new Parquet version (an Asset update) when every pillar they
   are built from passed validation in this run (the edges below follow the marts' lineage in the dbt project);
   otherwise the task does not run and the previous version stays published.
5. **activate** — once the cycle pillar is published: every audience is exported to every destination (holdouts
   kept out, only the changes after the first export) and the actions are recorded; the next day's cycle reads
   them and measures what they changed. Its files are an Asset too.

Publications only move forward, and only from this attempt's own build and validations. Tasks retry with backoff
when the cause can pass (a busy warehouse); a data problem fails at once. Everything happens in the `loop`
package; this file only wires the steps.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

LANDING_PILLARS = ("marketing", "experience", "product")
PUBLISHED_PILLARS = ("marketing", "experience", "product", "cycle")


def _run(step: str, *args: str, **options: object) -> dict:
    """Call ``loop.cycle.<step>`` for the running attempt; a LoopError that retrying cannot fix fails at once."""
    from loop import cycle
    from loop.business_day import business_date
    from loop.errors import LoopError
    from loop.settings import get_settings

    context = get_current_context()
    start = context["data_interval_start"]
    assert start is not None, "loop_cycle runs need a data interval"
    run = context["dag_run"]
    settings = get_settings()
    cycle_date = business_date(start, settings.zone)  # the interval starts at local midnight of the cycle date
    attempt = cycle.Attempt.of(cycle_date, context["run_id"], getattr(run, "clear_number", 0))
    try:
        return getattr(cycle, step)(settings, attempt, *args, **options)
    except LoopError as error:
        if error.retryable:
            raise
        raise AirflowFailException(str(error)) from error


def _retries() -> dict:
    from loop.settings import get_settings

    settings = get_settings()
    return {
        "retries": settings.task_retries,
        "retry_delay": timedelta(seconds=settings.task_retry_delay_seconds),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
    }


def _timezone() -> str:
    """The business day's time zone (``LOOP_TIMEZONE``): cycle dates are days there."""
    from loop.settings import get_settings

    return get_settings().timezone


def _published_asset(pillar: str) -> Asset:
    from loop.settings import get_settings

    manifest = get_settings().published_dir / pillar / "manifest.json"
    return Asset(uri=manifest.as_uri(), name=f"loop_published_{pillar}", group="loop")


@task
def land(pillar: str) -> dict:
    return _run("land", pillar)


@task
def build() -> dict:
    # `loop run --full-refresh` puts a request id in the run's conf: its first build rebuilds every model
    conf = get_current_context()["dag_run"].conf or {}
    return _run("build", full_refresh=conf.get("full_refresh"))


@task
def validate(pillar: str) -> dict:
    return _run("validate", pillar)


@task
def publish(pillar: str) -> dict:
    return _run("publish_pillar", pillar)


@task
def activate() -> dict:
    return _run("activate")


def _exports_asset() -> Asset:
    from loop.settings import get_settings

    return Asset(uri=get_settings().exports_dir.as_uri(), name="loop_audience_exports", group="loop")


@dag(
    dag_id="loop_cycle",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=_timezone()),
    start_date=pendulum.datetime(2026, 1, 1, tz=_timezone()),
    catchup=False,
    max_active_runs=1,
    tags=["loop"],
    doc_md=__doc__,
    default_args=_retries(),
)
def loop_cycle() -> None:
    from loop.transform.catalog import pillar_lineage

    built = build()
    for pillar in LANDING_PILLARS:
        land.override(task_id=f"land_{pillar}")(pillar) >> built
    checks = {pillar: validate.override(task_id=f"validate_{pillar}")(pillar) for pillar in PUBLISHED_PILLARS}
    published = {}
    for pillar in PUBLISHED_PILLARS:
        built >> checks[pillar]
        published[pillar] = publish.override(task_id=f"publish_{pillar}", outlets=[_published_asset(pillar)])(pillar)
        for needed in pillar_lineage(pillar):
            checks[needed] >> published[pillar]
    published["cycle"] >> activate.override(outlets=[_exports_asset()])()


loop_cycle()
