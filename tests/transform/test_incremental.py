"""Incremental builds give exactly the marts of a full refresh.

Days land one by one (the crafted session events of tests/fixtures/sessions plus a generated sample with planted
bad records): late events 1-3 days late, duplicates, sessions crossing midnight, a late event that merges two
sessions and an even later one that re-keys the merged session, identity stitching arriving the next day. After
each day's incremental build, a copy of the warehouse is built with ``--full-refresh`` as of the same day: every mart
and every session model is identical. Then an earlier day is rerun with a corrected file (events removed, a device
gone: the event-by-event comparison path), and a rerun without changes leaves every mart as it was.

Attribution (conversion_credits, campaign_attribution: published marts, so in the comparison, exactly) has its own
planted paths (``plant_attribution_paths``): a touch landing late inside an existing conversion's window, a
session re-keyed, a session re-stitched from nobody to a customer, and one moved from a customer to another with
its order, so a conversion changes customer and both customers' paths change.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from loop import cycle, landing, transform
from loop.sample import generate
from loop.settings import PILLARS, Settings
from loop.transform.catalog import pillar_tables
from loop.warehouse import connect

from ..conftest import FIXTURES

DAYS = [date(2026, 3, 2) + timedelta(days=i) for i in range(4)]
#: The session models besides the marts (their ``_run_at`` bookkeeping column is left out of the comparison).
SESSION_MODELS = (
    "intermediate.int_session_events",
    "intermediate.int_sessions_lifecycle",
    "intermediate.int_sessions",
    "intermediate.int_events_sessionized",
    "intermediate.int_identity_map",
)
CRAFTED_DAY_1 = Path("experience/events/date=2026-03-02/crafted.ndjson")
#: The incremental daily aggregates (macros/sessions/daily_aggregates.sql).
DAILY_AGGREGATES = ("experience_daily", "page_performance")
#: The customers of the planted attribution paths.
ATTRIBUTION_CUSTOMERS = ("cus_a1", "cus_a2")
_SAFARI = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15"


def _event(message: str, device: str, at: str, kind: str, **fields: object) -> str:
    event: dict[str, object] = {"type": kind, "messageId": message, "anonymousId": device, "timestamp": at}
    event["context"] = {"userAgent": _SAFARI, **fields.pop("context", {})}  # type: ignore[dict-item]
    return json.dumps(event | fields)


def plant_attribution_paths(landing_dir: Path) -> None:
    """Three days of events (landed on the first three days) whose attribution paths change after the fact.

    Day 1 (03-02): a-shared 07:00 anonymous Paid Search visit with an order (oa1, 30) at 07:10, 12:00 identify
    cus_a2 and order oa2 (70) at 12:05: both orders and the 07:00 visit are cus_a2's (the device's first identify
    after them); a-shop 10:00 Organic Search visit, 10:01 identify cus_a1, 10:05 order oa3 (50); a-tablet 08:00
    anonymous Email visit (nobody's).
    Day 2 (03-03): a-tablet identifies as cus_a1, so its 08:00 visit becomes cus_a1's, inside the window of oa3
    (re-stitched); a-shop's 09:40 event lands a day late and re-keys the 10:00 visit (now starting 09:40).
    Day 3 (03-04): a-shop's 06:00 visit lands two days late (a late touch inside oa3's window); a-shared's 07:05
    identify cus_a1 lands two days late: the 07:00 visit and its order oa1 move from cus_a2 to cus_a1 (oa1 becomes
    cus_a1's first purchase, oa2 cus_a2's, whose path loses the 07:00 visit).
    """
    paid = {"campaign": {"source": "google", "medium": "cpc", "name": "unknown_campaign"}}
    email = {"campaign": {"source": "newsletter", "medium": "email", "name": "unknown_newsletter"}}
    bing = {"page": {"path": "/", "referrer": "https://www.bing.com/search?q=loop"}}
    page = {"name": "Page", "properties": {"path": "/"}}
    days = {
        "2026-03-02": [
            _event("mA1", "a-shared", "2026-03-02T07:00:00Z", "page", context=paid, **page),
            _event(
                "mA2",
                "a-shared",
                "2026-03-02T07:10:00Z",
                "track",
                event="Order Completed",
                properties={"order_id": "oa1", "revenue": 30, "currency": "EUR"},
            ),
            _event("mA3", "a-shared", "2026-03-02T12:00:00Z", "identify", userId="cus_a2"),
            _event(
                "mA4",
                "a-shared",
                "2026-03-02T12:05:00Z",
                "track",
                userId="cus_a2",
                event="Order Completed",
                properties={"order_id": "oa2", "revenue": 70, "currency": "EUR"},
            ),
            _event("mA5", "a-shop", "2026-03-02T10:00:00Z", "page", context=bing, **page),
            _event("mA6", "a-shop", "2026-03-02T10:01:00Z", "identify", userId="cus_a1"),
            _event(
                "mA7",
                "a-shop",
                "2026-03-02T10:05:00Z",
                "track",
                userId="cus_a1",
                event="Order Completed",
                properties={"order_id": "oa3", "revenue": 50, "currency": "EUR"},
            ),
            _event("mA8", "a-tablet", "2026-03-02T08:00:00Z", "page", context=email, **page),
        ],
        "2026-03-03": [
            _event("mA9", "a-tablet", "2026-03-03T09:00:00Z", "identify", userId="cus_a1"),
            _event("mA10", "a-shop", "2026-03-02T09:40:00Z", "page", **page),
        ],
        "2026-03-04": [
            _event("mA11", "a-shop", "2026-03-02T06:00:00Z", "page", **page),
            _event("mA12", "a-shared", "2026-03-02T07:05:00Z", "identify", userId="cus_a1"),
        ],
    }
    for day, lines in days.items():
        folder = landing_dir / "experience" / "events" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "attribution.ndjson").write_text("\n".join(lines) + "\n")


def table_hashes(settings: Settings) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the sorted rows) of every published table and session model, bookkeeping columns left out."""
    tables = [f"main.{table}" for tables in pillar_tables().values() for table in tables] + list(SESSION_MODELS)
    hashes = {}
    with connect(settings, write=False) as con:
        for table in tables:
            columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall() if not row[0].startswith("_")]
            listed = ", ".join(f'"{column}"' for column in columns)
            [(rows, digest)] = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(j, chr(10) ORDER BY j), '')) FROM "
                f"(SELECT to_json(t)::VARCHAR AS j FROM (SELECT {listed} FROM {table}) AS t)"
            ).fetchall()
            hashes[table] = (int(rows), str(digest))
    return hashes


def copy_of(settings: Settings, where: Path) -> Settings:
    """A copy of the warehouse (same raw data, same models) in another data directory."""
    copy = Settings(data_dir=where)
    copy.ensure_dirs()
    shutil.copy(settings.warehouse_path, copy.warehouse_path)
    return copy


def full_refresh(copy: Settings, as_of: date, request: str | None = None) -> dict[str, tuple[int, str]]:
    """The hashes of a full refresh as of ``as_of`` on a copy of the warehouse; with a ``request``, through the
    cycle's build step as ``loop run --full-refresh`` asks for it (the request is then done: no second refresh)."""
    if request is None:
        transform.build(copy, as_of, full_refresh=True)
    else:
        summary = cycle.build(copy, cycle.Attempt.of(as_of, f"manual__{as_of}"), full_refresh=request)
        with connect(copy, write=False) as con:
            done = con.execute("SELECT count(*) FROM ops.full_refresh_log WHERE request = ?", [request]).fetchall()
        assert summary["full_refresh"] is True and done == [(1,)]
    return table_hashes(copy)


@dataclass
class Day:
    """What one incremental build left, and its full-refresh reference (None for the first, full, build)."""

    as_of: date
    incremental: dict[str, tuple[int, str]]
    reference: Future[dict[str, tuple[int, str]]] | None
    late_sessions: list[tuple[str, str]] = field(default_factory=list)
    """(session_id, first event) of the device whose sessions late events merge, then re-key."""
    browse_customers: list[str | None] = field(default_factory=list)
    cuts: tuple[int, date | None, int, int] = (0, None, 0, 0)
    """(devices in scope, earliest cut, events rewritten, events in all)."""
    recomputed_from: dict[str, str | None] = field(default_factory=dict)
    """The first day each incremental daily aggregate recomputed in this build (intermediate.incremental_builds)."""
    catalog: list[str] = field(default_factory=list)
    """The campaigns of the catalog this build saw (a new one renames sessions' campaigns on every day)."""
    paths: dict[tuple[str, str], int] = field(default_factory=dict)
    """(customer, conversion) -> touches in the path, for the planted attribution customers."""
    attribution: tuple[str | None, int, int] = (None, 0, 0)
    """(first day conversion_credits recomputed, customers in this build's attribution scope, customers with
    credits)."""


def _observe(settings: Settings, day: Day) -> None:
    with connect(settings, write=False) as con:
        day.late_sessions = con.execute(
            "SELECT session_id, first_event_id FROM intermediate.int_sessions_lifecycle "
            "WHERE device_id = 'anonymous:g-late' ORDER BY started_at"
        ).fetchall()
        day.browse_customers = [
            row[0]
            for row in con.execute(
                "SELECT customer_id FROM intermediate.int_sessions_lifecycle "
                "WHERE device_id = 'anonymous:g-browse' ORDER BY started_at"
            ).fetchall()
        ]
        [cuts] = con.execute(
            "SELECT count(device_id), min(resessionize_from)::DATE FROM intermediate.int_sessions_scope "
            "WHERE scoped_at = (SELECT max(scoped_at) FROM intermediate.int_sessions_scope)"
        ).fetchall()
        [events] = con.execute(
            "SELECT count(*) FILTER (WHERE _run_at = (SELECT max(_run_at) FROM intermediate.int_session_events)), "
            "count(*) FROM intermediate.int_session_events"
        ).fetchall()
        day.catalog = [
            row[0]
            for row in con.execute(
                "SELECT DISTINCT campaign_id FROM staging.stg_marketing__campaigns ORDER BY 1"
            ).fetchall()
        ]
        day.recomputed_from = dict(
            con.execute(
                "SELECT model, recomputed_from::VARCHAR FROM intermediate.incremental_builds WHERE model IN ?",
                [list(DAILY_AGGREGATES)],
            ).fetchall()
        )
        day.paths = {
            (str(customer), str(conversion)): int(touches)
            for customer, conversion, touches in con.execute(
                "SELECT customer_id, conversion_id, count(touch_id) FROM main.conversion_credits "
                "WHERE model = 'linear' AND customer_id IN ? GROUP BY ALL",
                [list(ATTRIBUTION_CUSTOMERS)],
            ).fetchall()
        }
        [(recomputed_from,)] = con.execute(
            "SELECT recomputed_from::VARCHAR FROM intermediate.incremental_builds WHERE model = 'conversion_credits'"
        ).fetchall()
        [(scoped, credited)] = con.execute(
            "SELECT (SELECT count(customer_id) FROM intermediate.int_attribution_scope "
            "WHERE scoped_at = (SELECT max(scoped_at) FROM intermediate.int_attribution_scope)), "
            "(SELECT count(DISTINCT customer_id) FROM main.conversion_credits)"
        ).fetchall()
        day.attribution = (recomputed_from, int(scoped), int(credited))
    day.cuts = (int(cuts[0]), cuts[1], int(events[0]), int(events[1]))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Day]]:
    """Every day landed and built incrementally, each compared with a full refresh (built on the side)."""
    root = tmp_path_factory.mktemp("incremental")
    settings = Settings(data_dir=root / "data")
    settings.ensure_dirs()
    generate(settings.landing_dir, customers=200, days=len(DAYS), start=DAYS[0], seed=3, bad_fraction=0.02)
    shutil.copytree(FIXTURES / "sessions" / "landing", settings.landing_dir, dirs_exist_ok=True)
    plant_attribution_paths(settings.landing_dir)
    days: list[Day] = []
    with ThreadPoolExecutor(max_workers=1) as references:
        for number, day in enumerate(DAYS):
            for pillar in PILLARS:
                landing.land_pillar(settings, pillar, day)
            transform.build(settings, day)
            # the first build has nothing to be incremental on (it is a full build); the copy is taken now, before
            # the next day lands, and built on the side while the days go on
            copy = copy_of(settings, root / f"full-{day}")
            request = "full-refresh:test" if number == 1 else None  # once through the cycle's build step
            reference = references.submit(full_refresh, copy, day, request) if number else None
            days.append(Day(day, table_hashes(settings), reference))
            _observe(settings, days[-1])
        # An earlier day rerun with a corrected file: the 11:30 page of g-gaps and every event of the uptime
        # monitor are gone (landing replaces the file's rows, so every row of it is a new version).
        corrected = settings.landing_dir / CRAFTED_DAY_1
        kept = [line for line in corrected.read_text().splitlines() if '"mB4"' not in line and "g-monitor" not in line]
        corrected.write_text("\n".join(kept) + "\n")
        for pillar in PILLARS:
            landing.land_pillar(settings, pillar, DAYS[0])
        transform.build(settings, DAYS[-1])
        reference = references.submit(full_refresh, copy_of(settings, root / "full-rerun"), DAYS[-1])
        rerun = Day(DAYS[-1], table_hashes(settings), reference)
        _observe(settings, rerun)
        for outcome in [*days, rerun]:
            if outcome.reference is not None:
                outcome.reference.result()
    return {"days": days, "rerun": [rerun]}


def test_every_incremental_build_equals_a_full_refresh(history: dict[str, list[Day]]) -> None:
    for day in history["days"][1:]:
        reference = day.reference.result() if day.reference is not None else {}
        differing = sorted(table for table in day.incremental if day.incremental[table] != reference.get(table))
        assert differing == [], f"as of {day.as_of}"
        assert day.incremental["main.sessions"][0] > 0


def test_a_late_event_merges_sessions_and_an_earlier_one_rekeys_them(history: dict[str, list[Day]]) -> None:
    firsts = [[first for _, first in day.late_sessions] for day in history["days"]]
    # day 1: 14:00 and 14:40 are two sessions; day 3: the 14:20 event (2 days late) merges them under the id of
    # 14:00; day 4: the 13:45 event (3 days late) comes before it and re-keys the session
    assert firsts == [["mC1", "mC3"], ["mC1", "mC3"], ["mC1"], ["mC0"]]
    ids = {session_id for day in history["days"] for session_id, _ in day.late_sessions}
    assert ids == {hashlib.md5(first.encode()).hexdigest() for first in ("mC0", "mC1", "mC3")}


def test_identity_arriving_a_day_later_only_changes_the_customer(history: dict[str, list[Day]]) -> None:
    # g-browse browses on day 1 and identifies as cus_g1 on day 2: its day-1 session becomes cus_g1's
    assert history["days"][0].browse_customers == [None]
    assert [day.browse_customers for day in history["days"][1:]] == [["cus_g1", "cus_g1"]] * 3


def test_a_build_recomputes_only_the_devices_whose_events_changed(history: dict[str, list[Day]]) -> None:
    for day in history["days"][1:]:
        devices, earliest, rewritten, events = day.cuts
        assert devices > 0 and 0 < rewritten < events, day.as_of
        # late events are at most 3 days late (LOOP_LOOKBACK_DAYS), plus the session they join
        assert earliest is not None and earliest >= day.as_of - timedelta(days=4), day.as_of
    devices, _, rewritten, events = history["days"][-1].cuts
    assert rewritten < events / 2  # after four days, most events are not read again


def test_the_daily_aggregates_recompute_from_the_earliest_cut(history: dict[str, list[Day]]) -> None:
    aggregates = set(DAILY_AGGREGATES)
    days = history["days"]
    assert days[0].recomputed_from == dict.fromkeys(aggregates, "-infinity")  # the first build: every day
    partial = 0
    for before, day in zip(days, days[1:] + history["rerun"], strict=True):
        earliest = day.cuts[1]
        assert earliest is not None
        # a campaign new to the catalog names sessions of any day: every day is recomputed
        expected = "-infinity" if day.catalog != before.catalog else earliest.isoformat()
        assert day.recomputed_from == dict.fromkeys(aggregates, expected), day.as_of
        partial += expected != "-infinity"
    # some builds recomputed from a cut, not every day (over four days the late events reach back to the first
    # day; benchmarks/bench_history.py shows the days before the cut kept over 90 days)
    assert partial > 0


def test_rerunning_a_day_with_a_corrected_file_equals_a_full_refresh(history: dict[str, list[Day]]) -> None:
    [rerun] = history["rerun"]
    reference = rerun.reference.result() if rerun.reference is not None else {}
    assert sorted(table for table in rerun.incremental if rerun.incremental[table] != reference.get(table)) == []
    before = history["days"][-1]
    assert rerun.incremental["main.sessions"][0] == before.incremental["main.sessions"][0] - 1  # g-gaps' 11:30
    assert rerun.incremental["main.bot_traffic"][0] == before.incremental["main.bot_traffic"][0] - 1  # the monitor
    # every event of the re-landed file is a new version: those devices were recomputed from their beginning
    assert rerun.cuts[1] is not None and rerun.cuts[1] <= DAYS[0]


def test_attribution_follows_late_touches_restitching_and_moved_conversions(history: dict[str, list[Day]]) -> None:
    """The planted paths (plant_attribution_paths) as each build credits them (touches per conversion, linear);
    the comparison with a full refresh checks every credit of every day."""
    day_1 = {
        ("cus_a1", "first_purchase:mA7"): 1,
        ("cus_a1", "purchase:mA7"): 1,
        ("cus_a2", "first_purchase:mA2"): 1,
        ("cus_a2", "purchase:mA2"): 1,
        ("cus_a2", "purchase:mA4"): 2,  # the 07:00 and 12:00 visits
    }
    # day 2: the tablet's 08:00 visit (re-stitched) and the re-keyed 09:40 visit are oa3's path
    day_2 = day_1 | {("cus_a1", "first_purchase:mA7"): 2, ("cus_a1", "purchase:mA7"): 2}
    # day 3: oa1 moved to cus_a1 (its first purchase, after the late 06:00 visit and the 07:00 one); oa3's path
    # has the 06:00, 07:00, 08:00 and 09:40 visits; cus_a2 keeps oa2, with the 12:00 visit only
    day_3 = {
        ("cus_a1", "first_purchase:mA2"): 2,
        ("cus_a1", "purchase:mA2"): 2,
        ("cus_a1", "purchase:mA7"): 4,
        ("cus_a2", "first_purchase:mA4"): 1,
        ("cus_a2", "purchase:mA4"): 1,
    }
    assert [day.paths for day in history["days"] + history["rerun"]] == [day_1, day_2, day_3, day_3, day_3]


def test_attribution_recomputes_only_the_customers_whose_paths_changed(history: dict[str, list[Day]]) -> None:
    days = history["days"]
    assert days[0].attribution[0] == "-infinity"  # the first build: everything
    partial = 0
    for before, day in zip(days, days[1:] + history["rerun"], strict=True):
        recomputed_from, scoped, credited = day.attribution
        if day.catalog != before.catalog:  # the campaign catalog is in the inputs fingerprint: everything
            assert recomputed_from == "-infinity", day.as_of
            continue
        # only the customers whose touches or conversions changed, from their earliest change (none: nothing)
        assert recomputed_from != "-infinity" and (recomputed_from is None) == (scoped == 0), day.as_of
        assert scoped < credited, day.as_of
        partial += scoped > 0
    assert partial > 0
