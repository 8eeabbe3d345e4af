"""Benchmark: audience exports to the three destinations for 1,000,000 customers.

Not a test: it prints figures. Example:

    .venv/bin/python benchmarks/bench_audiences.py              # 1M customers
    .venv/bin/python benchmarks/bench_audiences.py --customers 100000

1. Builds, in a scratch warehouse, the four tables the export reads (``main.audiences``, ``main.audience_members``,
   ``intermediate.int_customer_contacts``, ``intermediate.int_customer_consent``) with seeded random contacts in
   several countries and formats (spaces, mixed case, gmail dots, phones with and without ``+``, bad values) and
   four audiences of realistic sizes: two paid (300k and 100k members), two owned (40k and 120k), with holdouts.
2. Exports ``customer-match``, ``meta`` and ``owned`` (full files), changes 1% of every audience's memberships
   (removes 1%, adds 1% new members), exports the three again (adds/removes), and prints the seconds of each
   export and the total (aim: <= 60 s on 2 cores).

Each export starts with an empty phone-number cache, as in ``loop export audiences`` where every command is its
own process (``--warm-phone-cache`` keeps it across the six exports instead).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from loop.activate import export_audiences, normalize
from loop.settings import Settings
from loop.warehouse import connect

AUDIENCES = (  # id, channel, share of customers, holdout share
    ("service_recovery", "owned", 0.04, 0.10),
    ("retargeting_holdback", "paid", 0.30, 0.10),
    ("advocates", "owned", 0.12, 0.10),
    ("lookalike_seed", "paid", 0.10, 0.0),
)
FIRST = np.array(["Ana", "José", "Maria", "João", "Zoë", "Mary Ann", "Chloé", "Li", "Søren", "Anne-Marie", "Luis"])
LAST = np.array(["Silva", "Souza", "O'Brien", "Müller", "Smith", "Pérez", "Nguyễn", "Costa", "Lima", "St. John"])
DOMAINS = np.array(["gmail.com", "Gmail.com", "hotmail.com", "example.com.br", "googlemail.com", "yahoo.co.uk"])
COUNTRIES = np.array(["BR", "br", "US", "GB", "PT", "Brazil", ""])
COUNTRY_P = [0.50, 0.10, 0.20, 0.08, 0.05, 0.02, 0.05]
GB_ZIPS = np.array(["SW1A 1AA", "M1 1AE", "EC1A 1BB", "B33 8TH", "CR2 6XH", "DN55 1PT"])


def _digits(rng: np.random.Generator, n: int, width: int) -> pd.Series:
    return pd.Series(rng.integers(0, 10**width, n)).astype(str).str.zfill(width)


def build_contacts(n: int, rng: np.random.Generator) -> pd.DataFrame:
    ids = pd.Series(np.arange(n)).map("cus_{:07d}".format)
    country = pd.Series(rng.choice(COUNTRIES, n, p=COUNTRY_P))
    first = pd.Series(rng.choice(FIRST, n))
    last = pd.Series(rng.choice(LAST, n))
    number = pd.Series(np.arange(n)).astype(str)
    email = first.str.lower().str.replace(" ", ".") + "." + last.str.replace(r"[ .']", "", regex=True) + number + "@"
    email = email + pd.Series(rng.choice(DOMAINS, n))
    style = rng.random(n)
    email = email.where(style > 0.1, "  " + email.str.upper() + " ")  # mixed case and spaces
    email = email.where(style < 0.97, "n/a")  # unusable
    email = email.where(rng.random(n) > 0.03, None)

    code = country.str.upper()
    br = "+55 (11) 9" + _digits(rng, n, 4) + "-" + _digits(rng, n, 4)
    br_national = "(21) 9" + _digits(rng, n, 4) + "-" + _digits(rng, n, 4)
    us = "(415) " + pd.Series(rng.integers(200, 999, n)).astype(str) + "-" + _digits(rng, n, 4)
    gb = "07" + pd.Series(rng.choice(["400", "700", "911", "812"], n)) + " " + _digits(rng, n, 6)
    pt = "+351 91" + _digits(rng, n, 1) + " " + _digits(rng, n, 3) + " " + _digits(rng, n, 3)
    phone = pd.Series([None] * n, dtype=object)
    phone = phone.where(~code.isin(["BR", "BRAZIL", ""]), br.where(rng.random(n) < 0.6, br_national))
    phone = phone.where(code != "US", us).where(code != "GB", gb).where(code != "PT", pt)
    phone = phone.where(rng.random(n) > 0.01, "12345").where(rng.random(n) > 0.05, None)

    zip_code = pd.Series([None] * n, dtype=object)
    zip_code = zip_code.where(~code.isin(["BR", "BRAZIL"]), _digits(rng, n, 5) + "-" + _digits(rng, n, 3))
    zip_code = zip_code.where(code != "US", _digits(rng, n, 5))
    zip_code = zip_code.where(code != "GB", pd.Series(rng.choice(GB_ZIPS, n)))
    zip_code = zip_code.where(code != "PT", _digits(rng, n, 4) + "-" + _digits(rng, n, 3))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "email": email,
            "phone": phone,
            "first_name": first,
            "last_name": last,
            "country": country.where(country != "", None),
            "zip": zip_code,
        }
    ).astype(object)


def build_consent(ids: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    n = len(ids)
    keep = rng.random(n) > 0.01  # 1% without a consent row
    return pd.DataFrame(
        {
            "customer_id": ids[keep].to_numpy(),
            "advertising_consent": (rng.random(n) < 0.7)[keep],
            "opted_out_of_everything": (rng.random(n) < 0.02)[keep],
        }
    )


def build_members(n: int, rng: np.random.Generator) -> pd.DataFrame:
    frames = []
    for audience_id, _, share, holdout in AUDIENCES:
        chosen = rng.choice(n, int(n * share), replace=False)
        frames.append(
            pd.DataFrame(
                {
                    "audience_id": audience_id,
                    "customer_id": pd.Series(chosen).map("cus_{:07d}".format),
                    "reason": "rule",
                    "is_holdout": rng.random(len(chosen)) < holdout,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def change_members(members: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Remove 1% of each audience's members and add as many customers who were not members."""
    frames = []
    for audience_id, _, _, holdout in AUDIENCES:
        current = members[members["audience_id"] == audience_id]
        k = len(current) // 100
        kept = current.drop(index=rng.choice(current.index.to_numpy(), k, replace=False))
        taken = set(current["customer_id"])
        new: list[str] = []
        while len(new) < k:
            candidate = f"cus_{int(rng.integers(0, n)):07d}"
            if candidate not in taken:
                taken.add(candidate)
                new.append(candidate)
        added = pd.DataFrame(
            {"audience_id": audience_id, "customer_id": new, "reason": "rule", "is_holdout": rng.random(k) < holdout}
        )
        frames.extend([kept, added])
    return pd.concat(frames, ignore_index=True)


def write_tables(settings: Settings, tables: dict[str, pd.DataFrame]) -> None:
    with connect(settings, write=True) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")


def audiences_table(members: pd.DataFrame) -> pd.DataFrame:
    counts = members.groupby("audience_id")["is_holdout"].agg(["size", "sum"])
    return pd.DataFrame(
        [
            {
                "audience_id": a,
                "name": a.replace("_", " "),
                "purpose": "benchmark",
                "rule": "benchmark",
                "channel": channel,
                "members": int(counts.loc[a, "size"]),
                "holdout_members": int(counts.loc[a, "sum"]),
                "rule_version": "bench",
            }
            for a, channel, _, _ in AUDIENCES
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--warm-phone-cache", action="store_true", help="keep parsed phones across the exports")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data directory")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    root = Path(tempfile.mkdtemp(prefix="loop-bench-audiences-"))
    settings = Settings(data_dir=root / "data")
    settings.ensure_dirs()
    out = root / "exports"
    try:
        started = time.perf_counter()
        contacts = build_contacts(args.customers, rng)
        members = build_members(args.customers, rng)
        write_tables(
            settings,
            {
                "main.audiences": audiences_table(members),
                "main.audience_members": members,
                "intermediate.int_customer_contacts": contacts,
                "intermediate.int_customer_consent": build_consent(contacts["customer_id"], rng),
            },
        )
        print(
            f"Built {args.customers:,} customers, {len(members):,} memberships in 4 audiences "
            f"({time.perf_counter() - started:.1f} s, not counted)"
        )
        timings: list[tuple[str, float]] = []
        for run, label in ((1, "full"), (2, "adds/removes after 1% of memberships changed")):
            if run == 2:
                members = change_members(members, args.customers, rng)
                write_tables(settings, {"main.audiences": audiences_table(members), "main.audience_members": members})
            print(f"\nExport {run} ({label})")
            for destination in ("customer-match", "meta", "owned"):
                if not args.warm_phone_cache:
                    normalize._e164.cache_clear()
                started = time.perf_counter()
                exports = export_audiences(settings, destination, out, run_id=f"bench-{run}", as_of=date(2026, 3, run))
                seconds = time.perf_counter() - started
                timings.append((f"{destination} #{run}", seconds))
                detail = "; ".join(f"{e.audience_id}: {e.rows:,} rows (+{e.adds:,} -{e.removes:,})" for e in exports)
                print(f"  {destination:15s} {seconds:6.2f} s   {detail}")
        total = sum(s for _, s in timings)
        print(f"\nTotal of the six exports: {total:.2f} s (aim <= 60 s)")
        sizes = sum(p.stat().st_size for p in out.rglob("*.csv"))
        print(f"Files written: {len(list(out.rglob('*.csv')))} CSV files, {sizes / 1e6:,.0f} MB")
    finally:
        if args.keep:
            print(f"Scratch data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
