"""Ad-platform export shapes: recognise a file's shape from its header and map its rows into the contract's fields.

Ad platforms export daily performance in their own CSV layouts: a Google Ads campaign report (two preamble lines,
``Cost`` written ``1,234.56``, ``Total: ...`` rows at the end), a Meta Ads Manager export (the account currency in
the spend column's header, ``Amount spent (BRL)``), loop's generic CSV. Each layout is an entry of a TOML file
(``ad_exports.toml`` next to this module, plus the user's ``LOOP_AD_EXPORT_SHAPES``), validated by
:class:`ShapesFile`: how to recognise it, where its header is, which column holds each contract field, its date and
number formats, where the currency comes from, which rows to skip and how campaigns match the catalog. A new platform
is a new entry, never new code.

Mapping happens before landing's checks and changes no guarantee: the quarantine keeps each record's raw values (the
file's own header names and texts); header names never become SQL text; a row whose date, number or currency the
shape cannot read is quarantined with the reason (kind ``contract``); a row whose campaign name the catalog does not
know is held (kind ``unknown_reference``) and mapped again, with the catalog of the day, when it is released.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loop.contracts.ad_performance import AdPerformanceRecord
from loop.contracts.currencies import ISO_4217
from loop.contracts.types import WHITESPACE
from loop.errors import LoopError
from loop.settings import Settings

__all__ = ["DEFAULT_SHAPES", "ExportShape", "HeaderMapping", "Mapped", "ShapeError", "load_shapes", "recognise"]

#: The shapes loop ships (a package resource).
DEFAULT_SHAPES = "ad_exports.toml"
#: Records read from the top of a file to find its header (preamble lines included).
HEAD_RECORDS = 20

_NAME = r"^[a-z][a-z0-9_]{0,62}$"
#: The contract fields an export's columns map to: all of the contract's but those the shape itself gives (the
#: currency has its own setting, the platform is the entry's name).
_FIELDS = tuple(name for name in AdPerformanceRecord.model_fields if name not in ("currency", "platform"))
#: Fields written with the shape's number format: the contract's amounts and counts.
_NUMBERS = tuple(
    name
    for name, info in AdPerformanceRecord.model_fields.items()
    if name in _FIELDS and info.annotation in (Decimal, int)
)


class ShapeError(LoopError):
    """The shapes config is wrong: the message names the file, the entry and the key."""


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"not a valid regular expression ({error})") from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HeaderPattern(_Strict):
    """A column named by a regular expression its header must match (e.g. to capture the currency in it)."""

    pattern: str

    _check = field_validator("pattern")(_regex)


Column = str | HeaderPattern


class Columns(_Strict):
    """The export's column for each contract field (an exact header name, or ``{ pattern = "..." }``)."""

    date: Column
    spend: Column
    impressions: Column
    clicks: Column
    campaign_id: Column | None = None
    campaign_name: Column | None = None


class Recognise(_Strict):
    """How a file of the shape is recognised: header columns it always has, and the lines before its header."""

    columns: list[str] = Field(min_length=1)
    preamble: list[str] = Field(default_factory=list, description="Regexes the preamble lines match, in order.")

    @field_validator("preamble")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return [_regex(v) for v in value]


class Currency(_Strict):
    """Where a row's currency comes from: exactly one of a column, the header of a field's column (its
    ``(?P<currency>...)`` group), or a fixed code."""

    column: str | None = None
    header_of: Literal["date", "spend", "impressions", "clicks", "campaign_id", "campaign_name"] | None = None
    fixed: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Currency:
        given = [k for k in ("column", "header_of", "fixed") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of column, header_of, fixed")
        if self.fixed is not None and self.fixed not in ISO_4217:
            raise ValueError(f"fixed currency {self.fixed!r} is not an ISO 4217 currency code")
        return self


class ExportShape(_Strict):
    """One export shape (an entry ``[shapes.<name>]``)."""

    name: str = ""
    label: str = Field(min_length=1, description="How reasons name the shape (e.g. Google Ads).")
    enabled: bool = True
    recognise: Recognise
    header_row: int = Field(1, ge=1, le=HEAD_RECORDS, description="Position of the header among non-blank lines.")
    columns: Columns
    campaign_match: Literal["campaign_id", "campaign_name"]
    currency: Currency
    date_format: str | None = Field(None, description="strptime format; None: dates as YYYY-MM-DD, checked as such.")
    same_day_column: str | None = Field(None, description="A column that must hold the same day as the date.")
    thousands_separator: str = Field("", max_length=1)
    decimal_separator: str = Field(".", min_length=1, max_length=1)
    skip_rows: str | None = Field(None, description="Regex: rows whose first value matches are not records.")
    ignore: list[str] = Field(default_factory=list, description="Columns known and not landed (no drift).")
    currencies: list[str] = Field(default_factory=list, description="The currencies expected; empty: any.")

    @field_validator("skip_rows")
    @classmethod
    def _skip(cls, value: str | None) -> str | None:
        return value if value is None else _regex(value)

    @field_validator("currencies")
    @classmethod
    def _iso(cls, value: list[str]) -> list[str]:
        wrong = [v for v in value if v not in ISO_4217]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))} not ISO 4217 currency codes")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ExportShape:
        if getattr(self.columns, self.campaign_match) is None:
            raise ValueError(f"campaign_match is {self.campaign_match} but columns.{self.campaign_match} is not given")
        if self.thousands_separator and self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands_separator and decimal_separator are the same")
        if self.date_format is not None:
            try:
                datetime(2026, 3, 2).strftime(self.date_format)
            except ValueError as error:
                raise ValueError(f"date_format {self.date_format!r} is not a strftime format ({error})") from None
        source = self.currency.header_of
        if source is not None:
            column = getattr(self.columns, source)
            if not isinstance(column, HeaderPattern) or "(?P<currency>" not in column.pattern:
                raise ValueError(
                    f"currency.header_of is {source} but columns.{source} is not a pattern with a (?P<currency>...) "
                    "group"
                )
        return self

    @property
    def normalises_numbers(self) -> bool:
        return bool(self.thousands_separator) or self.decimal_separator != "."


class ShapesFile(_Strict):
    """A shapes config file: ``[shapes.<name>]`` entries."""

    shapes: dict[str, ExportShape] = Field(default_factory=dict)

    @field_validator("shapes")
    @classmethod
    def _names(cls, value: dict[str, ExportShape]) -> dict[str, ExportShape]:
        for name in value:
            if not re.fullmatch(_NAME, name):
                raise ValueError(f"entry name {name!r} must be lower case letters, digits and _ (it is the platform)")
        return value


def _parse(text: str, where: str) -> dict[str, ExportShape]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ShapeError(f"{where} is not valid TOML: {error}.") from None
    try:
        parsed = ShapesFile.model_validate(data)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            loc = [str(p) for p in problem["loc"] if p not in ("str", "HeaderPattern")]
            if len(loc) >= 2 and loc[0] == "shapes":
                at = f"entry {loc[1]!r}" + (f", key {'.'.join(loc[2:])!r}" if len(loc) > 2 else "")
            else:
                at = f"key {'.'.join(loc)!r}" if loc else "the file"
            message = str(problem["msg"]).removeprefix("Value error, ")
            problems.append(f"{at}: {message}")
        listed = "; ".join(dict.fromkeys(problems))
        raise ShapeError(f"{where} has {len(problems)} problem(s): {listed}.") from None
    return {name: shape.model_copy(update={"name": name}) for name, shape in parsed.shapes.items()}


def load_shapes(settings: Settings) -> dict[str, ExportShape]:
    """The enabled shapes: loop's own, then the user's file (``LOOP_AD_EXPORT_SHAPES``) adding or replacing entries."""
    text = resources.files(__package__).joinpath(DEFAULT_SHAPES).read_text(encoding="utf-8")
    shapes = _parse(text, f"loop's {DEFAULT_SHAPES}")
    if settings.ad_export_shapes is not None:
        path = Path(settings.ad_export_shapes).expanduser()
        try:
            user = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ShapeError(f"LOOP_AD_EXPORT_SHAPES {path} cannot be read: {error.strerror or error}.") from None
        shapes |= _parse(user, f"LOOP_AD_EXPORT_SHAPES {path}")
    return {name: shape for name, shape in shapes.items() if shape.enabled}


def _trim(value: str | None) -> str:
    return (value or "").strip(WHITESPACE)


def recognise(shapes: dict[str, ExportShape], head: list[list[str]]) -> tuple[ExportShape, int] | str:
    """The shape of a file from its first non-blank records (``head``) and the index of its header in ``head``; or
    why no single shape fits."""
    matches: list[tuple[ExportShape, int]] = []
    for shape in shapes.values():
        index = shape.header_row - 1
        if index >= len(head):
            continue
        header = {_trim(name) for name in head[index]}
        if not all(column in header for column in shape.recognise.columns):
            continue
        preamble = [",".join(_trim(v) for v in record).strip(",") for record in head[:index]]
        if len(shape.recognise.preamble) > len(preamble) or not all(
            re.search(pattern, line) for pattern, line in zip(shape.recognise.preamble, preamble, strict=False)
        ):
            continue
        matches.append((shape, index))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = " and ".join(f"{s.name} ({s.label})" for s, _ in matches)
        return f"its header matches two export shapes, {names}; make their recognise rules tell them apart"
    known = ", ".join(f"{s.name} ({s.label}: {', '.join(s.recognise.columns)})" for s in shapes.values())
    return (
        f"its header matches no known export shape; the shapes are {known}. Add an entry for it to the file "
        "LOOP_AD_EXPORT_SHAPES names"
    )


@dataclass
class Mapped:
    """One row mapped into the contract's fields (texts as the contract reads them), or why it cannot be."""

    values: dict[str, str | None]
    reason: str | None = None
    kind: str | None = None


@dataclass
class HeaderMapping:
    """A shape applied to one file's header: where each field is, what is missing, what is not mapped."""

    shape: ExportShape
    header: list[str]
    positions: dict[str, str] = field(default_factory=dict)
    """Contract field -> the header name holding it."""
    header_currency: str | None = None
    missing_required: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, shape: ExportShape, header: list[str]) -> HeaderMapping:
        mapping = cls(shape, header)
        names = [name for name in header if name]
        used: set[str] = set()
        for name in _FIELDS:
            column = getattr(shape.columns, name)
            if column is None:
                continue
            if isinstance(column, HeaderPattern):
                found = [h for h in names if re.search(column.pattern, h)]
                label = column.pattern
            else:
                found = [column] if column in names else []
                label = column
            if found:
                mapping.positions[name] = found[0]
                used.add(found[0])
                if shape.currency.header_of == name:
                    match = re.search(column.pattern, found[0]) if isinstance(column, HeaderPattern) else None
                    mapping.header_currency = _trim(match.group("currency")) if match else None
            elif name in ("campaign_name", "campaign_id") and name != shape.campaign_match:
                mapping.missing_optional.append(label)
            else:
                mapping.missing_required.append(label)
        for extra in (shape.currency.column, shape.same_day_column):
            if extra is None:
                continue
            if extra in names:
                used.add(extra)
            else:
                mapping.missing_required.append(extra)
        used.update(shape.ignore)
        mapping.unmapped = [name for name in names if name not in used]
        return mapping

    def skips(self, values: list[str]) -> bool:
        """True for a row that is no record (a footer total)."""
        pattern = self.shape.skip_rows
        return pattern is not None and bool(values) and re.search(pattern, _trim(values[0])) is not None

    def map(self, row: dict[str, str], catalog: dict[str, list[str]]) -> Mapped:
        """A row (header name -> raw text) in the contract's fields; ``catalog`` is campaign name -> campaign ids."""
        shape = self.shape
        out: dict[str, str | None] = {"platform": shape.name}
        problems: list[str] = []
        for name in _FIELDS:
            header = self.positions.get(name)
            out[name] = None if header is None else (_trim(row.get(header)) or None)
        date = out["date"]
        if date is not None and shape.date_format is not None:
            try:
                out["date"] = datetime.strptime(date, shape.date_format).date().isoformat()
            except ValueError:
                problems.append(
                    f"date {date!r} does not match the {shape.label} date format {shape.date_format}"
                    if not _is_iso_date(date, shape.date_format)
                    else f"date {date!r} is not a valid date"
                )
        if shape.same_day_column is not None and out["date"] is not None and not problems:
            other = _trim(row.get(shape.same_day_column))
            try:
                end = datetime.strptime(other, shape.date_format or "%Y-%m-%d").date().isoformat()
            except ValueError:
                end = None
            if end != out["date"]:
                problems.append(
                    f"the row covers {date} to {other or 'an unreadable date'} ({shape.same_day_column}); loop lands "
                    "one day per row (export with a daily breakdown)"
                )
        if shape.normalises_numbers:
            for name in _NUMBERS:
                text = out[name]
                if text is None:
                    continue
                number = _number(text, shape.thousands_separator, shape.decimal_separator)
                if number is None:
                    problems.append(
                        f"{name} {text!r} is not a number in the {shape.label} number format (thousands separator "
                        f"{shape.thousands_separator!r}, decimal separator {shape.decimal_separator!r})"
                    )
                else:
                    out[name] = number
        currency = (
            _trim(row.get(shape.currency.column)) or None
            if shape.currency.column is not None
            else self.header_currency
            if shape.currency.header_of is not None
            else shape.currency.fixed
        )
        out["currency"] = currency
        # Whether it is an ISO 4217 code at all is the contract's rule; whether the shape expects it, the shape's.
        if currency in ISO_4217 and shape.currencies and currency not in shape.currencies:
            problems.append(
                f"currency {currency} is not one {shape.label} exports are expected in ({', '.join(shape.currencies)})"
            )
        if problems:
            return Mapped(out, "; ".join(problems), "contract")
        if shape.campaign_match == "campaign_name" and out["campaign_name"] is not None:
            name = out["campaign_name"]
            ids = catalog.get(name or "", [])
            if len(ids) == 1:
                out["campaign_id"] = ids[0]
            elif not ids:
                return Mapped(
                    out,
                    f"unknown campaign name {name!r}: no campaign_name of the campaign catalog (held until a catalog "
                    "that names it lands)",
                    "unknown_reference",
                )
            else:
                return Mapped(
                    out,
                    f"campaign name {name!r} names {len(ids)} campaigns of the catalog ({', '.join(ids)}); held until "
                    "a catalog names it once",
                    "unknown_reference",
                )
        return Mapped(out)


def _is_iso_date(text: str, date_format: str) -> bool:
    """True when the text has the form of the format but is no calendar day (2026-02-31)."""
    return date_format == "%Y-%m-%d" and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) is not None


def _number(text: str, thousands: str, decimal: str) -> str | None:
    """A number written with the given separators, in the contract's form (``1,234.56`` -> ``1234.56``); None when
    the text is not one (a separator misplaced, a letter, a currency sign)."""
    t, d = re.escape(thousands), re.escape(decimal)
    grouped = rf"[0-9]{{1,3}}(?:{t}[0-9]{{3}})+" if thousands else r"(?!)"
    pattern = rf"(?P<sign>[+-]?)(?P<whole>{grouped}|[0-9]+)(?:{d}(?P<fraction>[0-9]+))?"
    match = re.fullmatch(pattern, text)
    if match is None:
        return None
    whole = match.group("whole").replace(thousands, "") if thousands else match.group("whole")
    fraction = match.group("fraction")
    return match.group("sign") + whole + (f".{fraction}" if fraction is not None else "")


def catalog_names(con: Any) -> dict[str, list[str]]:
    """Campaign name -> the campaign ids carrying it in any landed catalog snapshot."""
    rows = con.execute(
        "SELECT campaign_name, list(DISTINCT campaign_id ORDER BY campaign_id) FROM raw.campaigns "
        "WHERE campaign_name IS NOT NULL GROUP BY campaign_name"
    ).fetchall()
    return {str(name): [str(i) for i in ids] for name, ids in rows}
