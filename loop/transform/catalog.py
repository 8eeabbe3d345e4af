"""What the dbt project publishes, read from the project itself (no copies): marts per pillar, their columns, and
the pillars each mart is built from.

* A pillar's published tables are the models of ``models/marts/<pillar>/`` (one ``_<pillar>__models.yml`` each).
* A table's columns, types and descriptions are its YAML entry (an enforced dbt contract).
* A table's **lineage** is the set of pillars whose raw sources it is built from, followed through ``ref()`` and
  ``source()`` in the models' SQL. A mart is published only if every pillar of its lineage passed validation.

Reading is cheap (a few small files, parsed with a regular expression and YAML) so the Airflow DAG file can use
it at parse time to wire each publication to the validations it depends on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from loop.errors import LoopError
from loop.settings import PROJECT_ROOT, PUBLISHED_PILLARS

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
#: ``ref('model')`` and ``source('pillar', 'table')`` calls, wherever they sit in a model's Jinja.
_REF = re.compile(r"""\bref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")
_SOURCE = re.compile(r"""\bsource\(\s*['"]([A-Za-z0-9_]+)['"]\s*,\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")


@dataclass(frozen=True)
class Column:
    """A published column as its mart's YAML declares it."""

    name: str
    data_type: str
    description: str


@dataclass(frozen=True)
class Mart:
    """A published table."""

    pillar: str
    name: str
    description: str
    columns: tuple[Column, ...]
    lineage: frozenset[str]
    """Pillars whose raw data the table is built from (its own pillar included when it has sources)."""


def _models_sql(project: Path) -> dict[str, str]:
    """Each model's SQL, and each seed as an empty model (seeds read no source)."""
    seeds = {path.stem: "" for path in (project / "seeds").glob("*.csv")}
    return seeds | {path.stem: path.read_text() for path in (project / "models").rglob("*.sql")}


def _upstream_pillars(name: str, sql: dict[str, str], seen: frozenset[str] = frozenset()) -> frozenset[str]:
    if name not in sql:
        raise LoopError(f"The dbt project refers to a model {name!r} that does not exist.")
    if name in seen:
        raise LoopError(f"The dbt models form a cycle through {name!r}.")
    pillars = {source for source, _ in _SOURCE.findall(sql[name])}
    unknown = pillars - set(PUBLISHED_PILLARS)
    if unknown:
        raise LoopError(f"Model {name} reads source(s) {sorted(unknown)}; sources are named after the pillars.")
    for parent in _REF.findall(sql[name]):
        pillars |= _upstream_pillars(parent, sql, seen | {name})
    return frozenset(pillars)


@cache
def marts(project: Path = DBT_PROJECT) -> dict[str, tuple[Mart, ...]]:
    """Published tables per pillar, in YAML order."""
    sql = _models_sql(project)
    found: dict[str, tuple[Mart, ...]] = {}
    for pillar in PUBLISHED_PILLARS:
        path = project / "models" / "marts" / pillar / f"_{pillar}__models.yml"
        if not path.exists():
            raise LoopError(f"The {pillar} pillar has no {path.relative_to(project)}.")
        document = yaml.safe_load(path.read_text()) or {}
        tables = []
        for model in document.get("models", []):
            columns = tuple(
                Column(c["name"], str(c.get("data_type", "")), str(c.get("description", "")).strip())
                for c in model.get("columns", [])
            )
            tables.append(
                Mart(
                    pillar=pillar,
                    name=model["name"],
                    description=" ".join(str(model.get("description", "")).split()),
                    columns=columns,
                    lineage=_upstream_pillars(model["name"], sql) | {pillar},
                )
            )
        found[pillar] = tuple(tables)
    return found


def pillar_tables() -> dict[str, tuple[str, ...]]:
    """Table names per published pillar."""
    return {pillar: tuple(m.name for m in tables) for pillar, tables in marts().items()}


def pillar_lineage(pillar: str) -> tuple[str, ...]:
    """The pillars whose validation a pillar's publication depends on: its own and those of its tables' lineage."""
    if pillar not in PUBLISHED_PILLARS:
        raise LoopError(f"Unknown pillar {pillar!r}; published pillars are {', '.join(PUBLISHED_PILLARS)}.")
    needed = {pillar}
    for mart in marts()[pillar]:
        needed |= mart.lineage
    return tuple(p for p in PUBLISHED_PILLARS if p in needed)


def mart(name: str) -> Mart:
    """One published table by name."""
    for tables in marts().values():
        for table in tables:
            if table.name == name:
                return table
    raise LoopError(f"There is no published table {name!r}.")
