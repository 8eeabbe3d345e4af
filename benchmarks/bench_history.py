"""Benchmark: the cost of the daily cycle as history grows, at a constant daily volume.

Not a test: it prints figures. Example (about 27,000 events a day, 90 days; about an hour on 2 cores):

    .venv/bin/python benchmarks/bench_history.py --days 90 --customers 20000

1. Generates the period with ``loop.sample.generate`` in blocks of 7 days (the second one shorter, so that day 7
   and the last day both end a block), each block a separate sample world of ``--customers`` customers (its
   customer ids made unique to the block): every block has the same shape, so the daily volume stays constant over
   the period instead of growing with the returning customers of a single world.
2. Runs the daily cycles in process, oldest first (``loop.cycle.run_locally``: land, build, validate, publish,
   activate), as the daily schedule would.
3. Prints each measured day's step timings from ``ops.cycle_steps`` and the cost of the daily cycle (land + build +
   validate + publish) at day 7 and at the last day, and as its last line their ratio:
   ``daily cycle cost day 90 / day 7: X.XXx`` (aim: at most 1.3x: the incremental session models keep a day's
   build proportional to the day's data, not to the history).
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from loop import cycle
from loop.sample import generate
from loop.settings import Settings
from loop.warehouse import connect

START = date(2026, 3, 2)
CUSTOMER = re.compile(r"\bcus_(?=\d)")


def blocks(days: int) -> list[tuple[int, int]]:
    """(first day offset, length) of each generated world: 7 days each, except the second, shortened so that day 7
    and the last day both end a block (same phase of a world's week, so the same volume); 90 days: 7, 6, 7, ..."""
    spans, offset = [], 0
    while offset < days:
        length = ((days - 7) % 7 or 7) if len(spans) == 1 else 7
        spans.append((offset, min(length, days - offset)))
        offset += length
    return spans


def generate_history(landing: Path, days: int, customers: int, seed: int) -> dict[date, int]:
    """Write the period's landing files; returns the events written per day."""
    events: dict[date, int] = {}
    for number, (offset, length) in enumerate(blocks(days)):
        with tempfile.TemporaryDirectory() as scratch:
            world = Path(scratch)
            generate(world, customers=customers, days=length, start=START + timedelta(days=offset), seed=seed + number)
            for path in sorted(world.rglob("date=*/*")):
                relative = path.relative_to(world)
                target = landing / relative.parent / f"{path.stem}-block{number:02d}{path.suffix}"
                target.parent.mkdir(parents=True, exist_ok=True)
                text = CUSTOMER.sub(f"cus_b{number:02d}_", path.read_text())
                target.write_text(text)
                if relative.parts[:2] == ("experience", "events"):
                    day = date.fromisoformat(relative.parent.name.removeprefix("date="))
                    events[day] = events.get(day, 0) + text.count("\n")
    return events


def step_seconds(settings: Settings, attempt: str) -> dict[str, float]:
    """Seconds per step of one attempt, as ``ops.cycle_steps`` recorded them."""
    with connect(settings, write=False) as con:
        rows = con.execute(
            "SELECT step, epoch(finished_at - started_at) FROM ops.cycle_steps WHERE attempt = ? ORDER BY started_at",
            [attempt],
        ).fetchall()
    return {str(step): float(seconds) for step, seconds in rows}


def cycle_cost(steps: dict[str, float]) -> float:
    """The daily cycle: land + build + validate + publish (activation exports are left out)."""
    return sum(s for step, s in steps.items() if step.startswith(("land_", "build", "validate_", "publish_")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--customers", type=int, default=20_000, help="customers of each 7-day world")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, help="data directory to keep (default: a temporary one)")
    args = parser.parse_args()
    if args.days < 8:
        parser.error("--days must be at least 8 (day 7 is compared with the last day)")

    root = args.keep or Path(tempfile.mkdtemp(prefix="loop-bench-history-"))
    settings = Settings(data_dir=root)
    settings.ensure_dirs()
    started = time.perf_counter()
    events = generate_history(settings.landing_dir, args.days, args.customers, args.seed)
    print(
        f"Generated {args.days} days, {sum(events.values()):,} events ({min(events.values()):,} to "
        f"{max(events.values()):,} a day) in {time.perf_counter() - started:.0f} s under {root}",
        flush=True,
    )

    measured = {7, args.days}
    costs: dict[int, float] = {}
    for number in range(1, args.days + 1):
        day = START + timedelta(days=number - 1)
        began = time.perf_counter()
        summary = cycle.run_locally(settings, day, f"bench__{day}")
        wall = time.perf_counter() - began
        if summary.get("build") is None:
            raise SystemExit(f"cycle {day} failed: {summary['failed']}")
        if summary["failed"]:  # a failed validation skips a publication: the figures of that day are not comparable
            print(f"  warning, cycle {day}: {'; '.join(summary['failed'])[:400]}", flush=True)
        steps = step_seconds(settings, summary["attempt"])
        costs[number] = cycle_cost(steps)
        print(
            f"day {number:3d} {day}: {events.get(day, 0):7,} events  cycle {costs[number]:6.1f} s "
            f"(build {steps.get('build', 0):5.1f} s)  wall {wall:6.1f} s",
            flush=True,
        )
        if number in measured:
            detail = "  ".join(f"{step} {seconds:.1f}" for step, seconds in steps.items())
            print(f"  steps of day {number}: {detail}", flush=True)
            with connect(settings, write=False) as con:
                redone = con.execute(
                    "SELECT model || ' from ' || coalesce(recomputed_from::VARCHAR, 'no day') "
                    "FROM intermediate.incremental_builds ORDER BY model"
                ).fetchall()
            print(f"  daily aggregates recomputed: {', '.join(row[0] for row in redone)}", flush=True)

    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    first, last = costs[7], costs[args.days]
    print(f"daily cycle cost day 7: {first:.1f} s ({events.get(START + timedelta(days=6), 0):,} events)")
    last_day = START + timedelta(days=args.days - 1)
    print(f"daily cycle cost day {args.days}: {last:.1f} s ({events.get(last_day, 0):,} events)")
    print(f"daily cycle cost day {args.days} / day 7: {last / first:.2f}x")


if __name__ == "__main__":
    main()
