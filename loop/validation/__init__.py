"""Great Expectations validation of each pillar's published dataset.

What is checked where (one declaration per rule):

* **dbt** (the marts' YAML, run by every ``dbt build``): each table's columns and types (an enforced contract) and
  its row-level rules: keys unique and not null, accepted values and ranges, relationships between marts. A
  failure stops the build.
* **GX** (``expectations/<pillar>/<table>.json``, run here after the build): the published column list, in order,
  derived from the same YAML (:mod:`loop.validation.suites` adds it; suites never copy it); distributions of each
  table within calibrated bands; and cross-table agreement, computed as derived frames from the marts of the
  pillar and of the pillars in its lineage. A failure blocks the pillar's publication only.

The marts are read from DuckDB into pandas DataFrames (:func:`read_frames`) and validated with GX's pandas
datasource, which evaluates every row. GX's SQL datasource is not used: on DuckDB (duckdb-engine) it reads results
after the connection closed, gets no rows and every expectation errors (GX issues #10738, #11579).

A pillar passes only when every expectation of every suite and frame succeeded; an expectation that raised, a
frame that could not be computed, a missing table or a missing suite is a failure, never a pass. The full GX
results are written per run to ``<validation_dir>/<run_id>/<pillar>.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop.settings import Settings
from loop.validation.suites import (
    DerivedFrame,
    TableSuite,
    _gx,
    check_pillar,
    load_suite,
    load_suites,
    required_tables,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DerivedFrame",
    "ExpectationOutcome",
    "PillarValidation",
    "TableSuite",
    "load_suite",
    "load_suites",
    "read_frames",
    "required_tables",
    "validate_pillar",
]


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result on one table (or on one of its derived frames)."""

    table: str
    expectation: str
    column: str | None
    success: bool
    observed: str
    frame: str | None = None
    """The derived frame the expectation ran on; None for the table itself."""

    @property
    def target(self) -> str:
        return f"{self.table}/{self.frame}" if self.frame else self.table


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
            f"{o.target}.{o.column or '*'} {o.expectation.removeprefix('expect_')}: {o.observed}"
            for o in self.failures()[:4]
        )
        more = f"; and {self.failed - 4} more" if self.failed > 4 else ""
        return f"{self.pillar}: {self.failed} of {self.evaluated} expectations failed ({shown}{more})."


def read_frames(settings: Settings, pillar: str) -> dict[str, pd.DataFrame]:
    """The DataFrames ``validate_pillar`` needs for ``pillar``: its marts and the lineage marts its frames join,
    read from the warehouse under the shared lock."""
    from loop.warehouse import connect

    check_pillar(pillar)
    tables = required_tables(pillar, settings.expectations_dir)
    with connect(settings, write=False) as con:
        return {table: con.sql(f'SELECT * FROM main."{table}"').df() for table in tables}


def _observed(result: dict[str, Any], exception: dict[str, Any]) -> str:
    if exception.get("raised_exception"):
        message = str(exception.get("exception_message") or "error").splitlines()[0]
        return f"raised an error: {message[:200]}"
    if "unexpected_count" in result and result.get("unexpected_count"):
        total = result.get("element_count", "?")
        rows = result.get("unexpected_index_list") or result.get("partial_unexpected_list") or []
        return f"{result['unexpected_count']} of {total} values unexpected, e.g. {json.dumps(rows[:3], default=_plain)}"
    if "observed_value" in result:
        observed = result["observed_value"]
        text = json.dumps(observed, default=_plain) if not isinstance(observed, str) else observed
        details = result.get("details") or {}
        mismatched = details.get("mismatched") if isinstance(details, dict) else None
        if mismatched:
            text += f" (mismatched: {json.dumps(mismatched, default=_plain)})"
        return f"observed {text[:300]}"
    if "element_count" in result and not result.get("unexpected_count"):
        return f"all {result['element_count']} values as expected"
    return "failed"


def _outcomes(table: str, frame: str | None, result: Any) -> list[ExpectationOutcome]:
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        exception = item.exception_info if isinstance(item.exception_info, dict) else {}
        if "raised_exception" not in exception and exception:  # GX keys per metric: any raised is a failure
            raised_ones = [e for e in exception.values() if isinstance(e, dict) and e.get("raised_exception")]
            exception = raised_ones[0] if raised_ones else next(iter(exception.values()), {})
        raised = bool(exception.get("raised_exception"))
        column = config.kwargs.get("column") or config.kwargs.get("column_A")
        outcomes.append(
            ExpectationOutcome(
                table=table,
                expectation=config.type,
                column=column,
                success=bool(item.success) and not raised,
                observed=_observed(dict(item.result or {}), exception),
                frame=frame,
            )
        )
    return outcomes


def _failed_all(table: str, frame: DerivedFrame | None, suite: Any, reason: str) -> list[ExpectationOutcome]:
    """Every expectation of a suite that could not run, as a failure."""
    return [
        ExpectationOutcome(
            table=table,
            expectation=e.expectation_type,
            column=e.configuration.kwargs.get("column") or e.configuration.kwargs.get("column_A"),
            success=False,
            observed=reason,
            frame=frame.name if frame else None,
        )
        for e in suite.expectations
    ]


def validate_pillar(
    pillar: str,
    frames: Mapping[str, pd.DataFrame],
    *,
    run_id: str,
    expectations_dir: Path,
    results_dir: Path,
) -> PillarValidation:
    """Run every suite of ``pillar`` on its DataFrames and every derived frame on the tables it joins (``frames``
    holds the pillar's marts and the lineage marts its frames read: :func:`read_frames`); write the GX results;
    return the outcome (never raises on failed expectations: the caller decides to block publication)."""
    check_pillar(pillar)
    gx = _gx()
    suites = load_suites(pillar, expectations_dir)
    context = gx.get_context(mode="ephemeral")
    _quiet(context)
    source = context.data_sources.add_pandas(name=f"loop_{pillar}")
    outcomes: list[ExpectationOutcome] = []
    tables: dict[str, Any] = {}
    derived: dict[str, Any] = {}

    def run(name: str, frame: pd.DataFrame, suite: Any, index: tuple[str, ...] = ()) -> Any:
        batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("all")
        result_format: dict[str, Any] = {"result_format": "SUMMARY"}
        if index:
            result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": list(index)}
        return batch.get_batch(batch_parameters={"dataframe": frame}).validate(suite, result_format=result_format)

    for table, table_suite in suites.items():
        frame = frames.get(table)
        if frame is None:
            outcomes.append(ExpectationOutcome(table, "table_is_present", None, False, "table missing"))
            tables[table] = {"success": False, "error": f"table {table} was not provided"}
        else:
            result = run(table, frame, table_suite.suite)
            tables[table] = result.to_json_dict()
            outcomes += _outcomes(table, None, result)
        for spec in table_suite.frames:
            label = f"{table}/{spec.name}"
            document: dict[str, Any] = {"description": spec.description, "tables": list(spec.tables), "sql": spec.sql()}
            missing = [t for t in spec.tables if t not in frames]
            if missing:
                reason = f"table(s) {', '.join(missing)} not provided (pass loop.validation.read_frames)"
                outcomes += _failed_all(table, spec, spec.suite, reason)
                derived[label] = document | {"success": False, "error": reason}
                continue
            try:
                computed = spec.compute(frames)
            except Exception as error:  # a frame that cannot be computed fails its expectations
                reason = f"the frame could not be computed: {str(error).splitlines()[0][:200]}"
                outcomes += _failed_all(table, spec, spec.suite, reason)
                derived[label] = document | {"success": False, "error": reason}
                continue
            result = run(f"{table}__{spec.name}", computed, spec.suite, spec.key)
            derived[label] = document | {"rows": len(computed), **result.to_json_dict()}
            outcomes += _outcomes(table, spec.name, result)
    failed = sum(1 for o in outcomes if not o.success)
    safe_run = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")
    result_path = results_dir / safe_run / f"{pillar}.json"
    result_path.parent.mkdir(parents=True, exist_ok=True)
    result_path.write_text(
        json.dumps(
            {"pillar": pillar, "run_id": run_id, "success": failed == 0, "tables": tables, "frames": derived},
            indent=2,
            default=_plain,
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


def _plain(value: Any) -> Any:
    """JSON for what GX leaves in its results: numpy numbers and booleans as Python values (``numpy.bool_`` would
    otherwise be written as the string "False"), anything else as text."""
    import numpy as np

    if isinstance(value, np.bool_ | np.integer | np.floating):
        return value.item()
    return str(value)


def _quiet(context: Any) -> None:
    """No progress bars in task logs."""
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    except (ImportError, AttributeError):  # pragma: no cover - cosmetic only
        pass
