"""The ``business_day`` macro: an instant's date in the zone ``loop run`` passes to dbt (``business_timezone``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from loop.settings import Settings
from loop.transform import dbt_executable

INSTANTS = {
    "before_midnight": "2026-03-29T21:30:00Z",  # 23:30 in Berlin (+02:00 since 02:00 that night)
    "after_midnight": "2026-03-29T22:10:00Z",  # 00:10 on 30 March in Berlin
}


def test_business_day_is_the_local_date(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", timezone="Europe/Berlin")
    macro = "{{{{ business_day(\"cast('{}' as timestamptz)\") }}}} as {}"
    columns = ", ".join(macro.format(instant, name) for name, instant in INSTANTS.items())
    completed = subprocess.run(
        [
            dbt_executable(),
            "show",
            "--project-dir",
            str(settings.dbt_project_dir),
            "--profiles-dir",
            str(settings.dbt_project_dir),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--inline",
            f"select {columns}",
            "--vars",
            json.dumps({"business_timezone": settings.timezone}),
            "--output",
            "json",
            "--quiet",
        ],
        env={
            **os.environ,
            "LOOP_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [row] = json.loads(completed.stdout)["show"]
    assert row == {"before_midnight": "2026-03-29", "after_midnight": "2026-03-30"}  # UTC would say 29 for both
