"""Run loop cycles through Airflow on the embedded default: SQLite metadata DB and the LocalExecutor.

``loop run`` starts a private Airflow for the duration of the command — an API server bound to 127.0.0.1, a
scheduler and a DAG processor, all under ``<data_dir>/airflow`` and all children of one supervisor process
(``loop.orchestrate.supervisor``) that stops them as soon as the command exits, however it exits — asks it over
the public REST API for a backfill of ``loop_cycle`` over the requested dates, follows the runs, and stops it. The
scheduler runs with ``use_job_schedule = False``: only the runs asked for are executed, never a catch-up of the
calendar.

Starting is self-healing: processes a killed run left behind (listed in the supervisor's state file) are killed
first, and once the API answers, unfinished backfills of ``loop_cycle`` are cancelled and its running or queued
dag runs marked failed — before the new scheduler starts, so nothing of a dead run is resumed.

While ``loop serve`` runs on the same data directory, ``run_cycles`` submits the backfill to that standing
deployment instead of starting a second scheduler on its SQLite DB (see ``loop.orchestrate.standing``).
"""

from __future__ import annotations

import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop.business_day import business_date, day_start
from loop.errors import LoopError
from loop.orchestrate.api import AirflowAPI, AirflowAPIError
from loop.orchestrate.environment import (
    DAG_ID,
    airflow_env,
    airflow_executable,
    free_port,
    migrate,
    run_dir,
    services_log_dir,
)
from loop.orchestrate.supervisor import DeploymentBusy, Supervisor, claimed, kill_survivors
from loop.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

FINISHED = {"success", "failed"}
SERVICES = ("api-server", "dag-processor", "scheduler")


@dataclass
class CycleRun:
    """One dag run of ``loop_cycle`` as Airflow reports it."""

    cycle_date: date
    run_id: str
    state: str
    tasks: dict[str, str] = field(default_factory=dict)

    @property
    def failed_tasks(self) -> list[str]:
        return sorted(t for t, s in self.tasks.items() if s in ("failed", "upstream_failed"))


class CycleRunner:
    """Runs ``loop_cycle`` over dates as a backfill through an Airflow's REST API, and follows it."""

    settings: Settings
    api: AirflowAPI
    log_dir: Path
    where: str = "the embedded Airflow"
    backfill_id: int | None = None

    def check(self) -> None:
        """Raise a ``LoopError`` if the deployment has stopped (called between API calls)."""

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One REST call (retried while Airflow is busy or restarting, see ``AirflowAPI``)."""
        return self.api.request(method, path, body)

    def run_cycles(
        self,
        start: date,
        end: date,
        progress: Callable[[list[CycleRun]], None] | None = None,
        *,
        full_refresh: str | None = None,
    ) -> list[CycleRun]:
        """Run ``loop_cycle`` once per day from ``start`` to ``end`` (inclusive), oldest first, and wait.

        ``full_refresh`` is a request id put in every run's conf: the first build of the request rebuilds every
        model from all events (``dbt build --full-refresh``), the later days build incrementally on it.
        """
        if end < start:
            raise LoopError(f"The end date {end} is before the start date {start}.")
        self.api.patch(f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        backfill_id = self.backfill_id = self._backfill(start, end, full_refresh)
        wanted = {start + timedelta(days=i) for i in range((end - start).days + 1)}
        while True:
            self.check()
            runs = self._runs(start, end, wanted)
            if progress is not None:
                progress(runs)
            done = self.api.get(f"/api/v2/backfills/{backfill_id}").get("completed_at") is not None
            if done and len(runs) == len(wanted) and all(r.state in FINISHED for r in runs):
                return runs
            time.sleep(1.0)

    def _backfill(self, start: date, end: date, full_refresh: str | None = None) -> int:
        body = {
            "dag_id": DAG_ID,
            # The runs' logical dates are the local midnights of the cycle dates (business days, LOOP_TIMEZONE).
            "from_date": day_start(start, self.settings.zone).isoformat(),
            "to_date": day_start(end, self.settings.zone).isoformat(),
            "max_active_runs": 1,
            "reprocess_behavior": "completed",
            "run_backwards": False,
            # always set: a rerun of a day must not inherit an earlier request's conf
            "dag_run_conf": {"full_refresh": full_refresh} if full_refresh else {},
        }
        try:
            return int(self.api.post("/api/v2/backfills", body)["id"])
        except AirflowAPIError as error:
            if error.status != 409:
                raise
        # A backfill is already running: ours, if the creation was retried after a lost answer, or another one.
        for backfill in self.unfinished_backfills():
            span = (self._cycle_date(backfill.get("from_date")), self._cycle_date(backfill.get("to_date")))
            if span == (start.isoformat(), end.isoformat()):
                return int(backfill["id"])
            raise LoopError(
                f"A backfill of {DAG_ID} from {span[0]} to {span[1]} is still running on {self.where}; wait for it "
                "to finish (or cancel it in the Airflow UI) and run again."
            )
        raise LoopError(f"{self.where.capitalize()} refused the backfill of {DAG_ID} as conflicting; run again.")

    def _cycle_date(self, instant: object) -> str:
        """The cycle date (ISO) of an instant Airflow reports (a run's data interval start, a backfill's bounds):
        its business day in LOOP_TIMEZONE; the text as it is when it is no instant."""
        try:
            when = datetime.fromisoformat(str(instant))
        except ValueError:
            return str(instant)[:10]
        return business_date(when, self.settings.zone).isoformat() if when.tzinfo else when.date().isoformat()

    def unfinished_backfills(self) -> list[dict[str, Any]]:
        payload = self.api.get(f"/api/v2/backfills?dag_id={DAG_ID}&limit=100&order_by=-id")
        return [b for b in payload.get("backfills", []) if b.get("completed_at") is None]

    def cancel_leftovers(self) -> tuple[int, int]:
        """Cancel unfinished backfills of ``loop_cycle`` and fail its running or queued dag runs.

        Called on start, when no scheduler of this Airflow home is alive: whatever is unfinished was left by a
        deployment that died. Returns (backfills cancelled, dag runs failed).
        """
        cancelled = failed = 0
        for backfill in self.unfinished_backfills():
            try:
                self.api.put(f"/api/v2/backfills/{backfill['id']}/cancel")
                cancelled += 1
            except AirflowAPIError as error:
                if error.status != 409:  # 409: it completed meanwhile
                    raise
        for _ in range(20):  # pages of at most 100 runs
            try:
                payload = self.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns?state=running&state=queued&limit=100")
            except AirflowAPIError as error:
                if error.status == 404:  # the DAG is not known yet: a fresh metadata DB
                    break
                raise
            runs = payload.get("dag_runs", [])
            if not runs:
                break
            for run in runs:
                try:
                    self.api.patch(
                        f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run['dag_run_id'], safe='')}",
                        {"state": "failed"},
                    )
                    failed += 1
                except AirflowAPIError as error:
                    if error.status not in (404, 409):
                        raise
        return cancelled, failed

    def wait_for_dag(self, dag_id: str = DAG_ID, timeout: float = 180.0) -> None:
        """Wait until the DAG processor has parsed ``dag_id`` (or reported that a DAG fails to import)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            try:
                if self.api.get(f"/api/v2/dags/{dag_id}", patience=5).get("dag_id") == dag_id:
                    return
            except AirflowAPIError as error:
                if error.status not in (None, 404) and not error.retryable:
                    raise
            errors = self._import_errors()
            if errors:
                raise LoopError(f"The loop DAG failed to import: {errors}")
            time.sleep(0.5)
        raise LoopError(f"Airflow did not become ready within {timeout:.0f} s; see the logs in {self.log_dir}.")

    def _import_errors(self) -> str:
        try:
            payload = self.api.get("/api/v2/importErrors", patience=5)
        except AirflowAPIError:
            return ""
        errors = payload.get("import_errors", [])
        return "; ".join(
            f"{e.get('filename')}: {str(e.get('stack_trace', '')).strip().splitlines()[-1:]}" for e in errors
        )

    def _runs(self, start: date, end: date, wanted: set[date]) -> list[CycleRun]:
        # Filter generously on the logical date and exactly on the data interval (the cycle date).
        low, high = start - timedelta(days=1), end + timedelta(days=1)
        query = (
            f"/api/v2/dags/{DAG_ID}/dagRuns?limit=1000&order_by=logical_date"
            f"&logical_date_gte={low.isoformat()}T00:00:00Z&logical_date_lte={high.isoformat()}T00:00:00Z"
        )
        runs: list[CycleRun] = []
        for item in self.api.get(query).get("dag_runs", []):
            if not item.get("data_interval_start"):
                continue
            cycle_date = date.fromisoformat(self._cycle_date(item["data_interval_start"]))
            if cycle_date not in wanted:
                continue
            run = CycleRun(cycle_date, item["dag_run_id"], item["state"])
            if run.state not in ("queued",):
                instances = self.api.get(
                    f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run.run_id, safe='')}/taskInstances"
                ).get("task_instances", [])
                run.tasks = {ti["task_id"]: ti.get("state") or "none" for ti in instances}
            runs.append(run)
        return runs


def has_leftovers(settings: Settings) -> bool:
    """Whether the metadata DB holds unfinished backfills or running/queued runs of ``loop_cycle``.

    A read-only peek before anything starts, to decide if the scheduler must wait for the clean-up; any doubt
    (no DB yet is no doubt, an unreadable one is) answers True.
    """
    db = settings.airflow_home / "airflow.db"
    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            backfills = con.execute(
                "SELECT count(*) FROM backfill WHERE dag_id = ? AND completed_at IS NULL", (DAG_ID,)
            ).fetchone()[0]
            runs = con.execute(
                "SELECT count(*) FROM dag_run WHERE dag_id = ? AND state IN ('running', 'queued')", (DAG_ID,)
            ).fetchone()[0]
        return bool(backfills or runs)
    except sqlite3.Error:
        return True


class EmbeddedAirflow(CycleRunner):
    """A private Airflow (API server, scheduler, DAG processor) for the life of a ``with`` block."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = settings.airflow_port or free_port()
        self.env = airflow_env(settings, self.port)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_dir = services_log_dir(settings)
        self.supervisor: Supervisor | None = None
        self.api = AirflowAPI(self.base, alive=self.check)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def __enter__(self) -> EmbeddedAirflow:
        self.settings.ensure_dirs()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        home = run_dir(self.settings)
        try:
            with claimed(home, {"command": "loop run"}) as lock_fd:
                kill_survivors(home)
                migrate(self.settings, self.env)
                commands = self._commands()
                clean_first = has_leftovers(self.settings)
                first = {n: a for n, a in commands.items() if not (clean_first and n == "scheduler")}
                self.supervisor = Supervisor.launch(
                    run_dir=home,
                    log_dir=self.log_dir,
                    env=self.env,
                    services=first,
                    info={"mode": "run", "command": "loop run", "url": self.base, "port": self.port},
                    lock_fd=lock_fd,
                )
        except DeploymentBusy as busy:
            raise LoopError(
                f"{busy}; wait for it to finish or stop it — two schedulers must not share one SQLite metadata DB."
            ) from None
        try:
            self._wait_for_api()
            if clean_first:
                self.cancel_leftovers()
                self.supervisor.start_service("scheduler", commands["scheduler"])
            self.wait_for_dag()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _commands(self) -> dict[str, list[str]]:
        airflow = airflow_executable()
        return {
            "api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.port)],
            "dag-processor": [airflow, "dag-processor"],
            "scheduler": [airflow, "scheduler"],
        }

    def stop(self) -> None:
        """Stop every process of the deployment (the supervisor stops the whole tree and waits for it)."""
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None

    def check(self) -> None:
        if self.supervisor is None:
            raise LoopError("The embedded Airflow is not running.")
        self.supervisor.check()

    def _wait_for_api(self, timeout: float = 180.0) -> None:
        try:
            self.api.wait_until_up(timeout)
        except AirflowAPIError as error:
            raise LoopError(f"{error}; see the logs in {self.log_dir}.") from error


def run_cycles(
    settings: Settings,
    start: date,
    end: date,
    progress: Callable[[list[CycleRun]], None] | None = None,
    *,
    full_refresh: str | None = None,
) -> list[CycleRun]:
    """Run the cycles from ``start`` to ``end``: on the standing deployment if ``loop serve`` runs on this data
    directory, else on an embedded Airflow started (and stopped) for the purpose. ``full_refresh``: a request id
    whose first build rebuilds every model from all events (``loop run --full-refresh``)."""
    if end < start:
        raise LoopError(f"The end date {end} is before the start date {start}.")
    from loop.orchestrate.standing import StandingAirflow

    standing = StandingAirflow.attach(settings)
    if standing is not None:
        return standing.run_cycles(start, end, progress, full_refresh=full_refresh)
    with EmbeddedAirflow(settings) as airflow:
        return airflow.run_cycles(start, end, progress, full_refresh=full_refresh)


def cycles_progress(console: Console, unit: str) -> Progress:
    """The progress bar of commands that run cycles through Airflow (``loop run``, ``loop demo``)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn(f"{{task.completed}}/{{task.total}} {unit}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
