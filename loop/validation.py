"""Great Expectations validation of each pillar's published dataset.

Suites live in ``expectations/<pillar>/<table>.json`` (GX ExpectationSuite JSON, one per published table). The
marts are read from DuckDB into pandas DataFrames (:func:`loop.publish.read_marts`) and validated with GX's
pandas datasource, which evaluates every row. GX's SQL datasource is not used: on DuckDB (duckdb-engine) it reads
results after the connection closed, gets no rows and every expectation errors (GX issues #10738, #11579).

A pillar passes only when every expectation of every suite succeeded; an expectation that raised, a missing
table or a missing suite is a failure, never a pass. The full GX results are written per run to
``<validation_dir>/<run_id>/<pillar>.json``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop.errors import LoopError
from loop.publish import PILLAR_DATASETS

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations import ExpectationSuite


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result on one table."""

    table: str
    expectation: str
    column: str | None
    success: bool
    observed: str


@dataclass(frozen=True)
class PillarValidation:
    """A pillar's validation: every suite of the pillar on its tables."""

    pillar: str
    run_id: str
    success: bool
    evaluated: int
    failed: int
    outcomes: tuple[ExpectationOutcome, ...]
    result_path: Path

    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.success)

    def summary(self) -> str:
        if self.success:
            return f"{self.pillar}: all {self.evaluated} expectations passed."
        shown = "; ".join(
            f"{o.table}.{o.column or '*'} {o.expectation.removeprefix('expect_')}: {o.observed}"
            for o in self.failures()[:4]
        )
        more = f"; and {self.failed - 4} more" if self.failed > 4 else ""
        return f"{self.pillar}: {self.failed} of {self.evaluated} expectations failed ({shown}{more})."


def _check_pillar(pillar: str) -> None:
    if pillar not in PILLAR_DATASETS:
        raise ValueError(f"Unknown pillar {pillar!r}; valid pillars are {', '.join(PILLAR_DATASETS)}.")


def _gx() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def load_suites(pillar: str, expectations_dir: Path) -> dict[str, ExpectationSuite]:
    """The pillar's suites by table name; a missing suite file is an error."""
    _check_pillar(pillar)
    gx = _gx()
    suites: dict[str, ExpectationSuite] = {}
    for table in PILLAR_DATASETS[pillar]:
        path = expectations_dir / pillar / f"{table}.json"
        if not path.exists():
            raise LoopError(f"The {pillar} pillar has no expectation suite for {table} at {path}.")
        data = json.loads(path.read_text())
        suites[table] = gx.ExpectationSuite(
            name=data["name"], expectations=data["expectations"], meta=data.get("meta", {})
        )
    return suites


def _observed(result: dict[str, Any], exception: dict[str, Any]) -> str:
    if exception.get("raised_exception"):
        message = str(exception.get("exception_message") or "error").splitlines()[0]
        return f"raised an error: {message[:200]}"
    if "unexpected_count" in result and result.get("unexpected_count"):
        total = result.get("element_count", "?")
        sample = result.get("partial_unexpected_list") or []
        return f"{result['unexpected_count']} of {total} values unexpected, e.g. {sample[:5]}"
    if "observed_value" in result:
        observed = result["observed_value"]
        text = json.dumps(observed, default=str) if not isinstance(observed, str) else observed
        details = result.get("details") or {}
        mismatched = details.get("mismatched") if isinstance(details, dict) else None
        if mismatched:
            text += f" (mismatched: {json.dumps(mismatched, default=str)})"
        return f"observed {text[:300]}"
    return "failed"


def validate_pillar(
    pillar: str,
    frames: Mapping[str, pd.DataFrame],
    *,
    run_id: str,
    expectations_dir: Path,
    results_dir: Path,
) -> PillarValidation:
    """Run every suite of ``pillar`` on its DataFrames; write the GX results; return the outcome (never raises
    on failed expectations: the caller decides to block publication)."""
    _check_pillar(pillar)
    gx = _gx()
    suites = load_suites(pillar, expectations_dir)
    context = gx.get_context(mode="ephemeral")
    _quiet(context)
    source = context.data_sources.add_pandas(name=f"loop_{pillar}")
    outcomes: list[ExpectationOutcome] = []
    documents: dict[str, Any] = {}
    for table, suite in suites.items():
        frame = frames.get(table)
        if frame is None:
            outcomes.append(ExpectationOutcome(table, "table_is_present", None, False, "table missing"))
            documents[table] = {"success": False, "error": f"table {table} was not provided"}
            continue
        batch_definition = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe("all")
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite)
        documents[table] = result.to_json_dict()
        for item in result.results:
            config = item.expectation_config
            exception = item.exception_info if isinstance(item.exception_info, dict) else {}
            if "raised_exception" not in exception and exception:  # GX keys per metric: flatten
                exception = next(iter(exception.values()), {})
            raised = bool(exception.get("raised_exception"))
            column = config.kwargs.get("column") or config.kwargs.get("column_A")
            outcomes.append(
                ExpectationOutcome(
                    table=table,
                    expectation=config.type,
                    column=column,
                    success=bool(item.success) and not raised,
                    observed=_observed(dict(item.result or {}), exception),
                )
            )
    failed = sum(1 for o in outcomes if not o.success)
    safe_run = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")
    result_path = results_dir / safe_run / f"{pillar}.json"
    result_path.parent.mkdir(parents=True, exist_ok=True)
    result_path.write_text(
        json.dumps(
            {"pillar": pillar, "run_id": run_id, "success": failed == 0, "tables": documents},
            indent=2,
            default=str,
        )
    )
    return PillarValidation(
        pillar=pillar,
        run_id=run_id,
        success=failed == 0 and bool(outcomes),
        evaluated=len(outcomes),
        failed=failed,
        outcomes=tuple(outcomes),
        result_path=result_path,
    )


def _quiet(context: Any) -> None:
    """No progress bars in task logs."""
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    except (ImportError, AttributeError):  # pragma: no cover - cosmetic only
        pass
