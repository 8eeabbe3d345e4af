"""``loop demo``'s logic, with a stand-in for Airflow that records actions the way the cycles do.

The demo through the real embedded Airflow is exercised by the end-to-end tests.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from loop.errors import LoopError
from loop.orchestrate.embedded import CycleRun
from loop.sample import Action, generate, read_actions
from loop.sample.demo import DemoPlan, run_demo
from loop.settings import Settings

from .recorded import record

PLAN = DemoPlan(customers=200, days=5, start=date(2026, 3, 2), seed=3)


class FakeAirflow:
    """Runs one day's "cycle": checks the day's files are there, records that day's actions, reports the outcome."""

    def __init__(self, settings: Settings, fail: set[date] | None = None, *, fresh: bool = False) -> None:
        self.settings, self.fail, self.fresh = settings, fail or set(), fresh
        self.ran: list[date] = []
        self.starts = 0

    def __call__(self, settings: Settings) -> FakeAirflow:
        assert settings is self.settings
        return self

    def __enter__(self) -> FakeAirflow:
        self.starts += 1
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def run_cycles(
        self, start: date, end: date, progress: Callable[[list[CycleRun]], None] | None = None
    ) -> list[CycleRun]:
        assert start == end
        day = start
        assert (self.settings.landing_dir / "experience/events" / f"date={day}" / "part-0000.ndjson").exists()
        if self.fresh:  # a first pass: the next day is not written before this day's cycle ran
            assert not (self.settings.landing_dir / "experience/events" / f"date={day + timedelta(days=1)}").exists()
        self.ran.append(day)
        if progress is not None:
            progress([CycleRun(day, f"backfill__{day}", "running", {"land_experience": "running"})])
        if day in self.fail:
            return [CycleRun(day, f"backfill__{day}", "failed", {"build": "failed"})]
        offset = (day - PLAN.start).days
        n = len(self.ran)  # a rerun of a day records its actions again, under new ids
        if offset == 1:
            record(self.settings, [Action(f"sig-{n}", "signal", "checkout_errors", day, "checkout", "slow pages")])
        if offset == 2:
            members = [f"cus_{i:06d}" for i in range(1, 121)]
            record(
                self.settings,
                [
                    Action(
                        f"rec-{n}",
                        "audience_export",
                        "service_recovery",
                        day,
                        treatment=tuple(members[:100]),
                        holdout=tuple(members[100:]),
                    )
                ],
            )
        return [CycleRun(day, f"backfill__{day}", "success", {"build": "success"})]


def _quiet() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=160), out


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("part-*")
        if p.is_file()
    }


def _full_run(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """The files one full generator run gives with the actions recorded in the end."""
    root = tmp_path / "full"
    generate(
        root,
        customers=PLAN.customers,
        days=PLAN.days,
        start=PLAN.start,
        seed=PLAN.seed,
        bad_fraction=PLAN.bad_fraction,
        actions=read_actions(settings),
    )
    return _files(root)


def test_the_demo_plays_each_day_then_its_cycle(settings: Settings, tmp_path: Path) -> None:
    airflow = FakeAirflow(settings, fresh=True)
    console, out = _quiet()
    outcome = run_demo(settings, PLAN, console=console, airflow=airflow)
    assert airflow.starts == 1 and airflow.ran == PLAN.dates == outcome.played
    assert [r.state for r in outcome.runs] == ["success"] * PLAN.days and not outcome.failed
    assert _files(settings.landing_dir) == _full_run(settings, tmp_path)  # day by day = one run, final actions
    fix_day = PLAN.start + timedelta(days=3)
    releases = (settings.landing_dir / f"product/releases/date={fix_day}/part-0000.csv").read_text()
    assert "-fix.1" in releases and "checkout" in releases  # the world reacted to day 1's signal
    text = out.getvalue()
    assert f"signals checkout (slow pages) → fix of checkout ships {fix_day}" in text
    assert "service_recovery 100 treatment / 20 holdout" in text
    state = json.loads((settings.root / "demo.json").read_text())
    assert state["plan"]["days"] == PLAN.days and set(state["cycles"]) == {d.isoformat() for d in PLAN.dates}


def test_a_rerun_continues_at_the_first_day_that_did_not_succeed(settings: Settings, tmp_path: Path) -> None:
    broken = PLAN.start + timedelta(days=2)
    first = run_demo(settings, PLAN, console=_quiet()[0], airflow=FakeAirflow(settings, fail={broken}))
    assert [r.cycle_date for r in first.failed] == [broken] and len(first.played) == PLAN.days
    airflow = FakeAirflow(settings)
    second = run_demo(settings, PLAN, console=_quiet()[0], airflow=airflow)
    assert airflow.ran == [d for d in PLAN.dates if d >= broken] == second.played
    assert not second.failed and len(second.runs) == PLAN.days
    assert _files(settings.landing_dir) == _full_run(settings, tmp_path)
    # Every day has succeeded: a rerun has nothing to do (and starts no Airflow).
    airflow = FakeAirflow(settings)
    console, out = _quiet()
    third = run_demo(settings, PLAN, console=console, airflow=airflow)
    assert airflow.starts == 0 and not third.played and len(third.runs) == PLAN.days and not third.failed
    assert "already run" in out.getvalue()


def test_the_demo_never_mixes_worlds(settings: Settings) -> None:
    run_demo(settings, PLAN, console=_quiet()[0], airflow=FakeAirflow(settings, fail={PLAN.start}))
    other = DemoPlan(customers=300, days=5, start=PLAN.start, seed=3)
    with pytest.raises(LoopError, match="--customers 200 --days 5"):
        run_demo(settings, other, console=_quiet()[0], airflow=FakeAirflow(settings))
    (settings.root / "demo.json").unlink()  # data from other runs, no demo record
    with pytest.raises(LoopError, match="make clean"):
        run_demo(settings, PLAN, console=_quiet()[0], airflow=FakeAirflow(settings))


def test_landed_files_without_a_demo_record_are_refused(settings: Settings) -> None:
    generate(settings.landing_dir, customers=50, days=2, start=PLAN.start)
    with pytest.raises(LoopError, match="other runs"):
        run_demo(settings, PLAN, console=_quiet()[0], airflow=FakeAirflow(settings))
