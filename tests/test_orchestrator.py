"""End to end: the loop_cycle DAG runs through Airflow (embedded: SQLite + LocalExecutor) on a small generated
period; the marts hold the right numbers, a re-run is idempotent, and a planted bad value blocks its pillar."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from loop import publish
from loop.generate import generate
from loop.orchestrator import EmbeddedAirflow
from loop.settings import Settings
from loop.warehouse import connect

pytestmark = pytest.mark.e2e

START = date(2026, 3, 2)
DAYS = 2
END = START + timedelta(days=DAYS - 1)


def _marts(settings: Settings) -> dict[str, pd.DataFrame]:
    frames: dict[str, pd.DataFrame] = {}
    for pillar in publish.PILLAR_DATASETS:
        for table, frame in publish.read_marts(settings, pillar).items():
            frames[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return frames


@pytest.fixture(scope="module")
def airflow_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path_factory.mktemp("e2e") / "data")
    settings.ensure_dirs()
    summary = generate(settings.landing_dir, customers=300, days=DAYS, start=START, seed=11, bad_fraction=0.02)
    with EmbeddedAirflow(settings) as airflow:
        runs = airflow.run_cycles(START, END)
        yield settings, summary, airflow, runs


def test_every_cycle_succeeds_through_airflow(airflow_run) -> None:  # type: ignore[no-untyped-def]
    _, _, _, runs = airflow_run
    assert [r.cycle_date for r in runs] == [START + timedelta(days=i) for i in range(DAYS)]
    assert [r.state for r in runs] == ["success"] * DAYS, [(r.cycle_date, r.failed_tasks) for r in runs]
    assert all(set(r.tasks.values()) == {"success"} and len(r.tasks) == 9 for r in runs)


def test_landing_reconciles_and_quarantines_the_planted_records(airflow_run) -> None:  # type: ignore[no-untyped-def]
    settings, summary, _, _ = airflow_run
    with connect(settings, write=False) as con:
        read, loaded, quarantined = con.execute(
            "SELECT sum(rows_read), sum(rows_loaded), sum(rows_quarantined) FROM ops.landing_log "
            "WHERE status <> 'unchanged'"
        ).fetchone()
        reasons = dict(
            con.execute("SELECT split_part(reason, ' ', 1), count(*) FROM ops.quarantine GROUP BY ALL").fetchall()
        )
    assert read == loaded + quarantined
    assert quarantined >= sum(summary.bad_records.values()) * 0.9
    assert reasons.get("malformed", 0) >= summary.bad_records["malformed_json"]
    assert reasons.get("late", 0) >= 1 and reasons.get("unknown", 0) >= 1 and reasons.get("duplicate", 0) >= 1


def test_marts_hold_the_landed_numbers(airflow_run) -> None:  # type: ignore[no-untyped-def]
    settings, _, _, _ = airflow_run
    with connect(settings, write=False) as con:
        raw_spend = con.execute("SELECT sum(spend) FROM raw.ad_performance").fetchone()[0]
        mart_spend = con.execute("SELECT sum(spend) FROM main.campaign_performance").fetchone()[0]
        raw_orders = con.execute(
            "SELECT count(DISTINCT properties->>'order_id') FROM raw.events WHERE event = 'Order Completed'"
        ).fetchone()[0]
        purchases = con.execute("SELECT sum(purchases) FROM main.customer_experience").fetchone()[0]
        nps = con.execute("SELECT min(nps), max(nps), sum(responses) FROM main.nps_by_area_version").fetchone()
        nps_rows = con.execute("SELECT count(*) FROM raw.feedback WHERE kind = 'nps'").fetchone()[0]
        ranks = con.execute(
            "SELECT list(scorecard_rank ORDER BY scorecard_rank) FROM main.campaign_scorecard"
        ).fetchone()[0]
    assert raw_spend > 0 and float(mart_spend) == pytest.approx(float(raw_spend))
    assert raw_orders > 0 and purchases == raw_orders
    assert -100 <= nps[0] <= nps[1] <= 100 and nps[2] == nps_rows
    assert ranks == list(range(1, len(ranks) + 1))
    for pillar in publish.PILLAR_DATASETS:
        current = publish.current(settings, pillar)
        assert current is not None and current.cycle_date == END


def test_running_a_day_twice_leaves_identical_marts(airflow_run) -> None:  # type: ignore[no-untyped-def]
    settings, _, airflow, _ = airflow_run
    before = _marts(settings)
    [again] = airflow.run_cycles(END, END)
    assert again.state == "success"
    after = _marts(settings)
    assert before.keys() == after.keys()
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table], check_exact=True, obj=table)


def test_a_planted_bad_value_fails_its_pillar_and_keeps_the_previous_publication(airflow_run) -> None:  # type: ignore[no-untyped-def]
    settings, _, airflow, _ = airflow_run
    published_before = {p: publish.current(settings, p) for p in publish.PILLAR_DATASETS}
    # A page load of 41 minutes passes the contract (properties are free-form) and dbt's tests, but no real page
    # takes that long: the experience suite must catch it.
    folder = settings.landing_dir / "experience" / "events" / f"date={END.isoformat()}"
    event = {
        "type": "page",
        "messageId": "planted-slow-page",
        "anonymousId": "anon-planted",
        "name": "Checkout",
        "timestamp": f"{END.isoformat()}T12:00:00Z",
        "properties": {"path": "/checkout", "product_area": "checkout", "latency_ms": 2_460_000},
        "context": {"page": {"path": "/checkout"}, "app": {"version": "9.9.9"}},
    }
    (folder / "planted.ndjson").write_text(json.dumps(event) + "\n")
    [run] = airflow.run_cycles(END, END)
    assert run.state == "failed"
    assert run.failed_tasks == ["publish_experience", "validate"]
    assert publish.current(settings, "experience") == published_before["experience"]
    marketing = publish.current(settings, "marketing")
    assert marketing is not None and marketing.version != published_before["marketing"].version  # type: ignore[union-attr]
    with connect(settings, write=False) as con:
        result = con.execute(
            "SELECT success, summary, result_path FROM ops.validation_log WHERE pillar = 'experience' "
            "ORDER BY validated_at DESC LIMIT 1"
        ).fetchone()
    assert result is not None and result[0] is False and "latency" in result[1]
    assert "2460000" in Path(result[2]).read_text()
