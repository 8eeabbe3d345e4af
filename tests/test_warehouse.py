"""The warehouse lock: concurrent writer processes queue instead of failing on DuckDB's file lock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from loop.settings import Settings
from loop.warehouse import WarehouseBusyError, connect, warehouse_lock

WRITER = """
import sys, time
from loop.settings import Settings
from loop.warehouse import connect
settings = Settings(data_dir=sys.argv[1])
for i in range(5):
    with connect(settings, write=True) as con:
        con.execute("CREATE TABLE IF NOT EXISTS hits (writer INTEGER, i INTEGER)")
        con.execute("INSERT INTO hits VALUES (?, ?)", [int(sys.argv[2]), i])
        time.sleep(0.05)
"""


def test_parallel_writer_processes_are_serialized(settings: Settings, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    writers = [
        subprocess.Popen([sys.executable, str(script), str(settings.root), str(n)], stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0, 0], errors
    with connect(settings, write=False) as con:
        assert con.execute("SELECT count(*), count(DISTINCT writer) FROM hits").fetchone() == (20, 4)


def test_without_the_lock_duckdb_refuses_a_second_writer(settings: Settings) -> None:
    """The failure the lock prevents: DuckDB's own file lock across processes."""
    with connect(settings, write=True) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
        other = subprocess.run(
            [sys.executable, "-c", f"import duckdb; duckdb.connect({str(settings.warehouse_path)!r})"],
            capture_output=True,
            text=True,
        )
    assert other.returncode != 0 and "lock" in other.stderr.lower()


def test_readers_share_and_writers_wait(settings: Settings) -> None:
    with connect(settings, write=True) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    path = settings.warehouse_path
    with warehouse_lock(path, exclusive=False, timeout=1), warehouse_lock(path, exclusive=False, timeout=1):
        started = time.monotonic()
        busy = pytest.raises(WarehouseBusyError, match="stayed locked")
        with busy, warehouse_lock(path, exclusive=True, timeout=0.3):
            pass
        assert time.monotonic() - started >= 0.3


def test_reading_a_missing_warehouse_is_a_clear_error(settings: Settings) -> None:
    from loop.errors import LoopError

    with pytest.raises(LoopError, match="no warehouse"), connect(settings, write=False):
        pass
