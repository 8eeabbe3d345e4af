"""Access to the DuckDB warehouse file.

DuckDB allows one writing process per database file, and a read-only connection cannot be opened while another
process writes. Every process that touches the warehouse therefore goes through :func:`connect`, which takes an
advisory file lock first: exclusive for writers, shared for readers. Parallel Airflow tasks queue on the lock
instead of failing with DuckDB's "could not set lock" error.

Marketers and product teams never read the warehouse directly: they read the published Parquet datasets
(:mod:`loop.publish`), which a running cycle never blocks.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from loop.errors import LoopError, TransientError
from loop.settings import Settings


class WarehouseBusyError(TransientError):
    """The warehouse stayed locked by another process for longer than the configured timeout."""


@contextmanager
def warehouse_lock(path: Path, *, exclusive: bool, timeout: float) -> Iterator[None]:
    """Hold an advisory lock on ``path`` + ``.lock`` (exclusive or shared), waiting up to ``timeout`` seconds."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(
                        f"The warehouse {path} stayed locked by another loop process for {timeout:.0f} s; "
                        "wait for the running cycle to finish or raise LOOP_LOCK_TIMEOUT_SECONDS."
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextmanager
def connect(settings: Settings, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse under the warehouse lock; closed (and the lock released) on exit."""
    path = settings.warehouse_path
    if not write and not path.exists():
        raise LoopError(f"There is no warehouse at {path} yet; run `loop run` first.")
    with warehouse_lock(path, exclusive=write, timeout=settings.lock_timeout_seconds):
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=not write)
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")
        try:
            yield con
        finally:
            con.close()
