"""What the dbt project publishes, read from the project itself (no copies): marts per pillar, their columns, and
the pillars each mart is built from.

* A pillar's published tables are the models of ``models/marts/<pillar>/`` (one ``_<pillar>__models.yml`` each).
* A table's columns, types and descriptions are its YAML entry (an enforced dbt contract). A column's
  ``config: {meta: {...}}`` (or a plain ``meta:``) carries two marks publication reads: ``pseudonymize: true`` (the
  column holds customer ids, published as keyed hashes, see :mod:`loop.publish.pseudonym`) and ``interval: true``
  (the table's time column: its min and max are the published dataset's data interval).
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
from typing import Any

import yaml

from loop.errors import LoopError
from loop.settings import PROJECT_ROOT, PUBLISHED_PILLARS

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
#: ``ref('model')`` and ``source('pillar', 'table')`` calls, wherever they sit in a model's Jinja.
_REF = re.compile(r"""\bref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")
_SOURCE = re.compile(r"""\bsource\(\s*['"]([A-Za-z0-9_]+)['"]\s*,\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")
#: Sources that are not raw landings but loop's own derivations of a pillar's raw data, and that pillar: their
#: lineage is the pillar's (enrich.feedback_texts is the product pillar's feedback texts, enriched by loop.text).
DERIVED_SOURCES = {"enrich": "product"}


@dataclass(frozen=True)
class Column:
    """A published column as its mart's YAML declares it."""

    name: str
    data_type: str
    description: str
    pseudonymize: bool = False
    """Marked ``meta: {pseudonymize: true}``: published as a keyed hash, never the raw id."""
    interval: bool = False
    """Marked ``meta: {interval: true}``: the table's time column, whose min and max are its data interval."""

    @property
    def holds_customer_ids(self) -> bool:
        """Named like a customer id (``customer_id`` or ``..._customer_id``): such a column must be pseudonymized
        where the pillar's publication promises it (see :data:`loop.publish.PSEUDONYMIZED_PILLARS`)."""
        name = self.name.lower()
        return name == "customer_id" or name.endswith("_customer_id")


def _meta(column: dict[str, Any]) -> dict[str, Any]:
    """A column's meta: dbt >= 1.10 puts it under ``config:``, older projects beside the column's name."""
    config = column.get("config") or {}
    meta = dict(column.get("meta") or {})
    meta.update((config.get("meta") or {}) if isinstance(config, dict) else {})
    return meta


def _column(entry: dict[str, Any]) -> Column:
    meta = _meta(entry)
    return Column(
        entry["name"],
        str(entry.get("data_type", "")),
        str(entry.get("description", "")).strip(),
        pseudonymize=meta.get("pseudonymize") is True,
        interval=meta.get("interval") is True,
    )


@dataclass(frozen=True)
class Mart:
    """A published table."""

    pillar: str
    name: str
    description: str
    columns: tuple[Column, ...]
    lineage: frozenset[str]
    """Pillars whose raw data the table is built from (its own pillar included when it has sources)."""

    @property
    def pseudonymized(self) -> tuple[str, ...]:
        """Columns published as keyed hashes."""
        return tuple(c.name for c in self.columns if c.pseudonymize)

    @property
    def interval_column(self) -> str | None:
        """The time column whose min and max are the table's data interval, if one is marked."""
        marked = [c.name for c in self.columns if c.interval]
        if len(marked) > 1:
            raise LoopError(f"Mart {self.name} marks {len(marked)} columns `interval: true`; mark one time column.")
        return marked[0] if marked else None

    @property
    def unmarked_customer_ids(self) -> tuple[str, ...]:
        """Customer-id columns that are not marked ``pseudonymize: true``."""
        return tuple(c.name for c in self.columns if c.holds_customer_ids and not c.pseudonymize)


def _models_sql(project: Path) -> dict[str, str]:
    """Each model's SQL, and each seed as an empty model (seeds read no source)."""
    seeds = {path.stem: "" for path in (project / "seeds").glob("*.csv")}
    return seeds | {path.stem: path.read_text() for path in (project / "models").rglob("*.sql")}


def _upstream_pillars(name: str, sql: dict[str, str], seen: frozenset[str] = frozenset()) -> frozenset[str]:
    if name not in sql:
        raise LoopError(f"The dbt project refers to a model {name!r} that does not exist.")
    if name in seen:
        raise LoopError(f"The dbt models form a cycle through {name!r}.")
    pillars = {DERIVED_SOURCES.get(source, source) for source, _ in _SOURCE.findall(sql[name])}
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
            columns = tuple(_column(c) for c in model.get("columns", []))
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
