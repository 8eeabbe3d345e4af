"""Great Expectations suites check what dbt cannot, and really evaluate.

* Every suite passes on the real marts of the hand-written fixture and of a generated 2-day sample.
* Each planted bad value fails its suite, naming the expectation that caught it. The planted values are ones dbt
  lets through (no dbt test covers them): a distribution shift, a cross-table mismatch, a column added, dropped or
  moved. An expectation that raises, or a derived frame that cannot be computed, is a failure.
* Suites name only published columns (the mart YAML), never repeat a dbt data test of their table, and never copy
  the column list (the runner derives it from the YAML).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml

from loop import landing, transform
from loop.errors import LoopError
from loop.sample import generate
from loop.settings import PILLARS, PROJECT_ROOT, PUBLISHED_PILLARS, Settings
from loop.transform import catalog
from loop.validation import (
    PillarValidation,
    load_suite,
    load_suites,
    read_frames,
    required_tables,
    validate_pillar,
)
from loop.validation.suites import COLUMN_LIST_EXPECTATION
from loop.warehouse import connect

from ..conftest import FIXTURES

EXPECTATIONS = PROJECT_ROOT / "expectations"
Marts = dict[str, pd.DataFrame]


def _all_marts(settings: Settings) -> Marts:
    with connect(settings, write=False) as con:
        return {
            table: con.sql(f"SELECT * FROM main.{table}").df()
            for tables in catalog.pillar_tables().values()
            for table in tables
        }


def _land_and_build(settings: Settings, days: list[date]) -> None:
    for day in days:
        for pillar in PILLARS:
            landing.land_pillar(settings, pillar, day)
    transform.build(settings, days[-1])


@pytest.fixture(scope="module")
def fixture_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real marts, built by dbt from the hand-written landing fixture."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("gx") / "data")
    settings.ensure_dirs()
    shutil.copytree(FIXTURES / "dbt" / "landing", settings.landing_dir, dirs_exist_ok=True)
    _land_and_build(settings, [date(2026, 3, 2), date(2026, 3, 3)])
    return settings


@pytest.fixture(scope="module")
def marts(fixture_settings: Settings) -> Marts:
    return _all_marts(fixture_settings)


@pytest.fixture(scope="module")
def sample_marts(tmp_path_factory: pytest.TempPathFactory) -> Marts:
    """The real marts of a generated 2-day sample (the end-to-end test's seed and share of bad records)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("gx-sample") / "data")
    settings.ensure_dirs()
    start = date(2026, 3, 2)
    generate(settings.landing_dir, customers=300, days=2, start=start, seed=11, bad_fraction=0.02)
    _land_and_build(settings, [start, start + timedelta(days=1)])
    return _all_marts(settings)


def _frames(marts: Marts, pillar: str) -> Marts:
    """What the cycle gives validate_pillar: the pillar's marts and the lineage marts its frames join (copies)."""
    return {table: marts[table].copy() for table in required_tables(pillar, EXPECTATIONS)}


def _validate(pillar: str, frames: Marts, tmp_path: Path, run_id: str = "run-1") -> PillarValidation:
    return validate_pillar(pillar, frames, run_id=run_id, expectations_dir=EXPECTATIONS, results_dir=tmp_path)


# --------------------------------------------------------------------------------------------------------------
# Real marts pass
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pillar", PUBLISHED_PILLARS)
def test_every_suite_passes_on_the_fixture_marts(marts: Marts, pillar: str, tmp_path: Path) -> None:
    outcome = _validate(pillar, _frames(marts, pillar), tmp_path)
    assert outcome.success, outcome.summary()
    saved = json.loads(outcome.result_path.read_text())
    assert outcome.result_path == tmp_path / "run-1" / f"{pillar}.json" and saved["success"] is True
    tables = catalog.pillar_tables()[pillar]
    assert set(saved["tables"]) == set(tables)
    # the column list, derived from the YAML, runs first on every table
    assert all(
        saved["tables"][t]["results"][0]["expectation_config"]["type"] == COLUMN_LIST_EXPECTATION for t in tables
    )


@pytest.mark.parametrize("pillar", PUBLISHED_PILLARS)
def test_every_suite_passes_on_a_generated_sample(sample_marts: Marts, pillar: str, tmp_path: Path) -> None:
    outcome = _validate(pillar, _frames(sample_marts, pillar), tmp_path)
    assert outcome.success, outcome.summary()
    assert outcome.evaluated == sum(
        len(s.suite.expectations) + sum(len(f.suite.expectations) for f in s.frames)
        for s in load_suites(pillar, EXPECTATIONS).values()
    )


def test_every_pillar_checks_distributions_and_other_tables() -> None:
    for pillar in PUBLISHED_PILLARS:
        suites = load_suites(pillar, EXPECTATIONS).values()
        own = set(catalog.pillar_tables()[pillar])
        assert any(len(s.suite.expectations) > 2 or any(not f.key for f in s.frames) for s in suites), pillar
        assert any(set(f.tables) - {s.table} for s in suites for f in s.frames), pillar  # a cross-table frame
        if pillar != "experience":  # experience's marts are built from its own data; the others join their lineage
            assert any(set(f.tables) - own for s in suites for f in s.frames), pillar


def test_read_frames_reads_the_lineage_marts_the_frames_join(fixture_settings: Settings) -> None:
    frames = read_frames(fixture_settings, "cycle")
    cycle_tables = {
        "campaign_scorecard",
        "audiences",
        "audience_members",
        "product_signals",
        "actions",
        "action_outcomes",
        "customer_360",
        "joint_kpis",
    }
    lineage = {"campaign_performance", "campaign_attribution", "customer_experience", "feedback"}
    assert set(frames) == cycle_tables | lineage
    assert list(frames["campaign_scorecard"].columns) == [c.name for c in catalog.mart("campaign_scorecard").columns]


# --------------------------------------------------------------------------------------------------------------
# Planted bad values fail their suite
# --------------------------------------------------------------------------------------------------------------


PAIR = "expect_column_pair_values_to_be_equal"
BETWEEN = "expect_column_values_to_be_between"
QUANTILES = "expect_column_quantile_values_to_be_between"
MEAN = "expect_column_mean_to_be_between"
NON_NULL = "expect_column_proportion_of_non_null_values_to_be_between"
ROWS = "expect_table_row_count_to_be_between"


@dataclass(frozen=True)
class Planted:
    """A bad value dbt lets through, planted in real marts, and the expectation that must catch it."""

    name: str
    pillar: str
    plant: Callable[[Marts], None]
    table: str
    expectation: str
    column: str | None
    frame: str | None = None
    on_sample: bool = False
    """Plant in the generated sample's marts (the fixture's are too small to show the shift)."""


def _first_with(frame: pd.DataFrame, column: str) -> Any:
    return frame.index[frame[column].notna()][0]


def _set(table: str, column: str, value: Any) -> Callable[[Marts], None]:
    def plant(f: Marts) -> None:
        f[table][column] = value

    return plant


def _scale(table: str, column: str, factor: float) -> Callable[[Marts], None]:
    def plant(f: Marts) -> None:
        f[table][column] = f[table][column] * factor

    return plant


def _bump(table: str, column: str, by: int = 1) -> Callable[[Marts], None]:
    def plant(f: Marts) -> None:
        f[table].loc[0, column] += by

    return plant


def _empty(table: str) -> Callable[[Marts], None]:
    def plant(f: Marts) -> None:
        f[table] = f[table].iloc[0:0]

    return plant


def _nps_on_volume(category: str) -> Callable[[Marts], None]:
    """A category bug on a day's volume (50 copies of the NPS answers, new ids): every answer gets ``category``,
    which stays in dbt's accepted values."""

    def plant(f: Marts) -> None:
        nps = f["feedback"][f["feedback"]["kind"] == "nps"]
        copies = [nps.assign(feedback_id=nps["feedback_id"] + f"-{n}") for n in range(50)]
        f["feedback"] = pd.concat(copies, ignore_index=True).assign(nps_category=category)

    return plant


def _ctr_fifty_times(f: Marts) -> None:
    frame = f["campaign_performance"]
    frame["ctr"] = (frame["ctr"] * 50).clip(upper=1)  # clicks counted as impressions: still within dbt's 0-1


def _every_session_fails(f: Marts) -> None:
    f["sessions"]["errors"] = f["sessions"]["errors"].clip(lower=1)


def _a_customer_session_lost(f: Marts) -> None:
    sessions = f["sessions"]
    f["sessions"] = sessions.drop(index=_first_with(sessions, "customer_id")).reset_index(drop=True)


def _a_scorecard_row_lost(f: Marts) -> None:
    f["campaign_scorecard"] = f["campaign_scorecard"].iloc[1:].reset_index(drop=True)


def _an_area_version_lost(f: Marts) -> None:
    f["nps_by_area_version"] = f["nps_by_area_version"].iloc[1:].reset_index(drop=True)


def _feedback_attributed_elsewhere(f: Marts) -> None:
    feedback = f["feedback"]
    # sorts after every real campaign id: the customer's max campaign on feedback differs from customer_experience's
    feedback.loc[_first_with(feedback, "acquisition_campaign_id"), "acquisition_campaign_id"] = "cmp_zz_elsewhere"


def _unfit_lookalike_seed(f: Marts) -> None:
    """A customer who never ordered slips into the lookalike seed."""
    customers = f["customer_experience"]
    outsider = customers.loc[~customers["converted"].astype(bool), "customer_id"].iloc[0]
    row = {"audience_id": "lookalike_seed", "customer_id": outsider, "reason": "planted", "is_holdout": False}
    f["audience_members"] = pd.concat([f["audience_members"], pd.DataFrame([row])], ignore_index=True)


def _unmeasured_action(f: Marts) -> None:
    """An audience export recorded with a cohort that no outcome counts."""
    actions = f["actions"]
    row = {column: None for column in actions.columns} | {
        "action_id": "2026-03-03:audience_export:advocates",
        "action_kind": "audience_export",
        "subject": "advocates",
        "treatment_size": 5,
        "holdout_size": 1,
    }
    f["actions"] = pd.concat([actions, pd.DataFrame([row])], ignore_index=True)


def _column_dropped(f: Marts) -> None:
    f["campaign_performance"] = f["campaign_performance"].drop(columns=["session_revenue"])


def _column_added(f: Marts) -> None:
    f["sessions"] = f["sessions"].assign(debug_flag=True)


def _columns_moved(f: Marts) -> None:
    columns = list(f["feedback"].columns)
    f["feedback"] = f["feedback"][[columns[1], columns[0], *columns[2:]]]


def _latency_as_text(f: Marts) -> None:
    f["sessions"]["avg_latency_ms"] = f["sessions"]["avg_latency_ms"].astype(str) + " ms"


def _engaged_beyond_duration(f: Marts) -> None:
    """Engaged time summed without the cap and counted twice: more than the session lasted."""
    f["sessions"]["engaged_seconds"] = f["sessions"]["duration_seconds"] * 2 + 60


def _linear_revenue_credit_drift(f: Marts) -> None:
    """A purchase's linear revenue credit off by 5 (still positive: dbt's column rules let it through)."""
    credits = f["conversion_credits"]
    row = credits.index[(credits["conversion_kind"] == "purchase") & (credits["model"] == "linear")][0]
    credits.loc[row, "revenue_credit"] += 5


def _paths_unbounded(f: Marts) -> None:
    """The window no longer bounds the paths: every conversion credited, under linear, to 60 more touches."""
    credits = f["conversion_credits"]
    linear = credits[credits["model"] == "linear"]
    copies = [linear.assign(touch_id=linear["touch_id"].fillna("none") + f"-{n}") for n in range(60)]
    f["conversion_credits"] = pd.concat([credits, *copies], ignore_index=True)


def _campaign_spend_drift(f: Marts) -> None:
    """One model's row of a campaign carries another spend than its other models and campaign_performance."""
    attribution = f["campaign_attribution"]
    attribution.loc[_first_with(attribution, "campaign_id"), "spend"] += 10


def _bot_row(**figures: int) -> Callable[[Marts], None]:
    """A day of bot traffic with the given figures (the marts of the fixture and the sample have none)."""

    def plant(f: Marts) -> None:
        row = {"session_date": pd.Timestamp("2026-03-02").date(), "bot_category": "crawler"} | figures
        f["bot_traffic"] = pd.concat([f["bot_traffic"], pd.DataFrame([row])], ignore_index=True)

    return plant


PLANTED = [
    # marketing
    Planted("catalog_empty", "marketing", _empty("campaign_performance"), "campaign_performance", ROWS, None),
    Planted("ctr_fifty_times", "marketing", _ctr_fifty_times, "campaign_performance", QUANTILES, "ctr"),
    Planted(
        "revenue_in_cents",
        "marketing",
        _scale("campaign_performance", "session_roas", 100),
        "campaign_performance",
        "expect_column_max_to_be_between",
        "session_roas",
        on_sample=True,
    ),
    Planted(
        "customers_acquired_drift",
        "marketing",
        _bump("campaign_performance", "customers_acquired"),
        "campaign_performance",
        PAIR,
        "reported_acquired",
        "performance_matches_experience",
    ),
    Planted(
        "campaign_revenue_drift",
        "marketing",
        _bump("campaign_performance", "session_revenue", 5),
        "campaign_performance",
        PAIR,
        "reported_revenue_cents",
        "performance_matches_experience",
    ),
    Planted("column_dropped", "marketing", _column_dropped, "campaign_performance", COLUMN_LIST_EXPECTATION, None),
    # marketing: attribution
    Planted(
        "credit_campaigns_lost",
        "marketing",
        _set("conversion_credits", "campaign_id", None),
        "conversion_credits",
        NON_NULL,
        "campaign_id",
    ),
    Planted(
        "touches_lost",
        "marketing",
        _set("conversion_credits", "touch_id", None),
        "conversion_credits",
        BETWEEN,
        "untouched_share",
        "path_shape",
    ),
    Planted(
        "paths_unbounded",
        "marketing",
        _paths_unbounded,
        "conversion_credits",
        BETWEEN,
        "touches_per_conversion",
        "path_shape",
    ),
    Planted(
        "credited_revenue_drift",
        "marketing",
        _linear_revenue_credit_drift,
        "conversion_credits",
        PAIR,
        "linear_revenue_cents",
        "credits_match_customer_experience",
    ),
    Planted("attribution_empty", "marketing", _empty("campaign_attribution"), "campaign_attribution", ROWS, None),
    Planted(
        "attributed_revenue_in_cents",
        "marketing",
        _scale("campaign_attribution", "attributed_roas", 100),
        "campaign_attribution",
        "expect_column_max_to_be_between",
        "attributed_roas",
        on_sample=True,
    ),
    Planted(
        "attribution_campaigns_lost",
        "marketing",
        _set("campaign_attribution", "campaign_id", None),
        "campaign_attribution",
        BETWEEN,
        "unattributed_purchase_share",
        "unattributed_share",
    ),
    Planted(
        "attributed_revenue_drift",
        "marketing",
        _bump("campaign_attribution", "attributed_revenue", 5),
        "campaign_attribution",
        PAIR,
        "reported_revenue",
        "attribution_matches_credits",
    ),
    Planted(
        "attribution_spend_drift",
        "marketing",
        _campaign_spend_drift,
        "campaign_attribution",
        PAIR,
        "highest_spend_cents",
        "spend_matches_campaign_performance",
    ),
    # experience: sessions
    Planted("sessions_empty", "experience", _empty("sessions"), "sessions", ROWS, None),
    Planted(
        "latency_ten_times",
        "experience",
        _scale("sessions", "avg_latency_ms", 10),
        "sessions",
        QUANTILES,
        "avg_latency_ms",
    ),
    Planted(
        "sessions_never_break",
        "experience",
        _scale("sessions", "duration_seconds", 20),
        "sessions",
        QUANTILES,
        "duration_seconds",
    ),
    Planted("every_event_a_session", "experience", _set("sessions", "events", 1), "sessions", MEAN, "events"),
    Planted(
        "utm_attribution_lost", "experience", _set("sessions", "campaign_id", None), "sessions", NON_NULL, "campaign_id"
    ),
    Planted("stitching_lost", "experience", _set("sessions", "customer_id", None), "sessions", NON_NULL, "customer_id"),
    Planted(
        "every_session_fails", "experience", _every_session_fails, "sessions", BETWEEN, "error_share", "session_shares"
    ),
    Planted("column_added", "experience", _column_added, "sessions", COLUMN_LIST_EXPECTATION, None),
    Planted("latency_as_text", "experience", _latency_as_text, "sessions", QUANTILES, "avg_latency_ms"),
    Planted(
        "channel_rules_lost",
        "experience",
        _set("sessions", "channel", "Unassigned"),
        "sessions",
        BETWEEN,
        "unassigned_share",
        "session_shares",
    ),
    Planted(
        "engaged_beyond_duration",
        "experience",
        _engaged_beyond_duration,
        "sessions",
        BETWEEN,
        "engaged_within_duration",
        "session_shares",
    ),
    # experience: bot_traffic
    Planted(
        "bot_day_without_sessions",
        "experience",
        _bot_row(sessions=0, events=3, devices=1),
        "bot_traffic",
        BETWEEN,
        "sessions",
    ),
    Planted(
        "bot_sessions_without_events",
        "experience",
        _bot_row(sessions=2, events=0, devices=1),
        "bot_traffic",
        BETWEEN,
        "events",
    ),
    # experience: experience_daily and page_performance
    Planted("daily_empty", "experience", _empty("experience_daily"), "experience_daily", ROWS, None),
    Planted(
        "a_session_counted_twice_in_a_day",
        "experience",
        _bump("experience_daily", "sessions"),
        "experience_daily",
        PAIR,
        "daily_sessions",
        "daily_figures_add_up_to_sessions",
    ),
    Planted("pages_empty", "experience", _empty("page_performance"), "page_performance", ROWS, None),
    Planted(
        "an_error_counted_on_two_pages",
        "experience",
        _bump("page_performance", "errors"),
        "page_performance",
        PAIR,
        "page_errors",
        "page_errors_add_up_to_sessions",
    ),
    # experience: customer_experience
    Planted("customers_empty", "experience", _empty("customer_experience"), "customer_experience", ROWS, None),
    Planted(
        "error_tracking_lost",
        "experience",
        _set("customer_experience", "error_rate", 0.0),
        "customer_experience",
        MEAN,
        "error_rate",
    ),
    Planted(
        "p95_latency_ten_times",
        "experience",
        _scale("customer_experience", "p95_latency_ms", 10),
        "customer_experience",
        QUANTILES,
        "p95_latency_ms",
    ),
    Planted(
        "everybody_converted",
        "experience",
        _set("customer_experience", "converted", True),
        "customer_experience",
        MEAN,
        "converted",
    ),
    Planted(
        "acquisition_lost",
        "experience",
        _set("customer_experience", "acquisition_campaign_id", None),
        "customer_experience",
        NON_NULL,
        "acquisition_campaign_id",
    ),
    Planted(
        "a_customer_session_lost",
        "experience",
        _a_customer_session_lost,
        "customer_experience",
        PAIR,
        "customer_sessions",
        "customers_match_sessions",
    ),
    # product
    Planted("feedback_empty", "product", _empty("feedback"), "feedback", ROWS, None),
    Planted(
        "feedback_acquisition_lost",
        "product",
        _set("feedback", "acquisition_campaign_id", None),
        "feedback",
        NON_NULL,
        "acquisition_campaign_id",
    ),
    Planted(
        "every_answer_a_promoter",
        "product",
        _nps_on_volume("promoter"),
        "feedback",
        BETWEEN,
        "promoter_share_low",
        "nps_mix",
    ),
    Planted(
        "no_promoter_at_all",
        "product",
        _nps_on_volume("detractor"),
        "feedback",
        BETWEEN,
        "promoter_share_high",
        "nps_mix",
    ),
    Planted(
        "every_answer_a_detractor",
        "product",
        _nps_on_volume("detractor"),
        "feedback",
        BETWEEN,
        "detractor_share_low",
        "nps_mix",
    ),
    Planted(
        "every_answer_a_passive",
        "product",
        _nps_on_volume("passive"),
        "feedback",
        BETWEEN,
        "passive_share_low",
        "nps_mix",
    ),
    Planted(
        "feedback_attributed_elsewhere",
        "product",
        _feedback_attributed_elsewhere,
        "feedback",
        PAIR,
        "feedback_campaign_max",
        "attribution_matches_experience",
    ),
    Planted("columns_moved", "product", _columns_moved, "feedback", COLUMN_LIST_EXPECTATION, None),
    Planted(
        "an_area_version_lost",
        "product",
        _an_area_version_lost,
        "nps_by_area_version",
        PAIR,
        "responses",
        "counts_match_feedback",
    ),
    Planted(
        "promoters_drift",
        "product",
        _bump("nps_by_area_version", "promoters"),
        "nps_by_area_version",
        PAIR,
        "promoters",
        "counts_match_feedback",
    ),
    # cycle
    Planted("scorecard_empty", "cycle", _empty("campaign_scorecard"), "campaign_scorecard", ROWS, None),
    Planted(
        "constant_score",
        "cycle",
        _set("campaign_scorecard", "promise_kept_score", 50.0),  # within dbt's 0-100
        "campaign_scorecard",
        "expect_column_stdev_to_be_between",
        "promise_kept_score",
    ),
    Planted(
        "nobody_scored",
        "cycle",
        _set("campaign_scorecard", "promise_kept_score", None),
        "campaign_scorecard",
        NON_NULL,
        "promise_kept_score",
    ),
    Planted(
        "scorecard_spend_drift",
        "cycle",
        _bump("campaign_scorecard", "spend", 10),
        "campaign_scorecard",
        PAIR,
        "scorecard_spend_cents",
        "matches_campaign_performance",
    ),
    Planted(
        "scorecard_model_lost",
        "cycle",
        _a_scorecard_row_lost,
        "campaign_scorecard",
        PAIR,
        "scorecard_rows",
        "matches_campaign_performance",
    ),
    Planted(
        "scorecard_revenue_recomputed",
        "cycle",
        _bump("campaign_scorecard", "attributed_revenue", 5),
        "campaign_scorecard",
        PAIR,
        "scorecard_revenue",
        "matches_campaign_attribution",
    ),
    Planted(
        "every_campaign_flagged",
        "cycle",
        _set("campaign_scorecard", "flagged", True),
        "campaign_scorecard",
        MEAN,
        "flagged",
    ),
    Planted(
        "audience_size_drift",
        "cycle",
        _bump("audiences", "members"),
        "audiences",
        PAIR,
        "audience_members",
        "sizes_match_members",
    ),
    Planted(
        "unfit_lookalike_seed",
        "cycle",
        _unfit_lookalike_seed,
        "audience_members",
        PAIR,
        "seed_member",
        "lookalike_seed_ordered_without_errors",
    ),
    Planted(
        "unmeasured_action",
        "cycle",
        _unmeasured_action,
        "action_outcomes",
        PAIR,
        "action_cohort",
        "cohorts_match_actions",
    ),
]


PLANTED += [
    Planted("customer_360_empty", "cycle", _empty("customer_360"), "customer_360", ROWS, None),
    Planted(
        "customer_360_drifts_from_customer_experience",
        "cycle",
        _bump("customer_360", "sessions"),
        "customer_360",
        PAIR,
        "c360_sessions",
        "customer_360_matches_customer_experience",
    ),
    Planted(
        "customer_360_miscounts_feedback",
        "cycle",
        _bump("customer_360", "feedback_items"),
        "customer_360",
        PAIR,
        "c360_feedback",
        "customer_360_counts_the_feedback",
    ),
    Planted(
        "attribution_week_empty",
        "marketing",
        _empty("campaign_attribution_weekly"),
        "campaign_attribution_weekly",
        ROWS,
        None,
    ),
    Planted(
        "attribution_week_counted_twice",
        "marketing",
        _bump("campaign_attribution_weekly", "attributed_purchases"),
        "campaign_attribution_weekly",
        PAIR,
        "weekly_purchases",
        "weeks_add_up_to_campaign_attribution",
    ),
    Planted("campaign_pacing_empty", "marketing", _empty("campaign_pacing"), "campaign_pacing", ROWS, None),
    Planted(
        "pacing_loses_a_spend_day",
        "marketing",
        _bump("campaign_pacing", "spend", 5),
        "campaign_pacing",
        PAIR,
        "pacing_spend_cents",
        "pacing_spend_matches_campaign_performance",
    ),
    Planted("joint_kpis_empty", "cycle", _empty("joint_kpis"), "joint_kpis", ROWS, None),
    Planted(
        "joint_kpis_count_a_session_twice",
        "cycle",
        _bump("joint_kpis", "sessions"),
        "joint_kpis",
        PAIR,
        "joint_sessions",
        "joint_kpis_add_up_to_customer_360",
    ),
]


def _edit(table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Marts], None]:
    def plant(f: Marts) -> None:
        f[table] = change(f[table].copy())

    return plant


def _bump_level(level: str, column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """One satisfaction_by_segment row of ``level`` counts one answer more."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[frame["segment_level"] == level][0], column] += 1
        return frame

    return change


def _a_ticket_lost(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[1:].reset_index(drop=True)


def _reply_after_resolution(frame: pd.DataFrame) -> pd.DataFrame:
    """Reply and resolution times swapped (both still positive)."""
    return frame.assign(first_reply_hours=5.0, resolution_hours=1.0)


def _more_customers_than_requests(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(customers=frame["requests"] + 1)


def _ranks_with_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(demand_rank=frame["demand_rank"] * 2)


def _errors_beyond_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(error_sessions_before=frame["sessions_before"] + 1)


# product: the per-kind and segment marts (every check also holds on an empty table: a shop without that kind)
PLANTED += [
    Planted(
        "segment_answers_drift_from_feedback",
        "product",
        _edit("satisfaction_by_segment", _bump_level("area_version", "csat_responses")),
        "satisfaction_by_segment",
        PAIR,
        "csat_responses",
        "answers_match_feedback",
    ),
    Planted(
        "a_segment_counted_twice",
        "product",
        _edit("satisfaction_by_segment", _bump_level("area_version_channel", "nps_responses")),
        "satisfaction_by_segment",
        PAIR,
        "overall_answers",
        "rollups_add_up",
    ),
    Planted(
        "nps_interval_off_its_estimate",
        "product",
        _set("satisfaction_by_segment", "nps_ci_low", 99.0),  # within dbt's -100..100
        "satisfaction_by_segment",
        BETWEEN,
        "nps_outside_interval",
        "intervals_contain_the_estimate",
    ),
    Planted(
        "csat_interval_off_its_estimate",
        "product",
        _set("satisfaction_by_segment", "csat_score_ci_high", 0.0),
        "satisfaction_by_segment",
        BETWEEN,
        "csat_outside_interval",
        "intervals_contain_the_estimate",
    ),
    Planted(
        "a_request_in_two_themes",
        "product",
        _bump("feature_requests", "requests"),
        "feature_requests",
        PAIR,
        "theme_requests",
        "requests_match_feedback",
        on_sample=True,  # the fixture has no feature request
    ),
    Planted(
        "customers_counted_per_request_twice",
        "product",
        _edit("feature_requests", _more_customers_than_requests),
        "feature_requests",
        BETWEEN,
        "themes_with_more_customers_than_requests",
        "customers_within_requests",
        on_sample=True,
    ),
    Planted(
        "ranks_with_gaps",
        "product",
        _edit("feature_requests", _ranks_with_gaps),
        "feature_requests",
        BETWEEN,
        "rank_gaps",
        "customers_within_requests",
        on_sample=True,
    ),
    Planted(
        "a_ticket_lost",
        "product",
        _edit("support_tickets", _a_ticket_lost),
        "support_tickets",
        PAIR,
        "tickets",
        "tickets_match_feedback",
    ),
    Planted(
        "reply_after_resolution",
        "product",
        _edit("support_tickets", _reply_after_resolution),
        "support_tickets",
        BETWEEN,
        "reply_after_resolution",
        "reply_before_resolution",
    ),
    Planted(
        "resolved_without_a_sign",
        "product",
        _set("support_tickets", "is_resolved", True),
        "support_tickets",
        BETWEEN,
        "resolved_without_sign",
        "reply_before_resolution",
    ),
    Planted(
        "a_ticket_counted_in_two_weeks",
        "product",
        _bump("ticket_volume", "tickets"),
        "ticket_volume",
        PAIR,
        "weekly_tickets",
        "volume_matches_tickets",
    ),
    Planted(
        "error_sessions_beyond_sessions",
        "product",
        _edit("release_impact", _errors_beyond_sessions),
        "release_impact",
        BETWEEN,
        "impossible_error_counts",
        "errors_within_sessions",
    ),
]


@pytest.mark.parametrize("case", PLANTED, ids=[case.name for case in PLANTED])
def test_a_planted_bad_value_fails_its_suite(marts: Marts, sample_marts: Marts, tmp_path: Path, case: Planted) -> None:
    frames = _frames(sample_marts if case.on_sample else marts, case.pillar)
    case.plant(frames)
    outcome = _validate(case.pillar, frames, tmp_path)
    assert not outcome.success
    failures = {(o.table, o.frame, o.expectation, o.column) for o in outcome.failures()}
    assert (case.table, case.frame, case.expectation, case.column) in failures, failures
    target = f"{case.table}/{case.frame}" if case.frame else case.table
    assert target in outcome.summary()
    saved = json.loads(outcome.result_path.read_text())
    assert saved["success"] is False
    document = saved["frames"][target] if case.frame else saved["tables"][case.table]
    assert any(
        r["expectation_config"]["type"] == case.expectation and r["success"] is False for r in document["results"]
    ), document


def test_every_expectation_has_a_planted_value_that_fails_it() -> None:
    """No assertion that cannot fail: each expectation of every suite (each frame, for the equalities) is shown
    failing by a planted case above."""
    planted = {(c.table, c.frame, c.expectation, c.column) for c in PLANTED}
    planted_frames = {(c.table, c.frame) for c in PLANTED if c.frame}
    for pillar in PUBLISHED_PILLARS:
        for table, suite in load_suites(pillar, EXPECTATIONS).items():
            for expectation in suite.suite.expectations:
                if expectation.expectation_type == COLUMN_LIST_EXPECTATION:
                    continue  # one planted case per kind of schema change covers the derived list
                column = expectation.configuration.kwargs.get("column")
                assert (table, None, expectation.expectation_type, column) in planted, (table, column)
            for frame in suite.frames:
                assert (table, frame.name) in planted_frames, (table, frame.name)
                for expectation in frame.suite.expectations:
                    if expectation.expectation_type != PAIR:
                        column = expectation.configuration.kwargs.get("column")
                        assert (table, frame.name, expectation.expectation_type, column) in planted, column


def test_the_planted_values_pass_dbts_rules(marts: Marts, sample_marts: Marts) -> None:
    """The planted values are not ones dbt already stops: the marts' dbt data tests (keys, accepted values and
    ranges) still hold after planting, so only GX can catch them."""
    for case in PLANTED:
        frames = {name: frame.copy() for name, frame in (sample_marts if case.on_sample else marts).items()}
        case.plant(frames)
        for mart in catalog.marts()[catalog.mart(case.table).pillar]:
            frame = frames[mart.name]
            for name, rules in _dbt_column_tests(mart.name).items():
                if name not in frame.columns:
                    continue
                values = frame[name]
                if "not_null" in rules:
                    assert values.notna().all(), (case.name, name)
                if "unique" in rules:
                    assert values.dropna().is_unique, (case.name, name)
                if "accepted_values" in rules:
                    assert set(values.dropna()) <= set(rules["accepted_values"]["values"]), (case.name, name)
                if "accepted_range" in rules:
                    bounds, numbers = rules["accepted_range"], pd.to_numeric(values, errors="coerce").dropna()
                    assert numbers.ge(bounds.get("min_value", -float("inf"))).all(), (case.name, name)
                    assert numbers.le(bounds.get("max_value", float("inf"))).all(), (case.name, name)


def test_a_frame_that_cannot_be_computed_fails(marts: Marts, tmp_path: Path) -> None:
    frames = _frames(marts, "experience")
    frames["sessions"] = frames["sessions"].drop(columns=["orders"])
    outcome = _validate("experience", frames, tmp_path)
    failed = [o for o in outcome.failures() if o.frame == "customers_match_sessions"]
    assert failed and all("could not be computed" in o.observed for o in failed)
    assert len(failed) == len(
        load_suite("experience", "customer_experience", EXPECTATIONS).frames[0].suite.expectations
    )


def test_a_missing_table_fails(marts: Marts, tmp_path: Path) -> None:
    outcome = _validate("experience", {"sessions": marts["sessions"]}, tmp_path)
    assert not outcome.success and "customer_experience.*" in outcome.summary()


def test_a_missing_lineage_table_fails_the_frames_that_join_it(marts: Marts, tmp_path: Path) -> None:
    cycle_tables = ("campaign_scorecard", "audiences", "audience_members", "product_signals", "actions")
    outcome = _validate("cycle", {table: marts[table] for table in cycle_tables}, tmp_path)
    assert not outcome.success
    failed_frames = {o.frame for o in outcome.failures()}
    assert failed_frames == {
        "matches_campaign_performance",
        "matches_campaign_attribution",
        "lookalike_seed_ordered_without_errors",
        "cohorts_match_actions",
        "customer_360_matches_customer_experience",
        "customer_360_counts_the_feedback",
        "joint_kpis_add_up_to_customer_360",
        None,  # action_outcomes, customer_360 and joint_kpis themselves are missing
    }
    assert all(
        "read_frames" in o.observed or o.table in ("action_outcomes", "customer_360", "joint_kpis")
        for o in outcome.failures()
    )


def test_results_are_kept_per_run(marts: Marts, tmp_path: Path) -> None:
    _validate("cycle", _frames(marts, "cycle"), tmp_path, run_id="backfill__2026-03-02T00:00:00+00:00")
    _validate("cycle", _frames(marts, "cycle"), tmp_path, run_id="backfill__2026-03-03T00:00:00+00:00")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "backfill__2026-03-02T00_00_00_00_00",
        "backfill__2026-03-03T00_00_00_00_00",
    ]
    saved = json.loads((tmp_path / "backfill__2026-03-03T00_00_00_00_00" / "cycle.json").read_text())
    frame = saved["frames"]["campaign_scorecard/matches_campaign_performance"]
    assert frame["success"] is True and frame["rows"] == 3 and "FULL JOIN" in frame["sql"]


def test_unknown_pillar(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid pillars are marketing, experience, product, cycle"):
        validate_pillar("sales", {}, run_id="r", expectations_dir=EXPECTATIONS, results_dir=tmp_path)


# --------------------------------------------------------------------------------------------------------------
# One declaration per schema: suites name published columns only and never repeat dbt
# --------------------------------------------------------------------------------------------------------------


@cache
def _models_yaml() -> dict[str, dict[str, Any]]:
    """Every mart's YAML entry by name (parsed once: the mart YAML is large and PyYAML is slow)."""
    models: dict[str, dict[str, Any]] = {}
    for path in (catalog.DBT_PROJECT / "models" / "marts").glob("*/_*__models.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            models[model["name"]] = model
    return models


def _test_name_and_arguments(test: Any) -> tuple[str, dict[str, Any], bool]:
    """(name, arguments, conditional): a test with a ``where`` config checks only some rows."""
    if isinstance(test, str):
        return test, {}, False
    [(name, config)] = test.items()
    config = config or {}
    return name, dict(config.get("arguments") or {}), bool((config.get("config") or {}).get("where"))


def _dbt_column_tests(table: str, *, conditional: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """column -> {dbt test name -> arguments}; model-level tests under the column(s) they name (``model_<name>``).
    Tests restricted to some rows (``where``) are left out unless ``conditional``."""
    model = _models_yaml()[table]
    tests: dict[str, dict[str, dict[str, Any]]] = {}
    for column in model.get("columns", []):
        for test in column.get("data_tests") or []:
            name, arguments, restricted = _test_name_and_arguments(test)
            if conditional or not restricted:
                tests.setdefault(column["name"], {}).setdefault(name, arguments)
    for test in model.get("data_tests") or []:
        name, arguments, restricted = _test_name_and_arguments(test)
        expression = str(arguments.get("column_name", ""))
        for column in model.get("columns", []):
            if column["name"] in expression and (conditional or not restricted):
                tests.setdefault(column["name"], {})[f"model_{name}"] = arguments
    return tests


#: GX expectation types that restate each dbt data test.
DBT_EQUIVALENTS = {
    "expect_column_values_to_be_unique": {"unique"},
    "expect_compound_columns_to_be_unique": {"model_unique"},
    "expect_select_column_values_to_be_unique_within_record": {"model_unique"},
    "expect_column_values_to_not_be_null": {"not_null"},
    "expect_column_values_to_be_in_set": {"accepted_values"},
    "expect_column_distinct_values_to_be_in_set": {"accepted_values"},
    "expect_column_values_to_be_between": {"accepted_range"},
    "expect_column_min_to_be_between": {"accepted_range"},
    "expect_column_max_to_be_between": {"accepted_range"},
}


def _named_columns(kwargs: dict[str, Any]) -> set[str]:
    named = {str(kwargs[k]) for k in ("column", "column_A", "column_B") if kwargs.get(k)}
    return named | {str(c) for c in kwargs.get("column_list") or []}


def test_suites_reference_only_published_columns() -> None:
    for pillar in PUBLISHED_PILLARS:
        for table, suite in load_suites(pillar, EXPECTATIONS).items():
            published = [c.name for c in catalog.mart(table).columns]
            [column_list, *declared] = suite.suite.expectations
            assert column_list.expectation_type == COLUMN_LIST_EXPECTATION
            assert column_list.configuration.kwargs["column_list"] == published
            for expectation in declared:
                named = _named_columns(dict(expectation.configuration.kwargs))
                assert named <= set(published), (table, expectation.expectation_type, named - set(published))
            for frame in suite.frames:
                for side in frame.sides:
                    assert set(side.key) <= {c.name for c in catalog.mart(side.table).columns}, (frame.name, side)
                for expectation in frame.suite.expectations:
                    assert _named_columns(dict(expectation.configuration.kwargs)) <= set(frame.columns), frame.name


def test_frames_read_only_published_columns() -> None:
    """Each frame computes on empty tables typed from the YAML: its SQL can name no other column."""
    con = duckdb.connect()
    empty: Marts = {}
    for tables in catalog.marts().values():
        for mart in tables:
            select = ", ".join(f'NULL::{c.data_type} AS "{c.name}"' for c in mart.columns)
            empty[mart.name] = con.sql(f"SELECT {select} WHERE false").df()
    for pillar in PUBLISHED_PILLARS:
        for suite in load_suites(pillar, EXPECTATIONS).values():
            for frame in suite.frames:
                assert list(frame.compute(empty).columns) == list(frame.columns), frame.name


def test_no_suite_repeats_a_dbt_data_test_or_the_column_list() -> None:
    for pillar in PUBLISHED_PILLARS:
        for table in catalog.pillar_tables()[pillar]:
            raw = json.loads((EXPECTATIONS / pillar / f"{table}.json").read_text())
            assert all(
                "column_set" not in e["kwargs"] and "column_list" not in e["kwargs"] for e in raw["expectations"]
            )
            dbt_tests = _dbt_column_tests(table, conditional=True)
            for expectation in raw["expectations"]:
                repeated = {
                    (column, name)
                    for column in _named_columns(expectation["kwargs"])
                    for name in dbt_tests.get(column, {})
                    if name in DBT_EQUIVALENTS.get(expectation["type"], set())
                }
                assert not repeated, (table, expectation["type"], repeated)


def test_a_suite_that_copies_the_column_list_is_refused(tmp_path: Path) -> None:
    shutil.copytree(EXPECTATIONS, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "marketing" / "campaign_performance.json"
    suite = json.loads(path.read_text())
    suite["expectations"].append(
        {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["campaign_id"], "exact_match": False}}
    )
    path.write_text(json.dumps(suite))
    with pytest.raises(LoopError, match="derived from the mart's YAML"):
        load_suites("marketing", tmp_path)


def test_a_frame_outside_the_pillars_lineage_is_refused(tmp_path: Path) -> None:
    shutil.copytree(EXPECTATIONS, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "marketing" / "campaign_performance.json"
    suite = json.loads(path.read_text())
    suite["meta"]["frames"][0]["sides"][1]["table"] = "feedback"  # product is not in marketing's lineage
    path.write_text(json.dumps(suite))
    with pytest.raises(LoopError, match="not a published table of the marketing pillar's lineage"):
        load_suites("marketing", tmp_path)


def test_every_band_is_explained() -> None:
    for pillar in PUBLISHED_PILLARS:
        for table in catalog.pillar_tables()[pillar]:
            raw = json.loads((EXPECTATIONS / pillar / f"{table}.json").read_text())
            assert raw["meta"]["calibration"]
            expectations = raw["expectations"] + [e for f in raw["meta"].get("frames", []) for e in f["expectations"]]
            for expectation in expectations:
                assert expectation["meta"]["why"], expectation
                bounded = {"min_value", "max_value", "quantile_ranges"} & set(expectation["kwargs"])
                if bounded and expectation["type"] != "expect_table_row_count_to_be_between":
                    assert expectation["meta"].get("band"), expectation
