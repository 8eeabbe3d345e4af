"""Ad-platform export shapes: Google Ads and Meta exports land into the one ad_performance model through the shapes
config, their bad rows are quarantined with reasons, held rows are mapped again on release, and a wrong config or an
unknown shape is said clearly."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from loop.errors import LoopError
from loop.landing import land_pillar
from loop.landing.exports import ShapeError, load_shapes
from loop.settings import Settings
from loop.warehouse import connect

from ..conftest import FIXTURES

EXPORTS = FIXTURES / "landing" / "exports"
DAY = date(2026, 3, 2)
NEXT = date(2026, 3, 3)
FOLDER = "marketing/ad_performance/date=2026-03-02"


def _put(settings: Settings, fixture: str, relative: str) -> None:
    target = settings.landing_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXPORTS / fixture, target)


def _reconciles(settings: Settings) -> None:
    """Every file's latest log entry: rows read = rows in raw + rows held, for ad_performance."""
    with connect(settings, write=False) as con:
        rows = con.execute(
            """
            SELECT l.source_file, l.rows_read, l.rows_loaded, l.rows_quarantined,
                   (SELECT count(*) FROM raw.ad_performance r WHERE r._source_file = l.source_file),
                   (SELECT count(*) FROM ops.quarantine q WHERE q.source_file = l.source_file AND released_at IS NULL)
            FROM ops.landing_log l WHERE l.source = 'ad_performance'
            QUALIFY row_number() OVER (PARTITION BY l.source_file ORDER BY l.landed_at DESC) = 1
            """
        ).fetchall()
    assert rows
    for file, read, loaded, held, in_raw, in_quarantine in rows:
        assert read == loaded + held and (loaded, held) == (in_raw, in_quarantine), file


def test_google_and_meta_exports_land_into_one_model(settings: Settings) -> None:
    _put(settings, "catalog.csv", "marketing/campaigns/date=2026-03-02/catalog.csv")
    _put(settings, "google_ads.csv", f"{FOLDER}/google.csv")
    _put(settings, "meta_ads.csv", f"{FOLDER}/meta.csv")
    results = land_pillar(settings, "marketing", DAY)
    ads = {r.file.rsplit("/", 1)[1]: (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results}
    # The two "Total:" rows of the Google report are no records; the preamble is no record either.
    assert ads["google.csv"] == ("landed", 2, 2, 0)
    assert ads["meta.csv"] == ("landed", 1, 1, 0)
    _reconciles(settings)
    with connect(settings, write=False) as con:
        raw = con.execute(
            "SELECT platform, date, campaign_id, campaign_name, spend, currency, impressions, clicks, _row_number "
            "FROM raw.ad_performance ORDER BY platform, campaign_id"
        ).fetchall()
        drift = con.execute("SELECT count(*) FROM ops.schema_drift WHERE source = 'ad_performance'").fetchone()
    assert raw == [
        ("google_ads", DAY, "cmp_display", "Just works", Decimal("12.30"), "USD", 1020, 9, 2),
        ("google_ads", DAY, "cmp_search", "Spring search", Decimal("1234.56"), "EUR", 45210, 812, 1),
        ("meta_ads", DAY, "cmp_social", "One-click launch", Decimal("500.00"), "BRL", 20000, 400, 1),
    ]
    assert drift == (0,)  # "Campaign ID" is a known, ignored column of both shapes


def test_bad_rows_are_quarantined_with_their_reason(settings: Settings) -> None:
    _put(settings, "catalog.csv", "marketing/campaigns/date=2026-03-02/catalog.csv")
    _put(settings, "google_bad.csv", f"{FOLDER}/google.csv")
    [_, result] = land_pillar(settings, "marketing", DAY)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("landed", 5, 1, 4)
    _reconciles(settings)
    with connect(settings, write=False) as con:
        held = con.execute(
            "SELECT row_number, reason_kind, reason, payload, export_shape FROM ops.quarantine ORDER BY row_number"
        ).fetchall()
    assert [(n, kind, reason) for n, kind, reason, _, _ in held] == [
        (2, "contract", "date '31/02/2026' does not match the Google Ads date format %Y-%m-%d"),
        (3, "rule", "currency is not an ISO 4217 currency code"),
        (
            4,
            "contract",
            "spend '12,34.5' is not a number in the Google Ads number format (thousands separator ',', "
            "decimal separator '.')",
        ),
        (
            5,
            "unknown_reference",
            "unknown campaign name 'Summer teaser': no campaign_name of the campaign catalog (held until a catalog "
            "that names it lands)",
        ),
    ]
    # The quarantine keeps each record's own values under the export's own header names.
    assert json.loads(held[3][3]) == {
        "Day": "2026-03-02",
        "Campaign": "Summer teaser",
        "Campaign ID": "17000009",
        "Currency code": "EUR",
        "Cost": "2,000.00",
        "Impr.": "1,000",
        "Clicks": "50",
    }
    assert {shape for *_, shape in held} == {"google_ads"}


def test_a_held_google_row_is_mapped_again_when_the_catalog_names_its_campaign(settings: Settings) -> None:
    _put(settings, "catalog.csv", "marketing/campaigns/date=2026-03-02/catalog.csv")
    _put(settings, "google_bad.csv", f"{FOLDER}/google.csv")
    land_pillar(settings, "marketing", DAY)
    catalog = (EXPORTS / "catalog.csv").read_text() + (
        "cmp_summer,Summer teaser,paid_search,awareness,Summer is coming,2026-03-01,2026-04-30,500.00,EUR,broad,\n"
    )
    folder = settings.landing_dir / "marketing/campaigns/date=2026-03-03"
    folder.mkdir(parents=True)
    (folder / "catalog.csv").write_text(catalog)
    results = land_pillar(settings, "marketing", NEXT)
    assert [(r.source, r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results] == [
        ("campaigns", "landed", 4, 4, 0),
        ("ad_performance", "replayed", 5, 2, 3),
    ]
    _reconciles(settings)
    with connect(settings, write=False) as con:
        released = con.execute(
            "SELECT platform, campaign_id, campaign_name, spend, impressions, clicks, _row_number, _partition_date "
            "FROM raw.ad_performance WHERE campaign_id = 'cmp_summer'"
        ).fetchall()
        still = con.execute(
            "SELECT row_number, reason_kind FROM ops.quarantine WHERE released_at IS NULL ORDER BY 1"
        ).fetchall()
    # Mapped as the Google report it came in: name -> id, "2,000.00" -> 2000.00, "1,000" -> 1000.
    assert released == [("google_ads", "cmp_summer", "Summer teaser", Decimal("2000.00"), 1000, 50, 5, DAY)]
    assert still == [(2, "contract"), (3, "rule"), (4, "contract")]


def test_a_file_of_no_known_shape_is_set_aside_naming_the_shapes(settings: Settings) -> None:
    _put(settings, "unknown_shape.csv", f"{FOLDER}/tiktok.csv")
    [result] = land_pillar(settings, "marketing", DAY)
    assert result.status == "set_aside" and result.reason is not None
    assert result.reason.startswith("its header matches no known export shape; the shapes are generic (generic CSV")
    assert "google_ads (Google Ads: Day, Campaign, Cost, Impr.)" in result.reason
    assert "meta_ads (Meta Ads" in result.reason


def _user_shapes(settings: Settings, tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "shapes.toml"
    path.write_text(text)
    return settings.model_copy(update={"ad_export_shapes": path})


TIKTOK = """
[shapes.tiktok_ads]
label = "TikTok Ads"
recognise = { columns = ["Date", "Campaign", "Spend", "Views"] }
date_format = "%Y-%m-%d"
campaign_match = "campaign_name"
currency = { fixed = "EUR" }
[shapes.tiktok_ads.columns]
date = "Date"
campaign_name = "Campaign"
spend = "Spend"
impressions = "Views"
clicks = "Clicks"
"""


def test_a_new_platform_is_a_new_entry(settings: Settings, tmp_path: Path) -> None:
    user = _user_shapes(settings, tmp_path, TIKTOK.replace('clicks = "Clicks"', 'clicks = "Views"'))
    _put(user, "catalog.csv", "marketing/campaigns/date=2026-03-02/catalog.csv")
    _put(user, "unknown_shape.csv", f"{FOLDER}/tiktok.csv")
    [_, result] = land_pillar(user, "marketing", DAY)
    assert (result.status, result.rows_loaded) == ("landed", 1)
    with connect(user, write=False) as con:
        row = con.execute("SELECT platform, campaign_id, spend, currency FROM raw.ad_performance").fetchall()
    assert row == [("tiktok_ads", "cmp_search", Decimal("1.00"), "EUR")]


def test_a_file_of_two_shapes_is_set_aside_naming_both(settings: Settings, tmp_path: Path) -> None:
    twin = TIKTOK.replace("tiktok_ads", "other_ads").replace('"TikTok Ads"', '"Other Ads"')
    user = _user_shapes(settings, tmp_path, TIKTOK + twin)
    _put(user, "unknown_shape.csv", f"{FOLDER}/tiktok.csv")
    [result] = land_pillar(user, "marketing", DAY)
    assert result.status == "set_aside"
    assert result.reason == (
        "its header matches two export shapes, tiktok_ads (TikTok Ads) and other_ads (Other Ads); make their "
        "recognise rules tell them apart"
    )


def test_missing_mapped_columns_quarantine_each_row_and_unmapped_ones_are_drift(settings: Settings) -> None:
    _put(settings, "catalog.csv", "marketing/campaigns/date=2026-03-02/catalog.csv")
    meta = (
        (EXPORTS / "meta_ads.csv")
        .read_text()
        .replace("Amount spent (BRL)", "Amount spent")
        .replace("Campaign ID", "Reach")
    )
    folder = settings.landing_dir / FOLDER
    folder.mkdir(parents=True)
    (folder / "meta.csv").write_text(meta)
    [_, result] = land_pillar(settings, "marketing", DAY)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (1, 0, 1)
    with connect(settings, write=False) as con:
        held = con.execute("SELECT reason_kind, reason FROM ops.quarantine").fetchall()
        drift = con.execute("SELECT column_name, change FROM ops.schema_drift ORDER BY 1").fetchall()
    assert held == [("missing_column", "the file has no '^Amount spent \\((?P<currency>[^)]*)\\)$' column")]
    assert drift == [("Amount spent", "new"), ("Reach", "new")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (TIKTOK.replace('spend = "Spend"\n', ""), "entry 'tiktok_ads', key 'columns.spend': Field required"),
        (
            TIKTOK.replace('currency = { fixed = "EUR" }', 'currency = { fixed = "EURO" }'),
            "entry 'tiktok_ads', key 'currency': fixed currency 'EURO' is not an ISO 4217 currency code",
        ),
        (
            TIKTOK.replace('campaign_match = "campaign_name"', 'campaign_match = "campaign_id"'),
            "entry 'tiktok_ads': campaign_match is campaign_id but columns.campaign_id is not given",
        ),
        (TIKTOK.replace("date_format", "date_fromat"), "entry 'tiktok_ads', key 'date_fromat': Extra inputs"),
        (TIKTOK.replace("shapes.tiktok_ads", "shapes.TikTok"), "entry name 'TikTok' must be lower case"),
        ("[shapes.x\n", "is not valid TOML"),
    ],
)
def test_a_wrong_shapes_file_is_a_clear_error(settings: Settings, tmp_path: Path, text: str, problem: str) -> None:
    user = _user_shapes(settings, tmp_path, text)
    with pytest.raises(ShapeError) as raised:
        load_shapes(user)
    assert str(raised.value).startswith(f"LOOP_AD_EXPORT_SHAPES {tmp_path / 'shapes.toml'}")
    assert problem in str(raised.value)
    # Landing stops with it (a LoopError) rather than setting every export aside.
    _put(user, "meta_ads.csv", f"{FOLDER}/meta.csv")
    with pytest.raises(LoopError, match="LOOP_AD_EXPORT_SHAPES"):
        land_pillar(user, "marketing", DAY)


def test_loop_ships_its_shapes() -> None:
    shapes = load_shapes(Settings(ad_export_shapes=None))
    assert {"generic", "google_ads", "meta_ads"} <= set(shapes)
