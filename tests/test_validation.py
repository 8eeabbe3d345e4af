"""Great Expectations suites really evaluate: they pass on real marts and fail on planted bad values."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from loop import landing, publish, transform
from loop.settings import PROJECT_ROOT, Settings
from loop.validation import load_suites, validate_pillar

from .conftest import FIXTURES

EXPECTATIONS = PROJECT_ROOT / "expectations"


@pytest.fixture(scope="module")
def marts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, pd.DataFrame]]:
    """The real marts, built by dbt from the hand-written landing fixture."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("gx") / "data")
    settings.ensure_dirs()
    shutil.copytree(FIXTURES / "dbt" / "landing", settings.landing_dir, dirs_exist_ok=True)
    for day in (date(2026, 3, 2), date(2026, 3, 3)):
        for pillar in ("marketing", "experience", "product"):
            landing.land_pillar(settings, pillar, day)
    transform.build(settings, date(2026, 3, 3))
    return {pillar: publish.read_marts(settings, pillar) for pillar in publish.PILLAR_DATASETS}


def _validate(pillar: str, frames: dict[str, pd.DataFrame], tmp_path: Path, run_id: str = "run-1"):  # type: ignore[no-untyped-def]
    return validate_pillar(pillar, frames, run_id=run_id, expectations_dir=EXPECTATIONS, results_dir=tmp_path)


@pytest.mark.parametrize("pillar", list(publish.PILLAR_DATASETS))
def test_every_pillar_passes_on_real_marts(marts, pillar: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outcome = _validate(pillar, marts[pillar], tmp_path)
    assert outcome.success, outcome.summary()
    assert outcome.evaluated >= 9 and outcome.failed == 0
    saved = json.loads(outcome.result_path.read_text())
    assert outcome.result_path == tmp_path / "run-1" / f"{pillar}.json" and saved["success"] is True


PLANTED = [
    ("marketing", "campaign_performance", "spend", -5, "expect_column_values_to_be_between"),
    ("marketing", "campaign_performance", "channel", "tv", "expect_column_values_to_be_in_set"),
    ("experience", "sessions", "max_latency_ms", 2_460_000.0, "expect_column_values_to_be_between"),
    ("experience", "sessions", "session_id", "DUPLICATE", "expect_column_values_to_be_unique"),
    ("experience", "customer_experience", "error_rate", 1.7, "expect_column_values_to_be_between"),
    ("product", "feedback", "customer_id", None, "expect_column_values_to_not_be_null"),
    ("product", "nps_by_area_version", "nps", 140.0, "expect_column_values_to_be_between"),
    ("loop", "campaign_scorecard", "promise_kept_score", 101.5, "expect_column_values_to_be_between"),
]


@pytest.mark.parametrize(("pillar", "table", "column", "value", "expectation"), PLANTED)
def test_a_planted_bad_value_fails_its_pillar(  # type: ignore[no-untyped-def]
    marts, tmp_path: Path, pillar: str, table: str, column: str, value: object, expectation: str
) -> None:
    frames = {name: frame.copy() for name, frame in marts[pillar].items()}
    bad = frames[table]
    if value == "DUPLICATE":
        bad.loc[1, column] = bad.loc[0, column]
    else:
        bad[column] = bad[column].astype(object)
        bad.loc[0, column] = value
    outcome = _validate(pillar, frames, tmp_path)
    assert not outcome.success
    failures = [(o.table, o.column, o.expectation) for o in outcome.failures()]
    assert (table, column, expectation) in failures
    assert f"{table}.{column}" in outcome.summary()
    saved = json.loads(outcome.result_path.read_text())
    assert saved["success"] is False
    results = saved["tables"][table]["results"]
    assert any(
        r["expectation_config"]["type"] == expectation
        and r["expectation_config"]["kwargs"].get("column") == column
        and not r["success"]
        for r in results
    )


def test_nps_scores_are_checked_per_kind(marts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frames = {name: frame.copy() for name, frame in marts["product"].items()}
    feedback = frames["feedback"]
    csat = feedback.index[feedback["kind"] == "csat"][0]
    feedback.loc[csat, "score"] = 9  # fine for NPS, out of range for CSAT
    outcome = _validate("product", frames, tmp_path)
    assert [o.observed for o in outcome.failures()] and not outcome.success
    assert outcome.failures()[0].expectation == "expect_column_values_to_be_between"


def test_a_missing_column_fails_instead_of_erroring_silently(marts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frames = {name: frame.drop(columns=["revenue"]) for name, frame in marts["marketing"].items()}
    outcome = _validate("marketing", frames, tmp_path)
    assert not outcome.success
    assert {o.column for o in outcome.failures()} >= {"revenue"}


def test_a_missing_table_fails(marts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outcome = _validate("experience", {"sessions": marts["experience"]["sessions"]}, tmp_path)
    assert not outcome.success and "customer_experience.*" in outcome.summary()


def test_results_are_kept_per_run(marts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _validate("loop", marts["loop"], tmp_path, run_id="backfill__2026-03-02T00:00:00+00:00")
    _validate("loop", marts["loop"], tmp_path, run_id="backfill__2026-03-03T00:00:00+00:00")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "backfill__2026-03-02T00_00_00_00_00",
        "backfill__2026-03-03T00_00_00_00_00",
    ]


def test_unknown_pillar(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid pillars are marketing, experience, product, loop"):
        validate_pillar("sales", {}, run_id="r", expectations_dir=EXPECTATIONS, results_dir=tmp_path)


def test_suites_reference_only_published_columns(marts) -> None:  # type: ignore[no-untyped-def]
    for pillar, tables in publish.PILLAR_DATASETS.items():
        suites = load_suites(pillar, EXPECTATIONS)
        assert set(suites) == set(tables)
        for table, suite in suites.items():
            columns = set(marts[pillar][table].columns)
            assert len(suite.expectations) >= 9
            for expectation in suite.expectations:
                kwargs = expectation.configuration.kwargs
                named = {kwargs.get(k) for k in ("column", "column_A", "column_B")} - {None}
                named |= set(kwargs.get("column_list") or [])
                assert named <= columns, (table, expectation.expectation_type, named - columns)
