"""Sessions and identities on crafted events (tests/fixtures/sessions, explained in its README) against golden CSVs
worked out by hand: midnight, 29/30/31-minute gaps, late events that merge and re-key a session, a duplicate, bots,
identify-after-browse, one person on two devices, two people on one browser, a campaign on a later event only."""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta

import pytest

from loop import landing, transform
from loop.settings import Settings
from loop.warehouse import connect

from ..conftest import FIXTURES

SESSIONS = FIXTURES / "sessions"
DAYS = [date(2026, 3, 2) + timedelta(days=i) for i in range(4)]
COLUMNS = (
    "device_id",
    "first_event_id",
    "customer_id",
    "started_at",
    "ended_at",
    "events",
    "page_views",
    "engaged_seconds",
    "channel",
    "source",
    "medium",
    "app_version",
    "bot_category",
)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _golden(name: str) -> list[dict[str, str]]:
    with (SESSIONS / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The four days of crafted events landed, and one build as of the last day."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("sessions") / "data")
    settings.ensure_dirs()
    shutil.copytree(SESSIONS / "landing", settings.landing_dir, dirs_exist_ok=True)
    for day in DAYS:
        landing.land_pillar(settings, "experience", day)
    transform.build(settings, DAYS[-1])
    return settings


def test_sessions_match_the_golden_csv(built: Settings) -> None:
    times = {c: f"strftime(timezone('UTC', {c}), '%Y-%m-%dT%H:%MZ') AS {c}" for c in ("started_at", "ended_at")}
    select = ", ".join(times.get(c, c) for c in COLUMNS)
    with connect(built, write=False) as con:
        rows = con.execute(
            f"SELECT {select} FROM intermediate.int_sessions_lifecycle ORDER BY device_id, started_at"
        ).fetchall()
    assert [dict(zip(COLUMNS, map(_text, row), strict=True)) for row in rows] == _golden("expected_sessions.csv")


def test_session_ids_are_the_md5_of_the_first_event(built: Settings) -> None:
    with connect(built, write=False) as con:
        [(sessions, keyed)] = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE session_id = md5(first_event_id)) "
            "FROM intermediate.int_sessions_lifecycle"
        ).fetchall()
    assert sessions == keyed == len(_golden("expected_sessions.csv"))


def test_bot_sessions_are_counted_not_published_as_sessions(built: Settings) -> None:
    with connect(built, write=False) as con:
        published = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE device_id LIKE '%g-bot' "
            "OR device_id LIKE '%g-monitor') FROM main.sessions"
        ).fetchall()
        bots = con.execute(
            "SELECT session_date::VARCHAR, bot_category, sessions, events, devices FROM main.bot_traffic ORDER BY 2"
        ).fetchall()
        events = con.execute(
            "SELECT count(*) FROM intermediate.int_events_sessionized WHERE device_id LIKE '%g-bot'"
        ).fetchall()
    humans = [row for row in _golden("expected_sessions.csv") if not row["bot_category"]]
    assert published == [(len(humans), 0)]
    # the Googlebot: one session of 3 events; UptimeRobot: 05:00-05:01, then 06:00 (59 min later): 2 sessions, 3 events
    assert bots == [("2026-03-02", "crawler", 1, 3, 1), ("2026-03-02", "monitoring", 2, 3, 1)]
    assert events == [(0,)]


def test_identities_match_the_golden_csv(built: Settings) -> None:
    with connect(built, write=False) as con:
        rows = con.execute(
            "SELECT device_id, customer_id, sessions FROM intermediate.int_identity_map ORDER BY 1, 2"
        ).fetchall()
    assert [dict(zip(("device_id", "customer_id", "sessions"), map(_text, row), strict=True)) for row in rows] == (
        _golden("expected_identities.csv")
    )


def test_every_event_carries_its_sessions_customer(built: Settings) -> None:
    with connect(built, write=False) as con:
        browse = con.execute(
            "SELECT event_id, customer_id, stitched_customer_id FROM intermediate.int_events_sessionized "
            "WHERE device_id = 'anonymous:g-browse' ORDER BY occurred_at"
        ).fetchall()
        duplicates = con.execute(
            "SELECT count(*) FROM ops.quarantine WHERE reason_kind = 'duplicate' AND payload LIKE '%\"mD1\"%'"
        ).fetchall()
    # browsing on day 1 belongs to cus_g1, who identified on day 2 (retroactive stitching)
    assert browse == [
        ("mF1", None, "cus_g1"),
        ("mF2", None, "cus_g1"),
        ("mF3", None, "cus_g1"),
        ("mF4", "cus_g1", "cus_g1"),
        ("mF5", "cus_g1", "cus_g1"),
    ]
    assert duplicates == [(2,)]  # the copy in the same file and the one landed the next day
