"""The dbt build of a cycle: staging, intermediate and marts, with their data and unit tests.

The session models are incremental (``dbt_project/models/intermediate/int_session*``: each build recomputes only
the sessions of the devices whose events changed); ``build(..., full_refresh=True)`` rebuilds them from all events.
``catalog.py`` reads what the project publishes (marts per pillar, columns, lineage) from the project itself.

dbt runs in a subprocess while this process holds the warehouse's exclusive lock: the subprocess exit guarantees
DuckDB's file lock is released (an in-process ``dbtRunner`` keeps its connection open), and the lock keeps every
other loop writer and reader out while models are rebuilt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from loop.errors import LoopError
from loop.orchestrate.supervisor import die_with_parent
from loop.settings import Settings
from loop.warehouse import warehouse_lock


@dataclass(frozen=True)
class NodeResult:
    """One dbt node (model, test, unit test) of a build."""

    unique_id: str
    status: str
    seconds: float
    message: str | None


@dataclass(frozen=True)
class BuildResult:
    """The outcome of one ``dbt build``."""

    as_of: date
    seconds: float
    nodes: tuple[NodeResult, ...]
    full_refresh: bool = False

    @property
    def models(self) -> int:
        return sum(1 for n in self.nodes if n.unique_id.startswith("model."))

    @property
    def tests(self) -> int:
        return sum(1 for n in self.nodes if n.unique_id.startswith(("test.", "unit_test.")))

    def failures(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.status in ("error", "fail", "runtime error"))


def dbt_executable() -> str:
    """The ``dbt`` next to this interpreter (the project's venv), whatever is on PATH."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


#: The environment variable that gives dbt the as-of date (see :func:`dbt_command`).
AS_OF_DATE_ENV = "DBT_LOOP_AS_OF_DATE"


def dbt_command(
    settings: Settings,
    verb: str,
    target: Path,
    variables: dict[str, object],
    *options: str,
    as_of: date | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line of ``dbt <verb>`` on loop's project and the warehouse of ``settings`` (artifacts under
    ``target``, logs next to it), and the environment it runs in.

    The as-of date goes in the environment (``DBT_LOOP_AS_OF_DATE``, read by ``macros/as_of_date.sql``), not in
    ``variables``: it changes every cycle, and dbt re-parses the whole project whenever a ``--vars`` value changes,
    while a changed environment variable re-parses only the files that read it. None: everything landed counts."""
    command = [
        dbt_executable(),
        verb,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(target),
        "--log-path",
        str(target.parent / "logs"),
        "--vars",
        json.dumps(variables),
        *options,
    ]
    env = {**os.environ, "LOOP_WAREHOUSE_PATH": str(settings.warehouse_path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop(AS_OF_DATE_ENV, None)
    if as_of is not None:
        env[AS_OF_DATE_ENV] = as_of.isoformat()
    return command, env


def build(settings: Settings, as_of: date, *, unit_tests: bool = False, full_refresh: bool = False) -> BuildResult:
    """``dbt build`` as of ``as_of``: marts reflect everything landed for dates up to and including it.

    The session models are incremental (they recompute only the sessions of the devices whose events changed);
    ``full_refresh`` rebuilds them from every event (``dbt build --full-refresh``), with the same result.
    Data tests run on every build. dbt unit tests check model logic, not data: they run in the test suite
    (``unit_tests=True``), not in every cycle.
    """
    target = settings.dbt_target_dir
    target.mkdir(parents=True, exist_ok=True)
    variables = {
        "business_timezone": settings.timezone,
        "holdout_share": settings.holdout_share,
        "holdout_seed": settings.holdout_seed,
        "reporting_currency": settings.reporting_currency,
    }
    options = ["--threads", str(settings.dbt_threads), "--log-level-file", settings.dbt_log_level]
    if not unit_tests:
        options += ["--exclude-resource-type", "unit_test"]
    if full_refresh:
        options.append("--full-refresh")
    command, env = dbt_command(settings, "build", target, variables, *options, as_of=as_of)
    run_results = target / "run_results.json"
    _ensure_sources(settings)
    with warehouse_lock(settings.warehouse_path, exclusive=True, timeout=settings.lock_timeout_seconds):
        run_results.unlink(missing_ok=True)  # never read a previous build's results
        # dbt dies with this process: a killed task never leaves a build writing to the warehouse behind it.
        completed = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False, preexec_fn=die_with_parent()
        )
    if not run_results.exists():
        raise LoopError(f"dbt build did not run: {_last_lines(completed.stdout + completed.stderr)}")
    payload = json.loads(run_results.read_text())
    result = BuildResult(
        as_of=as_of,
        full_refresh=full_refresh,
        seconds=float(payload.get("elapsed_time", 0.0)),
        nodes=tuple(
            NodeResult(r["unique_id"], r["status"], float(r.get("execution_time") or 0.0), r.get("message"))
            for r in payload["results"]
        ),
    )
    failures = result.failures()
    if completed.returncode != 0 or failures:
        detail = "; ".join(f"{f.unique_id}: {f.message}" for f in failures[:5]) or _last_lines(completed.stdout)
        raise LoopError(f"dbt build failed (as of {as_of}): {detail}")
    return result


def _ensure_sources(settings: Settings) -> None:
    """The dbt sources that landing does not create (the loop's own actions, enriched feedback texts) exist and are
    up to date before dbt reads them."""
    from loop.activate.actions import ensure_action_tables
    from loop.landing.schema import ensure_tables
    from loop.text.store import enrich_new_texts, ensure_text_table
    from loop.warehouse import connect

    with connect(settings, write=True) as con:
        ensure_tables(con)
        ensure_action_tables(con)
        ensure_text_table(con)
        # Feedback texts landed since the last build get their scrubbed text, language, sentiment and keywords
        # (each distinct text once) before dbt reads enrich.feedback_texts.
        enrich_new_texts(con)


def _last_lines(text: str, count: int = 5) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:])
