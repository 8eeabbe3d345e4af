"""The HTTP service of ``loop collect``: the Segment HTTP Tracking API's routes (Starlette), served by uvicorn.

Every answer but 200 carries a ``{"code": ..., "message": ...}`` JSON body, as Segment's API does, so the SDKs log
the reason. A request is answered 200 ``{"success": true}`` only once its events are written and fsynced.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loop.collect.messages import CALLS, REQUEST_LIMIT, Refused, decode, parse, to_lines, write_key
from loop.collect.parts import PartFiles, landing_day
from loop.collect.writer import GroupWriter
from loop.errors import LoopError
from loop.settings import Settings

log = logging.getLogger("loop.collect")

#: The most a (gzip) body may weigh on the wire: the decompressed limit and room for gzip's own bytes.
WIRE_LIMIT = REQUEST_LIMIT + (64 << 10)

_SUCCESS = b'{"success":true}'


def _refusal(refused: Refused) -> JSONResponse:
    return JSONResponse({"code": refused.code, "message": refused.message}, refused.status, refused.headers)


def _unauthorized() -> Refused:
    return Refused(
        401,
        "unauthorized",
        "Unknown or missing write key: send one of LOOP_WRITE_KEYS as the Basic auth user name or as writeKey.",
        {"WWW-Authenticate": 'Basic realm="loop collect"'},
    )


def basic_user(header: str | None) -> str | None:
    """The user name of an HTTP Basic ``Authorization`` header (Segment's write key, password empty), if any."""
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized() from None
    return decoded.partition(":")[0] or None


def _known(key: str, keys: frozenset[str]) -> bool:
    given = key.encode("utf-8", "surrogatepass")
    return any(hmac.compare_digest(given, known.encode("utf-8")) for known in keys)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > WIRE_LIMIT:
        raise Refused(400, "request_too_large", "The request is larger than 500 KB; send smaller batches.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > WIRE_LIMIT:
            raise Refused(400, "request_too_large", "The request is larger than 500 KB; send smaller batches.")
        chunks.append(chunk)
    return b"".join(chunks)


class Collector:
    """The routes and their state; the writer exists while the app runs (see :meth:`lifespan`)."""

    def __init__(self, settings: Settings, parts: PartFiles, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.parts = parts
        self.keys = settings.write_key_set
        self.say = say
        self.writer: GroupWriter | None = None
        self.url = ""

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        writer = GroupWriter(self.parts, asyncio.get_running_loop(), self.settings.collect_queue_events)
        writer.start()
        self.writer = writer
        self.say(
            f"Collecting Segment events on {self.url} (POST /v1/batch, /v1/track, ...) into "
            f"{self.parts.source_dir}; Ctrl-C stops."
        )
        try:
            yield
        finally:
            await asyncio.to_thread(writer.stop)
            self.say(
                f"Stopped: {writer.acknowledged:,} event(s) stored in this run, {len(self.parts.closed)} file(s) "
                "closed into the date folders."
            )

    async def collect(self, request: Request) -> Response:
        call_name = request.path_params["call"]
        if call_name not in CALLS:
            return _refusal(Refused(404, "not_found", f"/v1/{call_name} is not a Segment Tracking API call."))
        try:
            received_at = datetime.now(UTC)
            key = basic_user(request.headers.get("authorization"))
            if key is not None and not _known(key, self.keys):
                raise _unauthorized()
            data = decode(await _body(request), request.headers.get("content-encoding"))
            payload, exact = parse(data)
            if key is None:
                key = write_key(payload)
                if key is None or not _known(key, self.keys):
                    raise _unauthorized()
            lines = to_lines(payload, CALLS[call_name], received_at, exact=exact, body_size=len(data))
            if lines:
                writer = self.writer
                if writer is None:
                    raise Refused(503, "unavailable", "The collector is starting; send again shortly.")
                day = landing_day(received_at, self.parts.zone)
                await writer.submit(day, ("\n".join(lines) + "\n").encode(), len(lines))
        except Refused as refused:
            return _refusal(refused)
        except Exception:
            log.exception("unexpected error on %s", request.url.path)
            return _refusal(Refused(500, "internal_error", "The collector failed on this request; send it again."))
        return Response(_SUCCESS, media_type="application/json")

    async def health(self, request: Request) -> Response:
        writer = self.writer
        healthy = writer is not None and writer.failure is None and not writer.stopping
        body = {"status": "ok" if healthy else "unavailable", "waiting": writer.waiting if writer else 0}
        return JSONResponse(body, 200 if healthy else 503)

    def app(self) -> Starlette:
        async def http_error(request: Request, error: Exception) -> Response:
            status = error.status_code if isinstance(error, HTTPException) else 500
            detail = error.detail if isinstance(error, HTTPException) else str(error)
            code = {404: "not_found", 405: "method_not_allowed"}.get(status, "bad_request")
            return _refusal(Refused(status, code, f"{detail} ({request.method} {request.url.path})."))

        return Starlette(
            routes=[
                Route("/v1/{call}", self.collect, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
            ],
            middleware=[
                # Browsers (analytics.js) post across origins with the write key in the body.
                Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["POST"], allow_headers=["*"])
            ],
            exception_handlers={HTTPException: http_error},
            lifespan=self.lifespan,
        )


def _listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        raise LoopError(f"`loop collect` cannot listen on {host}:{port} ({error.strerror or error}).") from None
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, *, host: str, port: int, say: Callable[[str], None]) -> int:
    """Run the collector in the foreground until SIGINT or SIGTERM; returns the exit code."""
    if not settings.write_key_set:
        raise LoopError(
            "No write key is set: set LOOP_WRITE_KEYS to the comma-separated keys your SDKs send "
            "(e.g. LOOP_WRITE_KEYS=web-key,server-key) and start `loop collect` again."
        )
    parts = PartFiles(
        settings.landing_dir / "experience" / "events",
        max_bytes=settings.collect_part_bytes,
        max_seconds=settings.collect_part_seconds,
        zone=settings.zone,
    )
    parts.acquire()
    try:
        for part, landed, dropped in parts.recover():
            if landed is None:
                say(f"Recovered nothing from {part.name} left open by a stopped collector: no complete line; removed.")
                continue
            torn = f", {dropped:,} byte(s) of a torn last line dropped" if dropped else ""
            say(f"Recovered {landed.relative_to(settings.landing_dir)} left open by a stopped collector{torn}.")
        sock = _listen(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        collector = Collector(settings, parts, say)
        collector.url = f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}"
        config = uvicorn.Config(
            collector.app(),
            lifespan="on",
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=30,
        )
        server = uvicorn.Server(config)
        stopped_by: list[int] = []

        def note(signum: int, frame: Any) -> None:
            stopped_by.append(signum)  # uvicorn re-raises the signal it stopped on once it has shut down

        previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sock.close()
    finally:
        parts.release()
    if not server.started:
        raise LoopError(f"`loop collect` did not start on {bound_host}:{bound_port}; see the messages above.")
    return 0
