"""Audience exports: the day's audiences as files for ad platforms and the company's own email/push tools.

``export_audiences(settings, destination, out_dir, run_id=...)`` reads the audience marts with the raw contacts and
consent, under the warehouse lock, and writes one folder per audience:

```
<out_dir>/<destination>/<audience_id>/
    0001-<as-of>-full.csv        first export: the whole membership
    0002-<as-of>-removes.csv     every later export: the rows to remove ...
    0002-<as-of>-adds.csv        ... and the rows to add, against the last export
    ...
    manifest.json                the exports in order: seq, kind, as_of, files with row counts and sha256
```

``destination`` is ``customer-match`` or ``meta`` (audiences whose channel is ``paid``) or ``owned`` (channel
``owned``); columns and normalization are in :mod:`loop.activate.normalize`. ``<as-of>`` is the date the marts are
complete up to (the newest successful build, else today, a business day in LOOP_TIMEZONE).

**Who is never exported.** Holdout members (``is_holdout``; a NULL flag counts as holdout). Whoever has
``opted_out_of_everything`` (in any consent row), or a NULL opt-out, from every file, even when the mart let them
through. Paid files also leave out everyone without explicit ``advertising_consent = true`` (in every consent row;
no consent row is no consent). Owned files take a customer who never made a consent choice (the company's own
channels need no advertising consent; an opt-out from everything is respected). Paid rows without a usable
identifier (email, phone, or first name + last name + country + zip) are left out. Each reason is counted per
audience (``AudienceExport.excluded``, and the manifest).

**Incremental, as reverse-ETL tools do.** A file row is the unit: the warehouse keeps the rows last exported per
(destination, out dir, audience) in ``ops.audience_export_rows`` and one line per export in
``ops.audience_export_log``. The first export writes the full file; each later one writes ``removes`` (rows
exported before and not now) and ``adds`` (rows now and not before), both with the header even when empty. A
customer whose contact data changed is a remove of the old row plus an add of the new one. Identical rows of two
customers are one row. To rebuild the membership, take the ``full`` file, then for every later export in ``seq``
order apply its ``removes`` and then its ``adds`` (removes first: an old and a new row may share an identifier).
An audience that is no longer in the marts (or changed channel) gets one last export removing all its rows.

**Crash safety.** Files are written to a temporary name, fsynced and renamed into place; only then is the state
committed (one warehouse transaction per audience: rows and log line), and only after that is ``manifest.json``
rewritten (atomically) from the log. The manifest is the index consumers read, so it never lists an export whose
state was not committed. A crash after the files and before the commit leaves files of an uncommitted ``seq``: the
next export deletes them and writes that ``seq`` again from the committed state. A crash after the commit and
before the manifest leaves a manifest one export behind: the next export rewrites it from the log before its own
work. A committed file that went missing is reported as an error rather than papered over.

Paths are handed to the filesystem only, never to SQL. Audience ids must be plain names (letters, digits, ``_``,
``-``, ``.``) since they become folder names.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from loop.activate.normalize import (
    CHANNEL,
    DESTINATIONS,
    LAYOUTS,
    OWNED,
    csv_header,
    csv_lines,
    destination_rows,
)
from loop.business_day import business_date
from loop.errors import LoopError
from loop.landing.schema import ensure_table
from loop.settings import Settings
from loop.warehouse import connect

#: The export state kept in the warehouse (created and evolved with :func:`loop.landing.schema.ensure_table`).
STATE_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "ops.audience_export_rows": (
        ("destination", "VARCHAR NOT NULL"),
        ("target", "VARCHAR NOT NULL"),
        ("audience_id", "VARCHAR NOT NULL"),
        ("line", "VARCHAR NOT NULL"),
        ("added_seq", "INTEGER NOT NULL"),
    ),
    "ops.audience_export_log": (
        ("destination", "VARCHAR NOT NULL"),
        ("target", "VARCHAR NOT NULL"),
        ("audience_id", "VARCHAR NOT NULL"),
        ("seq", "INTEGER NOT NULL"),
        ("kind", "VARCHAR NOT NULL"),
        ("as_of", "DATE NOT NULL"),
        ("run_id", "VARCHAR"),
        ("exported_at", "TIMESTAMPTZ NOT NULL"),
        ("name", "VARCHAR"),
        ("rule_version", "VARCHAR"),
        ("rows", "BIGINT NOT NULL"),
        ("adds", "BIGINT NOT NULL"),
        ("removes", "BIGINT NOT NULL"),
        ("files", "VARCHAR NOT NULL"),
        ("excluded", "VARCHAR NOT NULL"),
    ),
}

#: Why a member of an audience is not in the file, in the order the reasons are checked.
EXCLUSIONS: tuple[str, ...] = ("holdout", "opted_out", "consent_unknown", "no_advertising_consent", "no_identifier")

_AUDIENCE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_EXPORT_FILE = re.compile(r"(\d{4,})-\d{4}-\d{2}-\d{2}-(full|adds|removes)\.csv")
_REQUIRED = {
    "main.audiences": "the audience marts",
    "main.audience_members": "the audience marts",
    "intermediate.int_customer_consent": "the consent model",
    "intermediate.int_customer_contacts": "the contacts model",
}
_CHUNK = 50_000


@dataclass(frozen=True)
class ExportFile:
    """One file an export wrote."""

    kind: str  # full | adds | removes
    path: Path
    rows: int
    sha256: str


@dataclass(frozen=True)
class AudienceExport:
    """What one export of one audience to one destination did."""

    destination: str
    audience_id: str
    seq: int
    kind: str  # full | delta
    as_of: date
    files: tuple[ExportFile, ...]
    rows: int  # rows exported so far (the membership after this export)
    adds: int
    removes: int
    members: int  # members of the audience in the mart, holdouts included
    excluded: Mapping[str, int]
    manifest: Path
    repaired: tuple[str, ...] = field(default=())


@dataclass
class _Audience:
    audience_id: str
    name: str | None
    rule_version: str | None
    members: int = 0
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXCLUSIONS, 0))
    lines: list[str] = field(default_factory=list)


def export_audiences(
    settings: Settings, destination: str, out_dir: Path, *, run_id: str, as_of: date | None = None
) -> list[AudienceExport]:
    """Export every audience of ``destination``'s channel into ``out_dir/<destination>/`` (one result each).

    ``as_of`` names the files; by default the date the marts are built up to (else today in LOOP_TIMEZONE).
    """
    if destination not in DESTINATIONS:
        raise LoopError(f"Unknown destination {destination!r}; choose one of {', '.join(DESTINATIONS)}.")
    out = Path(out_dir).expanduser().resolve()
    folder = out / destination
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LoopError(f"Cannot create the folder {folder}: {error.strerror}.") from None
    target = str(out)
    with connect(settings, write=True) as con:
        for table, columns in STATE_TABLES.items():
            ensure_table(con, table, columns)
        _check_inputs(con, destination)
        _check_validated(con)
        day = as_of or _built_as_of(con, settings)
        audiences = _read_audiences(con, destination)
        for audience_id in _previously_exported(con, destination, target):
            audiences.setdefault(audience_id, _Audience(audience_id, None, None))
        return [
            _export_one(con, destination, target, folder, audience, day, run_id)
            for audience in sorted(audiences.values(), key=lambda a: a.audience_id)
        ]


# ----------------------------------------------------------------------------------------------------------------
# reading the marts
# ----------------------------------------------------------------------------------------------------------------


def _check_inputs(con: duckdb.DuckDBPyConnection, destination: str) -> None:
    present = {
        f"{schema}.{table}"
        for schema, table in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    }
    for table, what in _REQUIRED.items():
        if table == "intermediate.int_customer_contacts" and destination == OWNED:
            continue
        if table not in present:
            raise LoopError(f"{table} is not in the warehouse ({what} are not built yet); run `loop run` first.")


def _check_validated(con: duckdb.DuckDBPyConnection) -> None:
    """The marts in the warehouse must be those of a build whose cycle pillar passed validation and was published.

    The newest build (successful or not: a failed build may have replaced some marts) must be successful, and the
    same attempt must have published the cycle pillar; otherwise the audiences on disk are unvalidated.
    """
    present = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ops'"
        ).fetchall()
    }
    if not {"build_log", "publication_log"} <= present:
        raise LoopError("No cycle has built and published the marts yet; run `loop run` first.")
    newest = con.execute("SELECT attempt, success FROM ops.build_log ORDER BY built_at DESC LIMIT 1").fetchall()
    if not newest:
        raise LoopError("No cycle has built the marts yet; run `loop run` first.")
    attempt, success = newest[0]
    if not success:
        raise LoopError(
            f"The newest build ({attempt}) failed, so the audience marts are not validated; audiences are exported "
            "only from validated, published marts. See `loop status`, fix the cause and run the cycle again."
        )
    published = con.execute(
        "SELECT count(*) FROM ops.publication_log WHERE attempt = ? AND pillar = 'cycle'", [attempt]
    ).fetchall()[0][0]
    if not published:
        raise LoopError(
            f"The audience marts were built by {attempt}, which did not publish the cycle pillar (its validation "
            "failed, or the cycle is still running); audiences are exported only from validated, published marts. "
            "See `loop status`."
        )


def _built_as_of(con: duckdb.DuckDBPyConnection, settings: Settings) -> date:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' AND table_name = 'build_log'"
    ).fetchall()[0][0]
    if exists:
        newest = con.execute("SELECT max(as_of) FROM ops.build_log WHERE success").fetchall()[0][0]
        if isinstance(newest, date):
            return newest
    return business_date(datetime.now(UTC), settings.zone)


def _read_audiences(con: duckdb.DuckDBPyConnection, destination: str) -> dict[str, _Audience]:
    """The audiences of the destination's channel with their file rows and exclusion counts."""
    paid = CHANNEL[destination] == "paid"
    rows = con.execute(
        "SELECT audience_id, any_value(name), any_value(rule_version) FROM main.audiences "
        "WHERE channel = ? AND audience_id IS NOT NULL GROUP BY audience_id",
        [CHANNEL[destination]],
    ).fetchall()
    audiences = {str(a): _Audience(str(a), name, version) for a, name, version in rows}
    for audience_id in audiences:
        if not _AUDIENCE_ID.fullmatch(audience_id) or audience_id in (".", ".."):
            raise LoopError(f"Audience id {audience_id!r} cannot be a folder name; ids are letters, digits, _ - .")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE activate_members AS
        WITH selected AS (
            SELECT DISTINCT audience_id FROM main.audiences WHERE channel = ?
        ),
        members AS (
            SELECT m.audience_id, m.customer_id, bool_or(coalesce(m.is_holdout, true)) AS is_holdout
            FROM main.audience_members AS m
            INNER JOIN selected ON m.audience_id = selected.audience_id
            WHERE m.customer_id IS NOT NULL
            GROUP BY m.audience_id, m.customer_id
        ),
        consent AS (
            SELECT
                customer_id,
                bool_or(opted_out_of_everything IS TRUE) AS opted_out,
                bool_or(opted_out_of_everything IS NULL) AS opt_out_unknown,
                bool_and(advertising_consent IS TRUE) AS advertising
            FROM intermediate.int_customer_consent
            GROUP BY customer_id
        )
        SELECT
            members.audience_id,
            members.customer_id,
            CASE
                WHEN members.is_holdout THEN 'holdout'
                WHEN consent.opted_out THEN 'opted_out'
                WHEN ? AND (consent.customer_id IS NULL OR NOT consent.advertising) THEN 'no_advertising_consent'
                WHEN consent.opt_out_unknown THEN 'consent_unknown'
                ELSE 'eligible'
            END AS status
        FROM members
        LEFT JOIN consent ON members.customer_id = consent.customer_id
        """,
        [CHANNEL[destination], paid],
    )
    try:
        for audience_id, status, count in con.execute(
            "SELECT audience_id, status, count(*) FROM activate_members GROUP BY ALL"
        ).fetchall():
            audience = audiences[audience_id]
            audience.members += int(count)
            if status != "eligible":
                audience.excluded[status] += int(count)
        pairs = con.execute("SELECT audience_id, customer_id FROM activate_members WHERE status = 'eligible'").df()
        if paid:
            contacts = con.execute(
                """
                SELECT customer_id, email, phone, first_name, last_name, country, zip
                FROM intermediate.int_customer_contacts
                WHERE customer_id IN (SELECT customer_id FROM activate_members WHERE status = 'eligible')
                QUALIFY row_number() OVER (
                    PARTITION BY customer_id ORDER BY email, phone, first_name, last_name, country, zip
                ) = 1
                """
            ).df()
        else:
            contacts = pd.DataFrame({"customer_id": pairs["customer_id"].drop_duplicates()})
    finally:
        con.execute("DROP TABLE IF EXISTS activate_members")
    _attach_lines(destination, audiences, pairs, contacts)
    return audiences


def _attach_lines(
    destination: str, audiences: dict[str, _Audience], pairs: pd.DataFrame, contacts: pd.DataFrame
) -> None:
    """Normalize each customer once, then give every audience the sorted distinct lines of its usable members."""
    contacts = contacts.reset_index(drop=True)
    frame, usable = destination_rows(destination, contacts)
    per_customer = pd.DataFrame(
        {"line": csv_lines(frame).to_numpy(), "usable": usable.to_numpy()}, index=contacts["customer_id"].astype(object)
    )
    pairs = pairs.astype(object)
    line = pairs["customer_id"].map(per_customer["line"])
    ok = pairs["customer_id"].map(per_customer["usable"]).fillna(False).astype(bool)  # no contact row: unusable
    for audience_id, count in pairs.loc[~ok, "audience_id"].value_counts().items():
        audiences[str(audience_id)].excluded["no_identifier"] += int(count)
    kept = pd.DataFrame({"audience_id": pairs.loc[ok, "audience_id"], "line": line[ok]})
    for audience_id, group in kept.groupby("audience_id", sort=False):
        audiences[str(audience_id)].lines = sorted(set(group["line"].tolist()))


def _previously_exported(con: duckdb.DuckDBPyConnection, destination: str, target: str) -> list[str]:
    """Audiences exported here before whose last export still holds rows (they may have left the marts)."""
    rows = con.execute(
        "SELECT audience_id FROM ops.audience_export_log WHERE destination = ? AND target = ? "
        "QUALIFY row_number() OVER (PARTITION BY audience_id ORDER BY seq DESC) = 1 AND rows > 0",
        [destination, target],
    ).fetchall()
    return [str(r[0]) for r in rows]


# ----------------------------------------------------------------------------------------------------------------
# one audience
# ----------------------------------------------------------------------------------------------------------------


def _export_one(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    target: str,
    folder: Path,
    audience: _Audience,
    day: date,
    run_id: str,
) -> AudienceExport:
    audience_dir = folder / audience.audience_id
    audience_dir.mkdir(parents=True, exist_ok=True)
    key = [destination, target, audience.audience_id]
    log = _log(con, key)
    repaired = _repair(audience_dir, log)
    last = log[-1]["seq"] if log else 0
    seq = last + 1
    stamp = day.isoformat()
    header = csv_header(destination)
    if not log:
        kind = "full"
        adds, removes = audience.lines, []
        planned = [("full", audience.lines)]
    else:
        kind = "delta"
        previous = {
            r[0]
            for r in con.execute(
                "SELECT line FROM ops.audience_export_rows WHERE destination = ? AND target = ? AND audience_id = ?",
                key,
            ).fetchall()
        }
        current = set(audience.lines)
        adds, removes = sorted(current - previous), sorted(previous - current)
        planned = [("removes", removes), ("adds", adds)]
    files = tuple(
        _write_csv(audience_dir / f"{seq:04d}-{stamp}-{name}.csv", name, header, lines) for name, lines in planned
    )
    _fsync_dir(audience_dir)
    entry = {
        "seq": seq,
        "kind": kind,
        "as_of": stamp,
        "run_id": run_id,
        "exported_at": datetime.now(UTC),
        "name": audience.name,
        "rule_version": audience.rule_version,
        "rows": len(audience.lines),
        "adds": len(adds),
        "removes": len(removes),
        "files": [{"kind": f.kind, "name": f.path.name, "rows": f.rows, "sha256": f.sha256} for f in files],
        "excluded": dict(audience.excluded),
    }
    _commit(con, key, entry, full=not log, adds=adds, removes=removes)
    _write_manifest(audience_dir, destination, audience.audience_id, [*log, entry])
    return AudienceExport(
        destination=destination,
        audience_id=audience.audience_id,
        seq=seq,
        kind=kind,
        as_of=day,
        files=files,
        rows=len(audience.lines),
        adds=len(adds),
        removes=len(removes),
        members=audience.members,
        excluded=dict(audience.excluded),
        manifest=audience_dir / "manifest.json",
        repaired=tuple(repaired),
    )


def _log(con: duckdb.DuckDBPyConnection, key: Sequence[str]) -> list[dict[str, Any]]:
    """The committed exports of one (destination, target, audience), oldest first."""
    cursor = con.execute(
        "SELECT seq, kind, as_of, run_id, exported_at, name, rule_version, rows, adds, removes, files, excluded "
        "FROM ops.audience_export_log WHERE destination = ? AND target = ? AND audience_id = ? ORDER BY seq",
        list(key),
    )
    names = [d[0] for d in cursor.description or ()]
    entries = []
    for row in cursor.fetchall():
        entry = dict(zip(names, row, strict=True))
        entry["as_of"] = entry["as_of"].isoformat()
        entry["files"] = json.loads(entry["files"])
        entry["excluded"] = json.loads(entry["excluded"])
        entries.append(entry)
    return entries


def _repair(audience_dir: Path, log: list[dict[str, Any]]) -> list[str]:
    """Bring the folder back to the committed state: drop uncommitted files, check committed ones, fix the manifest."""
    notes = []
    committed = {f["name"] for entry in log for f in entry["files"]}
    for path in sorted(audience_dir.iterdir()):
        if path.name.endswith(".partial"):
            path.unlink()
            notes.append(f"removed the partial file {path.name}")
        elif _EXPORT_FILE.fullmatch(path.name) and path.name not in committed:
            path.unlink()
            notes.append(f"removed {path.name}, written by an export that did not commit")
    missing = sorted(name for name in committed if not (audience_dir / name).is_file())
    if missing:
        raise LoopError(
            f"{audience_dir} lacks committed export files ({', '.join(missing)}); the files downstream tools "
            "replay are incomplete. Restore them, or export to a new --out folder to start again with a full file."
        )
    if log:
        manifest = audience_dir / "manifest.json"
        seqs = _manifest_seqs(manifest)
        if seqs != [entry["seq"] for entry in log]:
            destination, audience_id = audience_dir.parent.name, audience_dir.name
            _write_manifest(audience_dir, destination, audience_id, log)
            notes.append("rewrote manifest.json from the committed exports")
    return notes


def _manifest_seqs(manifest: Path) -> list[int] | None:
    try:
        return [int(e["seq"]) for e in json.loads(manifest.read_text(encoding="utf-8"))["exports"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _commit(
    con: duckdb.DuckDBPyConnection,
    key: Sequence[str],
    entry: dict[str, Any],
    *,
    full: bool,
    adds: Sequence[str],
    removes: Sequence[str],
) -> None:
    """Record the export in one transaction: the exported rows and the log line."""
    con.execute("BEGIN TRANSACTION")
    try:
        where = "destination = ? AND target = ? AND audience_id = ?"
        if full:
            con.execute(f"DELETE FROM ops.audience_export_rows WHERE {where}", list(key))
        elif removes:
            con.register("activate_removes", pd.DataFrame({"line": pd.Series(removes, dtype=object)}))
            con.execute(
                f"DELETE FROM ops.audience_export_rows WHERE {where} AND line IN (SELECT line FROM activate_removes)",
                list(key),
            )
            con.unregister("activate_removes")
        if adds:
            con.register("activate_adds", pd.DataFrame({"line": pd.Series(adds, dtype=object)}))
            con.execute(
                "INSERT INTO ops.audience_export_rows (destination, target, audience_id, line, added_seq) "
                "SELECT ?, ?, ?, line, ? FROM activate_adds",
                [*key, entry["seq"]],
            )
            con.unregister("activate_adds")
        con.execute(
            "INSERT INTO ops.audience_export_log (destination, target, audience_id, seq, kind, as_of, run_id, "
            "exported_at, name, rule_version, rows, adds, removes, files, excluded) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                *key,
                entry["seq"],
                entry["kind"],
                entry["as_of"],
                entry["run_id"],
                entry["exported_at"],
                entry["name"],
                entry["rule_version"],
                entry["rows"],
                entry["adds"],
                entry["removes"],
                json.dumps(entry["files"]),
                json.dumps(entry["excluded"]),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# ----------------------------------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------------------------------


def _write_csv(path: Path, kind: str, header: str, lines: Sequence[str]) -> ExportFile:
    """Write ``header`` and ``lines`` (LF line ends) atomically; returns the file with its row count and sha256."""
    digest = hashlib.sha256()
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as handle:
            for chunk in _chunks(header, lines):
                data = chunk.encode("utf-8")
                digest.update(data)
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise LoopError(f"Cannot write {path}: {error.strerror}.") from None
    return ExportFile(kind, path, len(lines), digest.hexdigest())


def _chunks(header: str, lines: Sequence[str]) -> Iterable[str]:
    yield header + "\n"
    for start in range(0, len(lines), _CHUNK):
        yield "\n".join(lines[start : start + _CHUNK]) + "\n"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_manifest(audience_dir: Path, destination: str, audience_id: str, log: list[dict[str, Any]]) -> None:
    """``manifest.json``: every committed export in ``seq`` order (replaced atomically)."""
    latest = log[-1]
    manifest = {
        "destination": destination,
        "audience_id": audience_id,
        "name": latest.get("name"),
        "rule_version": latest.get("rule_version"),
        "columns": list(LAYOUTS[destination].columns),
        "format": "CSV, UTF-8, header row, LF line ends; hashed values are SHA-256 as 64 lowercase hex characters",
        "replay": "start from the full file, then for each later export in seq order apply removes, then adds",
        "exports": [
            {
                "seq": e["seq"],
                "kind": e["kind"],
                "as_of": e["as_of"],
                "run_id": e["run_id"],
                "exported_at": _iso(e["exported_at"]),
                "rows": e["rows"],
                "adds": e["adds"],
                "removes": e["removes"],
                "files": e["files"],
                "excluded": e["excluded"],
            }
            for e in log
        ],
    }
    path = audience_dir / "manifest.json"
    partial = audience_dir / f".manifest.json.{os.getpid()}.partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    _fsync_dir(audience_dir)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(value)
