"""End to end with real processes: ``loop serve`` (login, DAG unpaused, a run triggered over the REST API, ``loop run``
submitting to it, a clean stop on SIGTERM). The killed ``loop run`` is part of ``test_embedded.py``."""

from __future__ import annotations

import signal
import stat
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest

from loop.orchestrate.api import AirflowAPI, AirflowAPIError
from loop.orchestrate.environment import free_port, passwords_file, run_dir
from loop.orchestrate.supervisor import is_gone

from .conftest import DAY, LOOP, project, snapshot, wait_for

pytestmark = pytest.mark.e2e


def test_loop_serve_logs_in_runs_a_triggered_cycle_and_stops_cleanly_on_sigterm(
    tmp_path: Path, migrated_db: Path, reaper: list[psutil.Process]
) -> None:
    settings, env = project(tmp_path, migrated_db)
    port = free_port()
    env.update({"LOOP_SERVE_PORT": str(port), "LOOP_SERVE_HOST": "127.0.0.1"})
    out = tmp_path / "serve.out"
    with out.open("wb") as log:
        serve = subprocess.Popen([LOOP, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    reaper.append(psutil.Process(serve.pid))
    processes: list[psutil.Process] = []
    try:
        wait_for(lambda: "Airflow UI:" in out.read_text(), 180, "loop serve to be up", serve)
        reaper.extend(snapshot(settings))
        shown = out.read_text()
        password = passwords_file(settings)
        assert stat.S_IMODE(password.stat().st_mode) == 0o600
        secret = password.read_text()
        assert f"http://127.0.0.1:{port}" in shown and "admin / " in shown
        assert shown.split("admin / ", 1)[1].split()[0] in secret

        base = f"http://127.0.0.1:{port}"
        with pytest.raises(urllib.error.HTTPError) as anonymous:
            urllib.request.urlopen(f"{base}/api/v2/dags", timeout=10)
        assert anonymous.value.code == 401
        with pytest.raises(AirflowAPIError) as wrong:
            AirflowAPI(base, credentials=("admin", "not-the-password")).login()
        assert wrong.value.status == 401

        api = AirflowAPI(base, credentials=("admin", shown.split("admin / ", 1)[1].split()[0]))
        assert api.login()
        dags = {d["dag_id"]: d for d in api.get("/api/v2/dags?dag_id_pattern=loop_cycle")["dags"]}
        assert "loop_cycle" in dags and dags["loop_cycle"]["is_paused"] is False
        assert api.get("/api/v2/dags/loop_digest")["is_paused"] is False

        run = api.post(
            "/api/v2/dags/loop_cycle/dagRuns",
            {
                "dag_run_id": "manual__test_2026-03-02",
                "logical_date": "2026-03-02T00:00:00Z",
                "data_interval_start": "2026-03-02T00:00:00Z",
                "data_interval_end": "2026-03-03T00:00:00Z",
            },
        )
        assert run["data_interval_start"].startswith("2026-03-02")
        path = f"/api/v2/dags/loop_cycle/dagRuns/{run['dag_run_id']}"
        reaper.extend(snapshot(settings))
        # `loop run` over the same day while `loop serve` runs: it logs in with the stored credentials and submits
        # its backfill to the standing deployment (the day is in flight, so it follows the triggered run).
        run_out = tmp_path / "run.out"
        with run_out.open("wb") as log:
            loop_run = subprocess.Popen(
                [LOOP, "run", "--date", DAY.isoformat()], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        reaper.append(psutil.Process(loop_run.pid))

        def finished() -> str | None:
            # The scheduler also starts yesterday's scheduled run (no files landed for it in this sample); with
            # max_active_runs=1 it would hold ours back for a whole cycle, so it is failed out of the way.
            for other in api.get("/api/v2/dags/loop_cycle/dagRuns?state=running&state=queued")["dag_runs"]:
                if other["run_type"] == "scheduled":
                    api.patch(
                        f"/api/v2/dags/loop_cycle/dagRuns/{quote(other['dag_run_id'], safe='')}", {"state": "failed"}
                    )
            state = str(api.get(path)["state"])
            return state if state in ("success", "failed") else None

        state = wait_for(finished, 400, "the triggered run", serve)
        tasks = {t["task_id"]: t["state"] for t in api.get(f"{path}/taskInstances")["task_instances"]}
        assert state == "success", tasks
        assert loop_run.wait(timeout=120) == 0, run_out.read_text()[-3000:]
        assert api.get("/api/v2/backfills?dag_id=loop_cycle")["total_entries"] == 1
        # Data-aware: the cycle publication's Asset event triggered loop_digest, which wrote the day's digest.
        digest = settings.exports_dir / "digests" / f"{DAY}.md"

        def digested() -> bool:
            runs = api.get("/api/v2/dags/loop_digest/dagRuns")["dag_runs"]
            return any(r["state"] == "success" and r["run_type"] == "asset_triggered" for r in runs)

        wait_for(digested, 120, "the digest run triggered by the cycle publication", serve)
        assert "signal" in digest.read_text().lower()
        services_log = (settings.airflow_home / "logs" / "services" / "supervisor.log").read_text()
        assert services_log.count("started scheduler") == 1  # no second scheduler on the SQLite DB
        processes = snapshot(settings) + psutil.Process(serve.pid).children(recursive=True)
        reaper.extend(processes)
        assert len(processes) >= 6  # supervisor, api-server, scheduler, dag-processor, triggerer, ...
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=60)
    assert code == 0, out.read_text()[-3000:]
    wait_for(lambda: all(is_gone(p) for p in processes), 5, "every process of loop serve to exit")
    assert not (run_dir(settings) / "supervisor.json").exists()
    assert "Stopped" in out.read_text()
