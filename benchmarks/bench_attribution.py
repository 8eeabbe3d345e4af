"""Benchmark: multi-touch attribution over 10M touches and 1M conversions, full and incremental.

Not a test: it prints figures. Example (a few minutes on 2 cores, about 3 GB of scratch disk):

    .venv/bin/python benchmarks/bench_attribution.py

1. Builds a DuckDB warehouse in a scratch directory whose attribution inputs are generated in SQL from a fixed
   seed (deterministic hashes, no random()): ``--touches`` touches (sessions and email/push touches over 90 days,
   eight channels, 40 campaigns, some customers far more active than others) and ``--conversions`` conversions
   (sign-ups, first purchases and purchases; 5% of them by customers without any touch, who convert direct /
   none) of about 260,000 customers. The inputs stand in for the views int_touches and int_conversions (tables
   with the same columns), with the campaign catalog and ad spend they are reported against.
2. Runs the attribution models through dbt (``dbt run --select`` them): a full build, then an incremental build
   after one more day lands (1/90 of the touches and conversions, the day after the period), and prints for each
   the rows, seconds and rows/s of every model, the scope (customers credited again) and the wall time of the run
   (aim: full attribution at most 60 s) and its CPU time, with the load average (other processes share the cores:
   on a busy machine the CPU time / 2 is closer to what an idle 2-core machine takes than the wall time).
3. Checks the incremental result against a full refresh of the same data (rows and an order-free checksum of
   conversion_credits and campaign_attribution), and prints the paths' shape (touches per conversion).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from loop.settings import Settings
from loop.transform import dbt_command

START = date(2026, 1, 1)
DAYS = 90
#: The models a build of attribution runs (int_touches and int_conversions are the generated tables).
ATTRIBUTION_MODELS = ("int_attribution_scope", "int_attribution_inputs", "conversion_credits", "campaign_attribution")
#: Order-free checksum of a table (a sum of row hashes) with its row count: equal for equal sets of rows.
CHECKSUM = "SELECT count(*), sum(hash(t)::HUGEINT) FROM {table} AS t"

#: A uniform number in [0, 1) from a row number and a salt: the same for the same seed, whatever the threads.
UNIFORM = "((hash({i}, '{seed}', '{salt}') % 1000003) / 1000003.0)"

CHANNELS = """
    select * from (values
        (0, 'Direct', 'session', '(direct)', '(none)', false, 20),
        (1, 'Organic Search', 'session', 'google', 'organic', false, 22),
        (2, 'Paid Search', 'session', 'google', 'cpc', true, 16),
        (3, 'Paid Social', 'session', 'facebook', 'paid_social', true, 10),
        (4, 'Referral', 'session', 'partner.example', 'referral', false, 6),
        (5, 'Organic Social', 'session', 'instagram', 'social', false, 6),
        (6, 'Email', 'email', 'email', 'email', true, 15),
        (7, 'Mobile Push Notifications', 'push', 'push', 'push', true, 5)
    ) as channels(channel_no, channel, kind, source, medium, has_campaign, weight)
"""


def uniform(i: str, salt: str, seed: int) -> str:
    return UNIFORM.format(i=i, seed=seed, salt=salt)


def customer(i: str, seed: int, heavy_share: float) -> str:
    """A customer id: a share of rows go to the 50,000 most active customers, the rest to all 250,000."""
    return (
        f"'cus_' || lpad(cast(case when {uniform(i, 'heavy', seed)} < {heavy_share} "
        f"then hash({i}, '{seed}', 'customer') % 50000 else hash({i}, '{seed}', 'customer') % 250000 end "
        "as varchar), 6, '0')"
    )


def touches_sql(first: int, count: int, day_from: int, days: int, seed: int) -> str:
    """Touches number first .. first + count - 1, spread over days day_from .. day_from + days - 1."""
    return f"""
        with
        channels as ({CHANNELS}),
        cumulative as (
            select *, sum(weight) over (order by channel_no) - weight as lower_bound,
                sum(weight) over (order by channel_no) as upper_bound, sum(weight) over () as total
            from channels
        ),
        drawn as (
            select
                i,
                {customer("i", seed, 0.3)} as customer_id,
                timestamptz '{START.isoformat()} 00:00:00+00'
                    + to_seconds(cast(({day_from} + {uniform("i", "time", seed)} * {days}) * 86400 as bigint))
                    as touched_at,
                {uniform("i", "channel", seed)} as channel_draw,
                cast(hash(i, '{seed}', 'campaign') % 40 as bigint) as campaign_no,
                cast(hash(i, '{seed}', 'action') % 3 as bigint) as action_no
            from range({first}, {first + count}) as r(i)
        )
        select
            case when cumulative.kind = 'session' then md5('session' || drawn.i) else 'tch_' || drawn.i end
                as touch_id,
            drawn.customer_id,
            drawn.touched_at,
            case
                when cumulative.kind = 'session' then 'session'
                else cumulative.kind || ' ' || ['sent', 'opened', 'clicked'][drawn.action_no + 1]
            end as touch_kind,
            case when cumulative.has_campaign then 'cmp_' || lpad(cast(drawn.campaign_no as varchar), 3, '0') end
                as campaign_id,
            cumulative.channel,
            cumulative.source,
            cumulative.medium,
            cumulative.channel = 'Direct' as is_direct
        from drawn
        inner join cumulative
            on
                drawn.channel_draw * cumulative.total >= cumulative.lower_bound
                and drawn.channel_draw * cumulative.total < cumulative.upper_bound
    """


def conversions_sql(first: int, count: int, day_from: int, days: int, seed: int) -> str:
    """Conversions number first .. first + count - 1 (5% by customers without touches)."""
    return f"""
        with drawn as (
            select
                i,
                case
                    when {uniform("i", "untouched", seed)} < 0.05
                        then 'cus_' || cast(250000 + hash(i, '{seed}', 'customer') % 12500 as varchar)
                    else {customer("i", seed, 0.2)}
                end as customer_id,
                {uniform("i", "kind", seed)} as kind_draw,
                timestamptz '{START.isoformat()} 00:00:00+00'
                    + to_seconds(cast(({day_from} + {uniform("i", "time", seed)} * {days}) * 86400 as bigint))
                    as converted_at,
                cast(round(5 + {uniform("i", "revenue", seed)} * 195, 2) as decimal(18, 2)) as order_revenue
            from range({first}, {first + count}) as r(i)
        ),
        kinds as (
            select
                *,
                case
                    when kind_draw < 0.13 then 'sign_up' when kind_draw < 0.25 then 'first_purchase' else 'purchase'
                end as conversion_kind
            from drawn
        )
        select
            conversion_kind || ':evt_' || i as conversion_id,
            customer_id,
            conversion_kind,
            'evt_' || i as event_id,
            converted_at,
            case when conversion_kind = 'sign_up' then cast(0 as decimal(18, 2)) else order_revenue end as revenue
        from kinds
    """


def generate_inputs(warehouse: Path, touches: int, conversions: int, seed: int) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS intermediate; CREATE SCHEMA IF NOT EXISTS staging")
        con.execute(f"CREATE TABLE intermediate.int_touches AS {touches_sql(0, touches, 0, DAYS, seed)}")
        con.execute(f"CREATE TABLE intermediate.int_conversions AS {conversions_sql(0, conversions, 0, DAYS, seed)}")
        con.execute(
            "CREATE TABLE staging.stg_marketing__campaigns AS SELECT 'cmp_' || lpad(i::VARCHAR, 3, '0') AS "
            "campaign_id, 'Campaign ' || i AS campaign_name FROM range(40) AS r(i)"
        )
        con.execute(
            "CREATE TABLE staging.stg_marketing__ad_performance_days AS SELECT "
            "'cmp_' || lpad((i % 40)::VARCHAR, 3, '0') AS campaign_id, "
            f"DATE '{START.isoformat()}' + (i // 40)::INTEGER AS performance_date, "
            "CAST(100 + hash(i, 'spend') % 10000 / 100.0 AS DECIMAL(18, 2)) AS spend "
            f"FROM range(40 * {DAYS}) AS r(i)"
        )


def land_next_day(warehouse: Path, touches: int, conversions: int, seed: int) -> tuple[int, int]:
    """One more day (the day after the period), 1/90 of the period's touches and conversions."""
    new_touches, new_conversions = touches // DAYS, conversions // DAYS
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"INSERT INTO intermediate.int_touches {touches_sql(touches, new_touches, DAYS, 1, seed)}")
        con.execute(
            f"INSERT INTO intermediate.int_conversions {conversions_sql(conversions, new_conversions, DAYS, 1, seed)}"
        )
    return new_touches, new_conversions


def dbt(settings: Settings, verb: str, *options: str) -> dict[str, float]:
    """Runs dbt; returns the seconds of each model it ran."""
    target = settings.dbt_target_dir
    target.mkdir(parents=True, exist_ok=True)
    command, env = dbt_command(settings, verb, target, {}, "--threads", "2", *options)
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"dbt {verb} failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-2000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".")[-1]: float(r["execution_time"])
        for r in results
        if r["unique_id"].startswith("model.")
    }


def build_attribution(settings: Settings, label: str, *options: str) -> tuple[float, dict[str, float]]:
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = dbt(settings, "run", "--select", *ATTRIBUTION_MODELS, *options)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = {
            name: con.execute(f"SELECT count(*) FROM {schema}.{name}").fetchone()[0]  # type: ignore[index]
            for name in seconds
            for schema in ["intermediate" if name.startswith("int_") else "main"]
        }
    load = os.getloadavg()[0]
    print(
        f"\n{label} (dbt run of the attribution models, wall {wall:.1f} s, CPU {cpu:.1f} s, load average {load:.2f}):"
    )
    for name, model_seconds in seconds.items():
        print(
            f"  {name:<24} {rows[name]:>12,} rows  {model_seconds:7.2f} s  "
            f"{rows[name] / max(model_seconds, 1e-9):>12,.0f} rows/s"
        )
    if "int_attribution_scope" in seconds:  # (a version of loop before incremental attribution has no scope)
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            scoped = con.execute(
                "SELECT count(customer_id), count(*) FILTER (WHERE customer_id IS NULL "
                "AND reattribute_from IS NOT NULL) FROM intermediate.int_attribution_scope "
                "WHERE scoped_at = (SELECT max(scoped_at) FROM intermediate.int_attribution_scope)"
            ).fetchone()
            redone = con.execute(
                "SELECT coalesce(recomputed_from::VARCHAR, 'nothing') FROM intermediate.incremental_builds "
                "WHERE model = 'conversion_credits'"
            ).fetchone()
        assert scoped is not None and redone is not None
        scope = "every customer" if scoped[1] else f"{scoped[0]:,} customers"
        print(f"  scope: {scope}; conversion_credits recomputed from {redone[0]}")
    # the models run on 2 threads (scope, then inputs and credits side by side, then campaign_attribution): the
    # attribution time is the run's wall time (dbt's start-up of a few seconds included); its CPU time (dbt and
    # DuckDB, all threads) says what it costs whatever else runs on the machine
    print(f"  {'sum of model times':<24} {'':>17}  {sum(seconds.values()):7.2f} s", flush=True)
    return wall, seconds


def checksums(warehouse: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            table: con.execute(CHECKSUM.format(table=f"main.{table}")).fetchall()
            for table in ("conversion_credits", "campaign_attribution")
        }


def path_shape(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            "WITH paths AS (SELECT conversion_id, count(touch_id) AS n FROM main.conversion_credits "
            "WHERE model = 'linear' GROUP BY conversion_id) SELECT count(*), avg(n), quantile_disc(n, 0.5), "
            "quantile_disc(n, 0.9), max(n), count(*) FILTER (WHERE n = 0), sum(n) FROM paths"
        ).fetchone()
    assert row is not None
    conversions, mean, median, p90, longest, direct, pairs = row
    return (
        f"{conversions:,} conversions: touches in the window mean {mean:.1f}, median {median}, p90 {p90}, "
        f"max {longest}; {direct:,} direct / none; {pairs:,} conversion x touch pairs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--touches", type=int, default=10_000_000)
    parser.add_argument("--conversions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="data directory to keep (default: a temporary one)")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="loop-bench-attribution-"))
    settings = Settings(data_dir=root)
    settings.ensure_dirs()
    started = time.perf_counter()
    generate_inputs(settings.warehouse_path, args.touches, args.conversions, args.seed)
    print(
        f"Generated {args.touches:,} touches and {args.conversions:,} conversions over {DAYS} days in "
        f"{time.perf_counter() - started:.0f} s under {root}",
        flush=True,
    )
    dbt(settings, "seed", "--select", "channel_groups")

    full, _ = build_attribution(settings, "Full build")
    print(f"  paths: {path_shape(settings.warehouse_path)}", flush=True)
    new_touches, new_conversions = land_next_day(settings.warehouse_path, args.touches, args.conversions, args.seed)
    print(f"\nLanded one more day: {new_touches:,} touches, {new_conversions:,} conversions", flush=True)
    incremental, _ = build_attribution(settings, "Incremental build after one day")
    built = checksums(settings.warehouse_path)

    reference = root.parent / f"{root.name}-full-refresh"
    copy = Settings(data_dir=reference)
    copy.ensure_dirs()
    shutil.copy(settings.warehouse_path, copy.warehouse_path)
    build_attribution(copy, "Full refresh of the same data (reference)", "--full-refresh")
    same = checksums(copy.warehouse_path) == built
    print(f"\nincremental build equals a full refresh: {same}")
    print(
        f"attribution full build: {full:.1f} s (aim: at most 60 s); "
        f"incremental build after one day: {incremental:.1f} s"
    )
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(reference, ignore_errors=True)
    if not same:
        raise SystemExit("the incremental build differs from a full refresh")


if __name__ == "__main__":
    main()
