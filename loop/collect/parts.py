"""Rolling part files: how collected events reach the landing folder, whole and durable.

Events are appended to an open part file in ``landing/experience/events/_collector/date=YYYY-MM-DD/``, a folder
landing leaves alone (its name starts with ``_``). A part is closed when it reaches ``LOOP_COLLECT_PART_BYTES``, when
it is ``LOOP_COLLECT_PART_SECONDS`` old, when its day ends and on shutdown: it is fsynced, then renamed atomically
(``os.replace``, then both folders fsynced) to ``landing/experience/events/date=YYYY-MM-DD/collector-<start>-<seq>
.ndjson`` (``<start>`` the collector's start, UTC, ``<seq>`` the part's number). Landing only ever sees whole files,
and a file never changes once it is there. The date is the landing day of the events' ``receivedAt``
(:func:`landing_day`).

A collector killed mid-write leaves its open part behind: on start, :meth:`PartFiles.recover` cuts its torn last
line (that request was never answered) and moves the part into its date folder before anything is served. One
collector per data directory: it holds a lock on ``_collector/.lock``.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from loop.business_day import business_date, day_end
from loop.errors import LoopError
from loop.landing.layout import partition_date

WORK_FOLDER = "_collector"
"""The folder of the open parts, beside the date folders; landing ignores names starting with ``_``."""


def landing_day(instant: datetime, zone: ZoneInfo) -> date:
    """The landing day of an event received at ``instant``: its business day (``LOOP_TIMEZONE``)."""
    return business_date(instant, zone)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each entry made durable (its parent folder fsynced)."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        _sync_dir(folder.parent)


def _complete_length(path: Path) -> int:
    """Bytes up to and including the last line end: what remains once a torn last line is cut."""
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - (1 << 16))
            handle.seek(start)
            found = handle.read(end - start).rfind(b"\n")
            if found >= 0:
                return start + found + 1
            end = start
    return 0


@dataclass
class _Part:
    day: date
    path: Path
    fd: int
    opened: datetime
    size: int = 0
    synced: int = 0


class PartFiles:
    """The collector's part files under one source folder (``landing/experience/events``)."""

    def __init__(self, source_dir: Path, *, max_bytes: int, max_seconds: float, zone: ZoneInfo) -> None:
        self.source_dir = source_dir
        self.work_dir = source_dir / WORK_FOLDER
        self.max_bytes = max_bytes
        self.max_age = timedelta(seconds=max_seconds)
        self.zone = zone
        now = datetime.now(UTC)
        self.start = f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z"
        self.sequence = 0
        self.current: _Part | None = None
        self.closed: list[Path] = []
        self._lock: int | None = None

    # -- one collector per data directory -------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the collector lock of the data directory, or say that another collector holds it."""
        _make_dirs(self.work_dir)
        fd = os.open(self.work_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LoopError(
                f"Another `loop collect` is writing to {self.source_dir}; stop it first (one collector per data "
                "directory)."
            ) from None
        self._lock = fd

    def release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    # -- recovery -------------------------------------------------------------------------------------------------

    def recover(self) -> list[tuple[Path, Path | None, int]]:
        """Move the parts a killed collector left open into their date folders, each cut after its last complete
        line. Returns, per part, (the part, the landing file or None when it held no complete line and was removed,
        bytes of torn line dropped). Call it holding the lock."""
        moved: list[tuple[Path, Path | None, int]] = []
        if not self.work_dir.is_dir():
            return moved
        for folder in sorted(self.work_dir.iterdir()):
            day = partition_date(folder.name)
            if day is None or not folder.is_dir() or folder.is_symlink():
                continue
            for part in sorted(folder.glob("*.ndjson")):
                size = part.stat().st_size
                keep = _complete_length(part)
                if keep == 0:
                    part.unlink()
                    _sync_dir(folder)
                    moved.append((part, None, size))
                    continue
                if keep < size:
                    os.truncate(part, keep)
                fd = os.open(part, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                moved.append((part, self._publish(part, day), size - keep))
            if not any(folder.iterdir()):
                folder.rmdir()
        return moved

    # -- writing --------------------------------------------------------------------------------------------------

    def _open(self, day: date) -> _Part:
        folder = self.work_dir / f"date={day.isoformat()}"
        _make_dirs(folder)
        self.sequence += 1
        path = folder / f"collector-{self.start}-{self.sequence:06d}.ndjson"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        _sync_dir(folder)  # the new file's name is durable before any of its lines is acknowledged
        return _Part(day, path, fd, datetime.now(UTC))

    def write(self, day: date, data: bytes) -> None:
        """Append whole lines for ``day``; a part of another day, or one that would pass the size limit, is
        closed first."""
        part = self.current
        if part is not None and (part.day != day or (part.size and part.size + len(data) > self.max_bytes)):
            self.roll()
            part = None
        if part is None:
            part = self.current = self._open(day)
        view = memoryview(data)
        while view:
            written = os.write(part.fd, view)
            part.size += written
            view = view[written:]

    def sync(self) -> None:
        """Make everything written so far durable (one fsync for every request waiting on it)."""
        part = self.current
        if part is not None and part.synced < part.size:
            os.fdatasync(part.fd)
            part.synced = part.size

    def discard_unsynced(self) -> None:
        """After a failed write or fsync: cut the open part back to what is durable, then close it."""
        part = self.current
        if part is None:
            return
        try:
            os.ftruncate(part.fd, part.synced)
            os.fsync(part.fd)
            part.size = part.synced
        except OSError:
            # Left open in the work folder: the next start recovers its complete lines (at least once).
            os.close(part.fd)
            self.current = None
            return
        self.roll()

    def roll(self) -> Path | None:
        """Close the open part into its date folder; returns the landing file (None when no part was open)."""
        part = self.current
        if part is None:
            return None
        self.current = None
        try:
            if part.synced < part.size:
                os.fdatasync(part.fd)
        finally:
            os.close(part.fd)
        if part.size == 0:
            part.path.unlink()
            return None
        landed = self._publish(part.path, part.day)
        self.closed.append(landed)
        return landed

    def _publish(self, path: Path, day: date) -> Path:
        folder = self.source_dir / f"date={day.isoformat()}"
        _make_dirs(folder)
        target = folder / path.name
        suffix = 1
        while target.exists():  # only if the clock went back to the same millisecond as an earlier collector
            suffix += 1
            target = folder / f"{path.stem}-{suffix}{path.suffix}"
        os.replace(path, target)
        _sync_dir(folder)
        _sync_dir(path.parent)
        return target

    # -- when to roll ---------------------------------------------------------------------------------------------

    def _deadline(self, part: _Part) -> datetime:
        return min(part.opened + self.max_age, day_end(part.day, self.zone).astimezone(UTC))

    def seconds_to_roll(self) -> float | None:
        """Seconds until the open part must be closed (its age or the end of its day); None when none is open."""
        part = self.current
        if part is None:
            return None
        return max(0.0, (self._deadline(part) - datetime.now(UTC)).total_seconds())

    def roll_if_due(self) -> Path | None:
        part = self.current
        if part is not None and datetime.now(UTC) >= self._deadline(part):
            return self.roll()
        return None
