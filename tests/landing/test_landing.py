"""Landing: every bad-record kind is quarantined with a reason, counts reconcile, re-landing never duplicates."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from loop.errors import LoopError
from loop.landing import land_pillar
from loop.settings import Settings
from loop.warehouse import connect

DAY = date(2026, 3, 2)


def _land_all(settings: Settings, day: date = DAY) -> dict[str, tuple[int, int, int]]:
    counts: dict[str, tuple[int, int, int]] = {}
    for pillar in ("marketing", "experience", "product"):
        for result in land_pillar(settings, pillar, day, run_id="test"):
            counts[result.source] = (result.rows_read, result.rows_loaded, result.rows_quarantined)
    return counts


def _reasons(settings: Settings, source: str) -> dict[int, str]:
    with connect(settings, write=False) as con:
        rows = con.execute(
            "SELECT row_number, reason FROM ops.quarantine WHERE source = ? ORDER BY row_number", [source]
        ).fetchall()
    return {int(n): str(reason) for n, reason in rows}


def test_counts_per_source(landed_fixture: Settings) -> None:
    assert _land_all(landed_fixture) == {
        "campaigns": (4, 2, 2),
        "ad_performance": (6, 1, 5),
        "touches": (6, 2, 4),
        "events": (12, 3, 9),
        "feedback": (6, 2, 4),
        "releases": (2, 1, 1),
    }


def test_every_bad_kind_has_a_readable_reason(landed_fixture: Settings) -> None:
    _land_all(landed_fixture)
    events = _reasons(landed_fixture, "events")
    assert events[3] == "duplicate message_id m2 (first seen at record 2 of this file)"
    assert events[4].startswith("late event: timestamp 2026-02-20T10:01:00Z is more than 3 days before")
    assert events[5] == "an event needs an anonymousId or a userId"
    assert events[6] == (
        '"timestamp" must be an ISO 8601 timestamp with a time zone, such as 2026-03-02T08:15:00Z: not-a-date'
    )
    assert events[7] == "malformed JSON: the line ends inside a string (a truncated line?)"
    # line 8 is blank: not a record; positions stay line numbers
    assert '"type" must be one of track, page, identify, screen, alias, group: boom' in events[9]
    assert '"timestamp" must be an ISO 8601 timestamp with a time zone, such as 2026-03-02T08:15:00Z' in events[9]
    assert '"properties" must be a JSON object, not an array' in events[9]
    assert events[10] == 'missing required field "messageId"'
    assert events[12].startswith("future event: timestamp 2026-03-05T10:00:00Z")
    assert events[13] == "a track event needs an event name"
    assert 8 not in events and 11 not in events

    ads = _reasons(landed_fixture, "ad_performance")
    assert ads[2].startswith("duplicate date + campaign_id + platform 2026-03-02/cmp_spring/generic")
    held = ": not in the campaign catalog (held until a catalog that names it lands)"
    assert ads[3] == "unknown campaign_id cmp_unknown_7" + held
    assert ads[4] == "malformed CSV row: expected 6 columns, found 7"
    assert ads[5] == 'missing required field "campaign_id"; "spend" must be >= 0: -1'
    assert ads[6] == '"impressions" must be a whole number such as 42: 12k'

    touches = _reasons(landed_fixture, "touches")
    assert touches == {
        3: "duplicate touch_id t2 (first seen at record 2 of this file)",
        4: "unknown campaign_id cmp_unknown_7" + held,
        5: 'missing required field "customer_id"',
        6: '"channel" must be one of email, push: sms',
    }
    campaigns = _reasons(landed_fixture, "campaigns")
    assert campaigns[3] == "end_date is before start_date"
    assert "must be one of paid_search" in campaigns[4]
    assert '"currency" must be a three-letter ISO 4217 currency code such as EUR: eur' in campaigns[4]
    feedback = _reasons(landed_fixture, "feedback")
    assert feedback[2].startswith("score does not fit the feedback kind")
    assert feedback[4] == '"score" must be a whole number such as 42: ten'
    assert feedback[5] == 'missing required field "customer_id"'
    assert feedback[6] == "malformed JSON: the line ends before its JSON value does (a truncated line?)"
    assert _reasons(landed_fixture, "releases") == {2: '"released_on" must be a date such as 2026-03-02: someday'}


def test_quarantine_keeps_file_position_and_payload(landed_fixture: Settings) -> None:
    _land_all(landed_fixture)
    with connect(landed_fixture, write=False) as con:
        row = con.execute(
            "SELECT source_file, payload FROM ops.quarantine WHERE source = 'events' AND row_number = 7"
        ).fetchone()
        csv_row = con.execute(
            "SELECT payload FROM ops.quarantine WHERE source = 'touches' AND row_number = 6"
        ).fetchone()
    assert row is not None
    assert row[0] == "experience/events/date=2026-03-02/events.ndjson"
    assert row[1] == '{"type":"track","messageId":"m6","userId":"cus_000001","timestamp":"2026-03-02T10:01:00'
    assert csv_row is not None and '"channel":"sms"' in csv_row[0]


def test_reconciliation_in_landing_log(landed_fixture: Settings) -> None:
    _land_all(landed_fixture)
    with connect(landed_fixture, write=False) as con:
        log = con.execute(
            "SELECT sum(rows_read), sum(rows_loaded), sum(rows_quarantined) FROM ops.landing_log"
        ).fetchone()
        tables = sum(
            con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]  # type: ignore[index]
            for t in ("campaigns", "ad_performance", "touches", "events", "feedback", "releases")
        )
        quarantined = con.execute("SELECT count(*) FROM ops.quarantine").fetchone()
    assert log is not None and quarantined is not None
    assert log[0] == log[1] + log[2]
    assert (log[1], log[2]) == (tables, quarantined[0])


def test_relanding_the_same_file_never_duplicates(landed_fixture: Settings) -> None:
    first = _land_all(landed_fixture)
    again = land_pillar(landed_fixture, "experience", DAY, run_id="again")
    assert [r.status for r in again] == ["unchanged"]
    assert _land_all(landed_fixture) == first
    with connect(landed_fixture, write=False) as con:
        assert con.execute("SELECT count(*) FROM raw.events").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM ops.quarantine WHERE source = 'events'").fetchone() == (9,)


def test_a_changed_file_replaces_its_rows(landed_fixture: Settings) -> None:
    _land_all(landed_fixture)
    path = landed_fixture.landing_dir / "experience/events/date=2026-03-02/events.ndjson"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n")  # the corrected file keeps only the first two events
    [result] = land_pillar(landed_fixture, "experience", DAY, run_id="fix")
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("replaced", 2, 2, 0)
    with connect(landed_fixture, write=False) as con:
        assert con.execute("SELECT list(message_id ORDER BY message_id) FROM raw.events").fetchone() == (["m1", "m2"],)
        assert con.execute("SELECT count(*) FROM ops.quarantine WHERE source = 'events'").fetchone() == (0,)


def test_duplicates_across_files_and_days(landed_fixture: Settings) -> None:
    _land_all(landed_fixture)
    [result] = land_pillar(landed_fixture, "experience", date(2026, 3, 3), run_id="next")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    reasons = _reasons(landed_fixture, "events")
    assert any(
        r == "duplicate message_id m2, already landed from experience/events/date=2026-03-02/events.ndjson"
        for r in reasons.values()
    )


def test_a_csv_without_a_required_column_quarantines_every_row(settings: Settings) -> None:
    folder = settings.landing_dir / "product/releases/date=2026-03-02"
    folder.mkdir(parents=True)
    (folder / "releases.csv").write_text("version,notes\n2.4.0,hello\n2.4.1,bye\n")
    [result] = land_pillar(settings, "product", DAY)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 0, 2)
    assert set(_reasons(settings, "releases").values()) == {"the file has no 'released_on', 'product_areas' columns"}
    with connect(settings, write=False) as con:
        kinds = con.execute("SELECT DISTINCT reason_kind FROM ops.quarantine").fetchall()
    assert kinds == [("missing_column",)]


def test_unsupported_file_format_is_set_aside_with_a_clear_reason(settings: Settings) -> None:
    folder = settings.landing_dir / "experience/events/date=2026-03-02"
    folder.mkdir(parents=True)
    (folder / "events.xlsx").write_text("nope")
    [result] = land_pillar(settings, "experience", DAY)
    assert (result.status, result.rows_read) == ("set_aside", 0)
    assert result.reason == "it is not a .ndjson file (the format of events)"
    with connect(settings, write=False) as con:
        logged = con.execute("SELECT status, reason FROM ops.landing_log").fetchall()
    assert logged == [("set_aside", "it is not a .ndjson file (the format of events)")]


def test_unknown_pillar(settings: Settings) -> None:
    with pytest.raises(LoopError, match="Unknown pillar 'sales'"):
        land_pillar(settings, "sales", DAY)


def test_missing_partition_lands_nothing(settings: Settings) -> None:
    assert land_pillar(settings, "experience", DAY) == []
    shutil.rmtree(settings.landing_dir)
    assert land_pillar(settings, "marketing", DAY) == []
