"""Helpers shared by the end-to-end tests that start real Airflow deployments."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import pytest

from loop.orchestrate.environment import airflow_env, free_port, migrate, run_dir
from loop.orchestrate.supervisor import is_gone, matching_process, read_state
from loop.sample import generate
from loop.settings import Settings

LOOP = str(Path(sys.executable).with_name("loop"))
DAY = date(2026, 3, 2)


def wait_for(
    condition: Callable[[], Any], timeout: float, what: str, process: subprocess.Popen[Any] | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the command exited ({process.returncode}) while waiting for {what}")
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly migrated Airflow metadata DB, copied into each test's data directory (saves a migration each)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("template") / "data")
    settings.ensure_dirs()
    migrate(settings, airflow_env(settings, free_port()))
    return settings.airflow_home


def project(tmp_path: Path, template: Path) -> tuple[Settings, dict[str, str]]:
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    generate(settings.landing_dir, customers=60, days=1, start=DAY, seed=3, bad_fraction=0)
    for name in ("airflow.db", ".migrated"):
        shutil.copy2(template / name, settings.airflow_home / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOP_", "AIRFLOW"))}
    env["LOOP_DATA_DIR"] = str(settings.root)
    return settings, env


def snapshot(settings: Settings) -> list[psutil.Process]:
    """Every live process the deployment's supervisor state file lists, the supervisor included."""
    state = read_state(run_dir(settings) / "supervisor.json") or {}
    records = [state.get("supervisor", {}), *state.get("processes", [])]
    found = [matching_process(int(r["pid"]), float(r["create_time"])) for r in records if r]
    return [p for p in found if p is not None]


@pytest.fixture
def reaper() -> Iterator[list[psutil.Process]]:
    """Processes killed at the end of the test whatever happens (so a failure leaves nothing behind)."""
    processes: list[psutil.Process] = []
    yield processes
    for process in processes:
        if not is_gone(process):
            process.kill()
