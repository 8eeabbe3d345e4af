"""The value types raw contracts are written in, each with the exact text form a raw file must use.

A raw file is text (CSV cells, JSON strings and numbers). Each type here says which texts are valid, once, in a
:class:`TextForm` (a regular expression the whole text must match, understood alike by Python's ``re`` and by
DuckDB's RE2). The pydantic side enforces it in a before-validator; landing compiles the same pattern into its
SQL checks (:mod:`loop.landing.compile`). So a value is never rounded or reinterpreted on the way in: ``9.7`` is
not a whole number, ``12.345`` is not an amount with two decimals, ``0x10`` is not 16, ``NaN`` is no number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, model_validator
from pydantic import StringConstraints as _StringConstraints

__all__ = [
    "WHITESPACE",
    "Amount",
    "ContractModel",
    "Count",
    "CurrencyCode",
    "Day",
    "Flag",
    "Identifier",
    "Measure",
    "Text",
    "TextForm",
    "Timestamp",
]

#: The characters trimmed from both ends of every raw value (the same set in Python and in landing's SQL).
WHITESPACE = " \t\n\r\x0b\x0c"

#: Timestamps before this are not plausible for a customer data loop (a typo, an epoch of 0, a default value).
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TextForm:
    """The text a value must be written as: ``pattern`` must match the whole (trimmed) text."""

    pattern: str
    description: str
    accepts_json_numbers: bool = False
    """True for numeric types: a JSON number is accepted and checked by its text."""
    accepts_json_booleans: bool = False
    """True for flags: a JSON true/false is accepted as it is."""

    def check(self, value: Any) -> Any:
        """pydantic before-validator: strings and (for numbers) JSON numbers must have this form."""
        if isinstance(value, bool):
            if self.accepts_json_booleans:
                return value
            raise ValueError(f"must be {self.description}, not a boolean")
        if isinstance(value, int | float | Decimal) and self.accepts_json_numbers:
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"must be {self.description}; NaN and infinity are not numbers")
            text = _number_text(value)
        elif isinstance(value, str):
            text = value.strip(WHITESPACE)
        else:
            raise ValueError(f"must be {self.description}")
        if not re.fullmatch(self.pattern, text):
            raise ValueError(f"must be {self.description}")
        return text


def _number_text(value: int | float | Decimal) -> str:
    """A JSON number as DuckDB's JSON reader renders it (integers plain, floats with a fraction part)."""
    if isinstance(value, int):
        return str(value)
    return repr(float(value)) if isinstance(value, float) else str(value)


def _form(
    pattern: str, description: str, *, numbers: bool = False, booleans: bool = False
) -> tuple[TextForm, BeforeValidator]:
    form = TextForm(pattern, description, accepts_json_numbers=numbers, accepts_json_booleans=booleans)
    return form, BeforeValidator(form.check)


_DATE = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?"
_ZONE = r"(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])"

COUNT_FORM, _count = _form(r"[+-]?[0-9]{1,18}", "a whole number such as 42", numbers=True)
MEASURE_FORM, _measure = _form(
    r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?", "a number such as 12.5", numbers=True
)
AMOUNT_FORM, _amount = _form(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", "a decimal amount such as 12.50", numbers=True)
DAY_FORM, _day = _form(_DATE, "a date such as 2026-03-02")
TIMESTAMP_FORM, _timestamp = _form(
    _DATE + "[T ]" + _TIME + _ZONE, "an ISO 8601 timestamp with a time zone, such as 2026-03-02T08:15:00Z"
)

FLAG_FORM, _flag = _form(r"(?i)(true|false)", "true or false", booleans=True)

Flag = Annotated[bool, FLAG_FORM, _flag]
"""A yes/no value: ``true`` or ``false`` (any case, or a JSON boolean)."""

Count = Annotated[int, COUNT_FORM, _count]
"""A whole number, written as digits (no decimals, no exponent, no hex)."""

Measure = Annotated[float, MEASURE_FORM, _measure, Field(allow_inf_nan=False)]
"""A finite number (a latency, a rate); NaN and infinity are refused."""

Amount = Annotated[Decimal, AMOUNT_FORM, _amount, Field(max_digits=18, decimal_places=2)]
"""A money amount with at most two decimals, written in plain decimal notation."""

Day = Annotated[date, DAY_FORM, _day]
"""A calendar date, ``YYYY-MM-DD``."""

Timestamp = Annotated[AwareDatetime, TIMESTAMP_FORM, _timestamp, Field(ge=EARLIEST_TIMESTAMP)]
"""An instant in ISO 8601 with its time zone; not before 2000."""

Identifier = Annotated[str, _StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""A key or code: 1 to 256 characters, no control characters."""

Text = Annotated[str, _StringConstraints(max_length=20_000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
"""Free text: up to 20,000 characters; tabs and line breaks allowed, other control characters refused."""

CURRENCY_FORM, _currency = _form(r"[A-Z]{3}", "a three-letter ISO 4217 currency code such as EUR")
CurrencyCode = Annotated[str, CURRENCY_FORM, _currency]
"""An ISO 4217 currency code such as ``EUR``."""


class ContractModel(BaseModel):
    """Base of every raw contract: values are trimmed, and a blank value is a missing value.

    CSV cells and JSON strings are trimmed of :data:`WHITESPACE`; an empty result counts as absent, in files of
    every format alike (landing's SQL does the same).
    """

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip(WHITESPACE) or None
            cleaned[key] = value
        return cleaned
