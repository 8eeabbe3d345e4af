"""The cycle digest: a short Markdown page of what the newest published cycle found and did, for the product and
marketing teams (written by the ``loop_digest`` DAG whenever the cycle pillar is published).

It reads only the published datasets (the locked-down reader), never the warehouse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from loop import publish
from loop.errors import LoopError
from loop.publish.reader import open_reader
from loop.settings import Settings


def _rows(con: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = con.execute(sql)
    return [d[0] for d in cursor.description], cursor.fetchall()


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    if not rows:
        return "_none yet_\n"

    def cell(value: Any) -> str:
        text = ", ".join(map(str, value)) if isinstance(value, list) else ("" if value is None else str(value))
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render(settings: Settings) -> tuple[str, str]:
    """(as-of date, Markdown) of the newest published cycle."""
    current = publish.current(settings, "cycle")
    if current is None:
        raise LoopError("The cycle pillar has not been published yet; run `loop run` first.")
    con = open_reader(settings)
    try:
        sections = [
            f"# loop digest — data as of {current.as_of}\n",
            f"Published by the cycle of {current.cycle_date}.\n",
        ]
        sections.append("## What to fix first (product signals)\n")
        sections.append(
            _table(
                *_rows(
                    con,
                    "SELECT signal_rank AS rank, product_area AS area, symptom, customers_affected AS customers, "
                    "customer_revenue AS revenue, campaigns_broken AS promises_broken, example_feedback AS said "
                    "FROM cycle.product_signals ORDER BY signal_rank LIMIT 5",
                )
            )
        )
        sections.append("## Audiences\n")
        sections.append(
            _table(
                *_rows(
                    con,
                    "SELECT audience_id AS audience, channel, members, holdout_members AS held_out, purpose "
                    "FROM cycle.audiences ORDER BY audience_id",
                )
            )
        )
        sections.append("## What the actions changed (against their holdouts)\n")
        sections.append(
            _table(
                *_rows(
                    con,
                    "SELECT o.action_id AS action, o.metric, o.cohort_n, o.cohort_rate, o.comparison, o.comparison_n, "
                    "o.comparison_rate, o.difference, '[' || o.difference_low || ', ' || o.difference_high || ']' "
                    "AS interval_95, o.verdict FROM cycle.action_outcomes AS o ORDER BY o.action_id, o.metric",
                )
            )
        )
        return current.as_of.isoformat(), "\n".join(sections)
    finally:
        con.close()


def write_digest(settings: Settings) -> Path:
    """Write ``<exports>/digests/<as of>.md`` (atomically) and return its path."""
    as_of, text = render(settings)
    folder = settings.exports_dir / "digests"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{as_of}.md"
    partial = folder / f".{as_of}.md.{os.getpid()}.partial"
    partial.write_text(text)
    os.replace(partial, target)
    return target
