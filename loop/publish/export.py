"""Exports: a pillar's current published tables to files a marketer or product team opens in their own tools.

Parquet exports are byte copies of the published files; CSV exports are written by DuckDB's relational API. The
output folder is a path handed to the filesystem and to DuckDB as an argument, never SQL text, so any folder name
works (quotes, spaces, unicode).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from loop import publish
from loop.errors import LoopError
from loop.settings import Settings

ExportFormat = Literal["parquet", "csv"]


@dataclass(frozen=True)
class ExportedTable:
    table: str
    path: Path
    rows: int


def export_pillar(settings: Settings, pillar: str, out: Path, fmt: ExportFormat = "parquet") -> list[ExportedTable]:
    """Write every current table of ``pillar`` into ``out`` as ``<table>.<fmt>`` (replacing files of that name)."""
    publish.check_pillar(pillar)
    publication = publish.current(settings, pillar)
    if publication is None:
        raise LoopError(f"The {pillar} pillar has not been published yet; run `loop run` first.")
    if out.exists() and not out.is_dir():
        raise LoopError(f"{out} exists and is not a folder; give --out a folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LoopError(f"Cannot create the folder {out}: {error.strerror}.") from None
    exported = []
    con = duckdb.connect(":memory:")
    try:
        for table, info in publication.tables.items():
            source = publication.path(settings, table)
            target = out / f"{table}.{fmt}"
            partial = out / f".{table}.{fmt}.{os.getpid()}.partial"
            try:
                if fmt == "parquet":
                    shutil.copyfile(source, partial)
                else:
                    con.read_parquet(str(source)).write_csv(str(partial), header=True)
                os.replace(partial, target)
            except (OSError, duckdb.Error) as error:
                partial.unlink(missing_ok=True)
                raise LoopError(f"Cannot write {target}: {str(error).splitlines()[0]}") from None
            exported.append(ExportedTable(table, target, int(info["rows"])))
    finally:
        con.close()
    return exported
