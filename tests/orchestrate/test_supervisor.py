"""The supervisor with real processes: whatever way the ``loop`` command ends, no process it started survives, and
the clean-up after a dead deployment never touches an unrelated process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from loop.errors import LoopError
from loop.orchestrate.supervisor import (
    DeploymentBusy,
    Supervisor,
    claim_home,
    is_gone,
    kill_survivors,
    live_state,
    matching_process,
    read_state,
)

# Two services with grandchildren: one a shell with background sleeps, one a Python process whose children
# include an orphan (its shell parent exits at once) and a process in a session of its own.
SERVICES = {
    "shell": ["sh", "-c", "sleep 300 & sleep 301 & wait"],
    "forker": [
        sys.executable,
        "-c",
        "import subprocess, time; subprocess.Popen(['sh', '-c', 'sleep 302 &']); "
        "subprocess.Popen(['setsid', 'sleep', '303']); subprocess.Popen(['sleep', '304']); time.sleep(300)",
    ],
}
EXPECTED = {"sh", "sleep", "python", "python3"}

# A stand-in for `loop run`: it starts the supervisor (holding the pipe on its stdin) and then just waits.
HOLDER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from loop.orchestrate.supervisor import Supervisor

    supervisor = Supervisor.launch(
        run_dir=Path(sys.argv[1]), log_dir=Path(sys.argv[2]), env=os.environ,
        services=json.loads(sys.argv[3]), info={"mode": "test"}, grace=2,
    )
    print(supervisor.pid, flush=True)
    time.sleep(3600)
    """
)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def tree_from_state(state_file: Path, at_least: int) -> list[psutil.Process]:
    """The live processes the state file lists (supervisor included), once it lists ``at_least`` descendants."""

    def ready() -> list[psutil.Process] | None:
        state = read_state(state_file)
        if state is None or len(state["processes"]) < at_least:
            return None
        records = [state["supervisor"], *state["processes"]]
        found = [matching_process(r["pid"], r["create_time"]) for r in records]
        return [p for p in found if p is not None]

    processes: list[psutil.Process] = wait_for(ready, 20, f"{at_least} processes in {state_file}")
    return processes


def assert_all_gone(processes: list[psutil.Process], timeout: float) -> None:
    wait_for(lambda: all(is_gone(p) for p in processes), timeout, "every supervised process to exit")


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "run", tmp_path / "logs"


@pytest.fixture
def cleanup() -> Iterator[list[psutil.Process]]:
    """Processes to kill at the end of a test whatever happens."""
    leftovers: list[psutil.Process] = []
    yield leftovers
    for process in leftovers:
        if not is_gone(process):
            process.kill()


def test_killing_the_process_that_holds_the_pipe_stops_every_descendant(
    dirs: tuple[Path, Path], cleanup: list[psutil.Process]
) -> None:
    run_dir, log_dir = dirs
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run_dir), str(log_dir), json.dumps(SERVICES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # supervisor, shell + 2 sleeps, forker + orphan + setsid sleep + sleep
        tree = tree_from_state(run_dir / "supervisor.json", at_least=7)
        cleanup.extend(tree)
        assert {p.name() for p in tree} >= {"sh", "sleep"}
        assert len(tree) >= 8
        supervisor = psutil.Process(int(holder.stdout.readline()))  # type: ignore[union-attr]
        assert supervisor in tree
        # Orphans are reparented to the supervisor (child subreaper), even from another session.
        orphans = [p for p in tree if p.ppid() == supervisor.pid and p.name() == "sleep"]
        assert len(orphans) >= 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    started = time.monotonic()
    assert_all_gone(tree, timeout=10)
    assert time.monotonic() - started < 10
    assert not (run_dir / "supervisor.json").exists()
    log = (log_dir / "supervisor.log").read_text()
    assert "stdin reached EOF" in log


def test_sigterm_stops_the_tree_and_a_dying_service_stops_everything(
    dirs: tuple[Path, Path], cleanup: list[psutil.Process]
) -> None:
    run_dir, log_dir = dirs
    supervisor = Supervisor.launch(
        run_dir=run_dir, log_dir=log_dir, env=os.environ, services=SERVICES, info={"mode": "test"}, grace=2
    )
    tree = tree_from_state(run_dir / "supervisor.json", at_least=7)
    cleanup.extend(tree)
    supervisor.process.send_signal(signal.SIGTERM)
    assert supervisor.process.wait(timeout=15) == 0
    assert_all_gone(tree, timeout=2)
    assert not (run_dir / "supervisor.json").exists()

    # A service that exits on its own takes the whole deployment down, with the reason.
    failing = Supervisor.launch(
        run_dir=run_dir,
        log_dir=log_dir,
        env=os.environ,
        services={"steady": ["sleep", "300"], "flaky": ["sh", "-c", "sleep 1; exit 7"]},
        info={"mode": "test"},
        grace=2,
    )
    tree = tree_from_state(run_dir / "supervisor.json", at_least=2)
    cleanup.extend(tree)
    assert failing.process.wait(timeout=15) == 3
    assert_all_gone(tree, timeout=2)
    with pytest.raises(LoopError, match="flaky exited with code 7"):
        failing.check()


def test_a_stale_state_file_kills_only_processes_whose_create_time_matches(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    unrelated = subprocess.Popen(["sleep", "300"])
    survivor = subprocess.Popen(["sh", "-c", "sleep 300 & wait"])
    try:
        survivor_child = wait_for(lambda: psutil.Process(survivor.pid).children(), 5, "the survivor's child")[0]
        dead = subprocess.Popen(["true"])
        dead.wait()
        state = {
            "supervisor": {"pid": dead.pid, "create_time": 1.0},
            "info": {"mode": "run"},
            "processes": [
                # the unrelated process reuses a recorded pid: its create time differs
                {"pid": unrelated.pid, "create_time": psutil.Process(unrelated.pid).create_time() - 100},
                {"pid": survivor.pid, "create_time": psutil.Process(survivor.pid).create_time()},
            ],
        }
        (run_dir / "supervisor.json").write_text(json.dumps(state))
        killed = kill_survivors(run_dir, grace=2)
        assert set(killed) == {survivor.pid, survivor_child.pid}
        assert survivor.wait(timeout=5) is not None
        assert is_gone(survivor_child)
        assert unrelated.poll() is None and psutil.Process(unrelated.pid).status() != psutil.STATUS_ZOMBIE
        assert not (run_dir / "supervisor.json").exists()
    finally:
        for process in (unrelated, survivor):
            process.kill()
            process.wait()


def test_a_live_supervisor_holds_the_airflow_home(dirs: tuple[Path, Path], cleanup: list[psutil.Process]) -> None:
    run_dir, log_dir = dirs
    assert live_state(run_dir) is None
    lock_fd = claim_home(run_dir, {"command": "loop run"})
    try:
        supervisor = Supervisor.launch(
            run_dir=run_dir,
            log_dir=log_dir,
            env=os.environ,
            services={"steady": ["sleep", "300"]},
            info={"mode": "run", "command": "loop run"},
            lock_fd=lock_fd,
            grace=2,
        )
    finally:
        os.close(lock_fd)  # the supervisor keeps the lock
    cleanup.extend(tree_from_state(run_dir / "supervisor.json", at_least=1))
    state = live_state(run_dir)
    assert state is not None and state["info"]["mode"] == "run"
    with pytest.raises(DeploymentBusy, match="already running Airflow"):
        claim_home(run_dir, {"command": "loop run"}, wait_for_stopping=0)
    supervisor.stop()
    assert live_state(run_dir) is None
    os.close(claim_home(run_dir, {"command": "loop run"}))
