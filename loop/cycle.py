"""One daily cycle of the loop, as steps the Airflow DAG calls: land -> build -> validate -> publish.

Each step is idempotent for its cycle date: landing skips unchanged files and replaces changed ones, the dbt
build recreates the marts from what landed up to the cycle date, and a publication is a new Parquet version.
Steps return small JSON-serialisable summaries (they become the tasks' XComs) and raise :class:`LoopError`
with one clear sentence when the cycle must stop.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from loop import landing, publish, transform
from loop.errors import LoopError
from loop.settings import Settings

OPS_DDL = (
    "CREATE SCHEMA IF NOT EXISTS ops",
    """CREATE TABLE IF NOT EXISTS ops.validation_log (
        run_id VARCHAR NOT NULL, cycle_date DATE NOT NULL, pillar VARCHAR NOT NULL, success BOOLEAN NOT NULL,
        evaluated INTEGER NOT NULL, failed INTEGER NOT NULL, summary VARCHAR NOT NULL, result_path VARCHAR NOT NULL,
        validated_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ops.publication_log (
        run_id VARCHAR NOT NULL, cycle_date DATE NOT NULL, pillar VARCHAR NOT NULL, version VARCHAR NOT NULL,
        rows BIGINT NOT NULL, published_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ops.build_log (
        run_id VARCHAR NOT NULL, cycle_date DATE NOT NULL, models INTEGER NOT NULL, tests INTEGER NOT NULL,
        seconds DOUBLE NOT NULL, built_at TIMESTAMPTZ NOT NULL
    )""",
)


def _record(settings: Settings, sql: str, params: list[Any]) -> None:
    from loop.warehouse import connect

    with connect(settings, write=True) as con:
        for statement in OPS_DDL:
            con.execute(statement)
        con.execute(sql, params)


def land(settings: Settings, pillar: str, cycle_date: date, run_id: str) -> dict[str, Any]:
    """Land every file of the pillar for the cycle date."""
    settings.ensure_dirs()
    results = landing.land_pillar(settings, pillar, cycle_date, run_id=run_id)
    return {
        "pillar": pillar,
        "files": len(results),
        "rows_read": sum(r.rows_read for r in results),
        "rows_loaded": sum(r.rows_loaded for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "by_file": [asdict(r) | {"partition_date": r.partition_date.isoformat()} for r in results],
    }


def build(settings: Settings, cycle_date: date, run_id: str) -> dict[str, Any]:
    """Build and test the dbt project for the cycle date."""
    result = transform.build(settings, cycle_date)
    _record(
        settings,
        "INSERT INTO ops.build_log VALUES (?, ?, ?, ?, ?, ?)",
        [run_id, cycle_date, result.models, result.tests, result.seconds, datetime.now(UTC)],
    )
    slowest = sorted(result.nodes, key=lambda n: n.seconds, reverse=True)[:5]
    return {
        "models": result.models,
        "tests": result.tests,
        "seconds": round(result.seconds, 2),
        "slowest": [{"node": n.unique_id, "seconds": round(n.seconds, 3)} for n in slowest],
    }


def validate(settings: Settings, cycle_date: date, run_id: str) -> dict[str, Any]:
    """Run every pillar's Great Expectations suites on its marts and record each outcome.

    Every pillar is validated (and recorded) before this raises, so the pillars that passed can still be
    published; :func:`publish_pillar` refuses the ones that failed.
    """
    from loop.validation import validate_pillar

    outcomes: dict[str, Any] = {}
    failures: list[str] = []
    for pillar in publish.PILLAR_DATASETS:
        frames = publish.read_marts(settings, pillar)
        outcome = validate_pillar(
            pillar,
            frames,
            run_id=run_id,
            expectations_dir=settings.expectations_dir,
            results_dir=settings.validation_dir,
        )
        _record(
            settings,
            "INSERT INTO ops.validation_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                cycle_date,
                pillar,
                outcome.success,
                outcome.evaluated,
                outcome.failed,
                outcome.summary(),
                str(outcome.result_path),
                datetime.now(UTC),
            ],
        )
        outcomes[pillar] = {
            "success": outcome.success,
            "summary": outcome.summary(),
            "result": str(outcome.result_path),
        }
        if not outcome.success:
            failures.append(f"{outcome.summary()} Full results: {outcome.result_path}")
    if failures:
        raise LoopError(
            f"Validation failed for {cycle_date}; failing pillars are not published (previous versions kept): "
            + " ".join(failures)
        )
    return outcomes


def _validated(settings: Settings, pillar: str, run_id: str) -> tuple[bool, str]:
    from loop.warehouse import connect

    with connect(settings, write=False) as con:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'ops' AND table_name = 'validation_log'"
        ).fetchone()
        if not exists or not exists[0]:
            return False, "it was not validated in this run"
        row = con.execute(
            "SELECT success, summary FROM ops.validation_log WHERE run_id = ? AND pillar = ? "
            "ORDER BY validated_at DESC LIMIT 1",
            [run_id, pillar],
        ).fetchone()
    if row is None:
        return False, "it was not validated in this run"
    return bool(row[0]), str(row[1])


def publish_pillar(settings: Settings, pillar: str, cycle_date: date, run_id: str) -> dict[str, Any]:
    """Publish the pillar's marts as a new Parquet version, only if they passed validation in this run."""
    passed, summary = _validated(settings, pillar, run_id)
    if not passed:
        raise LoopError(f"{pillar} is not published for {cycle_date} (previous version kept): {summary}")
    publication = publish.publish(settings, pillar, cycle_date, run_id)
    _record(
        settings,
        "INSERT INTO ops.publication_log VALUES (?, ?, ?, ?, ?, ?)",
        [run_id, cycle_date, pillar, publication.version, publication.rows, datetime.now(UTC)],
    )
    return {"pillar": pillar, "version": publication.version, "rows": publication.rows}


def run_locally(settings: Settings, cycle_date: date, run_id: str) -> dict[str, Any]:
    """All steps in this process, in DAG order; for tests and benchmarks (``loop run`` goes through Airflow)."""
    summary: dict[str, Any] = {"land": {}, "publish": {}, "failed": []}
    for pillar in ("marketing", "experience", "product"):
        summary["land"][pillar] = land(settings, pillar, cycle_date, run_id)
    summary["build"] = build(settings, cycle_date, run_id)
    try:
        summary["validate"] = validate(settings, cycle_date, run_id)
    except LoopError as error:
        summary["failed"].append(str(error))
    for pillar in publish.PILLAR_DATASETS:
        try:
            summary["publish"][pillar] = publish_pillar(settings, pillar, cycle_date, run_id)
        except LoopError as error:
            summary["failed"].append(str(error))
    return summary
