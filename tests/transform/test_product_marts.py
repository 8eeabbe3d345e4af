"""The product marts on a small hand-built world (tests/fixtures/product_world, figures worked out in its README):
every product mart equals its golden CSV, the key figures are the ones computed by hand, no raw text is published,
and a shop whose feedback has only reviews builds, passes its dbt tests and its GX suites with empty marts."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from loop import landing, publish, transform
from loop.settings import PROJECT_ROOT, Settings
from loop.text.enrich import ENRICHER_VERSION
from loop.text.store import ensure_text_table
from loop.validation import read_frames, validate_pillar
from loop.warehouse import connect

from ..conftest import FIXTURES

WORLD = FIXTURES / "product_world"
DAYS = (date(2026, 3, 2), date(2026, 3, 6))
ORDER = {
    "feedback": "feedback_id",
    "support_tickets": "feedback_id",
    "feature_requests": "demand_rank",
    "satisfaction_by_segment": "segment_level, product_area, product_version, acquisition_channel",
    "release_impact": "product_version, product_area",
    "ticket_volume": "product_area, week_start",
}
PRODUCT_MARTS = (*ORDER, "nps_by_area_version")


def _enrich(settings: Settings) -> None:
    """What the enricher would have written: the world's texts, scrubbed by hand (enrichment.csv), keyed by
    DuckDB's sha256 of the landed text, under the current enricher version (so the build keeps them: the golden
    figures depend on this fixture, not on the enricher's models, which tests/text checks)."""
    with connect(settings, write=True) as con:
        ensure_text_table(con)
        with (WORLD / "enrichment.csv").open(newline="") as handle:
            for row in csv.DictReader(handle):
                con.execute(
                    "INSERT INTO enrich.feedback_texts VALUES (sha256($text), $scrubbed, $pii, $language, "
                    "$sentiment, $label, $keywords, $version, TIMESTAMPTZ '2026-03-06 12:00:00+00')",
                    {
                        "text": row["text"],
                        "scrubbed": row["scrubbed_text"],
                        "pii": [k for k in row["pii_kinds"].split("|") if k],
                        "language": row["language"],
                        "sentiment": float(row["sentiment"]),
                        "label": row["sentiment_label"],
                        "keywords": [k for k in row["keywords"].split("|") if k],
                        "version": ENRICHER_VERSION,
                    },
                )


def _build(root: Path, *, reviews_only: bool = False) -> Settings:
    settings = Settings(data_dir=root / "data")
    settings.ensure_dirs()
    shutil.copytree(WORLD / "landing", settings.landing_dir, dirs_exist_ok=True)
    if reviews_only:  # a shop whose feedback source exports app-store reviews only
        for path in (settings.landing_dir / "product" / "feedback").rglob("*.ndjson"):
            lines = [line for line in path.read_text().splitlines() if json.loads(line)["kind"] == "review"]
            path.write_text("".join(line + "\n" for line in lines))
    for day in DAYS:
        for pillar in ("marketing", "experience", "product"):
            assert all(r.rows_quarantined == 0 for r in landing.land_pillar(settings, pillar, day))
    _enrich(settings)
    result = transform.build(settings, DAYS[-1], unit_tests=False)
    assert result.failures() == ()
    return settings


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _build(tmp_path_factory.mktemp("product-world"))


def _csv(settings: Settings, table: str, out: Path) -> str:
    with connect(settings, write=False) as con:
        con.execute(f"COPY (SELECT * FROM main.{table} ORDER BY {ORDER[table]}) TO '{out}' (HEADER, DELIMITER ',')")
    return out.read_text()


@pytest.mark.parametrize("table", list(ORDER))
def test_product_mart_matches_golden_csv(world: Settings, table: str, tmp_path: Path) -> None:
    expected = (WORLD / "expected" / f"{table}.csv").read_text()
    assert _csv(world, table, tmp_path / f"{table}.csv") == expected


def test_figures_worked_out_by_hand(world: Settings) -> None:
    with connect(world, write=False) as con:
        segments = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT product_area || '|' || product_version || '|' || acquisition_channel, nps_responses, nps, "
                "nps_ci_low, nps_ci_high, csat_responses, csat_score, csat_score_ci_low, csat_score_ci_high "
                "FROM main.satisfaction_by_segment"
            ).fetchall()
        }
        release = con.execute(
            "SELECT sessions_before, sessions_after, errors_before, errors_after, error_rate_before, error_rate_after, "
            "p95_latency_ms_before, p95_latency_ms_after, p95_latency_ms_change, nps_responses_before, nps_before, "
            "nps_responses_after, nps_after, nps_change, csat_score_before, csat_score_after, after_window_complete "
            "FROM main.release_impact WHERE product_version = '2.4.0' AND product_area = 'checkout'"
        ).fetchone()
        untouched = con.execute(
            "SELECT sessions_before, sessions_after, error_rate_before, nps_before, after_window_complete "
            "FROM main.release_impact WHERE product_version = '2.3.0'"
        ).fetchone()
        requests = con.execute(
            "SELECT demand_rank, request_text, requests, customers, votes, customer_revenue, topics "
            "FROM main.feature_requests ORDER BY demand_rank"
        ).fetchall()
        volume = con.execute(
            "SELECT tickets, customers, replied_tickets, resolved_tickets, unresolved_tickets, "
            "median_first_reply_hours, p90_first_reply_hours, median_resolution_hours FROM main.ticket_volume"
        ).fetchall()
        context = con.execute(
            "SELECT acquisition_channel, prior_sessions, prior_errors, prior_p95_latency_ms, prior_area_sessions, "
            "days_since_release, topics FROM main.feedback WHERE feedback_id IN ('f01', 'f10') ORDER BY feedback_id"
        ).fetchall()
        f02 = con.execute("SELECT scrubbed_text, topics FROM main.feedback WHERE feedback_id = 'f02'").fetchone()
    # overall: 3 promoters, 1 passive, 2 detractors of 6 -> 16.7 +/- 196 * sqrt((5/6 - 1/36) / 6) = 71.8;
    # CSAT 1 of 2 -> 50.0, Wilson [9.5, 90.5]
    assert segments["(all)|(all)|(all)"] == (6, 16.7, -55.2, 88.5, 2, 50.0, 9.5, 90.5)
    # checkout: 3 P, 2 D of 5 -> 20.0 +/- 196 * sqrt((1 - 0.04) / 5) = 85.9, clamped at 100
    assert segments["checkout|(all)|(all)"] == (5, 20.0, -65.9, 100.0, 2, 50.0, 9.5, 90.5)
    # checkout 2.4.0: 2 P, 1 D of 3 -> 33.3 +/- 196 * sqrt((1 - 1/9) / 3) = 106.7
    assert segments["checkout|2.4.0|(all)"] == (3, 33.3, -73.4, 100.0, 1, 100.0, 20.7, 100.0)
    # u4 was never seen in a session: a detractor of unknown channel; one answer has a zero-width Wald interval
    assert segments["checkout|2.4.0|(unknown)"] == (1, -100.0, -100.0, -100.0, 0, None, None, None)
    # 2.4.0 (2026-03-05) in checkout, 7 days each side: sessions A, B before (A with one error), D, E after (E with
    # two); p95 of 200 and 600 = 580, of 300 and 1000 = 965; NPS 1 P 1 D -> 0 before, 2 P 1 D -> 33.3 after;
    # CSAT 2 before (0 %), 5 after (100 %); the after window ends 2026-03-11, after the data: not complete
    assert release == (2, 2, 1, 2, 0.5, 0.5, 580.0, 965.0, 385.0, 2, 0.0, 3, 33.3, 33.3, 0.0, 100.0, False)
    # 2.3.0 (2026-02-20) touched search, where nothing happened in either window
    assert untouched == (0, 0, None, None, True)
    # "Dark mode please" / "dark mode, please!" are one theme (u1 with 50 of revenue, u3): first
    assert [r[:6] for r in requests] == [(1, "Dark mode please", 2, 2, 4, 50), (2, "Export to CSV", 1, 1, 0, 0)]
    assert [r[6] for r in requests] == [["feature_idea"], ["feature_idea"]]
    # tickets f05 (reply 0.5 h, solved in 10 h) and f12 (reply 2 h, open), both u2's, week of 2026-03-02
    assert volume == [(2, 1, 2, 1, 1, 1.25, 1.85, 10.0)]
    # f01: u1's session A that morning (200 ms and an error, Paid Search); f10: u4, never seen
    assert context == [
        ("Paid Search", 1, 1, 200.0, 1, 10, ["praise"]),
        (None, 0, 0, None, 0, 1, ["errors", "payment_failed"]),
    ]
    assert f02 == ("Pagamento recusado, cartão não passou. Me liga [PHONE]", ["payment_failed"])


def test_no_raw_text_is_published(world: Settings) -> None:
    """The landed texts with personal data appear in no mart, in any column."""
    with connect(world, write=False) as con:
        tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
        for (table,) in tables:
            dump = con.execute(f"SELECT string_agg(CAST(t AS VARCHAR), ' ') FROM main.{table} AS t").fetchone()
            text = str(dump[0] if dump else "")
            assert "ana@example.com" not in text and "99999-1234" not in text, table


def test_a_shop_with_only_reviews_builds_validates_and_publishes(tmp_path: Path) -> None:
    settings = _build(tmp_path / "reviews", reviews_only=True)  # the build's dbt data tests passed
    with connect(settings, write=False) as con:
        counts = {t: con.execute(f"SELECT count(*) FROM main.{t}").fetchone() for t in PRODUCT_MARTS}
    assert counts["feedback"] == (1,) and counts["release_impact"] == (2,)
    empty = {"support_tickets", "feature_requests", "satisfaction_by_segment", "ticket_volume", "nps_by_area_version"}
    assert {t for t, n in counts.items() if n == (0,)} == empty
    outcome = validate_pillar(
        "product",
        read_frames(settings, "product"),
        run_id="reviews-only",
        expectations_dir=PROJECT_ROOT / "expectations",
        results_dir=tmp_path / "gx",
    )
    assert outcome.success, outcome.summary()
    day = DAYS[-1]
    published = publish.publish(
        settings, "product", cycle_date=day, as_of=day, run_id="reviews-only", attempt="reviews-only"
    )
    assert publish.current(settings, "product") == published
    assert {t: int(published.tables[t]["rows"]) for t in empty} == dict.fromkeys(empty, 0)
    assert published.tables["feedback"]["rows"] == 1
