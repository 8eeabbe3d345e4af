"""The read-only connection: what `loop query`, notebooks and pages use to read the published datasets.

It is an in-memory DuckDB with one view per current published table (``marketing.campaign_performance`` and,
unqualified, ``campaign_performance``), locked down before any user SQL runs:

* file access is off except for the exact Parquet files of the current publications (``enable_external_access``
  off, ``allowed_paths`` = those files): no ``read_csv('/etc/passwd')``, ``read_text('/proc/self/environ')``,
  ``glob('/**')``, landing files, the warehouse or Airflow's secrets;
* no extensions are installed or loaded, community extensions are refused;
* the configuration is locked (``lock_configuration``), so a query cannot turn any of this back on;
* memory and threads are limited (``LOOP_QUERY_MEMORY_LIMIT``, ``LOOP_QUERY_THREADS``) and a query running longer
  than ``LOOP_QUERY_TIMEOUT_SECONDS`` is interrupted. DuckDB's memory limit covers its buffers, not every
  allocation (a huge ``list()`` is built outside them), so a process that runs user SQL also caps its own data
  segment (:func:`cap_process_memory`, done by ``loop query``): an allocation beyond it fails the query, not the
  machine.

:func:`run_query` accepts exactly one ``SELECT`` statement. File paths reach DuckDB as bound parameters, never as
SQL text. The views read the files of the manifests as they were when the connection opened; a publication that
switches while a query runs does not disturb it (old versions stay on disk for a grace period).
"""

from __future__ import annotations

import re
import resource
import threading
from dataclasses import dataclass
from typing import Any

import duckdb

from loop.errors import LoopError
from loop.landing.compile import quote_ident
from loop.settings import PUBLISHED_PILLARS, Settings


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query, at most ``limit`` of them; ``truncated`` when there were more."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


def open_reader(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A locked-down in-memory DuckDB whose views read the current published Parquet files."""
    from loop import publish

    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    allowed: list[str] = []
    views: list[tuple[str, str, str]] = []
    for pillar in PUBLISHED_PILLARS:
        publication = publish.current(settings, pillar)
        if publication is None:
            continue
        for table in publication.tables:
            path = str(publication.path(settings, table))
            allowed.append(path)
            views.append((pillar, table, path))
    if not views:
        con.close()
        raise LoopError(f"Nothing is published under {settings.published_dir} yet; run `loop run` first.")
    try:
        for pillar in {v[0] for v in views}:
            con.execute(f"CREATE SCHEMA {quote_ident(pillar)}")
        for number, (pillar, table, path) in enumerate(views):
            variable = f"loop_file_{number}"
            con.execute(f"SET VARIABLE {variable} = $path", {"path": path})
            con.execute(
                f"CREATE VIEW {quote_ident(pillar)}.{quote_ident(table)} AS "
                f"SELECT * FROM read_parquet(getvariable('{variable}'))"
            )
            con.execute(
                f"CREATE VIEW main.{quote_ident(table)} AS SELECT * FROM {quote_ident(pillar)}.{quote_ident(table)}"
            )
        con.execute("SET temp_directory = ''")  # no spilling to disk
        con.execute("SET allowed_paths = $paths", {"paths": allowed})
        con.execute("SET allowed_directories = []")
        con.execute("SET enable_external_access = false")
        con.execute("SET allow_community_extensions = false")
        con.execute("SET memory_limit = $limit", {"limit": settings.query_memory_limit})
        con.execute("SET threads = $threads", {"threads": settings.query_threads})
        con.execute("SET enable_progress_bar = false")
        con.execute("SET lock_configuration = true")
    except Exception:
        con.close()
        raise
    return con


#: Room for Python, DuckDB's own structures and the result, on top of the query memory limit.
PROCESS_HEADROOM_BYTES = 1 << 30
_UNITS = {"KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}
_UNITS["TIB"] = 1024**4


def memory_bytes(text: str) -> int:
    """``2GB`` / ``512MiB`` as bytes (the forms LOOP_QUERY_MEMORY_LIMIT accepts)."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)", text.strip())
    if not match or match.group(2).upper() not in _UNITS:
        raise LoopError(f"{text!r} is not a memory size like 2GB or 512MiB.")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def cap_process_memory(settings: Settings) -> None:
    """Cap this process's data segment at the query memory limit plus headroom (for processes running user SQL)."""
    cap = memory_bytes(settings.query_memory_limit) + PROCESS_HEADROOM_BYTES
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft == resource.RLIM_INFINITY or soft > cap:
        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))


def _refuse(message: str) -> LoopError:
    return LoopError(f"`loop query` runs one read-only SELECT on the published tables, and {message}")


def check_query(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but exactly one SELECT statement (DDL, COPY, ATTACH, SET, PRAGMA, CALL, several statements)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as error:
        raise LoopError(f"The query is not valid SQL: {str(error).splitlines()[0]}") from None
    if not statements:
        raise _refuse("the query is empty.")
    if len(statements) != 1:
        raise _refuse(f"this text holds {len(statements)} statements.")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        article = "an" if kind.name[:1] in "AEIOU" else "a"
        raise _refuse(f"this is {article} {kind.name} statement.")


def run_query(settings: Settings, sql: str, *, limit: int) -> QueryResult:
    """Run one read-only SELECT on the published tables with the reader's limits; at most ``limit`` rows back."""
    con = open_reader(settings)
    timer = threading.Timer(settings.query_timeout_seconds, con.interrupt)
    try:
        check_query(con, sql)
        timer.start()
        try:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(limit + 1)
        except duckdb.InterruptException:
            raise LoopError(
                f"The query ran longer than {settings.query_timeout_seconds:.0f} s and was stopped "
                "(LOOP_QUERY_TIMEOUT_SECONDS)."
            ) from None
        except duckdb.OutOfMemoryException:
            raise LoopError(
                f"The query needed more than {settings.query_memory_limit} of memory and was stopped "
                "(LOOP_QUERY_MEMORY_LIMIT)."
            ) from None
        except duckdb.PermissionException as error:
            raise LoopError(f"`loop query` reads only the published tables ({_first_line(error)}).") from None
        except duckdb.Error as error:
            raise LoopError(f"The query failed: {_first_line(error)}") from None
    finally:
        timer.cancel()
        con.close()
    return QueryResult(columns, rows[:limit], truncated=len(rows) > limit)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
