"""One daily cycle of the loop, as steps the Airflow DAG calls: land -> build -> validate -> publish.

Every step belongs to an **attempt**: one run of the cycle of a day (an Airflow dag run, and each time it is
cleared and run again). A publication trusts only the build and the validations of its own attempt, so a rerun
whose landing or build fails publishes nothing, whatever an earlier attempt of the same day achieved.

The build's **as-of date** is the newest cycle date built so far (or this cycle's, if newer): rerunning an earlier
day lands that day's corrected files and rebuilds the marts with everything known, so publications only move
forward. A pillar is published only if every pillar its marts are built from (its lineage, read from the dbt
project) passed validation in the same attempt.

Each step is recorded in ``ops.cycle_steps`` (start, end, outcome), and its figures in ``ops.build_log``,
``ops.validation_log`` and ``ops.publication_log``; ``loop status`` reads them. Steps return small
JSON-serialisable summaries (the tasks' XComs) and raise :class:`LoopError` with one clear sentence.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from loop import landing, publish, transform
from loop.errors import LoopError
from loop.landing.schema import ensure_table
from loop.settings import PILLARS, PUBLISHED_PILLARS, Settings
from loop.transform import catalog
from loop.warehouse import connect

OPS_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "ops.cycle_steps": (
        ("run_id", "VARCHAR NOT NULL"),
        ("attempt", "VARCHAR NOT NULL"),
        ("cycle_date", "DATE NOT NULL"),
        ("step", "VARCHAR NOT NULL"),
        ("started_at", "TIMESTAMPTZ NOT NULL"),
        ("finished_at", "TIMESTAMPTZ"),
        ("outcome", "VARCHAR NOT NULL"),
        ("detail", "VARCHAR"),
    ),
    "ops.build_log": (
        ("run_id", "VARCHAR NOT NULL"),
        ("cycle_date", "DATE NOT NULL"),
        ("models", "INTEGER NOT NULL"),
        ("tests", "INTEGER NOT NULL"),
        ("seconds", "DOUBLE NOT NULL"),
        ("built_at", "TIMESTAMPTZ NOT NULL"),
        ("attempt", "VARCHAR"),
        ("as_of", "DATE"),
        ("success", "BOOLEAN"),
        ("detail", "VARCHAR"),
    ),
    # `loop run --full-refresh` requests done: the first successful build of a request rebuilt everything.
    "ops.full_refresh_log": (
        ("request", "VARCHAR NOT NULL"),
        ("run_id", "VARCHAR NOT NULL"),
        ("attempt", "VARCHAR NOT NULL"),
        ("as_of", "DATE NOT NULL"),
        ("built_at", "TIMESTAMPTZ NOT NULL"),
    ),
    "ops.validation_log": (
        ("run_id", "VARCHAR NOT NULL"),
        ("cycle_date", "DATE NOT NULL"),
        ("pillar", "VARCHAR NOT NULL"),
        ("success", "BOOLEAN NOT NULL"),
        ("evaluated", "INTEGER NOT NULL"),
        ("failed", "INTEGER NOT NULL"),
        ("summary", "VARCHAR NOT NULL"),
        ("result_path", "VARCHAR NOT NULL"),
        ("validated_at", "TIMESTAMPTZ NOT NULL"),
        ("attempt", "VARCHAR"),
        ("as_of", "DATE"),
    ),
    "ops.publication_log": (
        ("run_id", "VARCHAR NOT NULL"),
        ("cycle_date", "DATE NOT NULL"),
        ("pillar", "VARCHAR NOT NULL"),
        ("version", "VARCHAR NOT NULL"),
        ("rows", "BIGINT NOT NULL"),
        ("published_at", "TIMESTAMPTZ NOT NULL"),
        ("attempt", "VARCHAR"),
        ("as_of", "DATE"),
    ),
}


@dataclass(frozen=True)
class Attempt:
    """One attempt at the cycle of one day."""

    cycle_date: date
    run_id: str
    attempt: str
    """Unique per attempt: the Airflow run id and how many times that run was cleared (``<run_id>#<n>``)."""

    @classmethod
    def of(cls, cycle_date: date, run_id: str, clear_number: int | None = 0) -> Attempt:
        return cls(cycle_date, run_id, f"{run_id}#{clear_number or 0}")


def ensure_ops(settings: Settings) -> None:
    """Create or evolve the cycle's ops tables (idempotent)."""
    with connect(settings, write=True) as con:
        for table, columns in OPS_TABLES.items():
            ensure_table(con, table, columns)


def _execute(settings: Settings, sql: str, params: list[Any]) -> None:
    with connect(settings, write=True) as con:
        for table, columns in OPS_TABLES.items():
            ensure_table(con, table, columns)
        con.execute(sql, params)


#: Called with a step's name once its start is recorded (``run_locally``'s ``on_step``), in this context only.
_step_started: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "loop_step_started", default=None
)


@contextlib.contextmanager
def _step(settings: Settings, attempt: Attempt, step: str) -> Iterator[dict[str, Any]]:
    """Record a step's start and outcome in ``ops.cycle_steps``; the body may put a ``detail`` in the dict."""
    started = datetime.now(UTC)
    _execute(
        settings,
        "INSERT INTO ops.cycle_steps VALUES (?, ?, ?, ?, ?, NULL, 'running', NULL)",
        [attempt.run_id, attempt.attempt, attempt.cycle_date, step, started],
    )
    started_hook = _step_started.get()
    if started_hook is not None:
        started_hook(step)
    note: dict[str, Any] = {}
    outcome, detail = "failed", None
    try:
        yield note
        outcome, detail = "success", note.get("detail")
    except BaseException as error:
        detail = str(error)[:2000]
        raise
    finally:
        with contextlib.suppress(Exception):
            _execute(
                settings,
                "UPDATE ops.cycle_steps SET finished_at = ?, outcome = ?, detail = ? "
                "WHERE attempt = ? AND step = ? AND started_at = ?",
                [datetime.now(UTC), outcome, detail, attempt.attempt, step, started],
            )


# ----------------------------------------------------------------------------------------------------------------
# land
# ----------------------------------------------------------------------------------------------------------------


def land(settings: Settings, attempt: Attempt, pillar: str) -> dict[str, Any]:
    """Land every file of the pillar for the cycle date; files that cannot be read are set aside and reported."""
    settings.ensure_dirs()
    with _step(settings, attempt, f"land_{pillar}") as note:
        results = landing.land_pillar(settings, pillar, attempt.cycle_date, run_id=attempt.attempt)
        files = [r for r in results if r.status != "replayed"]
        replays = [r for r in results if r.status == "replayed"]
        set_aside = [{"file": r.file, "reason": r.reason} for r in files if r.status == "set_aside"]
        summary: dict[str, Any] = {
            "pillar": pillar,
            "files": len(files),
            "rows_read": sum(r.rows_read for r in files),
            "rows_loaded": sum(r.rows_loaded for r in files),
            "rows_quarantined": sum(r.rows_quarantined for r in files),
            "released_from_quarantine": sum(r.rows_loaded for r in replays),
            "set_aside": set_aside,
            "new_columns": {r.file: list(r.new_columns) for r in files if r.new_columns},
            "notices": [asdict(n) for n in results.notices] if isinstance(results, landing.PillarLanding) else [],
            "by_file": [asdict(r) | {"partition_date": r.partition_date.isoformat()} for r in results],
        }
        note["detail"] = (
            f"{summary['files']} file(s), {summary['rows_loaded']} loaded, {summary['rows_quarantined']} quarantined"
            + (f", {len(set_aside)} set aside" if set_aside else "")
        )
    return summary


# ----------------------------------------------------------------------------------------------------------------
# build
# ----------------------------------------------------------------------------------------------------------------


def as_of_date(settings: Settings, cycle_date: date) -> date:
    """The date a build of ``cycle_date`` is complete up to: the newest successfully built date, or this one."""
    ensure_ops(settings)
    with connect(settings, write=False) as con:
        row = con.execute("SELECT max(as_of) FROM ops.build_log WHERE success").fetchone()
    newest = row[0] if row and row[0] is not None else None
    return max(cycle_date, newest) if newest is not None else cycle_date


def _full_refresh_due(settings: Settings, request: str) -> bool:
    """Whether the full refresh ``request`` has not been done yet (a successful build recorded it)."""
    with connect(settings, write=False) as con:
        row = con.execute("SELECT count(*) FROM ops.full_refresh_log WHERE request = ?", [request]).fetchall()
    return not row[0][0]


def _bot_sessions(settings: Settings) -> int:
    """Bot and monitoring sessions the marts leave out (the bot_traffic mart), as of the build."""
    with connect(settings, write=False) as con:
        row = con.execute("SELECT coalesce(sum(sessions), 0) FROM main.bot_traffic").fetchall()
    return int(row[0][0])


def build(settings: Settings, attempt: Attempt, *, full_refresh: str | bool | None = None) -> dict[str, Any]:
    """Build and test the dbt project as of the newest cycle date; record the outcome for this attempt.

    The session models are incremental: a build recomputes only the sessions of the devices whose events changed.
    ``full_refresh`` (``loop run --full-refresh``, through the Airflow run's conf) names a request to rebuild
    everything from all events: the first successful build of that request does it, the later days of the same
    request build incrementally on it (``True`` names the run itself).
    """
    ensure_ops(settings)
    request = attempt.run_id if full_refresh is True else full_refresh or None
    refresh = request is not None and _full_refresh_due(settings, request)
    with _step(settings, attempt, "build") as note:
        as_of = as_of_date(settings, attempt.cycle_date)
        started = time.monotonic()
        try:
            result = transform.build(settings, as_of, full_refresh=refresh)
        except LoopError as error:
            _execute(
                settings,
                "INSERT INTO ops.build_log VALUES (?, ?, 0, 0, ?, ?, ?, ?, false, ?)",
                [
                    attempt.run_id,
                    attempt.cycle_date,
                    time.monotonic() - started,
                    datetime.now(UTC),
                    attempt.attempt,
                    as_of,
                    str(error)[:2000],
                ],
            )
            raise
        _execute(
            settings,
            "INSERT INTO ops.build_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, true, NULL)",
            [
                attempt.run_id,
                attempt.cycle_date,
                result.models,
                result.tests,
                result.seconds,
                datetime.now(UTC),
                attempt.attempt,
                as_of,
            ],
        )
        if refresh:
            _execute(
                settings,
                "INSERT INTO ops.full_refresh_log VALUES (?, ?, ?, ?, ?)",
                [request, attempt.run_id, attempt.attempt, as_of, datetime.now(UTC)],
            )
        bots = _bot_sessions(settings)
        note["detail"] = (
            f"as of {as_of}{' (full refresh)' if refresh else ''}: {result.models} models, {result.tests} tests, "
            f"{result.seconds:.1f} s; {bots} bot session(s) kept out"
        )
    slowest = sorted(result.nodes, key=lambda n: n.seconds, reverse=True)[:5]
    return {
        "as_of": as_of.isoformat(),
        "full_refresh": refresh,
        "models": result.models,
        "tests": result.tests,
        "seconds": round(result.seconds, 2),
        "bot_sessions": bots,
        "slowest": [{"node": n.unique_id, "seconds": round(n.seconds, 3)} for n in slowest],
    }


def _built(settings: Settings, attempt: Attempt) -> date | None:
    """The as-of date of this attempt's successful build, or None."""
    with connect(settings, write=False) as con:
        row = con.execute(
            "SELECT as_of, success FROM ops.build_log WHERE attempt = ? ORDER BY built_at DESC LIMIT 1",
            [attempt.attempt],
        ).fetchone()
    return row[0] if row is not None and row[1] else None


# ----------------------------------------------------------------------------------------------------------------
# validate
# ----------------------------------------------------------------------------------------------------------------


def validate(settings: Settings, attempt: Attempt, pillar: str) -> dict[str, Any]:
    """Run one pillar's Great Expectations suites on its marts (and the marts its cross-table checks read)."""
    from loop.validation import read_frames, validate_pillar

    publish.check_pillar(pillar)
    with _step(settings, attempt, f"validate_{pillar}") as note:
        as_of = _built(settings, attempt)
        if as_of is None:
            raise LoopError(f"{pillar} cannot be validated: this attempt has no successful build.")
        outcome = validate_pillar(
            pillar,
            read_frames(settings, pillar),
            run_id=attempt.attempt,
            expectations_dir=settings.expectations_dir,
            results_dir=settings.validation_dir,
        )
        _execute(
            settings,
            "INSERT INTO ops.validation_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                attempt.run_id,
                attempt.cycle_date,
                pillar,
                outcome.success,
                outcome.evaluated,
                outcome.failed,
                outcome.summary(),
                str(outcome.result_path),
                datetime.now(UTC),
                attempt.attempt,
                as_of,
            ],
        )
        if not outcome.success:
            raise LoopError(
                f"Validation failed for {attempt.cycle_date}; {pillar} and the pillars built from it are not "
                f"published (previous versions kept): {outcome.summary()} Full results: {outcome.result_path}"
            )
        note["detail"] = outcome.summary()
    return {"pillar": pillar, "success": True, "summary": outcome.summary(), "result": str(outcome.result_path)}


def _validation(settings: Settings, attempt: Attempt, pillar: str) -> tuple[date, dict[str, Any]] | None:
    """The pillar's latest validation in this attempt: the build date it validated, and the result as the
    publication's manifest records it (None when it was not validated in this attempt)."""
    with connect(settings, write=False) as con:
        row = con.execute(
            "SELECT as_of, success, evaluated, failed, summary, result_path, validated_at FROM ops.validation_log "
            "WHERE attempt = ? AND pillar = ? ORDER BY validated_at DESC LIMIT 1",
            [attempt.attempt, pillar],
        ).fetchone()
    if row is None:
        return None
    validated_as_of, success, evaluated, failed, summary, result_path, validated_at = row
    return validated_as_of, {
        "pillar": pillar,
        "success": bool(success),
        "evaluated": int(evaluated),
        "failed": int(failed),
        "summary": str(summary),
        "result_path": str(result_path),
        "validated_at": validated_at.isoformat(),
        "attempt": attempt.attempt,
    }


def _validated(validation: tuple[date, dict[str, Any]] | None, pillar: str, as_of: date) -> tuple[bool, str]:
    """Whether a validation (see :func:`_validation`) lets the build of ``as_of`` out, and why not."""
    if validation is None:
        return False, f"{pillar} was not validated in this attempt"
    validated_as_of, result = validation
    if validated_as_of != as_of:
        return False, f"{pillar} was validated on another build"
    return bool(result["success"]), str(result["summary"])


# ----------------------------------------------------------------------------------------------------------------
# publish
# ----------------------------------------------------------------------------------------------------------------


def publish_pillar(settings: Settings, attempt: Attempt, pillar: str) -> dict[str, Any]:
    """Publish the pillar's marts as a new Parquet version, only if this attempt built them and every pillar of
    their lineage passed validation in this attempt."""
    publish.check_pillar(pillar)
    with _step(settings, attempt, f"publish_{pillar}") as note:
        as_of = _built(settings, attempt)
        if as_of is None:
            raise LoopError(
                f"{pillar} is not published for {attempt.cycle_date} (previous version kept): "
                "this attempt has no successful build."
            )
        lineage = catalog.pillar_lineage(pillar)
        validations = {needed: _validation(settings, attempt, needed) for needed in (*lineage, pillar)}
        for needed in lineage:
            passed, summary = _validated(validations[needed], needed, as_of)
            if not passed:
                raise LoopError(
                    f"{pillar} is not published for {attempt.cycle_date} (previous version kept): {summary}"
                )
        own = validations[pillar]
        publication = publish.publish(
            settings,
            pillar,
            cycle_date=attempt.cycle_date,
            as_of=as_of,
            run_id=attempt.run_id,
            attempt=attempt.attempt,
            lineage=lineage,
            validation=None if own is None else own[1],
        )
        _execute(
            settings,
            "INSERT INTO ops.publication_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                attempt.run_id,
                attempt.cycle_date,
                pillar,
                publication.version,
                publication.rows,
                datetime.now(UTC),
                attempt.attempt,
                as_of,
            ],
        )
        note["detail"] = f"{publication.version} ({publication.rows} rows, as of {as_of})"
    _publish_ops_snapshot(settings)
    return {"pillar": pillar, "version": publication.version, "rows": publication.rows, "as_of": as_of.isoformat()}


def _publish_ops_snapshot(settings: Settings) -> None:
    """Refresh ``published/_ops/status.json`` (:mod:`loop.publish.ops`, read by `loop ui`); a failure to write it
    is logged, never a failed step (the data is published either way)."""
    from loop.publish.ops import write_snapshot

    try:
        write_snapshot(settings)
    except Exception as error:
        logging.getLogger(__name__).warning("The ops snapshot was not written: %s", error)


# ----------------------------------------------------------------------------------------------------------------
# activate
# ----------------------------------------------------------------------------------------------------------------


def _published(settings: Settings, attempt: Attempt, pillar: str) -> bool:
    with connect(settings, write=False) as con:
        row = con.execute(
            "SELECT count(*) FROM ops.publication_log WHERE attempt = ? AND pillar = ?", [attempt.attempt, pillar]
        ).fetchall()
    return bool(row[0][0])


def activate(settings: Settings, attempt: Attempt) -> dict[str, Any]:
    """Act on the validated, published cycle: export every audience to every destination (holdouts kept out,
    only the changes after the first export) and record the actions the next cycles will measure."""
    from loop.activate.actions import record_actions
    from loop.activate.export import DESTINATIONS, export_audiences

    with _step(settings, attempt, "activate") as note:
        as_of = _built(settings, attempt)
        if as_of is None or not _published(settings, attempt, "cycle"):
            raise LoopError(
                f"Nothing is exported for {attempt.cycle_date}: this attempt did not publish the cycle pillar "
                "(audiences are exported only from validated, published marts)."
            )
        exported: dict[str, list[str]] = {}
        files = 0
        for destination in DESTINATIONS:
            for result in export_audiences(
                settings, destination, settings.exports_dir, run_id=attempt.attempt, as_of=as_of
            ):
                exported.setdefault(result.audience_id, []).append(destination)
                files += len(result.files)
        recorded = record_actions(
            settings, cycle_date=attempt.cycle_date, as_of=as_of, run_id=attempt.attempt, exported=exported
        )
        note["detail"] = f"{files} export file(s) under {settings.exports_dir}, {len(recorded)} new action(s)"
    _publish_ops_snapshot(settings)
    return {
        "as_of": as_of.isoformat(),
        "exports_dir": str(settings.exports_dir),
        "export_files": files,
        "actions": [asdict(action) for action in recorded],
    }


# ----------------------------------------------------------------------------------------------------------------
# all steps, in process
# ----------------------------------------------------------------------------------------------------------------


def run_locally(
    settings: Settings,
    cycle_date: date,
    run_id: str,
    *,
    on_step: Callable[[str], None] | None = None,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """All steps in this process, in DAG order and with the DAG's trigger rules; for tests and benchmarks
    (``loop run`` goes through Airflow). Returns the steps' summaries and the failures. ``on_step`` is called with
    each step's name once its start is recorded in ``ops.cycle_steps``. ``full_refresh`` rebuilds the incremental
    models from all events (once per run id, as ``loop run --full-refresh`` does once per request)."""
    attempt = Attempt.of(cycle_date, run_id, _next_clear_number(settings, run_id))
    summary: dict[str, Any] = {"attempt": attempt.attempt, "land": {}, "validate": {}, "publish": {}, "failed": []}

    def step(name: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        try:
            return call()
        except LoopError as error:
            summary["failed"].append(f"{name}: {error}")
            return None

    token = _step_started.set(on_step)
    try:
        return _run_steps(settings, attempt, summary, step, full_refresh=full_refresh)
    finally:
        _step_started.reset(token)


def _run_steps(
    settings: Settings,
    attempt: Attempt,
    summary: dict[str, Any],
    step: Callable[[str, Callable[[], dict[str, Any]]], dict[str, Any] | None],
    *,
    full_refresh: bool = False,
) -> dict[str, Any]:
    landed = [step(f"land_{p}", lambda p=p: land(settings, attempt, p)) for p in PILLARS]  # type: ignore[misc]
    summary["land"] = dict(zip(PILLARS, landed, strict=True))
    if any(result is None for result in landed):
        return summary
    summary["build"] = step("build", lambda: build(settings, attempt, full_refresh=full_refresh or None))
    if summary["build"] is None:
        return summary
    passed = set()
    for pillar in PUBLISHED_PILLARS:
        result = step(f"validate_{pillar}", lambda p=pillar: validate(settings, attempt, p))  # type: ignore[misc]
        summary["validate"][pillar] = result
        if result is not None:
            passed.add(pillar)
    for pillar in PUBLISHED_PILLARS:
        if set(catalog.pillar_lineage(pillar)) <= passed:
            summary["publish"][pillar] = step(
                f"publish_{pillar}",
                lambda p=pillar: publish_pillar(settings, attempt, p),  # type: ignore[misc]
            )
    if summary["publish"].get("cycle") is not None:
        summary["activate"] = step("activate", lambda: activate(settings, attempt))
    return summary


def _next_clear_number(settings: Settings, run_id: str) -> int:
    """In process, each call is a new attempt of the run: count the attempts recorded so far."""
    ensure_ops(settings)
    with connect(settings, write=False) as con:
        row = con.execute("SELECT count(DISTINCT attempt) FROM ops.cycle_steps WHERE run_id = ?", [run_id]).fetchone()
    return int(row[0]) if row else 0
