"""Contracts: the pydantic models and landing's SQL checks agree record by record, and policies are explicit."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from loop.contracts import SOURCES, source_named
from loop.landing import exports, land_pillar
from loop.landing.compile import METADATA_COLUMNS, plan_fields, raw_table_columns
from loop.settings import Settings
from loop.warehouse import connect

from ..conftest import FIXTURES
from ..landing.corpus import case_names, landed

#: Reason kinds that come from checks across records or from reading (not from the record's own contract).
CROSS_RECORD = ("duplicate", "unknown_reference", "late", "future", "malformed")


class _NotJson(ValueError):
    pass


def _refuse(constant: str) -> Any:
    raise _NotJson(f"{constant} is not a JSON number")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise _NotJson("a key appears twice")
    return dict(pairs)


def _decode(data: bytes) -> str:
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding)
    return data.decode("utf-8", "surrogateescape")  # a record with an undecodable byte has no parsed form


def _parsed(text: str) -> dict[str, Any] | None:
    """A record as Python reads it; None where it has no parsed form (not JSON, not UTF-8, not an object)."""
    if re.search("[\udc80-\udcff]", text):
        return None
    try:
        value = json.loads(text, parse_constant=_refuse, object_pairs_hook=_unique)
    except (json.JSONDecodeError, _NotJson):
        return None
    return value if isinstance(value, dict) else None


def _records(path: Path) -> list[tuple[int, dict[str, Any] | None]]:
    """(position, parsed record) for the records of a file, read independently of landing."""
    text = _decode(path.read_bytes())
    if path.suffix.lower() == ".ndjson":
        return [
            (number, _parsed(line))
            for number, line in enumerate(re.split("\r?\n", text), start=1)
            if line.strip(" \t\n\r\x0b\x0c")
        ]
    out: list[tuple[int, dict[str, Any] | None]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        first: list[str] = []
        while not first:  # blank lines before the header
            first = next(reader, ["<none>"])
        header = [name.strip(" \t\n\r\x0b\x0c") for name in first]
        number = 0
        for row in reader:
            if not row:
                continue
            number += 1
            if len(row) != len(header) or any(re.search("[\udc80-\udcff]", value) for value in row):
                out.append((number, None))
            else:
                out.append((number, dict(zip(header, row, strict=True))))
    except csv.Error:
        pass  # past a broken quote the csv module and landing disagree on positions: compare what came before
    return out


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_explicit_extra_policy(source) -> None:  # type: ignore[no-untyped-def]
    assert source.model.model_config.get("extra") in ("ignore", "forbid", "allow")


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_raw_table_follows_the_contract(source) -> None:  # type: ignore[no-untyped-def]
    columns = raw_table_columns(source)
    plans = plan_fields(source.model)
    assert columns[: len(plans)] == [(plan.name, plan.sql_type) for plan in plans]
    assert columns[len(plans) :] == list(METADATA_COLUMNS)
    assert ("_source_file", "VARCHAR NOT NULL") in columns
    assert [plan.name for plan in plans] == list(source.model.model_fields)


def _mapped(source_name: str, record: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """A record of a source with export shapes in the contract's fields, as the shape it came in maps it (and the
    shape's own verdict, when it cannot map it); other records as they are."""
    if record is None or not source_named(source_name).export_shapes:
        return record, None
    found = exports.recognise(exports.load_shapes(Settings(), source_name), [list(record)])
    assert not isinstance(found, str), found
    mapped = exports.HeaderMapping.of(found[0], list(record)).map(record, {})
    return {k: v for k, v in mapped.values.items() if v is not None}, mapped.reason


def _agree(
    relative: str,
    model: type[BaseModel],
    records: list[tuple[int, dict[str, Any] | None]],
    quarantined: dict[tuple[str, int], tuple[str, str]],
) -> int:
    checked = 0
    source_name = next(s.name for s in SOURCES if s.model is model)
    for number, raw in records:
        kind, reason = quarantined.get((relative, number), (None, None))
        # Export shapes read CSV files only; NDJSON records are in the contract's fields as they are.
        record, shape_reason = _mapped(source_name, raw) if relative.endswith(".csv") else (raw, None)
        if shape_reason is not None:
            assert reason == shape_reason, f"{relative}:{number}: the shape says {shape_reason}, landing {reason}"
            continue  # the shape's verdict (a date, number or currency it cannot read): no contract verdict
        if record is None:
            assert kind in ("malformed", "missing_column"), f"{relative}:{number} has no parsed form but {reason}"
            continue
        if kind == "malformed":
            continue  # Python reads what landing refuses to (e.g. a lone surrogate): no verdict to compare
        why = ""
        try:
            model.model_validate(record)
            valid = True
        except ValidationError as error:
            valid = False
            why = str(error)
        if kind is None or kind in CROSS_RECORD:
            # Landed, or held for a reason across records (checked only on records that pass the contract).
            assert valid, f"{relative}:{number} ({reason or 'landed'}) but pydantic rejects it: {why}"
        else:
            assert not valid, f"{relative}:{number} quarantined ({reason}) but pydantic accepts it"
        checked += 1
    return checked


def test_pydantic_and_sql_agree_on_every_fixture_record(landed_fixture: Settings) -> None:
    for pillar in ("marketing", "experience", "product"):
        land_pillar(landed_fixture, pillar, date(2026, 3, 2))
    with connect(landed_fixture, write=False) as con:
        quarantined = {
            (f, int(n)): (str(k), str(r))
            for f, n, k, r in con.execute(
                "SELECT source_file, row_number, reason_kind, reason FROM ops.quarantine WHERE released_at IS NULL"
            ).fetchall()
        }
    checked = 0
    for path in sorted((FIXTURES / "landing").glob("*/*/date=2026-03-02/*")):
        model: type[BaseModel] = source_named(path.parent.parent.name).model
        relative = path.relative_to(FIXTURES / "landing").as_posix()
        checked += _agree(relative, model, _records(path), quarantined)
    assert checked >= 30


def test_pydantic_and_sql_agree_on_every_bad_input_record(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every corpus record with a parsed form: the contract model and landing give the same verdict (cross-record
    reasons aside), so both follow the contract exactly."""
    checked = 0
    for name in case_names():
        try:
            case = landed(name, tmp_path_factory)
        except pytest.skip.Exception:
            continue
        with connect(case.settings, write=False) as con:
            quarantined = {
                (f, int(n)): (str(k), str(r))
                for f, n, k, r in con.execute(
                    "SELECT source_file, row_number, reason_kind, reason FROM ops.quarantine WHERE released_at IS NULL"
                ).fetchall()
            }
        for result in case.results:
            if result.status == "set_aside":
                continue
            model: type[BaseModel] = source_named(result.source).model
            path = case.settings.landing_dir / result.file
            checked += _agree(result.file, model, _records(path), quarantined)
    assert checked >= 200
