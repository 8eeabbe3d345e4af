"""Run loop cycles through Airflow on the embedded default: SQLite metadata DB and the LocalExecutor.

``loop run`` starts a private Airflow for the duration of the command (an API server bound to 127.0.0.1, a
scheduler and a DAG processor, all under ``<data_dir>/airflow``), asks it over the public REST API for a backfill
of ``loop_cycle`` over the requested dates, follows the runs, and stops the processes. The scheduler runs with
``use_job_schedule = False``: only the runs asked for are executed, never a catch-up of the calendar.

The same DAG runs unchanged on a long-lived Airflow deployment, where the scheduler triggers a cycle each day.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from loop.errors import LoopError
from loop.settings import Settings

DAG_ID = "loop_cycle"
FINISHED = {"success", "failed"}
SERVICES = ("api-server", "scheduler", "dag-processor")


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def airflow_executable() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def airflow_env(settings: Settings, port: int) -> dict[str, str]:
    """The environment of every embedded Airflow process (and so of every task)."""
    home = settings.airflow_home
    secret_file = home / ".secret"
    if not secret_file.exists():
        home.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    secret = secret_file.read_text().strip()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW__")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "LOOP_DATA_DIR": str(settings.root),
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API_AUTH__JWT_SECRET": secret,
            "AIRFLOW__API__SECRET_KEY": secret,
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "GX_ANALYTICS_ENABLED": "false",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.dags_dir.parent), os.environ.get("PYTHONPATH")])),
        }
    )
    return env


def _migrate(settings: Settings, env: dict[str, str]) -> None:
    """Create or upgrade Airflow's SQLite metadata DB once per Airflow version."""
    import airflow

    marker = settings.airflow_home / ".migrated"
    if marker.exists() and marker.read_text() == airflow.__version__:
        return
    completed = subprocess.run(
        [airflow_executable(), "db", "migrate"], env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
        raise LoopError(f"Airflow could not set up its metadata database: {tail}")
    marker.write_text(airflow.__version__)


class EmbeddedAirflow:
    """A private Airflow (API server, scheduler, DAG processor) for the life of a ``with`` block."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = settings.airflow_port or _free_port()
        self.env = airflow_env(settings, self.port)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_dir = settings.airflow_home / "logs" / "services"
        self.processes: list[subprocess.Popen[bytes]] = []

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def __enter__(self) -> EmbeddedAirflow:
        self.settings.ensure_dirs()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        _migrate(self.settings, self.env)
        try:
            for service in SERVICES:
                args = [airflow_executable(), service]
                if service == "api-server":
                    args += ["--host", "127.0.0.1", "--port", str(self.port)]
                log = (self.log_dir / f"{service}.log").open("ab")
                self.processes.append(
                    subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                )
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop every process group we started (Airflow forks workers and renames them)."""
        for process in self.processes:
            if process.poll() is None:
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()

    def _wait_until_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if self.request("GET", f"/api/v2/dags/{DAG_ID}").get("dag_id") == DAG_ID:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            errors = self._import_errors()
            if errors:
                raise LoopError(f"The loop DAG failed to import: {errors}")
            time.sleep(0.5)
        raise LoopError(f"Airflow did not become ready within {timeout:.0f} s; see the logs in {self.log_dir}.")

    def _check_alive(self) -> None:
        for service, process in zip(SERVICES, self.processes, strict=False):
            if process.poll() is not None:
                raise LoopError(
                    f"The embedded Airflow {service} exited (code {process.returncode}); "
                    f"see {self.log_dir / (service + '.log')}."
                )

    def _import_errors(self) -> str:
        try:
            payload = self.request("GET", "/api/v2/importErrors")
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            return ""
        errors = payload.get("import_errors", [])
        return "; ".join(
            f"{e.get('filename')}: {str(e.get('stack_trace', '')).strip().splitlines()[-1:]}" for e in errors
        )

    # -- REST API -----------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One REST call; SQLite's "database is locked" (503) is retried for up to a minute."""
        data = json.dumps(body).encode() if body is not None else None
        deadline = time.monotonic() + 60
        while True:
            req = urllib.request.Request(
                self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(req, timeout=30) as response:
                    return dict(json.loads(response.read() or b"{}"))
            except urllib.error.HTTPError as error:
                detail = error.read().decode(errors="replace")[:300]
                if error.code == 404:
                    raise urllib.error.URLError(f"404 {path}") from error
                if error.code == 503 and time.monotonic() < deadline:
                    time.sleep(1.0)
                    continue
                raise LoopError(f"Airflow refused {method} {path}: {error.code} {detail}") from error

    # -- cycles -------------------------------------------------------------------------------------------------
    def run_cycles(
        self, start: date, end: date, progress: Callable[[list[CycleRun]], None] | None = None
    ) -> list[CycleRun]:
        """Run ``loop_cycle`` once per day from ``start`` to ``end`` (inclusive), oldest first, and wait."""
        self.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        backfill = self.request(
            "POST",
            "/api/v2/backfills",
            {
                "dag_id": DAG_ID,
                "from_date": f"{start.isoformat()}T00:00:00Z",
                "to_date": f"{end.isoformat()}T00:00:00Z",
                "max_active_runs": 1,
                "reprocess_behavior": "completed",
                "run_backwards": False,
            },
        )
        backfill_id = backfill["id"]
        wanted = {start + timedelta(days=i) for i in range((end - start).days + 1)}
        while True:
            self._check_alive()
            runs = self._runs(start, end, wanted)
            if progress is not None:
                progress(runs)
            done = self.request("GET", f"/api/v2/backfills/{backfill_id}").get("completed_at") is not None
            if done and len(runs) == len(wanted) and all(r.state in FINISHED for r in runs):
                return runs
            time.sleep(1.0)

    def _runs(self, start: date, end: date, wanted: set[date]) -> list[CycleRun]:
        # Filter generously on the logical date and exactly on the data interval (the cycle date).
        low, high = start - timedelta(days=1), end + timedelta(days=1)
        query = (
            f"/api/v2/dags/{DAG_ID}/dagRuns?limit=1000&order_by=logical_date"
            f"&logical_date_gte={low.isoformat()}T00:00:00Z&logical_date_lte={high.isoformat()}T00:00:00Z"
        )
        runs: list[CycleRun] = []
        for item in self.request("GET", query).get("dag_runs", []):
            cycle_date = date.fromisoformat(item["data_interval_start"][:10])
            if cycle_date not in wanted:
                continue
            run = CycleRun(cycle_date, item["dag_run_id"], item["state"])
            if run.state not in ("queued",):
                instances = self.request(
                    "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run.run_id)}/taskInstances"
                ).get("task_instances", [])
                run.tasks = {ti["task_id"]: ti.get("state") or "none" for ti in instances}
            runs.append(run)
        return runs


def reset_airflow(settings: Settings) -> None:
    """Remove the embedded Airflow's home (metadata DB and logs); it is recreated on the next run."""
    shutil.rmtree(settings.airflow_home, ignore_errors=True)


def run_cycles(
    settings: Settings, start: date, end: date, progress: Callable[[list[CycleRun]], None] | None = None
) -> list[CycleRun]:
    """Start the embedded Airflow, run the cycles from ``start`` to ``end`` through it, and stop it."""
    if end < start:
        raise LoopError(f"The end date {end} is before the start date {start}.")
    with EmbeddedAirflow(settings) as airflow:
        return airflow.run_cycles(start, end, progress)
