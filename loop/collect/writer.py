"""Group commit: one writer thread appends the requests' events to the part files and fsyncs once for all of them.

A request handler (on the event loop) submits its lines and awaits a future. The writer thread takes every request
waiting in the queue, writes them, fsyncs once, and only then resolves their futures: each request is answered 200
after its own events are durable, and concurrent requests share one fsync, which is what lets a disk that does a
few hundred fsyncs a second take thousands of events a second. The queue is bounded by events waiting (written or
not) for the disk: past ``LOOP_COLLECT_QUEUE_EVENTS`` a request is refused with 429 and ``Retry-After``, which the
SDKs honour by sending it again later. A request arriving at an empty queue is always taken, whatever its size.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from loop.collect.messages import Refused
from loop.collect.parts import PartFiles

log = logging.getLogger("loop.collect")

#: Seconds a client is asked to wait when the queue is full.
RETRY_AFTER_SECONDS = 1


@dataclass
class _Request:
    day: date
    data: bytes
    events: int
    done: asyncio.Future[None] = field(repr=False)


_STOP = object()


class GroupWriter:
    """The writer thread and its bounded queue. ``submit`` and the counters belong to the event loop's thread."""

    def __init__(self, parts: PartFiles, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        self.parts = parts
        self.loop = loop
        self.capacity = capacity
        self.waiting = 0
        """Events submitted and not yet answered (on the event loop's thread only)."""
        self.acknowledged = 0
        self.failure: BaseException | None = None
        self.stopping = False
        self.on_roll: Callable[[Path], None] | None = None
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="loop-collect-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, day: date, data: bytes, events: int) -> asyncio.Future[None]:
        """Queue one request's lines; the future completes once they are durable (or fails with the cause)."""
        if self.stopping or self.failure is not None:
            raise Refused(
                503, "unavailable", "The collector is shutting down; send again shortly.", {"Retry-After": "1"}
            )
        if self.waiting and self.waiting + events > self.capacity:
            raise Refused(
                429,
                "too_many_requests",
                f"The collector is writing {self.waiting:,} events; send again in {RETRY_AFTER_SECONDS} s.",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        request = _Request(day, data, events, self.loop.create_future())
        self.waiting += events
        self._queue.put(request)
        return request.done

    def stop(self) -> None:
        """Write what is queued, close the open part into its date folder and end the thread (blocking)."""
        self.stopping = True
        self._queue.put(_STOP)
        self._thread.join()

    # -- the thread -----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                try:
                    first = self._queue.get(timeout=self.parts.seconds_to_roll())
                except queue.Empty:
                    self._rolled(self.parts.roll_if_due())
                    continue
                group = [first]
                while True:
                    try:
                        group.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                requests = [r for r in group if isinstance(r, _Request)]
                if requests:
                    self._commit(requests)
                if len(requests) < len(group):
                    self._rolled(self.parts.roll())
                    return
                self._rolled(self.parts.roll_if_due())
        except BaseException as error:  # a bug or a disk gone: no request may wait forever
            log.exception("the collector's writer stopped")
            self.failure = error
            self._fail_queued(error)

    def _rolled(self, path: Path | None) -> None:
        if path is not None and self.on_roll is not None:
            self.on_roll(path)

    def _commit(self, requests: list[_Request]) -> None:
        error: BaseException | None = None
        try:
            for request in requests:
                self.parts.write(request.day, request.data)
            self.parts.sync()
        except Exception as failed:
            log.error("could not store %d request(s): %s", len(requests), failed)
            error = failed
            try:
                self.parts.discard_unsynced()
            except OSError as also:
                log.error("could not close the part after the failure: %s", also)
        self.loop.call_soon_threadsafe(self._settle, requests, error)
        if error is not None and not isinstance(error, OSError):
            raise error  # not a disk problem: stop the writer (requests then get 503) rather than go on blind

    def _fail_queued(self, error: BaseException) -> None:
        pending: list[_Request] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Request):
                pending.append(item)
        if pending:
            self.loop.call_soon_threadsafe(self._settle, pending, error)

    # -- back on the event loop -----------------------------------------------------------------------------------

    def _settle(self, requests: list[_Request], error: BaseException | None) -> None:
        for request in requests:
            self.waiting -= request.events
            if error is None:
                self.acknowledged += request.events
            if request.done.done():
                continue  # the client went away; its events are stored all the same
            if error is None:
                request.done.set_result(None)
            else:
                request.done.set_exception(
                    Refused(500, "storage_error", f"The events could not be stored ({error}); send them again.")
                )
