"""The business day: every day loop speaks of (a landing date, a cycle date, an as-of date) is a calendar day in the
configured time zone (``LOOP_TIMEZONE``, an IANA name, default UTC).

A day starts at its first local instant (local midnight) and ends where the next day starts, so it lasts 23 or 25
hours on the days the clocks change. The landing checks (``loop.landing.checks``) compute the same boundaries in
DuckDB; the cycle's data interval is the same day in Airflow (``dags/loop_cycle.py``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone`` (local midnight; where the clocks skip midnight, the first local
    time of the day)."""
    local = datetime.combine(day, time(0), tzinfo=zone)
    # A local midnight inside a gap (clocks skipped from 23:59 to 01:00) does not exist: fold 0 reads it with the
    # offset before the change, which is the instant the day starts.
    return local.astimezone(ZoneInfo("UTC")).astimezone(zone)


def day_end(day: date, zone: ZoneInfo) -> datetime:
    """The first instant after ``day`` in ``zone`` (the start of the next day)."""
    return day_start(day + timedelta(days=1), zone)


def business_date(instant: datetime, zone: ZoneInfo) -> date:
    """The day of ``zone`` an aware instant falls on."""
    if instant.tzinfo is None:
        raise ValueError(f"{instant.isoformat()} has no time zone; a business day needs an instant")
    return instant.astimezone(zone).date()
