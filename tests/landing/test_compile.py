"""The contract compiler: real placeholders, exact translation of every constraint, loud failure on the rest."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import duckdb
import pytest
from pydantic import AfterValidator, BaseModel, Field

from loop.contracts import SOURCES
from loop.contracts.types import Amount, ContractModel, Count, Identifier
from loop.landing.checks import check_contract
from loop.landing.compile import Compiler, plan_fields


def _verdicts(model: type[BaseModel], rows: list[dict[str, str | None]]) -> list[str | None]:
    """Landing's reason for each row of text values (CSV-like), through landing's own contract check."""
    plans = plan_fields(model)
    con = duckdb.connect()
    columns = ", ".join(f'"{p.name}" VARCHAR, "{p.name}__jtype" VARCHAR' for p in plans)
    con.execute(
        "CREATE TEMP TABLE _incoming (_row_number BIGINT, _source_file VARCHAR, _partition_date DATE, "
        f"_line_reason VARCHAR, {columns})"
    )
    for number, row in enumerate(rows, start=1):
        values = [number, "f.csv", date(2026, 3, 2), None, *(v for p in plans for v in (row.get(p.key), None))]
        con.execute(f"INSERT INTO _incoming VALUES ({', '.join('?' for _ in values)})", values)
    check_contract(con, plans)
    return [r[0] for r in con.execute("SELECT _reason FROM _checked ORDER BY _row_number").fetchall()]


def _sql(model: type[BaseModel]) -> tuple[str, dict[str, object]]:
    compiler = Compiler()
    layers, reasons = compiler.contract_stages(plan_fields(model))
    return " ".join([*(item for layer in layers for item in layer), reasons]), compiler.params


class Tricky(ContractModel):
    """Names and values that broke the old string-replacement compiler."""

    raw: Identifier
    typed_raw: Literal["raw", "typed", "it's"]
    amount: Amount = Field(ge=Decimal("0.05"))


def test_values_and_names_with_sql_words_and_quotes_are_parameters() -> None:
    reasons = _verdicts(
        Tricky,
        [
            {"raw": "raw", "typed_raw": "it's", "amount": "0.05"},
            {"raw": "x", "typed_raw": "raw'); drop table t; --", "amount": "12.345"},
            {"raw": "x", "typed_raw": "typed", "amount": "0.04"},
        ],
    )
    assert reasons[0] is None
    assert reasons[1] == (
        "\"typed_raw\" must be one of raw, typed, it's: raw'); drop table t; --; "
        '"amount" must have at most 2 decimals: 12.345'
    )
    assert reasons[2] == '"amount" must be >= 0.05: 0.04'
    sql, _ = _sql(Tricky)
    assert "drop table" not in sql and "'it''s'" not in sql and "0.05" not in sql  # values travel as parameters


class Numbers(ContractModel):
    count: Count
    amount: Amount


@pytest.mark.parametrize(
    ("count", "amount", "reason"),
    [
        ("10", "12.34", None),
        ("+10", "12.340", None),  # trailing zeros are not decimals
        ("9.7", "1", '"count" must be a whole number such as 42: 9.7'),
        ("0x10", "1", '"count" must be a whole number such as 42: 0x10'),
        ("1_000", "1", '"count" must be a whole number such as 42: 1_000'),
        ("1", "12.345", '"amount" must have at most 2 decimals: 12.345'),
        ("1", "NaN", '"amount" must be a decimal amount such as 12.50: NaN'),
        ("1", "1e3", '"amount" must be a decimal amount such as 12.50: 1e3'),
        ("1", "12345678901234567", '"amount" must have at most 16 digits before the decimal point: 12345678901234567'),
    ],
)
def test_numbers_are_checked_exactly_never_rounded(count: str, amount: str, reason: str | None) -> None:
    [landed] = _verdicts(Numbers, [{"count": count, "amount": amount}])
    try:
        Numbers.model_validate({"count": count, "amount": amount})
        accepted = True
    except ValueError:
        accepted = False
    assert (landed is None) == accepted  # pydantic and landing agree
    if reason is None:
        assert landed is None
    else:
        assert landed is not None and landed.startswith(reason.rsplit(":", 1)[0]), landed


def test_metadata_the_compiler_does_not_translate_fails_loudly() -> None:
    class MultipleOf(ContractModel):
        quantity: Count = Field(multiple_of=5)

    class Validated(ContractModel):
        code: Annotated[str, AfterValidator(str.upper)]

    class Lowered(ContractModel):
        code: Annotated[str, Field(pattern="^x$")] = Field(min_length=3)
        other: Literal["a"]

    with pytest.raises(TypeError, match="cannot translate field metadata"):
        plan_fields(MultipleOf)
    with pytest.raises(TypeError, match="cannot translate"):
        plan_fields(Validated)
    assert [p.name for p in plan_fields(Lowered)] == ["code", "other"]  # translated: these are fine


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_every_contract_compiles(source) -> None:  # type: ignore[no-untyped-def]
    sql, params = _sql(source.model)
    assert sql and params
    Compiler().rule_reasons(source)
