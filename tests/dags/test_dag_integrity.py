"""DAG integrity: every DAG in dags/ imports without error, parses fast and has the shape loop relies on."""

from __future__ import annotations

import os
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    import airflow.sdk  # noqa: F401  (warm the SDK import so parse timings measure the DAG files alone)
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_every_dag_imports(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert dagbag.dag_ids, "no DAG found in dags/"


def test_every_dag_file_parses_in_under_a_second(dagbag) -> None:  # type: ignore[no-untyped-def]
    slow = {Path(stat.file).name: stat.duration.total_seconds() for stat in dagbag.dagbag_stats}
    assert slow and all(seconds < 1.0 for seconds in slow.values()), slow


def test_every_dag_is_documented_and_tagged(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and dag.doc_md.strip().startswith("###"), dag_id
        assert "loop" in dag.tags, dag_id


def test_loop_cycle_shape(dagbag) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk import CronDataIntervalTimetable

    dag = dagbag.dags["loop_cycle"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)  # daily data intervals, chosen on purpose
    assert dag.max_active_runs == 1 and dag.catchup is False
    tasks = dag.task_dict
    for pillar in ("marketing", "experience", "product"):
        assert tasks[f"land_{pillar}"].downstream_task_ids == {"build"}
    pillars = ("marketing", "experience", "product", "cycle")
    assert tasks["build"].downstream_task_ids == {f"validate_{p}" for p in pillars}
    # Each publication waits for the validation of every pillar its marts are built from (their dbt lineage).
    assert tasks["publish_marketing"].upstream_task_ids == {"validate_marketing", "validate_experience"}
    assert tasks["publish_experience"].upstream_task_ids == {"validate_marketing", "validate_experience"}
    assert tasks["publish_product"].upstream_task_ids == {
        "validate_marketing",
        "validate_experience",
        "validate_product",
    }
    assert tasks["publish_cycle"].upstream_task_ids == {f"validate_{p}" for p in pillars}
    for pillar in pillars:
        publish = tasks[f"publish_{pillar}"]
        assert publish.trigger_rule == "all_success"  # a failed validation upstream keeps the pillar unpublished
        [asset] = publish.outlets
        assert asset.uri.startswith("file:///") and asset.uri.endswith(f"/published/{pillar}/manifest.json")
    # Audiences are exported only from a published cycle, by their own task, whose files are an Asset.
    assert tasks["activate"].upstream_task_ids == {"publish_cycle"}
    [exports] = tasks["activate"].outlets
    assert exports.uri.startswith("file:///") and exports.uri.endswith("/exports")
    for task in tasks.values():
        assert task.retries >= 1 and task.retry_exponential_backoff  # lock waits and API hiccups are retried


def test_the_published_cycle_triggers_its_digest(dagbag) -> None:  # type: ignore[no-untyped-def]
    """Data-aware: the cycle pillar's publication (an Asset with the manifest's real URI) triggers loop_digest."""
    cycle = dagbag.dags["loop_cycle"]
    digest = dagbag.dags["loop_digest"]
    [published] = cycle.task_dict["publish_cycle"].outlets
    assert [asset.uri for asset in digest.timetable.asset_condition.objects] == [published.uri]


def test_dag_files_do_no_heavy_work_at_import() -> None:
    for path in DAGS_DIR.glob("*.py"):
        header = path.read_text().split("@dag(")[0]
        for heavy in ("import duckdb", "import great_expectations", "import pandas", "from loop"):
            module_level = [line for line in header.splitlines() if line.startswith(heavy)]
            assert not module_level, f"{path.name} imports {heavy!r} at module level"


def test_loop_cycle_days_are_business_days(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With LOOP_TIMEZONE set, the cycle's data intervals run from local midnight to local midnight."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow_home"))
    monkeypatch.setenv("LOOP_TIMEZONE", "America/Sao_Paulo")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR / "loop_cycle.py"))
    assert bag.import_errors == {}
    dag = bag.dags["loop_cycle"]
    assert str(dag.timetable.timezone) == "America/Sao_Paulo"
    start = dag.start_date.astimezone(ZoneInfo("America/Sao_Paulo"))
    assert (start.date(), start.time()) == (date(2026, 1, 1), time(0))  # local midnight (03:00 UTC)
