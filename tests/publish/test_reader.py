"""The read-only connection: only the published tables can be read; every hostile query is refused clearly."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from loop.errors import LoopError
from loop.publish.reader import open_reader, run_query
from loop.settings import Settings

from .conftest import make_scorecard, publish_cycle


@pytest.fixture
def secrets(published: Settings) -> dict[str, str]:
    """Files a reader must never see: a raw landing file, the Airflow secret, the warehouse itself."""
    landing = published.landing_dir / "experience/events/date=2026-03-02"
    landing.mkdir(parents=True)
    (landing / "events.ndjson").write_text('{"email": "ana@example.com"}\n')
    published.airflow_home.mkdir(parents=True, exist_ok=True)
    (published.airflow_home / ".secret").write_text("jwt-secret-value\n")
    return {
        "landing": str(landing / "events.ndjson"),
        "secret": str(published.airflow_home / ".secret"),
        "warehouse": str(published.warehouse_path),
        "published_dir": str(published.published_dir),
    }


def test_the_published_tables_are_readable(published: Settings) -> None:
    result = run_query(published, "select campaign_id from cycle.campaign_scorecard order by scorecard_rank", limit=2)
    assert result.columns == ["campaign_id"] and result.rows == [("cmp_1",), ("cmp_2",)] and result.truncated


HOSTILE = {
    "csv reader": "select * from read_csv('/etc/passwd')",
    "csv auto": "select * from read_csv_auto('/etc/passwd')",
    "replacement scan": "select * from '/etc/passwd'",
    "text reader": "select * from read_text('/proc/self/environ')",
    "blob reader": "select * from read_blob('/etc/hostname')",
    "json reader": "select * from read_json_auto('/etc/os-release')",
    "proc": "select content from read_text('/proc/self/cmdline')",
    "glob root": "select * from glob('/**')",
    "glob data dir": "select * from glob('{published_dir}/../**')",
    "landing file": "select * from read_json('{landing}')",
    "airflow secret": "select * from read_text('{secret}')",
    "warehouse as parquet": "select * from read_parquet('{warehouse}')",
    "other published files": "select * from read_parquet('{published_dir}/**/*.parquet')",
    "sniff": "select * from sniff_csv('/etc/passwd')",
    "parquet metadata": "select * from parquet_metadata('/etc/passwd')",
    "extensions listing": "select * from duckdb_extensions()",
    "http": "select * from read_csv('https://example.com/x.csv')",
    "attach": "attach '{warehouse}' as w (read_only)",
    "attach in a query() call": "select * from query('attach ''/tmp/x.db''')",
    "copy to": "copy (select 1) to '/tmp/loop-pwned.csv'",
    "copy from": "copy campaign_scorecard from '/etc/passwd'",
    "export database": "export database '/tmp/loop-pwned'",
    "import database": "import database '/tmp'",
    "set external access": "set enable_external_access = true",
    "reset": "reset allowed_paths",
    "set lock": "set lock_configuration = false",
    "pragma": "pragma enable_profiling",
    "install": "install httpfs",
    "load": "load httpfs",
    "call": "call pragma_version()",
    "create table": "create table t as select 1",
    "create macro": "create macro m() as 1",
    "drop view": "drop view campaign_scorecard",
    "insert": "insert into campaign_scorecard values ('x', 1, 1)",
    "two statements": "select 1; select 2",
    "select then copy": "select 1; copy (select 1) to '/tmp/loop-pwned.csv'",
    "checkpoint": "checkpoint",
    "detach": "detach memory",
    "vacuum": "vacuum",
    "secret": "create secret s (type s3, key_id 'x', secret 'y')",
    "empty": "   ",
    "comment only": "-- nothing",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_queries_are_refused_with_a_clear_message(
    secrets: dict[str, str], published: Settings, name: str
) -> None:
    sql = HOSTILE[name].format(**secrets)
    with pytest.raises(LoopError) as refused:
        run_query(published, sql, limit=10)
    message = str(refused.value)
    assert message.startswith(
        ("`loop query` runs one read-only SELECT", "`loop query` reads only the published", "The query failed: ")
    ), message
    assert "Traceback" not in message and "\n" not in message.strip()
    for secret in ("jwt-secret-value", "ana@example.com", "root:x:0:0"):
        assert secret not in message


def test_configuration_is_locked_even_through_a_select(published: Settings) -> None:
    con = open_reader(published)
    assert con.execute("select current_setting('enable_external_access')").fetchall() == [(False,)]
    with pytest.raises(Exception, match="locked"):
        con.execute("set enable_external_access = true")
    # Even with direct access to the connection, no other file is reachable.
    with pytest.raises(Exception, match="disabled by configuration"):
        con.execute("select * from read_text('/etc/hostname')")


def test_a_long_query_is_stopped(published: Settings) -> None:
    settings = published.model_copy(update={"query_timeout_seconds": 1.0})
    started = time.monotonic()
    with pytest.raises(LoopError, match="ran longer than 1 s"):
        run_query(settings, "select sum(hash(a.range + b.range)) from range(200000) a, range(200000) b", limit=1)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "sql",
    [
        "select count(distinct i::varchar || 'some padding text') from range(30000000) t(i)",  # buffer-managed
        "select len(list(range(80000000)))",  # allocated outside DuckDB's buffers: the process cap stops it
    ],
)
def test_memory_is_limited(published: Settings, sql: str) -> None:
    """Through the real command (the process cap applies to the process running user SQL)."""
    loop = Path(sys.executable).with_name("loop")
    env = {**os.environ, "LOOP_DATA_DIR": str(published.root), "LOOP_QUERY_MEMORY_LIMIT": "64MB"}
    started = time.monotonic()
    completed = subprocess.run([str(loop), "query", sql], capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode == 1
    assert "needed more than 64MB of memory" in completed.stderr, completed.stderr
    assert time.monotonic() - started < 30


def test_queries_in_a_loop_never_fail_while_publications_switch(published: Settings) -> None:
    """Readers use the published copy: a publication switching under them never breaks a query."""
    errors: list[str] = []
    counts: set[int] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                counts.add(run_query(published, "select count(*) from campaign_scorecard", limit=1).rows[0][0])
            except Exception as error:  # any failure is a finding
                errors.append(repr(error))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    for day in range(3, 15):
        make_scorecard(published, day)
        publish_cycle(published, date(2026, 3, day), run=f"r{day}")
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert len(counts) > 1  # the readers really saw versions switch
