"""Business days: LOOP_TIMEZONE is checked as an IANA name, days start at local midnight and last 23 or 25 hours
when the clocks change, and instants Airflow reports map back to the cycle date they start."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from loop.activate.actions import taken_at
from loop.business_day import business_date, day_end, day_start
from loop.orchestrate.embedded import CycleRunner
from loop.settings import Settings

BERLIN = ZoneInfo("Europe/Berlin")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def test_the_zone_is_an_iana_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().timezone == "UTC"
    monkeypatch.setenv("LOOP_TIMEZONE", "America/Sao_Paulo")
    assert Settings().zone == SAO_PAULO
    for wrong in ("Mars/Olympus", "localtime", "", "America/Sao_Paulo "):
        monkeypatch.setenv("LOOP_TIMEZONE", wrong)
        with pytest.raises(ValidationError, match=r"LOOP_TIMEZONE .* is not a known IANA time zone; use a name"):
            Settings()


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 3, 2), 24)],
)
def test_days_last_23_24_or_25_hours(day: date, hours: int) -> None:
    start, end = day_start(day, BERLIN), day_end(day, BERLIN)
    assert (start.hour, start.minute, start.date()) == (0, 0, day)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours)


def test_a_day_whose_midnight_the_clocks_skip_starts_at_its_first_local_time() -> None:
    """São Paulo moved its clocks from 00:00 to 01:00 on 4 November 2018."""
    start = day_start(date(2018, 11, 4), SAO_PAULO)
    assert start.astimezone(UTC) == datetime(2018, 11, 4, 3, tzinfo=UTC)
    assert business_date(start, SAO_PAULO) == date(2018, 11, 4)
    assert business_date(start.astimezone(UTC) - timedelta(microseconds=1), SAO_PAULO) == date(2018, 11, 3)


def test_actions_take_effect_at_the_end_of_the_business_day() -> None:
    assert taken_at(date(2026, 3, 2), SAO_PAULO) == datetime(2026, 3, 3, 3, tzinfo=UTC)
    assert taken_at(date(2026, 3, 2), ZoneInfo("UTC")) == datetime(2026, 3, 3, tzinfo=UTC)


def test_airflow_instants_map_to_cycle_dates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A run's data interval starts at local midnight of its cycle date; Airflow reports it in UTC."""
    runner = CycleRunner()
    runner.settings = Settings(data_dir=tmp_path, timezone="Europe/Berlin")
    assert runner._cycle_date("2026-03-01T23:00:00Z") == "2026-03-02"  # midnight in Berlin, the UTC date before
    assert runner._cycle_date("2026-03-28T23:00:00+00:00") == "2026-03-29"
    runner.settings = Settings(data_dir=tmp_path, timezone="America/Sao_Paulo")
    assert runner._cycle_date("2026-03-02T03:00:00Z") == "2026-03-02"
    assert day_start(date(2026, 3, 2), runner.settings.zone).isoformat() == "2026-03-02T00:00:00-03:00"
