"""The cycle's promises, on a real generated sample, real dbt builds, GX validations and publications:

* each attempt trusts only its own landing, build and validations;
* a rerun of an earlier day never takes "current" back in time;
* a cycle killed (SIGKILL) at any step leaves a warehouse that opens, no half-landed file, and a rerun completes
  with marts equal to an uninterrupted run;
* the order days run in, and reruns, do not change the marts.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from loop import cycle, publish, quarantine
from loop.errors import LoopError
from loop.landing.schema import ensure_tables
from loop.publish.reader import run_query
from loop.sample import generate
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.transform.catalog import pillar_tables
from loop.warehouse import connect

START = date(2026, 3, 2)
DAYS = [START + timedelta(days=i) for i in range(4)]
#: The marts of what the loop did (they depend on when cycles ran, not only on the data landed).
ACTED = {"actions", "action_outcomes"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four days of landing files, generated once (with planted bad records, late events and duplicates)."""
    landing = tmp_path_factory.mktemp("sample") / "landing"
    generate(landing, customers=500, days=len(DAYS), start=START, seed=5, bad_fraction=0.02)
    return landing


def _fresh(tmp_path: Path, sample: Path, name: str) -> Settings:
    settings = Settings(data_dir=tmp_path / name)
    settings.ensure_dirs()
    shutil.copytree(sample, settings.landing_dir, dirs_exist_ok=True)
    return settings


def mart_hashes(settings: Settings) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the sorted rows) of every published table, in the warehouse."""
    hashes = {}
    with connect(settings, write=False) as con:
        for tables in pillar_tables().values():
            for table in tables:
                [(rows, digest)] = con.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(j, chr(10) ORDER BY j), '')) FROM "
                    f'(SELECT to_json(t)::VARCHAR AS j FROM main."{table}" AS t)'
                ).fetchall()
                hashes[table] = (int(rows), str(digest))
    return hashes


def published_hashes(settings: Settings) -> dict[str, tuple[str, int, str]]:
    """(as of, rows, md5) of every current published table, read from its Parquet file."""
    import duckdb

    con = duckdb.connect()
    found = {}
    for pillar in PUBLISHED_PILLARS:
        current = publish.current(settings, pillar)
        assert current is not None, f"{pillar} is not published"
        for table in current.tables:
            [(rows, digest)] = con.execute(
                "SELECT count(*), md5(coalesce(string_agg(j, chr(10) ORDER BY j), '')) FROM "
                "(SELECT to_json(t)::VARCHAR AS j FROM read_parquet($path) AS t)",
                {"path": str(current.path(settings, table))},
            ).fetchall()
            found[table] = (current.as_of.isoformat(), int(rows), str(digest))
    return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, sample: Path) -> Settings:
    """The uninterrupted, in-order run every other scenario must end up equal to."""
    settings = _fresh(tmp_path_factory.mktemp("reference"), sample, "data")
    for day in DAYS:
        summary = cycle.run_locally(settings, day, f"scheduled__{day}")
        assert summary["failed"] == [], summary["failed"]
        assert set(summary["publish"]) == set(PUBLISHED_PILLARS)
    return settings


def test_each_pillar_is_published_with_its_lineage(reference: Settings) -> None:
    for pillar in PUBLISHED_PILLARS:
        current = publish.current(reference, pillar)
        assert current is not None and current.as_of == DAYS[-1]
        assert pillar in current.lineage and "experience" in current.lineage  # every mart here reads experience data


def test_rerunning_an_earlier_day_keeps_current_at_the_newest_cycle(reference: Settings, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "copy")
    shutil.copytree(reference.root, settings.root)
    before = published_hashes(settings)
    # Marketers query in a loop while the cycle runs (land, build, validate, publish): no query fails.
    errors: list[str] = []
    answered: list[int] = []
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            try:
                result = run_query(
                    settings, "select count(*) from sessions join campaign_scorecard using (campaign_id)", limit=1
                )
                answered.append(result.rows[0][0])
            except Exception as error:  # any failure is a finding
                errors.append(repr(error))

    readers = [threading.Thread(target=query) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        summary = cycle.run_locally(settings, DAYS[0], f"scheduled__{DAYS[0]}")
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert errors == [] and len(answered) > 20
    assert summary["failed"] == []
    newest = DAYS[-1].isoformat()
    assert {p: r["as_of"] for p, r in summary["publish"].items()} == dict.fromkeys(PUBLISHED_PILLARS, newest)
    assert published_hashes(settings) == before  # same data, refreshed: never the marts as of the earlier day


def test_a_rerun_whose_build_fails_publishes_nothing(reference: Settings, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "copy")
    shutil.copytree(reference.root, settings.root)
    published = {p: publish.current(settings, p) for p in PUBLISHED_PILLARS}
    # The second day's campaign catalog is corrected: it drops the campaign that started that day, whose ad spend
    # has landed since. dbt's relationship test fails the build.
    [catalog] = (settings.landing_dir / "marketing/campaigns/date=2026-03-03").iterdir()
    lines = catalog.read_text().splitlines()
    assert any(line.startswith("cmp_search_midseason,") for line in lines)
    catalog.write_text("\n".join(line for line in lines if not line.startswith("cmp_search_midseason,")) + "\n")
    summary = cycle.run_locally(settings, DAYS[1], f"scheduled__{DAYS[1]}")
    assert any(f.startswith("build:") and "dbt build failed" in f for f in summary["failed"]), summary["failed"]
    assert summary["publish"] == {}
    assert {p: publish.current(settings, p) for p in PUBLISHED_PILLARS} == published
    # Publishing with this attempt is refused even when asked directly: an earlier attempt's validation does not count.
    attempt = cycle.Attempt(DAYS[1], f"scheduled__{DAYS[1]}", summary["attempt"])
    with pytest.raises(LoopError, match="no successful build"):
        cycle.publish_pillar(settings, attempt, "marketing")


def test_an_attempt_never_borrows_another_attempts_validation(reference: Settings, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "copy")
    shutil.copytree(reference.root, settings.root)
    validated = cycle.Attempt.of(DAYS[-1], f"scheduled__{DAYS[-1]}", 0)  # built, validated and published
    cleared = cycle.Attempt.of(DAYS[-1], f"scheduled__{DAYS[-1]}", 1)  # the same run, cleared and run again
    cycle.build(settings, cleared)
    with pytest.raises(LoopError, match="was not validated in this attempt"):
        cycle.publish_pillar(settings, cleared, "marketing")
    with pytest.raises(LoopError, match="cannot be validated: this attempt has no successful build"):
        cycle.validate(settings, cycle.Attempt.of(DAYS[-1], "manual__never_built", 0), "marketing")
    cycle.publish_pillar(settings, validated, "marketing")  # the first attempt's own validation still counts for it


def test_a_failing_experience_suite_keeps_every_mart_built_from_it_unpublished(
    reference: Settings, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "copy")
    shutil.copytree(reference.root, settings.root)
    published = {p: publish.current(settings, p) for p in PUBLISHED_PILLARS}
    # A bad release makes pages crawl: 300 new visitors wait 100 s for their first page. Every event is valid
    # (the contract allows up to 120 s) and dbt's tests pass, but the sessions' latency distribution is off.
    day = DAYS[-1]
    slow = settings.landing_dir / f"experience/events/date={day}/slow-release.ndjson"
    slow.write_text(
        "".join(
            json.dumps(
                {
                    "type": "page",
                    "messageId": f"slow-{n}",
                    "anonymousId": f"visitor-slow-{n}",
                    "timestamp": f"{day}T12:{n % 60:02d}:00Z",
                    "name": "Home",
                    "properties": {"path": "/", "product_area": "onboarding", "latency_ms": 100_000},
                }
            )
            + "\n"
            for n in range(300)
        )
    )
    summary = cycle.run_locally(settings, day, f"scheduled__{day}")
    assert [f.split(":")[0] for f in summary["failed"]] == ["validate_experience"], summary["failed"]
    assert "latency" in summary["failed"][0]
    # Every pillar's marts are built from experience data (sessions, acquisition): none is published.
    assert summary["publish"] == {}
    assert {p: publish.current(settings, p) for p in PUBLISHED_PILLARS} == published
    # The records stay in the marts, so the next cycles would fail too: the operator isolates the file, and the
    # rerun publishes without it.
    relative = slow.relative_to(settings.landing_dir).as_posix()
    assert quarantine.isolate(settings, relative, None, "release 2.6.0 latency regression", "isolate") == 300
    summary = cycle.run_locally(settings, day, f"scheduled__{day}")
    assert summary["failed"] == [] and set(summary["publish"]) == set(PUBLISHED_PILLARS)
    assert mart_hashes(settings) == mart_hashes(reference)


# ----------------------------------------------------------------------------------------------------------------
# Crashes
# ----------------------------------------------------------------------------------------------------------------

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

#: (day, step to wait for, seconds after its start is recorded) -> SIGKILL. Every kind of step is hit at least once.
KILLS = [
    (0, "land_marketing", 0.0),
    (0, "land_experience", 0.05),
    (0, "build", 1.5),
    (0, "validate_experience", 0.3),
    (0, "publish_marketing", 0.05),
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
    reference: Settings, sample: Path, tmp_path: Path
) -> None:
    settings = _fresh(tmp_path, sample, "crashed")
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
    assert mart_hashes(settings) == mart_hashes(reference)
    assert published_hashes(settings) == published_hashes(reference)


def _without_actions(hashes: dict[str, Any]) -> dict[str, Any]:
    return {table: value for table, value in hashes.items() if table not in ACTED}


# ----------------------------------------------------------------------------------------------------------------
# Order
# ----------------------------------------------------------------------------------------------------------------


def test_a_shuffled_backfill_with_reruns_gives_the_same_marts(
    reference: Settings, sample: Path, tmp_path: Path
) -> None:
    settings = _fresh(tmp_path, sample, "shuffled")
    order = DAYS[:-1]
    random.Random(11).shuffle(order)
    order = [DAYS[-1], *order, order[0]]  # the newest day first, so everything else arrives late; then a rerun
    outcomes = []
    for day in order:
        summary = cycle.run_locally(settings, day, f"scheduled__{day}")
        outcomes.append((day, summary["failed"]))
    # Early cycles may fail validation (the newest day ran before the campaign catalog landed: nothing to score),
    # and then publish nothing; once everything has landed, the last run publishes the same data as in order.
    assert outcomes[-1][1] == [], outcomes
    # Except what the loop did: actions are taken when a cycle runs, so cycles run in another order take other
    # actions (here every action is as of the newest day, which a build as of that day does not see yet).
    shuffled = mart_hashes(settings)
    assert _without_actions(shuffled) == _without_actions(mart_hashes(reference))
    assert _without_actions(published_hashes(settings)) == _without_actions(published_hashes(reference))
    with connect(settings, write=False) as con:
        as_of = {d for (d,) in con.execute("SELECT DISTINCT as_of FROM ops.actions").fetchall()}
    assert as_of == {DAYS[-1]} and shuffled["actions"][0] == 0
