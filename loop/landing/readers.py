"""Readers: one raw file (or a set of quarantined records) into the staged records the checks run on.

Every reader leaves the temporary table ``_lines`` (``_seq``, ``_row_number``, ``_payload``, ``_line_reason``): each
record's position and its text as read, kept for quarantine. The records to check, ``_incoming`` (``_row_number``,
``_source_file``, ``_partition_date``, ``_line_reason``, then per contract field its trimmed text (or JSON) and
``<field>__jtype``, the JSON type it came as, NULL for CSV), are what :class:`Staged` names: a temporary table for
CSV; for JSON a query over ``_lines`` that the checks run in the same pass, so each line is parsed once and the
parsed records are never stored on their own (see :func:`stage_json_incoming`). Each value's text is taken once, in
its own step (a string without escapes is cut out of its quotes, no JSON parse), then trimmed; lines DuckDB's
lenient parser reads but JSON does not are found by three memchr-led patterns (:data:`_SUSPECT`) and judged in
Python. On 452,000 events (272 MB) the staging and the checks take about 5 CPU-seconds (5.7 before these steps).

``_line_reason`` says why a record could not be read at all (invalid UTF-8, too large, malformed JSON or CSV);
such records are quarantined with that reason. A file that cannot be read at all (binary, undecodable, not a
regular file) raises :class:`Unreadable`, and landing sets it aside with the reason.

NDJSON is read by DuckDB (fast), with a Python line reader as fallback for the files DuckDB refuses (invalid UTF-8,
lines over its limit, UTF-16/32): both give the same positions (line numbers) and the same records. CSV is read
with Python's ``csv`` module, which reports each broken row on its own; CSV header names never become SQL text.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import math
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import pandas as pd

from loop.contracts.types import WHITESPACE
from loop.landing import exports
from loop.landing.compile import ColumnPlan, fetch_one, json_text, json_type_of, quote_ident, trimmed

#: Bytes of a record's text kept in quarantine when the record is too large to keep whole.
PAYLOAD_SAMPLE = 1000
_BATCH = 50_000
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class Unreadable(Exception):
    """The file cannot be read at all; ``reason`` says why in one sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Staged:
    """What a reader found besides the records: keys or columns the contract does not know, header problems."""

    records: int = 0
    unknown_keys: dict[str, int] = field(default_factory=dict)
    """Columns (CSV) or top-level keys (NDJSON) outside the contract, with how many records carry them."""
    missing_columns: list[str] = field(default_factory=list)
    """Contract columns a CSV header lacks (required ones quarantine every row)."""
    query: str = "SELECT * FROM _incoming"
    """The records to check (the ``_incoming`` rows): a query with named parameters (``params``)."""
    params: dict[str, object] = field(default_factory=dict)
    carry: tuple[str, ...] = ()
    """Columns of ``query`` the checks keep in ``_checked`` (a JSON staging: ``_seq``, ``_suspect`` and
    ``_unknown_keys``, for :func:`judge_suspects`)."""
    line_kinds: bool = False
    """True when ``query`` has ``_line_kind``: the kind of a ``_line_reason`` that is not a reading problem (an
    export shape's mapping: a date, number or currency it cannot read, a campaign name the catalog lacks)."""
    shape: str | None = None
    """The export shape the file was recognised as (sources with export shapes)."""


# ----------------------------------------------------------------------------------------------------------------
# Encodings
# ----------------------------------------------------------------------------------------------------------------


#: Signatures of files that are not text at all (a compressed file or a workbook dropped in place of its export).
_MAGIC = (
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one)"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (.xls)"),
)
#: Share of NUL or non-UTF-8 bytes at the start of a file above which it is not taken for UTF-8 text at all. Below it,
#: the odd NUL or invalid byte costs only the record it is in.
_BINARY_SHARE = 0.05
#: Line ends: NDJSON lines end at LF or CRLF (a lone CR is whitespace inside a line, as JSON has it); CSV records
#: also at a lone CR (as Python's csv module reads them).
_LINE_END = {"ndjson": re.compile(rb"\r?\n"), "csv": re.compile(rb"\r\n|\r|\n")}
_TEXT_LINE_END = {"ndjson": re.compile(r"\r?\n"), "csv": re.compile(r"\r\n|\r|\n")}


def sniff_encoding(path: Path) -> str:
    """``utf-8`` (with or without BOM), ``utf-16`` or ``utf-32`` (only with a byte order mark); else Unreadable."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise Unreadable(f"it is {what}, not text; loop reads uncompressed CSV and NDJSON files")
    if head.count(0) > len(head) * _BINARY_SHARE:
        raise Unreadable(
            "it is not UTF-8 text (it is full of NUL bytes: a binary file, or UTF-16 without a byte order mark); "
            "loop reads UTF-8, and UTF-16 or UTF-32 with a byte order mark"
        )
    invalid = len(head) - len(head.decode("utf-8", "ignore").encode("utf-8"))
    if invalid > 3 and invalid > len(head) * _BINARY_SHARE:  # 3: a character cut at the end of the sample
        raise Unreadable(
            f"it is not UTF-8 text ({invalid:,} of its first {len(head):,} bytes are not valid UTF-8: a binary "
            "file, or a legacy encoding such as Latin-1 or Windows-1252); loop reads UTF-8, UTF-16 and UTF-32"
        )
    return "utf-8"


def _sample(text: str) -> str:
    return text if len(text) <= PAYLOAD_SAMPLE else text[:PAYLOAD_SAMPLE] + f"… ({len(text):,} characters)"


def _byte_lines(handle: BinaryIO, limit: int, fmt: str) -> Iterator[tuple[bytes, int]]:
    """(start of the line, its full size in bytes) for every line of a binary stream.

    A line ends at ``\\n`` or ``\\r\\n`` (and for CSV at a lone ``\\r``). At most ``limit + 1`` bytes of a line
    are kept: a longer line is too large whatever the rest holds.
    """
    line_end = _LINE_END[fmt]
    kept = bytearray()
    size = 0
    skip_newline = False
    first = True
    while chunk := handle.read(1 << 16):
        if first:
            chunk = chunk.removeprefix(codecs.BOM_UTF8)
            first = False
        if skip_newline and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        skip_newline = False
        start = 0
        for end in line_end.finditer(chunk):
            piece = chunk[start : end.start()]
            size += len(piece)
            if len(kept) <= limit:
                kept += piece[: limit + 1 - len(kept)]
            if end.group() == b"\n" and size and kept.endswith(b"\r") and size == len(kept):
                kept.pop()  # the CR of a CRLF split between two chunks
                size -= 1
            yield bytes(kept), size
            kept.clear()
            size = 0
            start = end.end()
            # A \r at the end of a chunk may be the first half of a \r\n.
            skip_newline = end.group() == b"\r" and start == len(chunk)
        piece = chunk[start:]
        size += len(piece)
        if len(kept) <= limit:
            kept += piece[: limit + 1 - len(kept)]
    if size:
        yield bytes(kept), size


def _utf8_lines(path: Path, limit: int, fmt: str) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, reason) for every line of a UTF-8 file, read as bytes so one bad line stays one."""
    with path.open("rb") as handle:
        for number, (raw, size) in enumerate(_byte_lines(handle, limit, fmt), start=1):
            if size > limit:
                head = raw[:PAYLOAD_SAMPLE].decode("utf-8", "replace")
                yield number, head + f"… ({size:,} bytes)", _too_large(size, limit)
                continue
            try:
                yield number, raw.decode("utf-8"), None
            except UnicodeDecodeError as error:
                bad = raw[error.start : error.start + 1].hex()
                yield (
                    number,
                    raw.decode("utf-8", "replace"),
                    f"not valid UTF-8: byte 0x{bad} at byte {error.start + 1} of the record",
                )


def _too_large(size: int, limit: int) -> str:
    return f"record too large: {size:,} bytes (the limit is {limit:,}; LOOP_MAX_RECORD_BYTES)"


def _decoded_lines(path: Path, encoding: str, limit: int, fmt: str) -> Iterator[tuple[int, str, str | None]]:
    """Lines of a UTF-16/32 file (with BOM), decoded whole; a decoding error makes the file unreadable."""
    try:
        text = path.read_bytes().decode(encoding)
    except UnicodeDecodeError as error:
        name = encoding.upper()
        raise Unreadable(
            f"it starts with a {name} byte order mark but is not valid {name} (byte {error.start + 1})"
        ) from error
    lines = _TEXT_LINE_END[fmt].split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the line break ending the last line
    for number, line in enumerate(lines, start=1):
        size = len(line.encode("utf-8", "surrogatepass"))
        yield number, (_sample(line) if size > limit else line), (_too_large(size, limit) if size > limit else None)


def text_lines(path: Path, limit: int, fmt: str = "ndjson") -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, unreadable-record reason) for each line of a text file in any accepted encoding."""
    encoding = sniff_encoding(path)
    if encoding in ("utf-8", "utf-8-sig"):
        return _utf8_lines(path, limit, fmt)
    return _decoded_lines(path, encoding, limit, fmt)


def _consistent_line_ends(path: Path) -> bool:
    """True when every line of the file ends alike (all LF or all CRLF): then DuckDB's reader numbers lines as the
    Python reader does. A lone CR, or LF and CRLF mixed, makes DuckDB count lines of its own."""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if b"\r" in chunk:
                break
        else:
            return True  # no CR at all (the common case): every line ends with LF
    lf = crlf = cr = 0
    previous = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lf += chunk.count(b"\n")
            cr += chunk.count(b"\r")
            crlf += chunk.count(b"\r\n") + (previous == b"\r" and chunk.startswith(b"\n"))
            previous = chunk[-1:]
    return cr == 0 or cr == crlf == lf


# ----------------------------------------------------------------------------------------------------------------
# _lines and _incoming
# ----------------------------------------------------------------------------------------------------------------


def _load_lines(con: duckdb.DuckDBPyConnection, rows: Iterable[tuple[int, str, str | None]]) -> None:
    """Fill ``_lines`` (row number, payload, line reason) from Python, in batches."""
    con.execute("CREATE OR REPLACE TEMP TABLE _lines (_row_number BIGINT, _payload VARCHAR, _line_reason VARCHAR)")
    batch: list[tuple[int, str, str | None]] = []

    def flush() -> None:
        if not batch:
            return
        numbers, payloads, reasons = zip(*batch, strict=True)
        frame = pd.DataFrame(
            {
                "_row_number": pd.Series(numbers, dtype="int64"),
                "_payload": pd.Series(payloads, dtype=object),
                "_line_reason": pd.Series(reasons, dtype=object),
            }
        )
        con.register("_lines_batch", frame)
        con.execute("INSERT INTO _lines SELECT * FROM _lines_batch")
        con.unregister("_lines_batch")
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            flush()
    flush()
    con.execute("CREATE OR REPLACE TEMP TABLE _lines AS SELECT _row_number AS _seq, * FROM _lines")


def _ndjson_lines_fast(con: duckdb.DuckDBPyConnection, path: Path, limit: int) -> None:
    """``_lines`` from a UTF-8 NDJSON file with DuckDB's line reader; raises duckdb.Error on what it refuses."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _lines AS
        SELECT _seq, _seq AS _row_number, line AS _payload, NULL::VARCHAR AS _line_reason
        FROM (
            SELECT row_number() OVER () AS _seq, line
            FROM read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = '\x1e', quote = '',
                          escape = '', auto_detect = false, strict_mode = false, hive_partitioning = false,
                          max_line_size = $limit)
        )
        """,
        {"path": str(path), "limit": max(limit, 1 << 16)},
    )
    too_long = fetch_one(con.execute("SELECT count(*) FROM _lines WHERE strlen(_payload) > $limit", {"limit": limit}))
    if too_long and too_long[0]:
        raise duckdb.InvalidInputException("a line is over the record limit")  # the fallback reports each one


def stage_ndjson_lines(con: duckdb.DuckDBPyConnection, path: Path, limit: int) -> None:
    """``_lines`` of an NDJSON file: DuckDB's reader first, the Python reader for the files it refuses."""
    encoding = sniff_encoding(path)
    if encoding in ("utf-8", "utf-8-sig") and _consistent_line_ends(path):
        try:
            _ndjson_lines_fast(con, path, limit)
            return
        except duckdb.Error:
            pass
    _load_lines(con, text_lines(path, limit, "ndjson"))


def _json_struct(plans: tuple[ColumnPlan, ...]) -> str:
    """The ``from_json`` structure: every contract key as JSON (its type is checked afterwards)."""
    return json.dumps({plan.key: "JSON" for plan in plans})


#: Lines DuckDB's lenient JSON reader accepts but JSON does not, or that lose digits in it, are checked exactly in
#: Python: non-finite literals (NaN, Infinity, nan, inf), trailing commas, numbers with an exponent or 16 digits or
#: more. A value follows ``:``, ``,`` or ``[``: one pattern per such character, each led by it, which RE2 scans for
#: with memchr (about 2.5 times faster than one pattern led by a character class).
_SUSPECT_VALUE = r"[-+]?(?i:nan|inf)|[-+]?[0-9.]+[eE]|[-+]?[0-9.]{16}"
_SUSPECT = (
    rf":\s*(?:{_SUSPECT_VALUE})",
    rf",\s*(?:{_SUSPECT_VALUE}|[\]}}])",  # or a trailing comma
    rf"\[\s*(?:{_SUSPECT_VALUE})",
)


class _Refused(ValueError):
    """A JSON text Python's parser reads but the JSON standard (or an exact reading of it) refuses."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _exact_float(token: str) -> float:
    """A JSON number with a fraction or exponent, refused when a double cannot hold it as written."""
    value = float(token)
    written = Decimal(token)
    if not math.isfinite(value) or (value == 0 and written != 0):
        raise _Refused(f"{token} is out of the range of JSON numbers")
    if Decimal(repr(value)) != written:
        raise _Refused(f"{token} has more digits than a JSON number keeps (send it as a string to keep them)")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"the key {json.dumps(key, ensure_ascii=False)} appears twice in one object")
        seen[key] = value
    return seen


_NOT_AN_OBJECT = {
    list: "a JSON array",
    str: "a JSON string",
    int: "a JSON number",
    float: "a JSON number",
    bool: "a JSON boolean",
    type(None): "JSON null",
}


def strict_json_reason(text: str) -> str | None:
    """Why one NDJSON line is not a JSON object as the JSON standard defines it (exactly), None when it is one.

    Stricter than DuckDB's reader: no NaN or Infinity, no trailing commas, no key twice in an object, no number a
    double cannot hold as written, no lone surrogate escapes.
    """
    try:
        value = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_exact_float, object_pairs_hook=_unique_keys
        )
    except _Refused as refused:
        return f"malformed JSON: {refused}"
    except json.JSONDecodeError as error:
        if error.msg.startswith("Unterminated string"):
            return "malformed JSON: the line ends inside a string (a truncated line?)"
        if error.pos >= len(text.rstrip(WHITESPACE)):
            return "malformed JSON: the line ends before its JSON value does (a truncated line?)"
        message = error.msg.removesuffix(" at")
        return f"malformed JSON: {message[0].lower()}{message[1:]} at character {error.pos + 1}"
    except RecursionError:
        return "malformed JSON: nested too deeply"
    if not isinstance(value, dict):
        what = _NOT_AN_OBJECT.get(type(value), "not a JSON object")
        return f"malformed JSON: {what}, not an object (NDJSON has one JSON object per line)"
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "malformed JSON: a \\u escape that is no character (a lone surrogate)"
    return None


def judge_suspects(con: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    """Judge in Python the suspect lines of ``_checked`` (a JSON staging): each line that is not exactly one JSON
    object becomes ``malformed`` with its reason, whatever the other checks found. Then count the records and the
    keys outside the contract (schema drift) of the other lines into ``staged``.

    DuckDB found the suspects while parsing: lines it cannot read, lines that do not start with ``{``, lines matching
    :data:`_SUSPECT`, objects naming a key twice where the contract reads them.
    """
    suspects = con.execute(
        """
        SELECT _seq, _payload, json_valid(_payload) FROM _lines
        WHERE _seq IN (SELECT _seq FROM _checked WHERE _suspect)
        """
    ).fetchall()
    reasons: list[tuple[int, str]] = []
    for seq, payload, duckdb_reads_it in suspects:
        reason = strict_json_reason(payload)
        if reason is None and not duckdb_reads_it:
            reason = "malformed JSON: not valid JSON"  # pragma: no cover - Python's parser is the stricter one
        if reason is not None:
            reasons.append((int(seq), reason))
    if reasons:
        frame = pd.DataFrame(
            {
                "_seq": pd.Series([seq for seq, _ in reasons], dtype="int64"),
                "_reason": pd.Series([reason for _, reason in reasons], dtype=object),
            }
        )
        con.register("_strict_frame", frame)
        con.execute(
            """
            UPDATE _checked SET _reason = s._reason::VARCHAR, _reason_kind = 'malformed', _duplicate_of = NULL,
                                _unknown_keys = NULL
            FROM _strict_frame AS s WHERE _checked._seq = s._seq
            """
        )
        con.unregister("_strict_frame")
    drift = con.execute(
        """
        SELECT key, count(*) FROM (SELECT unnest(_unknown_keys) AS key FROM _checked WHERE len(_unknown_keys) > 0)
        GROUP BY key ORDER BY key
        """
    ).fetchall()
    records = fetch_one(con.execute("SELECT count(*) FROM _checked"))
    staged.records = int(records[0]) if records else 0
    staged.unknown_keys = {str(k): int(n) for k, n in drift}


def _whitespace_class(negate: bool = False) -> str:
    """A regular expression character class of :data:`WHITESPACE` (RE2 hex escapes)."""
    return "[" + ("^" if negate else "") + "".join(f"\\x{ord(c):02x}" for c in WHITESPACE) + "]"


#: A line holding something besides whitespace; a line whose text starts (after whitespace) as a JSON object does.
_NOT_BLANK = _whitespace_class(negate=True)
_OBJECT_START = "^" + _whitespace_class() + "*\\{"


def stage_json_incoming(
    plans: tuple[ColumnPlan, ...], source_file: str | None, partition_date: date | None, *, line_kinds: bool = False
) -> Staged:
    """``_incoming`` over ``_lines`` whose payloads are JSON objects (NDJSON lines, replayed records), as a query the
    checks read in the same pass (the parsed records are never stored on their own).

    The query parses each line once: the contract's keys (as JSON), whether Python must judge the line
    (``_suspect``, see :func:`judge_suspects`) and the keys outside the contract (``_unknown_keys``, schema drift).
    ``source_file`` / ``partition_date`` are constants for a file; None when ``_lines`` carries them per row (a
    replay of quarantined records from several files). With ``line_kinds``, ``_lines`` has ``_line_kind`` too (a
    replay of records mapped from an export shape).
    """
    values: list[str] = []
    picks: list[str] = []
    for plan in plans:
        value = f"_s.{quote_ident(plan.key)}"
        column = quote_ident(plan.name)
        jtype = quote_ident(plan.name + "__jtype")
        if plan.is_json:
            values.append(f"{value} AS {column}")  # JSON null is already SQL NULL
            picks.append(column)
        else:
            raw = quote_ident(plan.name + "__raw")
            values.append(f"{json_text(value)} AS {raw}")
            picks.append(f"{trimmed(raw, '$in_ws')} AS {column}")
        values.append(f"{json_type_of(value)} AS {jtype}")
        picks.append(jtype)
    # A key twice in an object the contract reads (the record, or a nested object such as ``properties``): a key
    # whose first position in the object's keys is not its own (cheaper than hashing the keys of every record).
    nested = [plan for plan in plans if plan.children]
    nested_keys = "".join(f", json_keys(_s.{quote_ident(plan.key)}) AS _keys{i}" for i, plan in enumerate(nested))
    twice = " OR ".join(
        f"len(list_filter({keys}, lambda k, i: list_position({keys}, k) <> i)) > 0"
        for keys in ["_keys", *(f"_keys{i}" for i in range(len(nested)))]
    )
    suspect = " OR ".join(f"regexp_matches(_payload, $in_suspect{i})" for i in range(len(_SUSPECT)))
    origin = (
        "$in_source_file::VARCHAR AS _source_file, $in_partition_date::DATE AS _partition_date"
        if source_file is not None
        else "_source_file, _partition_date"
    )
    params: dict[str, object] = {
        "in_ws": WHITESPACE,
        "in_struct": _json_struct(plans),
        "in_not_blank": _NOT_BLANK,
        "in_object_start": _OBJECT_START,
        **{f"in_suspect{i}": pattern for i, pattern in enumerate(_SUSPECT)},
        "in_known": [plan.key for plan in plans],
    }
    if source_file is not None:
        params |= {"in_source_file": source_file, "in_partition_date": partition_date}
    kind = "_line_kind, " if line_kinds else ""
    query = f"""
        WITH _read AS (
            SELECT _seq, _row_number, {origin}, _line_reason, {kind}_payload,
                   _line_reason IS NULL AND json_valid(_payload) AND regexp_matches(_payload, $in_object_start)
                       AS _object
            FROM _lines
            WHERE _payload IS NOT NULL AND regexp_matches(_payload, $in_not_blank)
        ), _parsed AS (
            SELECT *, CASE WHEN _object THEN from_json(_payload, $in_struct) END AS _s,
                   CASE WHEN _object THEN json_keys(_payload) END AS _keys
            FROM _read
        ), _nested AS (
            SELECT *{nested_keys} FROM _parsed
        ), _values AS (
            SELECT _seq, _row_number, _source_file, _partition_date, _line_reason, {kind}
                   _line_reason IS NULL
                       AND (NOT _object OR {suspect} OR coalesce({twice}, false))
                       AS _suspect,
                   list_filter(_keys, lambda k: NOT list_contains($in_known, k)) AS _unknown_keys,
                   {", ".join(values)}
            FROM _nested
        )
        SELECT _seq, _row_number, _source_file, _partition_date, _line_reason, {kind}_suspect, _unknown_keys,
               {", ".join(picks)}
        FROM _values
    """
    return Staged(query=query, params=params, carry=("_seq", "_suspect", "_unknown_keys"), line_kinds=line_kinds)


def stage_ndjson(
    con: duckdb.DuckDBPyConnection, path: Path, plans: tuple[ColumnPlan, ...], relative: str, day: date, limit: int
) -> Staged:
    """Stage one NDJSON file."""
    stage_ndjson_lines(con, path, limit)
    return stage_json_incoming(plans, relative, day)


# ----------------------------------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------------------------------


def _physical_lines(path: Path, limit: int) -> Iterator[tuple[str, str | None]]:
    """(line text with its line break, reason) for each physical line; invalid UTF-8 is kept (replaced), with a
    reason."""
    encoding = sniff_encoding(path)
    if encoding in ("utf-8", "utf-8-sig"):
        for _, text, reason in _utf8_lines(path, limit, "csv"):
            yield text + "\n", reason
        return
    for _, text, reason in _decoded_lines(path, encoding, limit, "csv"):
        yield text + "\n", reason


@dataclass
class _CsvRecord:
    values: list[str] | None
    text: str
    reason: str | None


#: One RFC 4180 record: unquoted values hold no quote; quoted values double their quotes and may span lines.
_FIELD = r'(?:[^",\n]*|"(?:[^"]|"")*")'
_RECORD = re.compile(_FIELD + "(?:," + _FIELD + ")*")


def _csv_records(path: Path, limit: int) -> Iterator[_CsvRecord]:
    """Records of a CSV file. A quoted value may span lines (up to the record limit); a record that breaks the
    format is reported alone, so one stray or unterminated quote costs one row, not the rest of the file."""
    pending: deque[tuple[str, str | None]] = deque()
    lines = _physical_lines(path, limit)

    def fill(count: int) -> bool:
        while len(pending) < count:
            line = next(lines, None)
            if line is None:
                return False
            pending.append(line)
        return True

    while fill(1):
        text, reason = pending[0]
        if reason is not None:
            pending.popleft()
            yield _CsvRecord(None, text.rstrip("\n"), reason)
            continue
        # A line that ends inside a quoted value continues on the next lines, as long as the record stays small.
        taken, buffer = 1, text
        while buffer.count('"') % 2 == 1 and len(buffer) <= limit and fill(taken + 1) and pending[taken][1] is None:
            buffer += pending[taken][0]
            taken += 1
        record = buffer.removesuffix("\n")
        if buffer.count('"') % 2 == 0 and _RECORD.fullmatch(record):
            for _ in range(taken):
                pending.popleft()
            size = len(record.encode("utf-8", "surrogatepass"))
            if size > limit:
                yield _CsvRecord(None, _sample(record), _too_large(size, limit))
                continue
            if not record.strip(WHITESPACE):
                yield _CsvRecord([], record, None)  # a blank line is not a record
                continue
            try:
                values = next(csv.reader([record]))
            except csv.Error as error:  # pragma: no cover - the record pattern admits only what csv reads
                yield _CsvRecord(None, record, f"malformed CSV row: {error}")
                continue
            yield _CsvRecord(values, record, None)
            continue
        line = pending.popleft()[0].removesuffix("\n")
        problem = "an unterminated quoted value" if line.count('"') % 2 == 1 else "a stray quote"
        yield _CsvRecord(None, line, f"malformed CSV row: {problem}")


def _head(records: Iterator[_CsvRecord], count: int) -> tuple[list[_CsvRecord], Iterator[_CsvRecord]]:
    """The first ``count`` non-blank records, and the records iterator positioned after them."""
    head: list[_CsvRecord] = []
    for record in records:
        if record.values == []:
            continue  # blank lines are not records
        head.append(record)
        if len(head) >= count:
            break
    return head, records


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    plans: tuple[ColumnPlan, ...],
    relative: str,
    day: date,
    limit: int,
    shapes: exports.Shapes | None = None,
    lookups: dict[str, list[str]] | None = None,
) -> Staged:
    """Stage one CSV file: header row, comma separated, ``"`` quoting, any accepted encoding.

    With ``shapes`` (a source with export shapes), the file's shape is recognised from its header (and the lines
    before it) and each row is mapped into the contract's fields (``lookups``: what the shapes' own step reads, such
    as campaign name -> ids); a file of no shape, or of two, is unreadable. The quarantine keeps each row's own
    values under its own header names.
    """
    csv.field_size_limit(max(limit, 1 << 17))
    records = _csv_records(path, limit)
    mapping: exports.HeaderMapping | None = None
    if shapes is not None:
        head, rest = _head(records, exports.HEAD_RECORDS)
        unreadable = next((r for r in head if r.values is None), None)
        found = exports.recognise(shapes, [r.values or [] for r in head]) if head else None
        if isinstance(found, str):
            if unreadable is not None:
                raise Unreadable(f"its header row cannot be read ({unreadable.reason})")
            top = (head[0].values or []) if head else []
            if len(top) == 1 and any(sep in top[0] for sep in (";", "\t", "|")):
                found = found.replace("shape;", "shape (is the file separated by something other than commas?);", 1)
            raise Unreadable(found)
        header_at = found[1] if found is not None else 0
        records = itertools.chain(head[header_at:], rest)
        if found is not None:
            header_values = [name.strip(WHITESPACE) for name in head[header_at].values or []]
            mapping = exports.HeaderMapping.of(found[0], header_values)
    header_record = next(records, None)
    while header_record is not None and header_record.values == []:
        header_record = next(records, None)  # blank lines before the header row
    staged = Staged(shape=mapping.shape.name if mapping is not None else None, line_kinds=True)
    keys = [plan.key for plan in plans]
    if header_record is None or header_record.values is None:
        if header_record is not None:
            raise Unreadable(f"its header row cannot be read ({header_record.reason})")
        header: list[str] = []
    else:
        header = [name.strip(WHITESPACE) for name in header_record.values]
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise Unreadable(f"its header names {', '.join(repr(d) for d in duplicated)} more than once")
    position = {name: i for i, name in enumerate(header)}
    if mapping is not None:
        staged.missing_columns = list(mapping.missing_optional)
        required_missing = list(mapping.missing_required)
        extra = list(mapping.unmapped)
    else:
        # An empty file has no header to compare with the contract: nothing is missing from it.
        missing = [key for key in keys if key not in position] if header_record is not None else []
        required_missing = [plan.key for plan in plans if plan.required and plan.key not in position]
        staged.missing_columns = missing
        extra = [name for name in header if name and name not in keys]
    file_reason = None
    if required_missing and header_record is not None:
        hint = ""
        if len(header) == 1 and any(sep in header[0] for sep in (";", "\t", "|")):
            hint = " (is the file separated by something other than commas?)"
        names = ", ".join(repr(m) if mapping is None else f"'{m}'" for m in required_missing)
        file_reason = f"the file has no {names} column{'s' if len(required_missing) > 1 else ''}{hint}"

    columns: dict[str, list[str | None]] = {name: [] for name in ("_payload", "_line_reason", "_line_kind", *keys)}
    numbers: list[int] = []
    extra_counts = dict.fromkeys(extra, 0)
    specials = 3  # _payload, _line_reason, _line_kind

    def flush_into(first: bool) -> None:
        frame = pd.DataFrame({"_row_number": pd.Series(numbers, dtype="int64")})
        for i, values in enumerate(columns.values()):
            name = ("_payload", "_line_reason", "_line_kind")[i] if i < specials else f"c{i - specials}"
            frame[name] = pd.Series(values, dtype=object)
        con.register("_csv_batch", frame)
        if first:
            typed = ", ".join(f"{quote_ident(name)}::VARCHAR AS {quote_ident(name)}" for name in frame.columns[1:])
            con.execute(f"CREATE OR REPLACE TEMP TABLE _csv_rows AS SELECT _row_number, {typed} FROM _csv_batch")
        else:
            con.execute("INSERT INTO _csv_rows SELECT * FROM _csv_batch")
        con.unregister("_csv_batch")
        numbers.clear()
        for values in columns.values():
            values.clear()

    first = True
    row_number = 0
    for record in records:
        if record.values is not None and record.values == []:
            continue  # a blank line is not a record
        if mapping is not None and record.values is not None and mapping.skips(record.values):
            continue  # a footer total of the export: not a record
        row_number += 1
        numbers.append(row_number)
        if record.values is None or len(record.values) != len(header):
            reason = record.reason or (
                f"malformed CSV row: expected {len(header)} columns, found {len(record.values or [])}"
            )
            columns["_payload"].append(record.text)
            columns["_line_reason"].append(reason)
            columns["_line_kind"].append(None)
            for key in keys:
                columns[key].append(None)
        else:
            values = dict(zip(header, record.values, strict=True))
            columns["_payload"].append(json.dumps(values, ensure_ascii=False, separators=(",", ":")))
            if mapping is not None:
                mapped = mapping.map(values, lookups or {})
                columns["_line_reason"].append(file_reason or mapped.reason)
                columns["_line_kind"].append(None if file_reason else mapped.kind)
                for key in keys:
                    columns[key].append(mapped.values.get(key))
            else:
                columns["_line_reason"].append(file_reason)
                columns["_line_kind"].append(None)
                for key in keys:
                    columns[key].append(values.get(key))
            for name in extra:
                if values.get(name, "").strip(WHITESPACE):
                    extra_counts[name] += 1
        if len(numbers) >= _BATCH:
            flush_into(first)
            first = False
    if numbers or first:
        flush_into(first)
    staged.records = row_number
    staged.unknown_keys = {name: count for name, count in extra_counts.items()}
    picks = []
    for i, plan in enumerate(plans):
        picks.append(f"{trimmed(f'c{i}', '$ws')} AS {quote_ident(plan.name)}")
        picks.append(f"NULL::VARCHAR AS {quote_ident(plan.name + '__jtype')}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lines AS SELECT _row_number AS _seq, _row_number, _payload, _line_reason "
        "FROM _csv_rows"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _incoming AS
        SELECT _row_number, $source_file::VARCHAR AS _source_file, $partition_date::DATE AS _partition_date,
               _line_reason, _line_kind, {", ".join(picks)}
        FROM _csv_rows
        """,
        {"ws": WHITESPACE, "source_file": relative, "partition_date": day},
    )
    return staged
