"""The Great Expectations suites of each pillar, read from ``expectations/<pillar>/<table>.json``.

dbt and GX do not check the same things twice. A published table's columns, types and row-level rules (keys,
accepted values and ranges, relationships) are declared once, in its mart's YAML (an enforced dbt contract and
dbt data tests). A suite holds what dbt cannot express well:

* **distributions** of the table as a whole (quantiles, means, shares of nulls) within bands calibrated on the
  sample data and explained in each expectation's ``meta``;
* **cross-table** checks, declared as derived frames in the suite's ``meta.frames`` and validated with ordinary
  GX expectations (GX 1.x has no pandas expectation across two tables).

The column list is not written in a suite: :func:`load_suites` adds ``expect_table_columns_to_match_ordered_list``
from the mart's YAML (:mod:`loop.transform.catalog`), so a column added, dropped or moved fails validation.

A derived frame joins aggregates of one or more tables on a key::

    {"name": "acquired_matches_performance",
     "description": "...",
     "key": ["campaign_id"],
     "join": "full",                         # or "left": keys of the first side only
     "sides": [
       {"table": "campaign_scorecard", "key": ["campaign_id"],
        "columns": {"scorecard_acquired": "sum(customers_acquired)"}},
       {"table": "campaign_performance", "key": ["campaign_id"], "where": "...", "absent": 0,
        "columns": {"performance_acquired": "sum(customers_acquired)"}}
     ],
     "expectations": [{"type": "expect_column_pair_values_to_be_equal",
                       "kwargs": {"column_A": "scorecard_acquired", "column_B": "performance_acquired"}}]}

Each side groups its table by its key (aggregate SQL expressions over the table's published columns, an optional
``where``); the sides are joined on the key (null keys match each other); ``absent`` replaces a side's values for
keys the side does not have (``0`` for counts), otherwise they stay null and an equality fails. With an empty key
each side is one row. Frames may read the tables of the pillars in the validated pillar's lineage
(:func:`loop.transform.catalog.pillar_lineage`); the caller passes them to :func:`loop.validation.validate_pillar`.
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
from loop.settings import PUBLISHED_PILLARS
from loop.transform import catalog

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations import ExpectationSuite

#: The expectation :func:`load_suites` derives from the mart's YAML; suites must not declare a column list.
COLUMN_LIST_EXPECTATION = "expect_table_columns_to_match_ordered_list"
_COLUMN_LIST_TYPES = ("expect_table_columns_to_match_set", COLUMN_LIST_EXPECTATION)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: Expectation kwargs that name a column of the validated frame.
COLUMN_KWARGS = ("column", "column_A", "column_B")
COLUMN_LIST_KWARGS = ("column_list",)


#: Functions a frame's SQL may use besides DuckDB's own. ``share_low(k, n)`` and ``share_high(k, n)`` bound the
#: share ``k / n`` with a Wilson score interval at z = 3 (99.7 %): a band on a share is violated only when the data
#: are statistically incompatible with it, so a handful of answers on the first days cannot trip it while a real
#: shift on a day's volume does. Both are null when ``n`` is 0.
SQL_MACROS = (
    "CREATE MACRO share_low(k, n) AS "
    "(k + 4.5 - 3 * sqrt(k::double * (n - k) / nullif(n, 0) + 2.25)) / nullif(n + 9, 9)",
    "CREATE MACRO share_high(k, n) AS "
    "(k + 4.5 + 3 * sqrt(k::double * (n - k) / nullif(n, 0) + 2.25)) / nullif(n + 9, 9)",
)


@dataclass(frozen=True)
class Side:
    """One table of a derived frame, grouped by its key."""

    table: str
    key: tuple[str, ...]
    columns: dict[str, str]
    """Output column -> aggregate SQL expression over the table."""
    where: str | None = None
    absent: Any = None
    """Value of this side's columns for keys it does not have (None: stay null)."""


@dataclass(frozen=True)
class DerivedFrame:
    """A frame computed from one or more published tables, validated with its own expectations."""

    name: str
    description: str
    key: tuple[str, ...]
    join: str
    sides: tuple[Side, ...]
    suite: ExpectationSuite

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(side.table for side in self.sides))

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key, *(name for side in self.sides for name in side.columns))

    def sql(self) -> str:
        """DuckDB SQL over the side tables (registered under their names)."""
        ctes = []
        for number, side in enumerate(self.sides):
            keys = [f"{_ident(col)} AS {_ident(name)}" for col, name in zip(side.key, self.key, strict=True)]
            values = [f"{expression} AS {_ident(name)}" for name, expression in side.columns.items()]
            where = f" WHERE {side.where}" if side.where else ""
            group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
            ctes.append(f"s{number} AS (SELECT {', '.join(keys + values)} FROM {_ident(side.table)}{where}{group})")
        select = []
        for name in self.key:
            if self.join == "left":
                select.append(f"s0.{_ident(name)} AS {_ident(name)}")
            else:
                each = ", ".join(f"s{n}.{_ident(name)}" for n in range(len(self.sides)))
                select.append(f"coalesce({each}) AS {_ident(name)}")
        joins = "s0"
        for number, side in enumerate(self.sides):
            for name in side.columns:
                value = f"s{number}.{_ident(name)}"
                if side.absent is not None:
                    value = f"coalesce({value}, {_literal(side.absent)})"
                select.append(f"{value} AS {_ident(name)}")
            if number == 0:
                continue
            if not self.key:
                joins += f" CROSS JOIN s{number}"
                continue
            conditions = []
            for name in self.key:
                earlier = ", ".join(f"s{n}.{_ident(name)}" for n in range(number))
                left = f"s0.{_ident(name)}" if self.join == "left" or number == 1 else f"coalesce({earlier})"
                conditions.append(f"{left} IS NOT DISTINCT FROM s{number}.{_ident(name)}")
            how = "LEFT JOIN" if self.join == "left" else "FULL JOIN"
            joins += f" {how} s{number} ON {' AND '.join(conditions)}"
        order = f" ORDER BY {', '.join(str(i + 1) for i in range(len(self.key)))}" if self.key else ""
        return f"WITH {', '.join(ctes)} SELECT {', '.join(select)} FROM {joins}{order}"

    def compute(self, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        """The frame, computed in an in-memory DuckDB from the given DataFrames (only the sides' tables)."""
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            for macro in SQL_MACROS:
                con.execute(macro)
            for table in self.tables:
                con.register(table, frames[table])
            return con.sql(self.sql()).df()
        finally:
            con.close()


@dataclass(frozen=True)
class TableSuite:
    """A published table's suite: expectations on the table itself and its derived frames."""

    pillar: str
    table: str
    suite: ExpectationSuite
    """Starts with the column list derived from the mart's YAML, then the suite file's expectations."""
    frames: tuple[DerivedFrame, ...]
    meta: dict[str, Any]

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table this suite reads: its own and those of its frames."""
        return tuple(dict.fromkeys([self.table, *(t for frame in self.frames for t in frame.tables)]))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise LoopError(f"absent must be a number or a string, not {value!r}")
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _gx() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def check_pillar(pillar: str) -> None:
    if pillar not in PUBLISHED_PILLARS:
        raise ValueError(f"Unknown pillar {pillar!r}; valid pillars are {', '.join(PUBLISHED_PILLARS)}.")


def _columns_named(expectation: Mapping[str, Any]) -> set[str]:
    kwargs = expectation.get("kwargs") or {}
    named = {str(kwargs[k]) for k in COLUMN_KWARGS if kwargs.get(k) is not None}
    for k in COLUMN_LIST_KWARGS:
        named |= {str(c) for c in kwargs.get(k) or []}
    return named


def _check_expectations(where: str, expectations: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    for expectation in expectations:
        kind = expectation.get("type")
        if kind in _COLUMN_LIST_TYPES:
            raise LoopError(
                f"{where} declares {kind}; the column list is derived from the mart's YAML, remove it from the suite."
            )
        unknown = _columns_named(expectation) - set(columns)
        if unknown:
            raise LoopError(f"{where}: {kind} names column(s) {sorted(unknown)} it does not have.")


def _frame(pillar: str, table: str, spec: dict[str, Any], path: Path) -> DerivedFrame:
    gx = _gx()
    name = str(spec.get("name", ""))
    where = f"{path}: frame {name!r}"
    if not _NAME.match(name):
        raise LoopError(f"{where}: a frame needs a lower_snake_case name.")
    key = tuple(spec.get("key") or ())
    join = spec.get("join", "full")
    if join not in ("full", "left"):
        raise LoopError(f"{where}: join is 'full' or 'left', not {join!r}.")
    allowed = {t for p in catalog.pillar_lineage(pillar) for t in catalog.pillar_tables()[p]}
    sides = []
    for raw in spec.get("sides") or []:
        side_table = str(raw.get("table"))
        if side_table not in allowed:
            raise LoopError(
                f"{where} reads {side_table!r}, which is not a published table of the {pillar} pillar's lineage "
                f"({', '.join(catalog.pillar_lineage(pillar))})."
            )
        side_key = tuple(raw.get("key") or ())
        if len(side_key) != len(key):
            raise LoopError(f"{where}: the {side_table} side has key {list(side_key)}, the frame {list(key)}.")
        published = {c.name for c in catalog.mart(side_table).columns}
        if not set(side_key) <= published:
            raise LoopError(f"{where}: {side_table} has no column(s) {sorted(set(side_key) - published)}.")
        columns = {str(k): str(v) for k, v in (raw.get("columns") or {}).items()}
        if not columns or not all(_NAME.match(c) for c in columns):
            raise LoopError(f"{where}: the {side_table} side needs lower_snake_case computed columns.")
        sides.append(Side(side_table, side_key, columns, raw.get("where"), raw.get("absent")))
    if not sides:
        raise LoopError(f"{where}: a frame needs at least one side.")
    outputs = [*key, *(c for side in sides for c in side.columns)]
    if len(set(outputs)) != len(outputs):
        raise LoopError(f"{where}: column names repeat across the key and the sides: {outputs}.")
    expectations = list(spec.get("expectations") or [])
    if not expectations:
        raise LoopError(f"{where}: a frame without expectations checks nothing.")
    _check_expectations(where, expectations, tuple(outputs))
    suite = gx.ExpectationSuite(name=f"{pillar}.{table}.{name}", expectations=expectations)
    return DerivedFrame(name, " ".join(str(spec.get("description", "")).split()), key, join, tuple(sides), suite)


def load_suite(pillar: str, table: str, expectations_dir: Path) -> TableSuite:
    """One table's suite, with the column list added from the mart's YAML; a missing file is an error."""
    gx = _gx()
    path = expectations_dir / pillar / f"{table}.json"
    if not path.exists():
        raise LoopError(f"The {pillar} pillar has no expectation suite for {table} at {path}.")
    data = json.loads(path.read_text())
    published = tuple(c.name for c in catalog.mart(table).columns)
    expectations = list(data.get("expectations") or [])
    _check_expectations(str(path), expectations, published)
    meta = dict(data.get("meta") or {})
    frames = tuple(_frame(pillar, table, spec, path) for spec in meta.get("frames") or [])
    if len({f.name for f in frames}) != len(frames):
        raise LoopError(f"{path}: two frames have the same name.")
    column_list = {
        "type": COLUMN_LIST_EXPECTATION,
        "kwargs": {"column_list": list(published)},
        "meta": {"why": "the published schema: the mart's YAML (enforced dbt contract), in order", "derived": True},
    }
    suite = gx.ExpectationSuite(name=data.get("name") or f"{pillar}.{table}", expectations=[column_list, *expectations])
    return TableSuite(pillar=pillar, table=table, suite=suite, frames=frames, meta=meta)


def load_suites(pillar: str, expectations_dir: Path) -> dict[str, TableSuite]:
    """The pillar's suites by table name (the pillar's marts, from the dbt project)."""
    check_pillar(pillar)
    return {table: load_suite(pillar, table, expectations_dir) for table in catalog.pillar_tables()[pillar]}


def required_tables(pillar: str, expectations_dir: Path) -> tuple[str, ...]:
    """Every table the pillar's validation reads: its marts, then the lineage tables its frames join."""
    tables: dict[str, None] = dict.fromkeys(catalog.pillar_tables()[pillar])
    for suite in load_suites(pillar, expectations_dir).values():
        tables.update(dict.fromkeys(suite.tables))
    return tuple(tables)
