"""Contracts: the pydantic models and landing's SQL checks agree record by record, and policies are explicit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from loop.contracts import SOURCES, source_named
from loop.landing import contract_columns, land_pillar, raw_table_ddl
from loop.settings import Settings
from loop.warehouse import connect

from ..conftest import FIXTURES

#: Reasons that come from checks across records (not from the record's own contract).
CROSS_RECORD = ("duplicate ", "unknown campaign_id", "late event", "future event", "malformed ")


def _records(path: Path) -> list[tuple[int, dict[str, object] | None]]:
    """(position, parsed record) for every record of a fixture file; None where the file format breaks."""
    if path.suffix == ".ndjson":
        out = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if line.strip():
                try:
                    out.append((number, json.loads(line)))
                except json.JSONDecodeError:
                    out.append((number, None))
        return out
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return [
            (n, {k: (v or None) for k, v in zip(header, row, strict=True)} if len(row) == len(header) else None)
            for n, row in enumerate(reader, start=1)
        ]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_explicit_extra_policy(source) -> None:  # type: ignore[no-untyped-def]
    assert source.model.model_config.get("extra") in ("ignore", "forbid", "allow")


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_raw_table_follows_the_contract(source) -> None:  # type: ignore[no-untyped-def]
    ddl = raw_table_ddl(source)
    for column in contract_columns(source.model):
        assert f'"{column.name}" {column.sql_type}' in ddl
    assert "_source_file VARCHAR NOT NULL" in ddl


def test_pydantic_and_sql_agree_on_every_fixture_record(landed_fixture: Settings) -> None:
    for pillar in ("marketing", "experience", "product"):
        land_pillar(landed_fixture, pillar, __import__("datetime").date(2026, 3, 2))
    with connect(landed_fixture, write=False) as con:
        quarantined = {
            (f, int(n)): r
            for f, n, r in con.execute("SELECT source_file, row_number, reason FROM ops.quarantine").fetchall()
        }
    checked = 0
    for path in sorted((FIXTURES / "landing").glob("*/*/date=2026-03-02/*")):
        model: type[BaseModel] = source_named(path.parent.parent.name).model
        relative = path.relative_to(FIXTURES / "landing").as_posix()
        for number, record in _records(path):
            reason = quarantined.get((relative, number))
            if record is None:
                assert reason is not None and reason.startswith("malformed"), (relative, number)
                continue
            try:
                model.model_validate(record)
                valid = True
            except ValidationError:
                valid = False
            if reason is None or reason.startswith(CROSS_RECORD):
                assert valid, f"{relative}:{number} landed but pydantic rejects it"
            else:
                assert not valid, f"{relative}:{number} quarantined ({reason}) but pydantic accepts it"
            checked += 1
    assert checked >= 30
