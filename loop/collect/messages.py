"""From a Segment HTTP Tracking API request to the NDJSON lines landing reads.

The request body is a batch (``{"batch": [...], "context": {...}, "integrations": {...}, "sentAt": ...}``) or one
call (the event itself, its type given by the path). Each event is stored as the client sent it, with these changes
only, as Segment's own API makes them:

- the batch's ``context`` and ``integrations`` are merged into each event's (key by key at the top level of those
  objects; the event's own keys win). ``writeKey``, ``sentAt`` and the batch's other fields are not stored.
- ``receivedAt``: the collector's clock when the request arrived (UTC, ISO 8601 with milliseconds and ``Z``).
- ``timestamp`` is corrected for the client's clock skew: ``timestamp = receivedAt - (sentAt - timestamp)`` when the
  event (or its batch) carries ``sentAt``; the timestamp as sent is kept as ``originalTimestamp``. An event without a
  timestamp gets ``receivedAt``. A timestamp or ``sentAt`` that is not an ISO 8601 instant with a zone is left as
  sent (landing then quarantines a bad timestamp with its reason).
- ``messageId``, when missing, is ``api-`` and a hash of the event as sent and its position in the request (and of
  ``receivedAt`` when the event has no timestamp): a retried request gets the same ids, so landing drops the copies.
- an ``identify`` without ``traits`` takes ``context.traits`` (where RudderStack's SDKs put identify traits).

Nothing else is judged here: an event that breaks the contract (no id, an unknown type) is stored, and landing
quarantines it with a reason, so nothing is lost in silence. Numbers are written back exactly as they were sent
(``12.50`` stays ``12.50``); ``NaN`` and ``Infinity`` are not JSON and refuse the request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import zlib
from datetime import UTC, datetime
from typing import Any

#: Segment's limits, measured on the decompressed JSON: 32 KB per event, 500 KB per request.
EVENT_LIMIT = 32 * 1024
REQUEST_LIMIT = 500 * 1024

#: The calls of the Tracking API, by path; ``None`` is a batch. The one-letter paths are analytics.js's.
CALLS: dict[str, str | None] = {
    "batch": None,
    "import": None,
    "b": None,
    "track": "track",
    "t": "track",
    "page": "page",
    "p": "page",
    "identify": "identify",
    "i": "identify",
    "screen": "screen",
    "s": "screen",
    "alias": "alias",
    "a": "alias",
    "group": "group",
    "g": "group",
}

_SHARED = ("context", "integrations")
_FRACTION = re.compile(r"(\.[0-9]{6})[0-9]+")


class Refused(Exception):
    """A request the collector answers with an error: its HTTP status and the ``{code, message}`` body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


# ----------------------------------------------------------------------------------------------------------------
# body
# ----------------------------------------------------------------------------------------------------------------


def _too_large(size: int | None = None) -> Refused:
    actual = f" ({size:,} bytes)" if size is not None else ""
    return Refused(
        400,
        "request_too_large",
        f"The request is larger than 500 KB{actual} once decompressed; send at most 512,000 bytes of JSON per request.",
    )


def decode(body: bytes, content_encoding: str | None) -> bytes:
    """The JSON bytes of a request body, plain or gzip; refused beyond :data:`REQUEST_LIMIT` once decompressed.

    Decompression stops as soon as the output passes the limit, so a small gzip bomb costs nothing.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        if len(body) > REQUEST_LIMIT:
            raise _too_large(len(body))
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise Refused(
            400, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported; send plain or gzip JSON."
        )
    out = bytearray()
    rest = body
    while rest:
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += stream.decompress(rest, REQUEST_LIMIT + 1 - len(out))
        except zlib.error as error:
            raise Refused(400, "invalid_gzip", f"The body is not valid gzip ({error}).") from None
        if len(out) > REQUEST_LIMIT:
            raise _too_large()
        if not stream.eof:
            raise Refused(400, "invalid_gzip", "The gzip body is cut short.")
        rest = stream.unused_data.lstrip(b"\x00")  # gzip members may follow each other (and zero padding)
    return bytes(out)


class _Number(str):
    """A JSON number whose Python value would not write back as it was sent (``12.50``, ``1e2``, ``-0``)."""


def _parse_float(text: str) -> Any:
    value = float(text)
    return value if repr(value) == text else _Number(text)


def _parse_int(text: str) -> Any:
    value = int(text)
    return value if str(value) == text else _Number(text)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse(data: bytes) -> tuple[dict[str, Any], bool]:
    """The request's JSON object, and whether it holds numbers that only their text keeps exactly (then the
    events are written back with :func:`encode` ``exact``); refused when it is not strict JSON, not UTF-8 or not an
    object."""
    kept: list[_Number] = []

    def number(parsed: Any) -> Any:
        if isinstance(parsed, _Number):
            kept.append(parsed)
        return parsed

    decoder = json.JSONDecoder(
        parse_float=lambda text: number(_parse_float(text)),
        parse_int=lambda text: number(_parse_int(text)),
        parse_constant=_not_json,
    )
    try:
        text = data.decode("utf-8").strip(" \t\r\n")
        value, end = decoder.raw_decode(text)
        if end != len(text):
            raise ValueError("extra data after the JSON value")
    except UnicodeDecodeError as error:
        raise Refused(400, "invalid_json", f"The body is not UTF-8 (byte {error.start + 1}).") from None
    except (ValueError, RecursionError) as error:
        raise Refused(400, "invalid_json", f"The body is not valid JSON: {error}.") from None
    if not isinstance(value, dict):
        raise Refused(400, "invalid_json", "The body must be a JSON object.")
    return value, bool(kept)


# ----------------------------------------------------------------------------------------------------------------
# writing JSON back
# ----------------------------------------------------------------------------------------------------------------

_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode


def _encode_exact(value: Any) -> str:
    """JSON text of ``value`` with each :class:`_Number` written as it was sent (the slow path)."""
    if isinstance(value, _Number):
        return str.__str__(value)
    if isinstance(value, dict):
        return "{" + ",".join(_ENCODE(str(k)) + ":" + _encode_exact(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode_exact(v) for v in value) + "]"
    return _ENCODE(value)


def encode(value: Any, exact: bool) -> str:
    """Compact JSON text; ``exact`` when the request held numbers that must be written as sent."""
    return _encode_exact(value) if exact else _ENCODE(value)


# ----------------------------------------------------------------------------------------------------------------
# events
# ----------------------------------------------------------------------------------------------------------------


def write_key(payload: dict[str, Any]) -> str | None:
    """The ``writeKey`` of the body, if it has one."""
    key = payload.get("writeKey")
    return key if isinstance(key, str) and key else None


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 instant with its zone, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    text = _FRACTION.sub(r"\1", value.strip())  # Python keeps microseconds; nanoseconds are cut, not refused
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def iso(instant: datetime) -> str:
    """UTC, ISO 8601 with milliseconds and ``Z``, as Segment writes its timestamps."""
    utc = instant.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _merged(shared: dict[str, Any] | None, own: Any) -> Any:
    if not shared:
        return own
    if not isinstance(own, dict):
        return dict(shared) if own is None else own
    return {**shared, **own}


def _message_id(event: dict[str, Any], position: int, received: str | None) -> str:
    basis = json.dumps([event, position, received], sort_keys=True, separators=(",", ":"), default=str)
    return "api-" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _shared(payload: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Refused(400, "invalid_request", f"The batch's {name!r} must be a JSON object.")
    return value


def to_lines(
    payload: dict[str, Any], call: str | None, received_at: datetime, *, exact: bool, body_size: int
) -> list[str]:
    """The NDJSON lines (without line ends) to store for one request: its events as described in the module doc.

    ``call`` is the event type of a single-call path, None for a batch; ``exact`` comes from :func:`parse`;
    ``body_size`` is the decompressed body's size (no event of a body within :data:`EVENT_LIMIT` can exceed it).
    """
    if call is None:
        events = payload.get("batch")
        if not isinstance(events, list):
            raise Refused(400, "invalid_request", 'A batch request needs a "batch" array of events.')
        request = _Request(
            received_at, exact, {name: _shared(payload, name) for name in _SHARED}, payload.get("sentAt")
        )
    else:
        events = [payload]
        request = _Request(received_at, exact, {}, None)
    lines = []
    for position, event in enumerate(events):
        where = f"Event {position} of the batch" if call is None else "The event"
        if not isinstance(event, dict):
            raise Refused(400, "invalid_request", f"{where} is not a JSON object.")
        try:
            if body_size > EVENT_LIMIT:
                size = len(encode(event, exact).encode("utf-8", "surrogatepass"))
                if size > EVENT_LIMIT:
                    raise Refused(
                        400,
                        "event_too_large",
                        f"{where} is {size:,} bytes; the limit is 32 KB (32,768 bytes) per event.",
                    )
            lines.append(request.line(event, call, position))
        except RecursionError:
            raise Refused(400, "invalid_request", f"{where} is nested too deeply.") from None
    return lines


class _Request:
    """What one request's events share: when it arrived, its batch fields, how its numbers are written."""

    def __init__(self, received_at: datetime, exact: bool, shared: dict[str, Any], sent_at: Any) -> None:
        self.received_at = received_at
        self.received = iso(received_at)
        self.exact = exact
        self.shared = shared
        self.sent_at = sent_at

    def line(self, event: dict[str, Any], call: str | None, position: int) -> str:
        stored = dict(event)
        stored.pop("writeKey", None)
        sent_at = stored.pop("sentAt", None) or self.sent_at
        if call is not None:
            stored["type"] = call
        for name in _SHARED:
            merged = _merged(self.shared.get(name), stored.get(name))
            if merged is not None:
                stored[name] = merged
        context = stored.get("context")
        context_traits = context.get("traits") if isinstance(context, dict) else None
        if stored.get("type") == "identify" and stored.get("traits") is None and isinstance(context_traits, dict):
            stored["traits"] = context_traits
        original = stored.get("timestamp")
        untimed = original is None or original == ""
        if stored.get("messageId") is None or stored.get("messageId") == "":
            stored["messageId"] = _message_id(stored, position, self.received if untimed else None)
        if untimed:
            stored["timestamp"] = self.received
        else:
            stored["originalTimestamp"] = original
            happened, sent = _instant(original), _instant(sent_at)
            if happened is not None and sent is not None:
                with contextlib.suppress(OverflowError):  # a sentAt centuries from the timestamp: left as sent
                    stored["timestamp"] = iso(self.received_at - (sent - happened))
        stored["receivedAt"] = self.received
        return encode(stored, self.exact)
