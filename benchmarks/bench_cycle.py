"""Benchmark: validated landing vs a bare DuckDB load, and per-stage timings of a full cycle.

Not a test: it prints figures. Example (about 450,000 events, a 272 MB file):

    .venv/bin/python benchmarks/bench_cycle.py --customers 40000 --days 14

1. Generates the sample (``loop generate``) into a scratch data directory.
2. Concatenates every events file into one NDJSON file, then in the same run
   - bare:      ``CREATE TABLE ... AS SELECT * FROM read_ndjson(file)`` into a fresh DuckDB file,
   - validated: loop's landing of that file (contract checks, dedup, quarantine, landing log),
   and prints events/s for both and their ratio (aim: validated >= 0.5 x bare).
3. Runs one full cycle over the whole period in-process, stage by stage (land every day of every pillar,
   dbt build, Great Expectations per pillar, publish per pillar), and prints each stage's seconds
   (``--landing-only`` stops after step 2).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from loop import cycle, landing
from loop.contracts import source_named
from loop.sample import generate
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.warehouse import connect


def _timed(label: str, timings: list[tuple[str, float]], func, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = func(*args, **kwargs)
    timings.append((label, time.perf_counter() - started))
    return result


def bench_landing(settings: Settings, events_file: Path, events: int) -> None:
    bare_db = settings.root / "bare.duckdb"
    started = time.perf_counter()
    with duckdb.connect(str(bare_db)) as con:
        con.execute("CREATE TABLE events AS SELECT * FROM read_ndjson(?, ignore_errors = true)", [str(events_file)])
        bare_rows = con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
    bare = time.perf_counter() - started

    day = date(2000, 1, 1)
    folder = settings.landing_dir / "experience" / "events" / f"date={day.isoformat()}"
    folder.mkdir(parents=True)
    target = folder / events_file.name
    shutil.move(events_file, target)
    relaxed = settings.model_copy(update={"lookback_days": 100_000, "future_tolerance_hours": 10_000_000})
    started = time.perf_counter()
    [result] = landing.land_pillar(relaxed, "experience", day, run_id="bench")
    validated = time.perf_counter() - started

    print(f"\nLanding {events:,} events from one NDJSON file ({target.stat().st_size / 1e6:,.0f} MB)")
    print(f"  bare DuckDB load (read_ndjson -> table): {bare:7.2f} s  {bare_rows / bare:12,.0f} events/s")
    print(
        f"  loop validated landing:                  {validated:7.2f} s  {result.rows_read / validated:12,.0f} events/s"
        f"   (loaded {result.rows_loaded:,}, quarantined {result.rows_quarantined:,})"
    )
    print(f"  validated / bare throughput: {(result.rows_read / validated) / (bare_rows / bare):.2f}")
    with connect(relaxed, write=True) as con:  # leave the warehouse clean for the cycle benchmark
        con.execute("DELETE FROM raw.events")
        con.execute("DELETE FROM ops.quarantine")
        con.execute("DELETE FROM ops.landing_log")
    shutil.rmtree(folder)


def bench_cycle(settings: Settings, start: date, days: int) -> None:
    timings: list[tuple[str, float]] = []
    end = start + timedelta(days=days - 1)
    for pillar in ("marketing", "experience", "product"):

        def land_days(p: str = pillar) -> None:
            for offset in range(days):
                landing.land_pillar(settings, p, start + timedelta(days=offset), run_id="bench")

        _timed(f"land {pillar} ({days} days)", timings, land_days)
    attempt = cycle.Attempt.of(end, "bench")
    _timed("dbt build (models + tests)", timings, cycle.build, settings, attempt)
    for pillar in PUBLISHED_PILLARS:
        _timed(f"validate {pillar} (GX)", timings, cycle.validate, settings, attempt, pillar)
    for pillar in PUBLISHED_PILLARS:
        _timed(f"publish {pillar} (Parquet)", timings, cycle.publish_pillar, settings, attempt, pillar)
    total = sum(seconds for _, seconds in timings)
    print(f"\nFull cycle over {days} days of data, stage by stage (in-process):")
    for label, seconds in timings:
        print(f"  {label:<34} {seconds:8.2f} s")
    print(f"  {'total':<34} {total:8.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=40_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--keep", action="store_true", help="keep the scratch data directory")
    parser.add_argument("--landing-only", action="store_true", help="measure the landing comparison only (step 2)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="loop-bench-"))
    settings = Settings(data_dir=scratch)
    settings.ensure_dirs()
    started = time.perf_counter()
    summary = generate(settings.landing_dir, customers=args.customers, days=args.days, bad_fraction=0.01)
    generated = time.perf_counter() - started
    print(
        f"Generated {summary.events:,} events for {args.customers:,} customers over {args.days} days "
        f"in {generated:.1f} s ({summary.events / generated:,.0f} events/s) into {scratch}"
    )

    # One NDJSON file with every event, for the landing comparison.
    events_source = source_named("events")
    combined = scratch / "all-events.ndjson"
    with combined.open("wb") as out:
        for path in sorted((settings.landing_dir / events_source.pillar / events_source.name).glob("date=*/*.ndjson")):
            with path.open("rb") as handle:
                shutil.copyfileobj(handle, out)
    bench_landing(settings, combined, summary.events)
    if not args.landing_only:
        bench_cycle(settings, summary.start, summary.days)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
