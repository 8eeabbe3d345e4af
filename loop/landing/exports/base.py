"""The export-shape mechanism every source with export shapes shares: the config's common keys, how a file's shape is
recognised from its header, and how a row's values become the contract's fields.

A source's shapes (:class:`ExportShape` subclasses: :mod:`.ad` for ad performance, :mod:`.feedback` for feedback)
add only what is their own: which contract fields need a column, and a last step over each mapped row (an ad row's
currency and campaign, for example). Everything else is declared once here: columns by header name or pattern, a
value extracted from a cell and prefixed (ids that must not collide across tools), value maps (``"On-hold"`` ->
``on_hold``), constants for a whole export (``kind = "nps"``), date and timestamp formats with their time zone,
timestamps written as minutes after another one, number separators, footer rows and ignored columns.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from loop.contracts.types import AMOUNT_FORM, COUNT_FORM, DAY_FORM, MEASURE_FORM, TIMESTAMP_FORM, WHITESPACE, TextForm

#: Records read from the top of a file to find its header (preamble lines included).
HEAD_RECORDS = 20


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"not a valid regular expression ({error})") from None
    return value


def _trim(value: str | None) -> str:
    return (value or "").strip(WHITESPACE)


class Strict(BaseModel):
    """A config table: unknown keys are mistakes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(Strict):
    """A column and what to do with its text: ``{ header = "Id", prefix = "zd-" }``, ``{ pattern = "..." }``, ..."""

    header: str | None = Field(None, description="The exact header name.")
    pattern: str | None = Field(None, description="A regular expression the header name must match.")
    extract: str | None = Field(
        None, description="A regular expression searched in the value; the value is its group 'value' (or group 1)."
    )
    map: dict[str, str] | None = Field(None, description="The export's texts -> the contract's; others are refused.")
    prefix: str = Field("", description="Put before the value (an id prefix, so keys of two tools never collide).")
    minutes_after: str | None = Field(
        None, description="The value is a number of minutes after this timestamp field (a reply time in minutes)."
    )

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return value if value is None else _regex(value)

    @field_validator("extract")
    @classmethod
    def _extract(cls, value: str | None) -> str | None:
        if value is None:
            return value
        compiled = re.compile(_regex(value))
        if compiled.groups < 1:
            raise ValueError("extract must have a group (?P<value>...) or (...) holding the value")
        return value

    @model_validator(mode="after")
    def _one_header(self) -> ColumnSpec:
        if (self.header is None) == (self.pattern is None):
            raise ValueError("give exactly one of header, pattern")
        return self

    @property
    def label(self) -> str:
        return self.header if self.header is not None else str(self.pattern)


#: A column: an exact header name, or a table (:class:`ColumnSpec`).
Column = str | ColumnSpec
#: Union tags pydantic puts in error locations; not part of a key's name.
_UNION_TAGS = {"str", "int", "ColumnSpec", "function-after[_one_header(), ColumnSpec]"}


def spec(column: Column) -> ColumnSpec:
    """A column as a table."""
    return ColumnSpec(header=column) if isinstance(column, str) else column


class Recognise(Strict):
    """How a file of the shape is recognised: header columns it always has, and the lines before its header."""

    columns: list[str] = Field(min_length=1)
    preamble: list[str] = Field(default_factory=list, description="Regexes the preamble lines match, in order.")

    @field_validator("preamble")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return [_regex(v) for v in value]


def _forms(annotation: Any, metadata: list[Any]) -> list[TextForm]:
    """The text forms of a field's type (through ``Optional`` and ``Annotated``)."""
    found = [m for m in metadata if isinstance(m, TextForm)]
    for arg in typing.get_args(annotation):
        if isinstance(arg, TextForm):
            found.append(arg)
        elif arg is not type(None) and not isinstance(arg, str | int | float):
            found += _forms(arg, [])
    return found


def field_kind(model: type[BaseModel], name: str) -> str:
    """How a contract field is written: ``day``, ``timestamp``, ``number`` or ``text``."""
    info = model.model_fields[name]
    forms = _forms(info.annotation, list(info.metadata))
    if DAY_FORM in forms:
        return "day"
    if TIMESTAMP_FORM in forms:
        return "timestamp"
    if any(form in forms for form in (AMOUNT_FORM, COUNT_FORM, MEASURE_FORM)):
        return "number"
    return "text"


def check_value(model: type[BaseModel], name: str, value: object) -> str | None:
    """Why ``value`` is no valid text for the contract field ``name`` (None when it is)."""
    info = model.model_fields[name]
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[annotation, *info.metadata]
    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError as error:
        message = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
        return f"{value!r} is not a valid {name} ({message})"
    return None


class ExportShape(Strict):
    """One export shape (an entry ``[shapes.<name>]``): the keys every source's shapes have."""

    #: The contract the shape maps into, and the fields the shape itself gives (not columns, not values).
    contract: ClassVar[type[BaseModel]]
    given: ClassVar[tuple[str, ...]] = ()

    name: str = ""
    label: str = Field(min_length=1, description="How reasons name the shape (e.g. Zendesk).")
    enabled: bool = True
    recognise: Recognise
    header_row: int = Field(1, ge=1, le=HEAD_RECORDS, description="Position of the header among non-blank lines.")
    columns: BaseModel
    values: dict[str, str | int] = Field(default_factory=dict, description="Fields with one value for the export.")
    date_format: str | None = Field(None, description="strptime format; None: dates as YYYY-MM-DD, checked as such.")
    timestamp_formats: list[str] = Field(
        default_factory=list, description="strptime formats tried in order; empty: ISO 8601 with a zone, as is."
    )
    timezone: str | None = Field(None, description="IANA zone of timestamps written without an offset.")
    thousands_separator: str = Field("", max_length=1)
    decimal_separator: str = Field(".", min_length=1, max_length=1)
    skip_rows: str | None = Field(None, description="Regex: rows whose first value matches are not records.")
    ignore: list[str] = Field(default_factory=list, description="Columns known and not landed (no drift).")

    @field_validator("skip_rows")
    @classmethod
    def _skip(cls, value: str | None) -> str | None:
        return value if value is None else _regex(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not an IANA time zone such as UTC or America/Sao_Paulo") from None
        return value

    @model_validator(mode="after")
    def _common(self) -> ExportShape:
        fields = self.contract.model_fields
        if self.thousands_separator and self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands_separator and decimal_separator are the same")
        if self.date_format is not None:
            try:
                datetime(2026, 3, 2).strftime(self.date_format)
            except ValueError as error:
                raise ValueError(f"date_format {self.date_format!r} is not a strftime format ({error})") from None
        for fmt in self.timestamp_formats:
            if "%z" not in fmt and "%Z" not in fmt and self.timezone is None:
                raise ValueError(
                    f"timestamp format {fmt!r} has no offset (%z): give the timezone its timestamps are written in"
                )
        for name, value in self.values.items():
            if name not in fields or name in self.given:
                raise ValueError(f"values.{name}: not a field the shape can set ({', '.join(self.settable())})")
            if getattr(self.columns, name, None) is not None:
                raise ValueError(f"{name} is given both by columns.{name} and values.{name}")
            problem = check_value(self.contract, name, value)
            if problem is not None:
                raise ValueError(f"values.{name}: {problem}")
        for name in self.settable():
            given = getattr(self.columns, name, None) is not None or name in self.values or self.derived(name)
            if fields[name].is_required() and not given:
                raise ValueError(f"{name} is given neither by columns.{name} nor by values.{name}")
        for name in type(self.columns).model_fields:
            column = getattr(self.columns, name)
            if column is None or isinstance(column, str):
                continue
            for text, target in (column.map or {}).items():
                problem = check_value(self.contract, name, column.prefix + target)
                if problem is not None:
                    raise ValueError(f"columns.{name}.map: {text!r} -> {problem}")
            if column.minutes_after is not None:
                base = column.minutes_after
                if field_kind(self.contract, name) != "timestamp" or base not in fields:
                    raise ValueError(f"columns.{name}.minutes_after: {name} is no timestamp field")
                if field_kind(self.contract, base) != "timestamp" or getattr(self.columns, base, None) is None:
                    raise ValueError(f"columns.{name}.minutes_after: {base!r} is no timestamp column of the shape")
        return self

    @classmethod
    def settable(cls) -> tuple[str, ...]:
        """The contract fields a column or a value may give."""
        return tuple(name for name in cls.contract.model_fields if name not in cls.given)

    def derived(self, name: str) -> bool:
        """True when the shape's own step fills a required field no column or value gives (an ad row's campaign id,
        found by its name)."""
        return False

    def optional_column(self, name: str) -> bool:
        """True when a mapped column the file lacks costs no row (reported as a missing column only)."""
        return not self.contract.model_fields[name].is_required()

    def extra_columns(self) -> list[str]:
        """Columns besides ``columns`` that the shape reads (a currency column, say)."""
        return []

    def finish(
        self,
        mapping: HeaderMapping,
        row: dict[str, str],
        out: dict[str, str | None],
        problems: list[str],
        lookups: dict[str, list[str]],
    ) -> Mapped:
        """The shape's own last step over a mapped row."""
        return Mapped(out, "; ".join(problems), "contract") if problems else Mapped(out)

    @classmethod
    def lookups(cls, con: Any) -> dict[str, list[str]]:
        """What :meth:`finish` reads from the warehouse (read once per file); nothing by default."""
        return {}

    @property
    def normalises_numbers(self) -> bool:
        return bool(self.thousands_separator) or self.decimal_separator != "."


def recognise(shapes: dict[str, ExportShape], head: list[list[str]], setting: str) -> tuple[ExportShape, int] | str:
    """The shape of a file from its first non-blank records (``head``) and the index of its header in ``head``; or
    why no single shape fits (``setting`` names the user's shapes file)."""
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
        f"{setting} names"
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
    captures: dict[str, dict[str, str]] = field(default_factory=dict)
    """Contract field -> the named groups its column's header pattern captured (a currency in a header)."""
    missing_required: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, shape: ExportShape, header: list[str]) -> HeaderMapping:
        mapping = cls(shape, header)
        names = [name for name in header if name]
        used: set[str] = set()
        for name in type(shape.columns).model_fields:
            column = getattr(shape.columns, name)
            if column is None:
                continue
            column = spec(column)
            if column.pattern is not None:
                found = [h for h in names if re.search(column.pattern, h)]
            else:
                found = [column.label] if column.label in names else []
            if found:
                mapping.positions[name] = found[0]
                used.add(found[0])
                if column.pattern is not None:
                    match = re.search(column.pattern, found[0])
                    mapping.captures[name] = {k: _trim(v) for k, v in (match.groupdict() if match else {}).items()}
            elif shape.optional_column(name):
                mapping.missing_optional.append(column.label)
            else:
                mapping.missing_required.append(column.label)
        for extra in shape.extra_columns():
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

    def map(self, row: dict[str, str], lookups: dict[str, list[str]]) -> Mapped:
        """A row (header name -> raw text) in the contract's fields; ``lookups`` is what the shape's own step reads
        (ad shapes: campaign name -> campaign ids)."""
        shape = self.shape
        out: dict[str, str | None] = {}
        problems: list[str] = []
        columns = type(shape.columns).model_fields
        for name in columns:
            header = self.positions.get(name)
            out[name] = None if header is None else (_trim(row.get(header)) or None)
            column = getattr(shape.columns, name)
            if out[name] is not None and isinstance(column, ColumnSpec):
                out[name] = self._cell(name, column, out[name] or "", problems)
        out |= {name: str(value) for name, value in shape.values.items()}
        after: list[tuple[str, str]] = []
        for name in columns:
            kind = field_kind(shape.contract, name)
            text = out[name]
            column = getattr(shape.columns, name)
            if text is None:
                continue
            if isinstance(column, ColumnSpec) and column.minutes_after is not None:
                after.append((name, column.minutes_after))
            elif kind == "day" and shape.date_format is not None:
                out[name] = self._day(name, text, problems)
            elif kind == "timestamp" and shape.timestamp_formats:
                out[name] = self._timestamp(name, text, problems)
            elif kind == "number" and shape.normalises_numbers:
                number = _number(text, shape.thousands_separator, shape.decimal_separator)
                if number is None:
                    problems.append(
                        f"{name} {text!r} is not a number in the {shape.label} number format (thousands separator "
                        f"{shape.thousands_separator!r}, decimal separator {shape.decimal_separator!r})"
                    )
                else:
                    out[name] = number
        for name, base in after:
            out[name] = self._minutes_after(name, base, out, problems)
        return shape.finish(self, row, out, problems, lookups)

    def _cell(self, name: str, column: ColumnSpec, text: str, problems: list[str]) -> str | None:
        label = self.shape.label
        if column.extract is not None:
            match = re.search(column.extract, text)
            if match is None:
                problems.append(
                    f"{name} {text!r} does not hold the {label} value the shape extracts ({column.extract})"
                )
                return None
            groups = match.groupdict()
            text = _trim(groups["value"] if "value" in groups else match.group(1))
        if column.map is not None:
            if text not in column.map:
                known = ", ".join(column.map)
                problems.append(f"{name} {text!r} is not a {label} value the shape knows ({known})")
                return None
            text = column.map[text]
        return column.prefix + text if text else None

    def _day(self, name: str, text: str, problems: list[str]) -> str | None:
        fmt = self.shape.date_format or "%Y-%m-%d"
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            problems.append(
                f"{name} {text!r} is not a valid date"
                if fmt == "%Y-%m-%d" and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text)
                else f"{name} {text!r} does not match the {self.shape.label} date format {fmt}"
            )
            return text

    def _timestamp(self, name: str, text: str, problems: list[str]) -> str | None:
        shape = self.shape
        for fmt in shape.timestamp_formats:
            try:
                moment = datetime.strptime(text, fmt)
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(shape.timezone or "UTC"))
            return moment.isoformat()
        formats = " or ".join(shape.timestamp_formats)
        problems.append(f"{name} {text!r} does not match the {shape.label} timestamp format {formats}")
        return text

    def _minutes_after(self, name: str, base: str, out: dict[str, str | None], problems: list[str]) -> str | None:
        text = out[name] or ""
        try:
            minutes = Decimal(text)
        except InvalidOperation:
            minutes = Decimal("NaN")
        if not minutes.is_finite() or minutes < 0:
            problems.append(f"{name} {text!r} is not a number of minutes (>= 0) after {base}")
            return text
        start = out.get(base)
        try:
            moment = datetime.fromisoformat(start or "")
        except ValueError:
            return None  # the base timestamp's own problem is reported (or it is missing: the contract says so)
        return (moment + timedelta(minutes=float(minutes))).isoformat()


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


def union_tags() -> set[str]:
    """Union member tags pydantic puts in error locations (left out of the key a message names)."""
    return set(_UNION_TAGS)


__all__ = [
    "HEAD_RECORDS",
    "Column",
    "ColumnSpec",
    "ExportShape",
    "HeaderMapping",
    "Mapped",
    "Recognise",
    "Strict",
    "check_value",
    "field_kind",
    "recognise",
    "spec",
    "union_tags",
]
