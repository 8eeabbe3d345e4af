"""dbt sources rendered from the raw contracts: the raw tables' columns are declared once, in :mod:`loop.contracts`.

Each pillar that lands raw data gets ``dbt_project/models/staging/<pillar>/_<pillar>__sources.yml``: a source named
after the pillar (schema ``raw``) with one table per contract, its columns in raw-table order (the contract's
fields, then landing's metadata columns), their types as landing creates them
(:func:`loop.landing.compile.raw_table_columns`) and the contract's descriptions. The ``cycle`` pillar's source
is the loop's own record of its actions (schema ``ops``), rendered from :mod:`loop.activate.actions`. The files
are committed;
``python -m loop.transform.sources`` rewrites them after a contract change and ``--check`` (CI, and a test) fails
when a committed file differs from the rendering.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from loop.contracts import Source, sources_of
from loop.landing.compile import ColumnPlan, raw_columns, raw_table_columns
from loop.settings import PILLARS, PROJECT_ROOT

STAGING = PROJECT_ROOT / "dbt_project" / "models" / "staging"
HEADER = (
    "# Rendered from the raw contracts (loop/contracts) by `python -m loop.transform.sources`: do not edit.\n"
    "# A contract change without re-rendering fails tests/transform/test_sources.py.\n"
)

#: What landing's metadata columns hold (landing adds them to every raw table).
METADATA_DESCRIPTIONS: dict[str, str] = {
    "_source_file": "Landing file the record came from, relative to the landing folder.",
    "_row_number": "Position of the record in its file (line in NDJSON, data row in CSV).",
    "_partition_date": "Date partition of the file (date=YYYY-MM-DD): the day the record belongs to.",
    "_landed_at": "When landing loaded the record.",
}

#: Constraint kinds worth a reader's attention in a column description (patterns and lengths are landing's).
_DESCRIBED_CONSTRAINTS = ("one_of", "ge", "gt", "le", "lt")


def _data_type(sql_type: str) -> str:
    """The column type as DuckDB names it (lower case), without landing's NOT NULL."""
    base = sql_type.upper().removesuffix(" NOT NULL").strip()
    return {"TIMESTAMPTZ": "timestamp with time zone"}.get(base, base.lower())


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def _column_description(source: Source, plan: ColumnPlan) -> str:
    info = source.model.model_fields[plan.name]
    parts = [_sentence(info.description or "")]
    if plan.key != plan.name:
        parts.append(f"Raw key {plan.key}.")
    rules = [c.message for c in plan.constraints if c.kind in _DESCRIBED_CONSTRAINTS]
    parts.append(_sentence(("Required" if plan.required else "Optional") + ("; " + "; ".join(rules) if rules else "")))
    if plan.children:
        parts.append(
            _sentence("JSON object; typed keys: " + ", ".join(child.key.rsplit(".", 1)[1] for child in plan.children))
        )
    return " ".join(p for p in parts if p)


def _table(source: Source) -> dict[str, Any]:
    plans = {plan.name: plan for plan in raw_columns(source)}
    columns = []
    for name, sql_type in raw_table_columns(source):
        if name in plans:
            description = _column_description(source, plans[name])
        elif name in METADATA_DESCRIPTIONS:
            description = METADATA_DESCRIPTIONS[name] + " Set by landing; never null."
        else:
            raise KeyError(f"landing's metadata column {name} has no description in {__name__}.METADATA_DESCRIPTIONS")
        columns.append({"name": name, "data_type": _data_type(sql_type), "description": description})
    doc = (source.model.__doc__ or "").strip().split("\n\n")[0]
    key = f" Natural key: {', '.join(source.key)}." if source.key else " A snapshot source (no natural key)."
    return {
        "name": source.name,
        "description": " ".join(filter(None, [_sentence(source.description), _sentence(doc)])) + key,
        "columns": columns,
    }


def _actions_source() -> dict[str, Any]:
    from loop.activate.actions import ACTION_DESCRIPTIONS, ACTION_TABLES

    tables = []
    for qualified, columns in ACTION_TABLES.items():
        described = ACTION_DESCRIPTIONS[qualified]
        tables.append(
            {
                "name": qualified.split(".")[1],
                "description": described[""],
                "columns": [
                    {"name": name, "data_type": _data_type(kind), "description": described[name]}
                    for name, kind in columns
                ],
            }
        )
    return {
        "name": "cycle",
        "description": "What the loop did: the actions each cycle took, recorded by loop.activate after it published.",
        "schema": "ops",
        "tables": tables,
    }


def render(pillar: str) -> str:
    """The ``_<pillar>__sources.yml`` text for a pillar."""
    if pillar == "cycle":
        return (
            HEADER
            + "\n"
            + yaml.safe_dump(
                {"version": 2, "sources": [_actions_source()]}, sort_keys=False, width=110, allow_unicode=True
            )
        )
    if pillar not in PILLARS:
        raise ValueError(f"{pillar!r} lands no raw data; pillars with sources are {', '.join(PILLARS)}.")
    document = {
        "version": 2,
        "sources": [
            {
                "name": pillar,
                "description": f"Raw {pillar} data, one table per contract (loop/contracts), as landing loads it.",
                "schema": "raw",
                "tables": [_table(source) for source in sources_of(pillar)],
            }
        ],
    }
    return HEADER + "\n" + yaml.safe_dump(document, sort_keys=False, width=110, allow_unicode=True)


def path_of(pillar: str, staging: Path = STAGING) -> Path:
    return staging / pillar / f"_{pillar}__sources.yml"


#: Every pillar with a dbt source: the landing pillars, and the cycle's record of its actions.
SOURCE_PILLARS = (*PILLARS, "cycle")


def stale(staging: Path = STAGING) -> list[Path]:
    """The committed source files that differ from the rendering."""
    return [
        path_of(p, staging)
        for p in SOURCE_PILLARS
        if not path_of(p, staging).exists() or path_of(p, staging).read_text() != render(p)
    ]


def write(staging: Path = STAGING) -> list[Path]:
    """Rewrite every pillar's sources file; returns the files that changed."""
    changed = stale(staging)
    for path in changed:
        pillar = path.parent.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(pillar))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loop.transform.sources", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale()
        for path in outdated:
            print(f"stale: {path.relative_to(PROJECT_ROOT)} (run python -m loop.transform.sources)")
        return 1 if outdated else 0
    for path in write():
        print(f"rendered {path.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
