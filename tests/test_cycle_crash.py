"""A cycle killed (SIGKILL) at any step leaves a warehouse that opens and no half-landed file, and a rerun
completes with marts equal to an uninterrupted run (the reference of ``cycle_world.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from loop import cycle, publish
from loop.landing.schema import ensure_tables
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.warehouse import connect

from . import cycle_world
from .cycle_world import DAYS, fresh, mart_hashes, published_hashes


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cycle_world.sample(tmp_path_factory)


RUNNER = """
import sys
from datetime import date
from loop import cycle
from loop.settings import Settings
settings = Settings(data_dir=sys.argv[1])
summary = cycle.run_locally(settings, date.fromisoformat(sys.argv[2]), sys.argv[3],
                            on_step=lambda name: print("STEP", name, flush=True))
print("FAILED" if summary["failed"] else "DONE", summary["failed"], flush=True)
"""

#: (day, step to wait for, seconds after its start is recorded) -> SIGKILL. Every kind of step is hit at least once;
#: landing and build on the first day (empty warehouse, first build) and on the second (incremental). A kill after
#: the build costs a whole build, so validation and publication are killed once each: publication on the second day,
#: where the current publication it replaces must stay whole.
KILLS = [
    (0, "land_marketing", 0.0),
    (0, "land_experience", 0.05),
    (0, "build", 1.5),
    (0, "validate_experience", 0.3),
    (1, "land_product", 0.02),
    (1, "build", 4.0),
    (1, "publish_cycle", 0.1),
]


def _kill_during(settings: Settings, script: Path, day: date, step: str, delay: float) -> str:
    """Run the day's cycle in a subprocess, SIGKILL it ``delay`` s after ``step`` starts; return what ran."""
    process = subprocess.Popen(
        [sys.executable, str(script), str(settings.root), day.isoformat(), f"scheduled__{day}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() == f"STEP {step}":
            time.sleep(delay)
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, f"the cycle ended before {step} + {delay} s"
    with connect(settings, write=False) as con:
        running = con.execute(
            "SELECT step FROM ops.cycle_steps WHERE outcome = 'running' ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
    return running[0][0] if running else "(between steps)"


def _check_after_a_crash(settings: Settings) -> None:
    # The warehouse opens for writing (DuckDB replays or discards its WAL) ...
    with connect(settings, write=True) as con:
        con.execute("CHECKPOINT")
        ensure_tables(con)  # a kill before the first landing leaves no tables yet
        # ... and no file is half-landed: each file's rows in raw + held rows = the rows its landing read.
        rows = con.execute(
            """
            WITH latest AS (
                SELECT source, source_file, status, rows_read FROM ops.landing_log
                WHERE status IN ('landed', 'replaced', 'set_aside')
                QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY landed_at DESC) = 1
            ),
            held AS (SELECT source_file, count(*) AS n FROM ops.quarantine WHERE released_at IS NULL GROUP BY ALL)
            SELECT source, source_file, rows_read, coalesce(held.n, 0) AS held
            FROM latest LEFT JOIN held USING (source_file)
            """
        ).fetchall()
        for source, source_file, rows_read, held in rows:
            [(in_raw,)] = con.execute(
                f'SELECT count(*) FROM raw."{source}" WHERE _source_file = ?', [source_file]
            ).fetchall()
            assert in_raw + held == rows_read, (source_file, in_raw, held, rows_read)
        logged = {r[1] for r in rows}
        for source in ("campaigns", "ad_performance", "touches", "events", "feedback", "releases"):
            files = {r[0] for r in con.execute(f'SELECT DISTINCT _source_file FROM raw."{source}"').fetchall()}
            assert files <= logged, f"raw.{source} holds rows of files with no landing logged: {files - logged}"
    # Published manifests are whole and point at whole files.
    for pillar in PUBLISHED_PILLARS:
        current = publish.current(settings, pillar)
        if current is not None:
            for table in current.tables:
                assert current.path(settings, table).stat().st_size > 0


def test_a_cycle_killed_at_any_step_recovers_to_the_uninterrupted_marts(
    sample: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    settings = fresh(tmp_path, sample, "crashed")
    script = tmp_path / "run_cycle.py"
    script.write_text(RUNNER)
    hit = []
    for day_index, day in enumerate(DAYS):
        for kill_day, step, delay in KILLS:
            if kill_day == day_index:
                hit.append((day.isoformat(), step, delay, _kill_during(settings, script, day, step, delay)))
                _check_after_a_crash(settings)
        summary = cycle.run_locally(settings, day, f"scheduled__{day}")  # the rerun simply works
        assert summary["failed"] == [], summary["failed"]
        _check_after_a_crash(settings)
    print("killed during:", json.dumps(hit))
    running_steps = {h[3].split("_")[0] for h in hit}
    assert {"land", "build", "validate", "publish"} <= running_steps, hit
    reference = cycle_world.reference(tmp_path_factory)  # asked for last: another worker makes it meanwhile
    assert mart_hashes(settings) == mart_hashes(reference)
    assert published_hashes(settings) == published_hashes(reference)
