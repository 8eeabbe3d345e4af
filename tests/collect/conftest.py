"""`loop collect` as a real process on a free port, with its own data directory and write keys."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

WRITE_KEY = "test-write-key"
OTHER_KEY = "second-key"


def collector_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment minus any LOOP_* of the caller, plus the data directory, the keys and ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOP_")}
    env.update({"LOOP_DATA_DIR": str(data_dir), "LOOP_WRITE_KEYS": f"{WRITE_KEY}, {OTHER_KEY}"})
    env.update({f"LOOP_{name.upper()}": value for name, value in settings.items()})
    return env


@dataclass
class Collector:
    """A running `loop collect`: its URL, its data directory and what it printed before it served."""

    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    said: list[str] = field(default_factory=list)

    @property
    def events_dir(self) -> Path:
        return self.data_dir / "landing" / "experience" / "events"

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as a service manager stops it: returns the exit code and the rest of its output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        return self.process.returncode, out

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def start_collector(data_dir: Path, **settings: str) -> Collector:
    """Start `loop collect --port 0` and wait until it serves (its 'Collecting ... on http://...' line)."""
    loop = Path(sys.executable).with_name("loop")
    process = subprocess.Popen(
        [str(loop), "collect", "--port", "0"],
        env=collector_env(data_dir, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    said: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = process.stdout.readline()
        if not line:
            break
        said.append(line.rstrip("\n"))
        if line.startswith("Collecting"):
            url = line.split(" on ", 1)[1].split()[0]
            return Collector(process, url, data_dir, said)
    process.kill()
    raise AssertionError("loop collect did not start: " + "\n".join(said) + (process.stdout.read() or ""))


def stored_events(events_dir: Path) -> list[dict[str, Any]]:
    """Every event written so far: in the date folders and in the open parts (durable once acknowledged)."""
    events = []
    for path in sorted(events_dir.rglob("*.ndjson")):
        with path.open() as handle:
            events += [json.loads(line) for line in handle]
    return events


@pytest.fixture
def launch() -> Iterator[Callable[..., Collector]]:
    """:func:`start_collector` for one test: whatever the test leaves running (a failed assertion) is killed."""
    started: list[Collector] = []

    def start(data_dir: Path, **settings: str) -> Collector:
        started.append(start_collector(data_dir, **settings))
        return started[-1]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.kill()
