"""The landing date is a business day in LOOP_TIMEZONE: a São Paulo shop's 23:30 events land in their own day, and
a day of 23 hours (Berlin, clocks forward) ends an hour early."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from loop.landing import land_pillar
from loop.settings import Settings
from loop.warehouse import connect

SAO_PAULO_DAY = date(2026, 3, 2)  # São Paulo keeps -03:00 all year now
BERLIN_SPRING = date(2026, 3, 29)  # clocks go from 02:00 to 03:00: the day lasts 23 hours


def _land(tmp_path: Path, zone: str, day: date, timestamps: list[str]) -> dict[str, tuple[str, str]]:
    """Land one events file of ``day`` with one event per timestamp; the quarantined ones: {timestamp: (kind,
    reason)}. No tolerance past the end of the day, a lookback of 3 days."""
    settings = Settings(data_dir=tmp_path / zone.replace("/", "_"), timezone=zone, future_tolerance_hours=0)
    settings.ensure_dirs()
    folder = settings.landing_dir / "experience" / "events" / f"date={day.isoformat()}"
    folder.mkdir(parents=True)
    lines = [
        json.dumps({"type": "track", "messageId": f"m{i}", "userId": "cus_1", "timestamp": ts, "event": "Viewed"})
        for i, ts in enumerate(timestamps)
    ]
    (folder / "events.ndjson").write_text("\n".join(lines) + "\n")
    [result] = land_pillar(settings, "experience", day, run_id="business-day")
    assert result.rows_read == len(timestamps) == result.rows_loaded + result.rows_quarantined
    with connect(settings, write=False) as con:
        held = con.execute("SELECT row_number, reason_kind, reason FROM ops.quarantine ORDER BY row_number").fetchall()
    return {timestamps[number - 1]: (kind, reason) for number, kind, reason in held}


SAO_PAULO = [
    "2026-03-02T23:30:00-03:00",  # 02:30 UTC the next day: the shop's evening
    "2026-03-03T00:10:00-03:00",  # after the shop's midnight
    "2026-02-27T00:30:00-03:00",  # 3 local days before, just inside the lookback window
    "2026-02-26T23:30:00-03:00",  # just before it
]


def test_a_sao_paulo_evening_lands_in_its_own_day(tmp_path: Path) -> None:
    held = _land(tmp_path, "America/Sao_Paulo", SAO_PAULO_DAY, SAO_PAULO)
    assert held == {
        "2026-03-03T00:10:00-03:00": (
            "future",
            "future event: timestamp 2026-03-03T03:10:00Z is after its landing date 2026-03-02",
        ),
        "2026-02-26T23:30:00-03:00": (
            "late",
            "late event: timestamp 2026-02-27T02:30:00Z is more than 3 days before its landing date 2026-03-02",
        ),
    }


def test_the_same_events_on_utc_days(tmp_path: Path) -> None:
    """With the default zone the evening is a future event, and the lookback window starts three hours earlier."""
    held = _land(tmp_path, "UTC", SAO_PAULO_DAY, SAO_PAULO)
    assert {ts: kind for ts, (kind, _) in held.items()} == {
        "2026-03-02T23:30:00-03:00": "future",
        "2026-03-03T00:10:00-03:00": "future",
    }


@pytest.mark.parametrize(
    ("zone", "future"),
    [
        # 21:30 UTC is 23:30 in Berlin; 22:10 UTC is already 00:10 the next day (the day ended after 23 hours)
        ("Europe/Berlin", {"2026-03-29T22:10:00Z", "2026-03-29T23:10:00Z"}),
        ("UTC", set()),  # on UTC days all four are in the day of 29 March or its lookback window
    ],
)
def test_a_23_hour_day(tmp_path: Path, zone: str, future: set[str]) -> None:
    timestamps = [
        "2026-03-28T23:05:00Z",  # 00:05 in Berlin (+01:00): the day's first hour
        "2026-03-29T21:30:00Z",  # 23:30 in Berlin (+02:00): the day's last hour
        "2026-03-29T22:10:00Z",  # 00:10 on 30 March in Berlin
        "2026-03-29T23:10:00Z",  # 01:10 on 30 March in Berlin
    ]
    held = _land(tmp_path, zone, BERLIN_SPRING, timestamps)
    assert {ts for ts, (kind, _) in held.items() if kind == "future"} == future
    assert {kind for kind, _ in held.values()} <= {"future"}
