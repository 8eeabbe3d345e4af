"""Landing: raw files into the warehouse's ``raw`` schema through the contracts, vectorized in DuckDB.

```
layout.py    the landing folder: which files belong to which source and date, notices for everything else
readers.py   NDJSON and CSV (any accepted encoding) into staging tables; unreadable files are set aside
compile.py   contract -> SQL checks, with named parameters
checks.py    record checks: reading, contract, rules, duplicates, references, time window
files.py     one file (or a replay of held records) in one transaction, logged and reconciled
schema.py    raw and ops tables, created from the contracts and evolved with them
```

Valid records go to ``raw.<source>``; every other record goes to ``ops.quarantine`` with its file, position, raw
payload, a readable reason and the kind of reason. Each landing appends to ``ops.landing_log`` where
``rows_read = rows_loaded + rows_quarantined``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime

import duckdb

from loop.contracts import SOURCES, sources_of
from loop.errors import LoopError
from loop.landing.checks import RETRYABLE_KINDS
from loop.landing.files import FileLanding, land_file, replay_held
from loop.landing.layout import LayoutNotice, landed_dates, partition_files, survey
from loop.landing.schema import ensure_tables
from loop.settings import PILLARS, Settings
from loop.warehouse import connect

__all__ = [
    "RETRYABLE_KINDS",
    "FileLanding",
    "LayoutNotice",
    "PillarLanding",
    "land_pillar",
    "landed_dates",
    "record_notices",
]


class PillarLanding(list[FileLanding]):
    """The files of one pillar's landing (a list of :class:`FileLanding`), plus the layout notices found."""

    notices: list[LayoutNotice]

    def __init__(self, results: list[FileLanding], notices: list[LayoutNotice]) -> None:
        super().__init__(results)
        self.notices = notices


def record_notices(con: duckdb.DuckDBPyConnection, notices: list[LayoutNotice], run_id: str | None) -> None:
    """Upsert layout notices (first and last time each was seen)."""
    now = datetime.now(UTC)
    for notice in notices:
        updated = con.execute(
            "UPDATE ops.layout_notices SET last_noticed_at = ?, notice = ?, run_id = ? WHERE path = ? RETURNING 1",
            [now, notice.notice, run_id, notice.path],
        ).fetchall()
        if not updated:
            con.execute(
                "INSERT INTO ops.layout_notices VALUES (?, ?, ?, ?, ?)", [notice.path, notice.notice, now, now, run_id]
            )


def land_pillar(
    settings: Settings,
    pillar: str,
    partition_date: date,
    *,
    run_id: str | None = None,
    on_file: Callable[[FileLanding], None] | None = None,
) -> PillarLanding:
    """Land every file of ``pillar`` for ``partition_date`` (all its sources, catalog first), then release the
    held records whose missing reference has landed since."""
    if pillar not in PILLARS:
        raise LoopError(f"Unknown pillar {pillar!r}; pillars that land data are {', '.join(PILLARS)}.")
    sources = sources_of(pillar)
    results: list[FileLanding] = []
    notices = survey(settings.landing_dir, pillar)
    with connect(settings, write=True) as con:
        ensure_tables(con, SOURCES)
        record_notices(con, notices, run_id)
        for source in sources:
            for path in partition_files(settings.landing_dir, source, partition_date):
                relative = path.relative_to(settings.landing_dir).as_posix()
                result = land_file(con, source, path, relative, partition_date, run_id, settings)
                results.append(result)
                if on_file is not None:
                    on_file(result)
        for source in sources:
            if source.references_campaign:
                for result in replay_held(con, source, settings, run_id, kinds=("unknown_reference",)):
                    landed_now = [i for i, r in enumerate(results) if r.file == result.file and r.reason is None]
                    if landed_now:
                        # Landed in this run: one result per file, with its counts after the release.
                        earlier = results[landed_now[-1]]
                        results[landed_now[-1]] = (
                            result
                            if earlier.status == "unchanged"
                            else replace(
                                earlier, rows_loaded=result.rows_loaded, rows_quarantined=result.rows_quarantined
                            )
                        )
                        continue
                    results.append(result)
                    if on_file is not None:
                        on_file(result)
    return PillarLanding(results, notices)
