"""The `loop` command: a thin CLI; errors are one sentence, never a traceback."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from loop import publish
from loop.cli import main
from loop.landing import land_pillar
from loop.settings import Settings
from loop.warehouse import connect

from .conftest import FIXTURES, empty_marts


@pytest.fixture
def env_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LOOP_DATA_DIR", str(settings.root))
    return settings


@pytest.fixture
def published(env_settings: Settings) -> Settings:
    empty_marts(env_settings, "cycle", besides=("campaign_scorecard",))
    with connect(env_settings, write=True) as con:
        con.execute(
            "CREATE TABLE main.campaign_scorecard AS SELECT * FROM (VALUES "
            "('cmp_a', 'paid_search', 'fast delivery', 1, 80.5), ('cmp_b', 'email', '10% off', 2, 40.0)) "
            "t(campaign_id, channel, promise, scorecard_rank, promise_kept_score)"
        )
    day = date(2026, 3, 2)
    publish.publish(env_settings, "cycle", cycle_date=day, as_of=day, run_id="r1", attempt="r1#0")
    return env_settings


def test_query_prints_a_table(published: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "select campaign_id, promise_kept_score from campaign_scorecard order by 1"]) == 0
    out = capsys.readouterr().out
    assert "cmp_a" in out and "80.5" in out and "cmp_b" in out


def test_query_csv_and_limit(published: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "select campaign_id from cycle.campaign_scorecard order by 1", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["campaign_id", "cmp_a", "cmp_b"]
    assert main(["query", "select * from campaign_scorecard", "--limit", "1"]) == 0
    assert "first 1 rows" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("drop view campaign_scorecard", "this is a DROP statement"),
        ("copy campaign_scorecard to 'x.csv'", "this is a COPY statement"),
        ("select * from read_csv('/etc/passwd')", "reads only the published tables"),
        ("select * from nowhere", "The query failed: Catalog Error"),
    ],
)
def test_query_errors_are_one_sentence(
    published: Settings, capsys: pytest.CaptureFixture[str], sql: str, message: str
) -> None:
    assert main(["query", sql]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_export_parquet_and_csv(published: Settings, tmp_path: Path) -> None:
    assert main(["export", "cycle", "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "csv" / "campaign_scorecard.csv").read_text().startswith("campaign_id,channel,promise")
    assert main(["export", "cycle", "--out", str(tmp_path / "pq")]) == 0
    assert (tmp_path / "pq" / "campaign_scorecard.parquet").stat().st_size > 0


def test_export_unpublished_pillar(env_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "product", "--out", str(env_settings.root / "x")]) == 1
    assert "has not been published yet" in capsys.readouterr().err


def test_status_reports_landing(env_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(FIXTURES / "landing", env_settings.landing_dir, dirs_exist_ok=True)
    for pillar in ("marketing", "experience", "product"):
        land_pillar(env_settings, pillar, date(2026, 3, 2), run_id="r1")
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "2026-03-02" in out and "events" in out and "late event" in out and "never" in out


def test_status_before_anything_ran(env_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    with connect(env_settings, write=True):
        pass
    assert main(["status"]) == 0
    assert "No cycles have run yet" in capsys.readouterr().out


def test_run_without_landed_files_is_a_clear_error(env_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 1
    assert "No landed files" in capsys.readouterr().err


def test_bad_date_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--date", "yesterday"])
    assert "is not a date like 2026-03-02" in capsys.readouterr().err


def test_installed_entry_point(settings: Settings) -> None:
    loop = Path(sys.executable).with_name("loop")
    completed = subprocess.run(
        [str(loop), "query", "select 1"],
        capture_output=True,
        text=True,
        env={**os.environ, "LOOP_DATA_DIR": str(settings.root)},
    )
    assert completed.returncode == 1
    assert "Nothing is published" in completed.stderr and "Traceback" not in completed.stderr


def test_export_feedback_pulls_a_filtered_file_with_its_manifest(
    env_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .publish.conftest import make_feedback, publish_product

    make_feedback(env_settings)
    publish_product(env_settings, date(2026, 3, 5))
    out = tmp_path / "pulls" / "checkout and billing.csv"
    argv = ["export", "feedback", "--since", "2026-03-02", "--area", "checkout,billing", "--kind", "ticket"]
    assert main([*argv, "--kind", "review", "--format", "csv", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 rows" in printed and "pseudonymized: customer_id" in printed
    with out.open(newline="") as handle:
        assert sorted(row["feedback_id"] for row in csv.DictReader(handle)) == ["fb-2", "fb-3"]
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    assert manifest["filters"]["areas"] == ["checkout", "billing"] and manifest["filters"]["kinds"] == [
        "ticket",
        "review",
    ]
    assert main(["export", "feedback", "--area", "nowhere", "--out", str(tmp_path / "x.parquet")]) == 1
    err = capsys.readouterr().err
    assert "--area 'nowhere'" in err and "Traceback" not in err
    assert main(["export", "cycle", "--since", "2026-03-02"]) == 1
    assert "--since goes with `loop export feedback`" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "port"), [("ui", "99999"), ("collect", "-3"), ("ui", "http")])
def test_a_port_out_of_range_is_refused_before_anything_starts(
    command: str, port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([command, "--port", port])
    assert stopped.value.code == 2
    assert "is not a port" in capsys.readouterr().err
