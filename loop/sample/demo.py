"""``loop demo``: the sample world and the loop turning together, one day at a time.

One embedded Airflow runs for the whole demo. For each day of the period, the world's files of that day are
generated — reacting to the actions the cycles of the previous days recorded (:func:`loop.sample.read_actions`) —
and then that day's cycle runs through Airflow, which may record new actions the next day's files react to.

Each day's files have exactly the bytes a full run of the generator with the same arguments and the final actions
would give them: an action changes nothing before the day after it was taken, so the actions recorded later cannot
change a day already written.

**Rerunning on the same data directory continues.** ``<data dir>/demo.json`` records the demo's arguments and the
outcome of each day's cycle. A rerun with the same arguments starts at the first day whose cycle has not succeeded
(after an interruption or a failed cycle) and plays every day from there; days before it are kept as they are (no
later action can change them). When every day has succeeded, a rerun runs nothing and prints the summary again. The
demo never mixes worlds: it refuses a data directory that holds a demo with other arguments, or data from other runs
(a warehouse or landed files without a demo record); use another ``LOOP_DATA_DIR`` or ``make clean``. To reproduce
a demo from scratch, run it on an empty data directory: the same arguments give the same files, byte for byte, as
long as the cycles record the same actions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from loop.errors import LoopError
from loop.orchestrate.embedded import CycleRun
from loop.sample.actions import Actions, read_actions
from loop.sample.generator import AREAS, FIX_DELAY_DAYS, generate
from loop.settings import Settings

STATE_FILE = "demo.json"


@dataclass(frozen=True)
class DemoPlan:
    """The demo's arguments: the sample period it plays."""

    customers: int = 3000
    days: int = 21
    start: date = date(2026, 3, 2)
    seed: int = 7
    bad_fraction: float = 0.01

    def __post_init__(self) -> None:
        if self.customers < 1 or self.days < 1:
            raise LoopError("--customers and --days must be at least 1.")

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def as_json(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "days": self.days,
            "start": self.start.isoformat(),
            "seed": self.seed,
            "bad_fraction": self.bad_fraction,
        }

    def describe(self) -> str:
        return f"--customers {self.customers} --days {self.days} --start {self.start} --seed {self.seed}"


@dataclass
class DemoOutcome:
    """What a ``loop demo`` command did: the cycle of every day of the period as it stands, and where it began."""

    plan: DemoPlan
    runs: list[CycleRun]  # one per day of the period that has run, this command's or an earlier one's
    played: list[date] = field(default_factory=list)  # the days this command generated and ran

    @property
    def failed(self) -> list[CycleRun]:
        return [r for r in self.runs if r.state != "success"]


class CycleRunnerLike(Protocol):
    def run_cycles(
        self, start: date, end: date, progress: Callable[[list[CycleRun]], None] | None = None
    ) -> list[CycleRun]: ...


AirflowFactory = Callable[[Settings], AbstractContextManager[CycleRunnerLike]]


def _embedded(settings: Settings) -> AbstractContextManager[CycleRunnerLike]:
    from loop.orchestrate.embedded import EmbeddedAirflow

    return EmbeddedAirflow(settings)


# -- the demo record ------------------------------------------------------------------------------------------------


def _state_path(settings: Settings) -> Path:
    return settings.root / STATE_FILE


def _load_state(settings: Settings) -> dict[str, Any] | None:
    path = _state_path(settings)
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise LoopError(f"The demo record {path} cannot be read ({error}); remove it or use `make clean`.") from None
    if not isinstance(state, dict) or not isinstance(state.get("plan"), dict):
        raise LoopError(f"The demo record {path} is not one loop wrote; remove it or use `make clean`.")
    return state


def _save_state(settings: Settings, plan: DemoPlan, cycles: dict[date, CycleRun]) -> None:
    path = _state_path(settings)
    record = {
        "plan": plan.as_json(),
        "cycles": {
            day.isoformat(): {"run_id": run.run_id, "state": run.state, "failed_tasks": run.failed_tasks}
            for day, run in sorted(cycles.items())
        },
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)


def _recorded_cycles(state: dict[str, Any]) -> dict[date, CycleRun]:
    cycles: dict[date, CycleRun] = {}
    for day, item in (state.get("cycles") or {}).items():
        tasks = dict.fromkeys(item.get("failed_tasks") or [], "failed")
        cycles[date.fromisoformat(day)] = CycleRun(date.fromisoformat(day), str(item["run_id"]), item["state"], tasks)
    return cycles


def _plan_of(record: dict[str, Any]) -> DemoPlan:
    return DemoPlan(
        int(record["customers"]),
        int(record["days"]),
        date.fromisoformat(record["start"]),
        int(record["seed"]),
        float(record["bad_fraction"]),
    )


def resume_point(settings: Settings, plan: DemoPlan) -> tuple[date | None, dict[date, CycleRun]]:
    """The first day to play (None: every day has succeeded) and the cycles recorded so far.

    Raises a ``LoopError`` when the data directory holds another demo or data from other runs.
    """
    state = _load_state(settings)
    if state is None:
        from loop.landing import landed_dates

        if settings.warehouse_path.exists() or landed_dates(settings.landing_dir):
            raise LoopError(
                f"{settings.root} already holds data from other runs (a warehouse or landed files, and no demo "
                "record); the demo's world starts empty: run `make clean` (removes ./.loop) or set LOOP_DATA_DIR to "
                "a new folder."
            )
        return plan.start, {}
    if state["plan"] != plan.as_json():
        try:
            other = _plan_of(state["plan"]).describe()
        except (KeyError, TypeError, ValueError):
            other = "other arguments"
        raise LoopError(
            f"{settings.root} holds a loop demo of {other}; rerun it with those arguments to continue it, or use "
            "another LOOP_DATA_DIR (or `make clean`) for a new one."
        )
    cycles = _recorded_cycles(state)
    if not settings.warehouse_path.exists():
        return plan.start, {}  # the warehouse is gone: start over
    for day in plan.dates:
        run = cycles.get(day)
        if run is None or run.state != "success":
            return day, cycles
    return None, cycles


# -- what the loop did, said out loud ------------------------------------------------------------------------------


def describe_actions(actions: Actions, plan: DemoPlan, earlier: Actions | None = None) -> str:
    """One line about the actions of one cycle and how the world will react (``earlier``: the actions before)."""
    parts = [
        f"{a.subject} {len(a.treatment)} treatment / {len(a.holdout)} holdout" for a in actions if a.kind != "signal"
    ]
    fixing = {a.product_area for a in earlier or () if a.kind == "signal"}
    symptoms: dict[str, list[str]] = {}
    for action in actions:
        if action.kind == "signal":
            symptoms.setdefault(action.product_area or action.subject, []).append(action.symptom or "")
    new = [area for area in symptoms if area in AREAS and area not in fixing]
    said = [f"{area} ({'; '.join(s for s in symptoms[area] if s)})" for area in symptoms]
    if said:
        ships = max((a.day for a in actions if a.kind == "signal"), default=plan.end) + timedelta(days=FIX_DELAY_DAYS)
        fate = f"fix of {', '.join(new)} ships {ships}" if new and ships <= plan.end else "no new fix in the period"
        parts.append(f"signals {', '.join(said)} → {fate}")
    return "; ".join(parts) if parts else "no action"


# -- the demo -------------------------------------------------------------------------------------------------------


def run_demo(
    settings: Settings,
    plan: DemoPlan,
    *,
    console: Console | None = None,
    airflow: AirflowFactory | None = None,
) -> DemoOutcome:
    """Play the demo's period day by day (or continue it): generate a day's files, run its cycle, repeat."""
    from loop.orchestrate.embedded import cycles_progress

    console = console or Console()
    first, cycles = resume_point(settings, plan)
    if first is None:
        console.print(
            f"Every day of this demo ({plan.start} to {plan.end}) has already run; nothing to do. "
            "(A new demo needs an empty data directory: `make clean`.)"
        )
        return DemoOutcome(plan, [cycles[d] for d in plan.dates if d in cycles])
    todo = [d for d in plan.dates if d >= first]
    if first != plan.start:
        console.print(f"Continuing the demo at {first}: the {len(plan.dates) - len(todo)} day(s) before it have run.")
    settings.ensure_dirs()
    console.print(
        f"Playing {len(todo)} day(s), {first} to {plan.end}, for {plan.customers:,} customers: each day's files "
        "react to the actions the cycles before it recorded, then the day's cycle runs through Airflow…"
    )
    played: list[date] = []
    with cycles_progress(console, "days") as bar:
        task = bar.add_task("starting Airflow", total=len(todo))
        with (airflow or _embedded)(settings) as runner:
            for done, day in enumerate(todo):
                bar.update(task, completed=done, description=f"{day}: generating the day's files")
                actions = read_actions(settings)
                summary = generate(
                    settings.landing_dir,
                    customers=plan.customers,
                    days=plan.days,
                    start=plan.start,
                    seed=plan.seed,
                    bad_fraction=plan.bad_fraction,
                    actions=actions,
                    days_to_write=[day],
                )

                def progress(runs: list[CycleRun], day: date = day) -> None:
                    running = [r for r in runs if r.state == "running"]
                    active = [t for t, s in running[0].tasks.items() if s == "running"] if running else []
                    label = ", ".join(sorted(active)) or "waiting for the scheduler"
                    bar.update(task, description=f"{day}: cycle {label}")

                runs = runner.run_cycles(day, day, progress)
                run = next((r for r in runs if r.cycle_date == day), None)
                if run is None:
                    raise LoopError(f"Airflow reported no cycle for {day}; see `loop status`.")
                cycles[day] = run
                played.append(day)
                _save_state(settings, plan, cycles)
                recorded = read_actions(settings)
                taken = recorded.on(day)
                mark = "[green]✓[/green]" if run.state == "success" else "[red]✗[/red]"
                failed = f" ({', '.join(run.failed_tasks)})" if run.failed_tasks else ""
                console.print(
                    f"{mark} {day}  {summary.events:,} events · cycle {run.state}{failed} · "
                    f"{describe_actions(taken, plan, recorded.before(day))}"
                )
            bar.update(task, completed=len(todo))
    return DemoOutcome(plan, [cycles[d] for d in plan.dates if d in cycles], played)
