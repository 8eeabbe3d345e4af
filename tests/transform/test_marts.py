"""The dbt project on a hand-written landing fixture: every mart equals its golden CSV (as the Snowplow packages'
integration tests do), the key figures are the ones worked out by hand, and dbt's data and unit tests pass."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from loop import landing, transform
from loop.settings import Settings
from loop.transform.catalog import DBT_PROJECT
from loop.warehouse import connect

from ..conftest import FIXTURES

DBT_FIXTURES = FIXTURES / "dbt"
ORDER = {
    "campaign_performance": "campaign_id",
    "sessions": "session_id",
    "customer_experience": "customer_id",
    "feedback": "feedback_id",
    "nps_by_area_version": "product_area, product_version",
    "campaign_scorecard": "model, scorecard_rank",
    "conversion_credits": "conversion_id, model, touched_at, touch_id",
    "campaign_attribution": "campaign_id nulls last, model",
}


def _land(settings: Settings) -> None:
    shutil.copytree(DBT_FIXTURES / "landing", settings.landing_dir, dirs_exist_ok=True)
    for day in (date(2026, 3, 2), date(2026, 3, 3)):
        for pillar in ("marketing", "experience", "product"):
            assert all(r.rows_quarantined == 0 for r in landing.land_pillar(settings, pillar, day))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, transform.BuildResult]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("dbt") / "data")
    settings.ensure_dirs()
    _land(settings)
    return settings, transform.build(settings, date(2026, 3, 3), unit_tests=True)


#: Columns left out of a golden comparison: the text enricher's own figures (its models are checked in tests/text);
#: the scrubbed text and the topics matched on it stay in.
NOT_GOLDEN = {"feedback": " EXCLUDE (language, sentiment, sentiment_label, keywords)"}


def mart_csv(settings: Settings, table: str, out: Path) -> str:
    columns = "*" + NOT_GOLDEN.get(table, "")
    with connect(settings, write=False) as con:
        con.execute(
            f"COPY (SELECT {columns} FROM main.{table} ORDER BY {ORDER[table]}) TO '{out}' (HEADER, DELIMITER ',')"
        )
    return out.read_text()


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping. PyYAML and dbt keep the last one silently: a
    second top-level ``unit_tests:`` in a models file dropped every unit test of the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        twice = sorted({str(key) for key in keys if keys.count(key) > 1})
        if twice:
            raise yaml.constructor.ConstructorError(None, None, f"key(s) given twice: {twice}", node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _load_unique(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}


def test_no_yaml_file_of_the_dbt_project_gives_a_key_twice() -> None:
    paths = sorted(DBT_PROJECT.rglob("*.yml"))
    assert len(paths) > 10
    for path in paths:
        _load_unique(path)
    with pytest.raises(yaml.constructor.ConstructorError, match="given twice"):
        yaml.load("unit_tests: [a]\nmodels: []\nunit_tests: [b]\n", Loader=_UniqueKeyLoader)


def test_build_runs_models_data_tests_and_unit_tests(built) -> None:  # type: ignore[no-untyped-def]
    _, result = built
    assert result.failures() == ()
    kinds = {node.unique_id.split(".")[0] for node in result.nodes}
    assert kinds == {"model", "seed", "test", "unit_test", "operation"}  # operation: the on-run-start hook
    assert result.models == len(list((DBT_PROJECT / "models").rglob("*.sql")))  # every model ran
    declared = {
        test["name"]
        for path in (DBT_PROJECT / "models").rglob("*.yml")
        for test in _load_unique(path).get("unit_tests", [])
    }
    ran = {n.unique_id.rsplit(".", 1)[-1] for n in result.nodes if n.unique_id.startswith("unit_test.")}
    assert len(declared) >= 6 and ran == declared


def test_every_mart_has_an_enforced_contract_typed_as_built(built) -> None:  # type: ignore[no-untyped-def]
    settings, _ = built
    for path in sorted((DBT_PROJECT / "models" / "marts").glob("*/_*__models.yml")):
        for model in yaml.safe_load(path.read_text())["models"]:
            assert model["config"]["contract"] == {"enforced": True}, model["name"]
            declared = [(c["name"], c.get("data_type")) for c in model["columns"]]
            assert all(data_type for _, data_type in declared), model["name"]
            with connect(settings, write=False) as con:
                built_as = [(r[0], r[1].lower()) for r in con.execute(f"DESCRIBE main.{model['name']}").fetchall()]
            assert built_as == declared, model["name"]


@pytest.mark.parametrize("table", list(ORDER))
def test_mart_matches_golden_csv(built, table: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, _ = built
    expected = (DBT_FIXTURES / "expected" / f"{table}.csv").read_text()
    assert mart_csv(settings, table, tmp_path / f"{table}.csv") == expected


def test_figures_worked_out_by_hand(built) -> None:  # type: ignore[no-untyped-def]
    settings, _ = built
    with connect(settings, write=False) as con:
        scorecard = con.execute(
            "SELECT campaign_id, promise_kept_score, scorecard_rank FROM main.campaign_scorecard "
            "WHERE model = 'first_touch' ORDER BY 3"
        ).fetchall()
        cus_1 = con.execute(
            "SELECT sessions, avg_latency_ms, p95_latency_ms, error_rate, revenue FROM main.customer_experience "
            "WHERE customer_id = 'cus_1'"
        ).fetchone()
        crossing = con.execute(
            "SELECT duration_seconds, events, anonymous_id FROM main.sessions "
            "WHERE customer_id = 'cus_1' AND campaign_id = 'cmp_a'"
        ).fetchone()
        crossing_figures = con.execute(
            "SELECT channel, engaged_seconds, p50_latency_ms, p95_latency_ms, session_id = md5('e01') "
            "FROM main.sessions WHERE customer_id = 'cus_1' AND campaign_id = 'cmp_a'"
        ).fetchall()
        unknown_utm = con.execute(
            "SELECT count(*) FROM main.sessions WHERE anonymous_id = 'a3' AND campaign_id IS NULL"
        ).fetchone()
        nps = con.execute("SELECT nps FROM main.nps_by_area_version ORDER BY product_area").fetchall()
        performance = con.execute(
            "SELECT spend, clicks, customers_acquired, cac, session_roas FROM main.campaign_performance "
            "WHERE campaign_id = 'cmp_a'"
        ).fetchone()
    assert unknown_utm == (1,)  # a UTM campaign that is not in the catalog stays unattributed
    # The fixture's catalog names no promise areas: each campaign is judged on its landing area (onboarding).
    # cmp_a: no error, nothing slow, p95 400 ms, no drop-off, NPS 100 -> 100 * (0.25 + 0.25 + 0.1 + 0.2 + 0.2) = 100;
    # cmp_mail: the same with NPS 0 (one passive) -> 100 - 0.2 * 50 = 90.0; cmp_b: its landing page took 5000 ms
    # (slow share 1, latency score 0) and NPS -100 -> 100 * (0.25 + 0 + 0 + 0.2 + 0) = 45.0.
    assert scorecard == [("cmp_a", 100.0, 1), ("cmp_mail", 90.0, 2), ("cmp_b", 45.0, 3)]
    # Two sessions (a 9-hour gap); latencies 400, 1200, 300: mean 633.3, p95 = 400 + 0.9 * 800 = 1120.
    assert cus_1 is not None and cus_1[:4] == (2, 633.3, 1120.0, 0.0) and float(cus_1[4]) == 80.0
    # 23:50 -> 00:08 crosses midnight in one session; the anonymous events before identify are stitched.
    assert crossing == (18 * 60, 7, "a1")
    # google / cpc: Paid Search; six gaps of 1-5 minutes count 30 s each; latencies 400 and 1200: p95 = 400 + 0.95 *
    # 800; the session id is the md5 of its first event's id
    assert crossing_figures == [("Paid Search", 180, 800.0, 1160.0, True)]
    assert nps == [(0.0,), (0.0,)]  # checkout: one promoter, one detractor; search: one passive
    assert performance is not None and float(performance[0]) == 150.0 and performance[1:] == (70, 1, 150.0, 0.5333)


def test_cycle_date_excludes_later_partitions(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    _land(settings)
    transform.build(settings, date(2026, 3, 2))
    with connect(settings, write=False) as con:
        row = con.execute(
            "SELECT spend, session_purchases, session_revenue FROM main.campaign_performance "
            "WHERE campaign_id = 'cmp_a'"
        ).fetchone()
        feedback = con.execute("SELECT count(*) FROM main.feedback").fetchone()
    assert row is not None and (float(row[0]), row[1], float(row[2])) == (100.0, 0, 0.0)
    assert feedback == (3,)


def _dbt_test(settings: Settings, select: str, target: Path) -> dict[str, dict[str, object]]:
    """``dbt test`` (data tests only) of ``select`` on the warehouse of ``settings``: each test's run result by name."""
    only_data_tests = ("--select", select, "--exclude-resource-type", "unit_test")
    command, env = transform.dbt_command(settings, "test", target, {}, *only_data_tests, as_of=date(2026, 3, 3))
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert (target / "run_results.json").exists(), completed.stdout[-2000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r for r in results if r["unique_id"].startswith("test.")}


def _result(results: dict[str, dict[str, object]], prefix: str) -> dict[str, object]:
    [name] = [name for name in results if name.startswith(prefix)]
    return results[name]


def test_attribution_tests_fail_on_planted_bad_credits(built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """credits_reconcile, every_conversion_credited and attribution_totals_match pass on the built fixture and
    fail on a copy of it with bad credits planted (each counting exactly the planted rows), while the column
    tests, which the planted values satisfy, still pass."""
    settings, result = built
    passed = {n.unique_id.split(".")[2] for n in result.nodes if n.unique_id.startswith("test.") and n.status == "pass"}
    for prefix in ("credits_reconcile_", "every_conversion_credited_", "attribution_totals_match_"):
        assert any(name.startswith(prefix) for name in passed), prefix
    copy = Settings(data_dir=tmp_path / "data")
    copy.ensure_dirs()
    shutil.copy2(settings.warehouse_path, copy.warehouse_path)
    with connect(copy, write=True) as con:
        # cus_3's order (four touches): a linear credit that no longer sums to 1 (0.25 -> 0.3, still within 0-1)
        con.execute(
            "UPDATE main.conversion_credits SET credit = 0.3 WHERE conversion_id = 'purchase:e17' "
            "AND model = 'linear' AND touch_kind = 'email sent'"
        )
        # cus_1's first order: a revenue credit a cent off its revenue (80.00)
        con.execute(
            "UPDATE main.conversion_credits SET revenue_credit = 79.99 WHERE conversion_id = 'first_purchase:e07' "
            "AND model = 'first_touch'"
        )
        # cus_2's sign-up lost under one model
        con.execute(
            "DELETE FROM main.conversion_credits WHERE conversion_id = 'sign_up:e12' AND model = 'position_based'"
        )
        # one purchase credited twice under linear
        con.execute(
            "UPDATE main.campaign_attribution SET attributed_purchases = attributed_purchases + 1 "
            "WHERE campaign_id = 'cmp_a' AND model = 'linear'"
        )
    results = _dbt_test(copy, "conversion_credits campaign_attribution", tmp_path / "target")
    reconcile = _result(results, "credits_reconcile_")
    credited = _result(results, "every_conversion_credited_")
    totals = _result(results, "attribution_totals_match_")
    assert (reconcile["status"], reconcile["failures"]) == ("fail", 2)
    assert (credited["status"], credited["failures"]) == ("fail", 1)
    assert (totals["status"], totals["failures"]) == ("fail", 1)
    others = {name: r["status"] for name, r in results.items() if r not in (reconcile, credited, totals)}
    assert others and set(others.values()) == {"pass"}, others
