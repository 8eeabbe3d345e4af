"""Ad spend from real export shapes, through dbt: a Google Ads report and a Meta export of the same day land into
one model, and stg_marketing__ad_performance_days gives their spend in the reporting currency (figures by hand)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest

from loop import transform
from loop.landing import land_pillar
from loop.settings import Settings
from loop.warehouse import connect

from ..conftest import FIXTURES

EXPORTS = FIXTURES / "landing" / "exports"
FILES = {
    "catalog.csv": "marketing/campaigns/date=2026-03-02/catalog.csv",
    "google_ads.csv": "marketing/ad_performance/date=2026-03-02/google.csv",
    "meta_ads.csv": "marketing/ad_performance/date=2026-03-02/meta.csv",
    "rates.csv": "marketing/currency_rates/date=2026-03-02/rates.csv",
}


def test_google_and_meta_spend_in_the_reporting_currency(settings: Settings) -> None:
    for fixture, relative in FILES.items():
        target = settings.landing_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXPORTS / fixture, target)
    assert all(r.rows_quarantined == 0 for r in land_pillar(settings, "marketing", date(2026, 3, 2)))
    transform._ensure_sources(settings)
    target = settings.dbt_target_dir
    models = ("stg_marketing__campaigns", "stg_marketing__currency_rates", "stg_marketing__ad_performance_days")
    command, env = transform.dbt_command(
        settings,
        "build",
        target,
        {"reporting_currency": "EUR"},
        "--select",
        *models,
        "campaign_pacing",
        "--exclude-resource-type",
        "unit_test",
        as_of=date(2026, 3, 2),
    )
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    results = json.loads((target / "run_results.json").read_text())["results"]
    assert all(r["status"] in ("success", "pass") for r in results), completed.stdout[-3000:]
    with connect(settings, write=False) as con:
        rows = con.execute(
            "SELECT platform, campaign_id, spend, spend_original, currency_original, exchange_rate_date "
            "FROM staging.stg_marketing__ad_performance_days ORDER BY campaign_id"
        ).fetchall()
        pacing = con.execute(
            "SELECT campaign_id, reporting_budget, spend_to_date FROM main.campaign_pacing "
            "WHERE pacing_date = '2026-03-02' ORDER BY campaign_id"
        ).fetchall()
    # Google: 1,234.56 EUR as is; 12.30 USD at 0.90 (the rate of 03-01, none on 03-02) = 11.07.
    # Meta: 500.00 BRL at the day's 0.16 = 80.00 (the rate of 03-01, 0.15, is older).
    assert rows == [
        ("google_ads", "cmp_display", Decimal("11.07"), Decimal("12.30"), "USD", date(2026, 3, 1)),
        ("google_ads", "cmp_search", Decimal("1234.56"), Decimal("1234.56"), "EUR", date(2026, 3, 2)),
        ("meta_ads", "cmp_social", Decimal("80.00"), Decimal("500.00"), "BRL", date(2026, 3, 2)),
    ]
    assert sum(spend for _, _, spend, *_ in rows) == Decimal("1325.63")
    # The BRL budget of cmp_social (6000.00) at the day's 0.16 is 960.00 EUR.
    assert pacing == [
        ("cmp_display", Decimal("1000.00"), Decimal("11.07")),
        ("cmp_search", Decimal("3100.00"), Decimal("1234.56")),
        ("cmp_social", Decimal("960.00"), Decimal("80.00")),
    ]


@pytest.mark.parametrize("code", ["EUR", "BRL"])
def test_the_reporting_currency_is_a_setting(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOP_REPORTING_CURRENCY", code)
    assert Settings().reporting_currency == code


def test_a_reporting_currency_must_be_iso_4217(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOP_REPORTING_CURRENCY", "EURO")
    with pytest.raises(ValueError, match="not an ISO 4217 currency code"):
        Settings()
