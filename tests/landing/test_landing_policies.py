"""Landing policies: schema evolution, drift, order independence of duplicates, held references released."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from loop.errors import LoopError
from loop.landing import land_pillar
from loop.landing.compile import METADATA_COLUMNS, quote_ident
from loop.landing.schema import ensure_tables
from loop.settings import Settings
from loop.warehouse import connect

from ..conftest import FIXTURES

DAY = date(2026, 3, 2)
NEXT = date(2026, 3, 3)
CATALOG = (
    "campaign_id,campaign_name,channel,objective,promise,start_date,end_date,budget,currency,target_segment\n"
    "cmp_new,New,email,retention,x,2026-03-01,,10,EUR,\n"
)


def _write(settings: Settings, relative: str, text: str) -> None:
    path = settings.landing_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _reconciles(settings: Settings) -> None:
    """For every file: its latest log entry adds up, and matches the rows in raw plus the rows held for it now."""
    with connect(settings, write=False) as con:
        latest = con.execute(
            """SELECT source, source_file, rows_read, rows_loaded, rows_quarantined FROM ops.landing_log
               QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY landed_at DESC) = 1"""
        ).fetchall()
        for source, file, read, loaded, quarantined in latest:
            in_raw = con.execute(f"SELECT count(*) FROM raw.{source} WHERE _source_file = ?", [file]).fetchone()
            held = con.execute(
                "SELECT count(*) FROM ops.quarantine WHERE source_file = ? AND released_at IS NULL", [file]
            ).fetchone()
            assert (read, loaded, quarantined) == (loaded + quarantined, in_raw[0], held[0]), file  # type: ignore[index]


# -- schema evolution -------------------------------------------------------------------------------------------


def test_a_contract_that_gains_a_field_adds_the_column(settings: Settings) -> None:
    """An older warehouse whose raw.releases predates the ``notes`` field gets the column; old rows keep NULL."""
    old_columns = [("version", "VARCHAR"), ("released_on", "DATE"), ("product_areas", "VARCHAR"), *METADATA_COLUMNS]
    with connect(settings, write=True) as con:
        con.execute("CREATE SCHEMA raw")
        body = ", ".join(f"{quote_ident(name)} {kind}" for name, kind in old_columns)
        con.execute(f"CREATE TABLE raw.releases ({body})")
        con.execute(
            "INSERT INTO raw.releases VALUES ('2.2.0', DATE '2026-02-01', 'checkout', 'old.csv', 1, "
            "DATE '2026-02-01', now())"
        )
        added = ensure_tables(con)
        assert added == {"raw.releases": ["notes"]}
        assert ensure_tables(con) == {}  # idempotent
        columns = [name for (name,) in con.execute("SELECT column_name FROM (DESCRIBE raw.releases)").fetchall()]
        assert "notes" in columns
    _write(
        settings,
        "product/releases/date=2026-03-02/releases.csv",
        "version,released_on,product_areas,notes\n2.4.0,2026-03-01,checkout,with notes\n",
    )
    [result] = land_pillar(settings, "product", DAY)
    assert (result.status, result.rows_loaded) == ("landed", 1)
    with connect(settings, write=False) as con:
        rows = con.execute("SELECT version, notes FROM raw.releases ORDER BY version").fetchall()
    assert rows == [("2.2.0", None), ("2.4.0", "with notes")]


def test_a_column_whose_type_changed_is_a_clear_error(settings: Settings) -> None:
    with connect(settings, write=True) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.releases (version VARCHAR, released_on VARCHAR)")
        with pytest.raises(LoopError, match=r"raw.releases.released_on is VARCHAR in the warehouse but DATE"):
            ensure_tables(con)


# -- drift ------------------------------------------------------------------------------------------------------


def test_extra_columns_and_keys_are_drift_and_never_break_landing(settings: Settings) -> None:
    _write(
        settings,
        "product/feedback/date=2026-03-02/survey.csv",
        'feedback_id,kind,customer_id,submitted_at,product_area,product_version,score,text,locale,"agent""s"\n'
        "f1,nps,cus_1,2026-03-02T12:00:00Z,checkout,2.3.0,9,,en,ana\n"
        "f2,nps,cus_2,2026-03-02T12:00:00Z,checkout,2.3.0,7,,,\n",
    )
    _write(
        settings,
        "product/feedback/date=2026-03-02/app.ndjson",
        '{"feedback_id":"f3","kind":"ticket","customer_id":"cus_3","submitted_at":"2026-03-02T12:00:00Z",'
        '"product_area":"billing","product_version":"2.3.0","text":"help","device":"app","meta":{"x":1}}\n',
    )
    results = land_pillar(settings, "product", DAY)
    assert [(r.file.rsplit("/", 1)[1], r.status, r.rows_loaded, r.rows_quarantined) for r in results] == [
        ("app.ndjson", "landed", 1, 0),
        ("survey.csv", "landed", 2, 0),
    ]
    assert [r.new_columns for r in results] == [("device", "meta"), ('agent"s', "locale")]
    with connect(settings, write=False) as con:
        drift = con.execute(
            "SELECT source_file, column_name, change, records FROM ops.schema_drift ORDER BY ALL"
        ).fetchall()
    assert drift == [
        ("product/feedback/date=2026-03-02/app.ndjson", "device", "new", 1),
        ("product/feedback/date=2026-03-02/app.ndjson", "meta", "new", 1),
        ("product/feedback/date=2026-03-02/survey.csv", 'agent"s', "new", 1),
        ("product/feedback/date=2026-03-02/survey.csv", "channel", "missing", 2),
        ("product/feedback/date=2026-03-02/survey.csv", "first_reply_at", "missing", 2),
        ("product/feedback/date=2026-03-02/survey.csv", "locale", "new", 1),
        ("product/feedback/date=2026-03-02/survey.csv", "resolved_at", "missing", 2),
        ("product/feedback/date=2026-03-02/survey.csv", "ticket_status", "missing", 2),
        ("product/feedback/date=2026-03-02/survey.csv", "votes", "missing", 2),
    ]


def test_a_missing_required_column_quarantines_the_rows_with_that_reason(settings: Settings) -> None:
    _write(settings, "product/releases/date=2026-03-02/a.csv", "version,product_areas\n2.4.0,checkout\n2.4.1,search\n")
    _write(
        settings, "product/releases/date=2026-03-02/b.csv", "version,released_on,product_areas\n2.4.2,2026-03-01,x\n"
    )
    results = land_pillar(settings, "product", DAY)
    assert [(r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results] == [(2, 0, 2), (1, 1, 0)]
    with connect(settings, write=False) as con:
        held = con.execute("SELECT row_number, reason_kind, reason FROM ops.quarantine ORDER BY row_number").fetchall()
        drift = con.execute("SELECT source_file, column_name, change FROM ops.schema_drift ORDER BY ALL").fetchall()
    assert held == [(n, "missing_column", "the file has no 'released_on' column") for n in (1, 2)]
    # A missing optional column is drift (no reason to quarantine); a missing required one is not drift but a reason.
    assert drift == [
        ("product/releases/date=2026-03-02/a.csv", "notes", "missing"),
        ("product/releases/date=2026-03-02/b.csv", "notes", "missing"),
    ]


# -- duplicates: the landing order does not matter ---------------------------------------------------------------


def _state(settings: Settings) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with connect(settings, write=False) as con:
        raw = (
            con.execute("SELECT message_id, _source_file, _row_number FROM raw.events ORDER BY ALL").fetchall()
            + con.execute(
                "SELECT feedback_id, score::VARCHAR, _source_file, _row_number FROM raw.feedback ORDER BY ALL"
            ).fetchall()
        )
        held = con.execute(
            "SELECT source_file, row_number, reason_kind FROM ops.quarantine WHERE released_at IS NULL ORDER BY ALL"
        ).fetchall()
    return raw, held


def test_duplicates_keep_the_earliest_copy_whatever_the_order(tmp_path: Path) -> None:
    """Landing 2026-03-03 before 2026-03-02 ends with the same raw rows (and the same held ones) as in order."""
    states = []
    for order in ((DAY, NEXT), (NEXT, DAY)):
        settings = Settings(data_dir=tmp_path / "-".join(d.isoformat() for d in order))
        shutil.copytree(FIXTURES / "landing" / "experience", settings.landing_dir / "experience")
        feedback = "product/feedback/date={}/feedback.ndjson"
        line = (
            '{{"feedback_id":"{}","kind":"nps","customer_id":"c","submitted_at":"2026-03-02T12:00:00Z",'
            '"product_area":"a","product_version":"1","score":{}}}\n'
        )
        # f1's first copy breaks a rule: the valid copy of the next day lands, in either order.
        _write(settings, feedback.format(DAY), line.format("f1", 11) + line.format("f2", 9) + line.format("f3", 8))
        _write(settings, feedback.format(NEXT), line.format("f2", 5) + line.format("f1", 6) + line.format("f2", 4))
        for day in order:
            land_pillar(settings, "experience", day)
            land_pillar(settings, "product", day)
        _reconciles(settings)
        states.append(_state(settings))
    assert states[0] == states[1]
    raw, held = states[0]
    assert ("m2", "experience/events/date=2026-03-02/events.ndjson", 2) in raw
    assert ("f1", "6", "product/feedback/date=2026-03-03/feedback.ndjson", 2) in raw
    assert ("f2", "9", "product/feedback/date=2026-03-02/feedback.ndjson", 2) in raw
    assert ("experience/events/date=2026-03-03/events.ndjson", 1, "duplicate") in held
    assert ("product/feedback/date=2026-03-03/feedback.ndjson", 1, "duplicate") in held
    assert ("product/feedback/date=2026-03-03/feedback.ndjson", 3, "duplicate") in held


# -- held references ---------------------------------------------------------------------------------------------


def test_records_held_for_an_unknown_campaign_land_once_the_catalog_does(settings: Settings) -> None:
    _write(
        settings,
        "marketing/ad_performance/date=2026-03-02/export.csv",
        "date,campaign_id,spend,currency,impressions,clicks\n"
        "2026-03-02,cmp_new,1.00,EUR,10,1\n2026-03-02,cmp_never,2.00,EUR,20,2\n",
    )
    _write(
        settings,
        "marketing/touches/date=2026-03-02/esp.csv",
        "touch_id,campaign_id,customer_id,channel,action,timestamp\nt1,cmp_new,cus_1,email,sent,2026-03-02T08:00:00Z\n",
    )
    first = land_pillar(settings, "marketing", DAY, run_id="before")
    assert [(r.source, r.status, r.rows_loaded, r.rows_quarantined) for r in first] == [
        ("ad_performance", "landed", 0, 2),
        ("touches", "landed", 0, 1),
    ]
    _reconciles(settings)

    # The catalog arrives with the next day's files: the held records of 2026-03-02 land where they were.
    _write(settings, "marketing/campaigns/date=2026-03-03/catalog.csv", CATALOG)
    second = land_pillar(settings, "marketing", NEXT, run_id="after")
    assert [
        (r.source, r.file.split("/")[2], r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) for r in second
    ] == [
        ("campaigns", "date=2026-03-03", "landed", 1, 1, 0),
        ("ad_performance", "date=2026-03-02", "replayed", 2, 1, 1),
        ("touches", "date=2026-03-02", "replayed", 1, 1, 0),
    ]
    _reconciles(settings)
    with connect(settings, write=False) as con:
        raw = con.execute(
            "SELECT campaign_id, _source_file, _row_number, _partition_date FROM raw.ad_performance"
        ).fetchall()
        released = con.execute(
            "SELECT source, row_number, released_run_id FROM ops.quarantine WHERE released_at IS NOT NULL ORDER BY 1"
        ).fetchall()
        still = con.execute("SELECT row_number, reason_kind FROM ops.quarantine WHERE released_at IS NULL").fetchall()
    assert raw == [("cmp_new", "marketing/ad_performance/date=2026-03-02/export.csv", 1, DAY)]
    assert released == [("ad_performance", 1, "after"), ("touches", 1, "after")]
    assert still == [(2, "unknown_reference")]

    # Landing the same day again changes nothing: no row lost, none counted twice.
    again = land_pillar(settings, "marketing", DAY, run_id="again")
    assert [(r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) for r in again] == [
        ("unchanged", 2, 1, 1),
        ("unchanged", 1, 1, 0),
    ]
    _reconciles(settings)


def test_a_catalog_landing_after_its_references_in_the_same_folder(settings: Settings) -> None:
    _write(
        settings,
        "marketing/ad_performance/date=2026-03-02/export.csv",
        "date,campaign_id,spend,currency,impressions,clicks\n2026-03-02,cmp_new,1.00,EUR,10,1\n",
    )
    [held] = land_pillar(settings, "marketing", DAY)
    assert (held.rows_loaded, held.rows_quarantined) == (0, 1)
    _write(settings, "marketing/campaigns/date=2026-03-02/catalog.csv", CATALOG)
    results = land_pillar(settings, "marketing", DAY)
    assert [(r.source, r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results] == [
        ("campaigns", "landed", 1, 1, 0),
        ("ad_performance", "replayed", 1, 1, 0),
    ]
    _reconciles(settings)


def test_a_changed_csv_file_replaces_its_rows(settings: Settings) -> None:
    """Re-landing a changed CSV (the campaign catalog) replaces its rows in one go; nothing is set aside."""
    _write(
        settings,
        "marketing/campaigns/date=2026-03-02/catalog.csv",
        CATALOG + CATALOG.splitlines()[1].replace("cmp_new", "cmp_two") + "\n",
    )
    [first] = land_pillar(settings, "marketing", DAY)
    assert (first.status, first.rows_loaded) == ("landed", 2)
    _write(settings, "marketing/campaigns/date=2026-03-02/catalog.csv", CATALOG)
    [second] = land_pillar(settings, "marketing", DAY)
    assert (second.status, second.rows_read, second.rows_loaded, second.reason) == ("replaced", 1, 1, None)
    with connect(settings, write=False) as con:
        assert con.execute("SELECT campaign_id FROM raw.campaigns").fetchall() == [("cmp_new",)]
    _reconciles(settings)
