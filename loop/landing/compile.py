"""Contract -> SQL: the checks landing runs, derived from a pydantic contract.

Every field of a contract becomes a :class:`ColumnPlan` (its raw key, SQL type, the JSON types it accepts and its
constraints). :class:`Compiler` turns the plans into SQL over the staged ``_incoming`` table. Values taken from the
contracts (bounds, patterns, allowed values, messages) are bound as named parameters (``$p0``, ``$p1``, ...), and
column names are quoted identifiers: nothing is spliced into SQL by string replacement. Field metadata that the
compiler does not translate is an error at import time, never a check silently skipped.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import annotated_types
import duckdb
from pydantic import AllowInfNan, AwareDatetime, BaseModel, BeforeValidator, StringConstraints
from pydantic.fields import FieldInfo

from loop.contracts import Source
from loop.contracts.types import WHITESPACE, TextForm

#: JSON value types (DuckDB ``json_type``) a field of each SQL type accepts. CSV values are always text.
_NUMBER_JSON = ("VARCHAR", "BIGINT", "UBIGINT", "DOUBLE")
_JSON_TYPES = {
    "VARCHAR": ("VARCHAR",),
    "BIGINT": _NUMBER_JSON,
    "DOUBLE": _NUMBER_JSON,
    "DECIMAL(18,2)": _NUMBER_JSON,
    "DATE": ("VARCHAR",),
    "TIMESTAMPTZ": ("VARCHAR",),
    "BOOLEAN": ("VARCHAR", "BOOLEAN"),
    "JSON": ("OBJECT",),
}
_TYPE_WORDS = {
    "VARCHAR": "a string",
    "BIGINT": "a whole number",
    "DOUBLE": "a number",
    "DECIMAL(18,2)": "an amount",
    "DATE": "a date",
    "TIMESTAMPTZ": "a timestamp",
    "BOOLEAN": "true or false",
    "JSON": "a JSON object",
}

#: How a JSON value's type is named in a reason.
_JSON_WORDS = {
    "a number": ("BIGINT", "UBIGINT", "DOUBLE", "HUGEINT"),
    "a string": ("VARCHAR",),
    "true or false": ("BOOLEAN",),
    "an array": ("ARRAY",),
    "an object": ("OBJECT",),
}

_FRACTION = r"\.([0-9]*)$"
_WHOLE = r"^[+-]?([0-9]*)"


def fetch_one(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of a query's result, read to its end (DuckDB refuses other work on a connection while a result
    is still open, which ``fetchone()`` leaves)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def quote_ident(name: str) -> str:
    """A SQL identifier, double-quoted (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Constraint:
    """One constraint on a present value: ``kind`` names the SQL it becomes; ``value`` is bound as a parameter."""

    kind: str
    value: Any
    message: str


@dataclass(frozen=True)
class ColumnPlan:
    """One contract field as landing sees it."""

    name: str
    """Column name in the raw table (the pydantic field name); for a nested field, ``parent.child``."""
    key: str
    """Key in the raw file (the alias: JSON key or CSV header)."""
    sql_type: str
    required: bool
    constraints: tuple[Constraint, ...] = ()
    children: tuple[ColumnPlan, ...] = ()
    """Typed fields of a nested object (``properties``): checked inside the JSON value."""

    @property
    def is_json(self) -> bool:
        return self.sql_type == "JSON"

    @property
    def label(self) -> str:
        return self.key


def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """(base type, metadata found inside ``Annotated``/``Optional`` wrappers, nullable)."""
    metadata: list[Any] = []
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                raise TypeError(f"landing cannot check a union of {args}")
            nullable = True
            annotation = args[0]
        elif origin is typing.Annotated:
            base, *extra = typing.get_args(annotation)
            for item in extra:
                metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
            annotation = base
        else:
            return annotation, metadata, nullable


def _sql_type(base: Any) -> str:
    if typing.get_origin(base) is Literal:
        return "VARCHAR"
    if base is AwareDatetime:
        return "TIMESTAMPTZ"
    if base is datetime:
        raise TypeError("use AwareDatetime (loop.contracts.types.Timestamp): a timestamp without zone is ambiguous")
    if base is date:
        return "DATE"
    if base is Decimal:
        return "DECIMAL(18,2)"
    if base is bool:
        return "BOOLEAN"
    if base is int:
        return "BIGINT"
    if base is float:
        return "DOUBLE"
    if base is str:
        return "VARCHAR"
    if typing.get_origin(base) is dict or (isinstance(base, type) and issubclass(base, BaseModel)):
        return "JSON"
    raise TypeError(f"landing cannot check values of type {base!r}")


def _constraints(name: str, base: Any, metadata: list[Any]) -> Iterator[Constraint]:
    """Translate pydantic field metadata into constraints; anything unknown is an error."""
    if typing.get_origin(base) is Literal:
        allowed = list(typing.get_args(base))
        yield Constraint("one_of", allowed, f"must be one of {', '.join(map(str, allowed))}")
    for meta in metadata:
        if isinstance(meta, TextForm):
            yield Constraint("form", meta.pattern, f"must be {meta.description}")
        elif isinstance(meta, BeforeValidator):
            if not isinstance(getattr(meta.func, "__self__", None), TextForm):
                raise TypeError(f"{name}: landing cannot translate the validator {meta.func!r}")
        elif isinstance(meta, annotated_types.Ge) and isinstance(meta.ge, datetime):
            yield Constraint("ge", meta.ge, f"must not be before {meta.ge.strftime('%Y-%m-%dT%H:%M:%SZ')}")
        elif isinstance(meta, annotated_types.Ge):
            yield Constraint("ge", meta.ge, f"must be >= {meta.ge}")
        elif isinstance(meta, annotated_types.Gt):
            yield Constraint("gt", meta.gt, f"must be > {meta.gt}")
        elif isinstance(meta, annotated_types.Le):
            yield Constraint("le", meta.le, f"must be <= {meta.le}")
        elif isinstance(meta, annotated_types.Lt):
            yield Constraint("lt", meta.lt, f"must be < {meta.lt}")
        elif isinstance(meta, annotated_types.MinLen):
            if meta.min_length > 1:
                yield Constraint("min_length", meta.min_length, f"must have at least {meta.min_length} characters")
            # min_length 1 is implied: a blank value is a missing value.
        elif isinstance(meta, annotated_types.MaxLen):
            yield Constraint("max_length", meta.max_length, f"must have at most {meta.max_length:,} characters")
        elif isinstance(meta, StringConstraints):
            unsupported = {
                k: v
                for k, v in vars(meta).items()
                if v not in (None, False) and k not in ("min_length", "max_length", "pattern")
            }
            if unsupported:
                raise TypeError(f"{name}: landing cannot translate string constraints {unsupported}")
            yield from _constraints(
                name,
                str,
                [
                    *([annotated_types.MinLen(meta.min_length)] if meta.min_length is not None else []),
                    *([annotated_types.MaxLen(meta.max_length)] if meta.max_length is not None else []),
                    *([_Pattern(str(meta.pattern))] if meta.pattern is not None else []),
                ],
            )
        elif isinstance(meta, _Pattern):
            yield Constraint("pattern", meta.pattern, _pattern_message(meta.pattern))
        elif type(meta).__name__ == "_PydanticGeneralMetadata":
            values = dict(vars(meta))
            pattern = values.pop("pattern", None)
            if pattern is not None:
                yield Constraint("pattern", pattern, _pattern_message(pattern))
            places = values.pop("decimal_places", None)
            digits = values.pop("max_digits", None)
            if places is not None or digits is not None:
                if base is not Decimal or places is None or digits is None:
                    raise TypeError(f"{name}: max_digits and decimal_places go together, on decimals")
                yield Constraint("decimal_places", places, f"must have at most {places} decimals")
                yield Constraint(
                    "whole_digits",
                    digits - places,
                    f"must have at most {digits - places} digits before the decimal point",
                )
            if values:
                raise TypeError(f"{name}: landing cannot translate field metadata {values}")
        elif isinstance(meta, AllowInfNan):
            if not meta.allow_inf_nan:
                yield Constraint("finite", None, "must be a finite number")
        else:
            raise TypeError(f"{name}: landing cannot translate field metadata {meta!r}")


@dataclass(frozen=True)
class _Pattern:
    pattern: str


def _pattern_message(pattern: str) -> str:
    if "\\x00-\\x" in pattern:
        return "must not contain control characters"
    return f"must match {pattern}"


def plan_fields(model: type[BaseModel], prefix: str = "") -> tuple[ColumnPlan, ...]:
    """The landing view of a pydantic contract: one :class:`ColumnPlan` per field, in declaration order."""
    plans = []
    for name, info in model.model_fields.items():
        base, inner, nullable = _unwrap(info.annotation)
        metadata = [*info.metadata, *inner]
        sql_type = _sql_type(base)
        key = info.alias or name
        children: tuple[ColumnPlan, ...] = ()
        if isinstance(base, type) and issubclass(base, BaseModel):
            children = plan_fields(base, prefix=f"{prefix}{key}.")
        plans.append(
            ColumnPlan(
                name=name,
                key=prefix + key,
                sql_type=sql_type,
                required=info.is_required() and not nullable,
                constraints=tuple(_constraints(f"{model.__name__}.{name}", base, metadata)),
                children=children,
            )
        )
    return tuple(plans)


# ----------------------------------------------------------------------------------------------------------------
# SQL
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class Compiler:
    """Builds SQL with named parameters; :attr:`params` holds their values."""

    params: dict[str, Any] = field(default_factory=dict)

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return "$" + name

    # -- one value ------------------------------------------------------------------------------------------
    def _value_columns(self, plan: ColumnPlan, text: str, alias: str) -> list[str]:
        """Helper columns for one value: whether its text has the type's form, and its typed value."""
        forms = [c for c in plan.constraints if c.kind == "form"]
        form_ok = " AND ".join(f"regexp_full_match({text}, {self.param(c.value)})" for c in forms) or "true"
        # Amounts are checked at a wider precision, so that too many digits get the reason saying so (the raw
        # column's own type is applied once the value is known to fit it).
        checked_type = "DECIMAL(38,10)" if plan.sql_type.startswith("DECIMAL") else plan.sql_type
        return [
            f"coalesce({form_ok}, false) AS {quote_ident(alias + '__form')}",
            f"TRY_CAST({text} AS {checked_type}) AS {quote_ident(alias + '__typed')}",
        ]

    def _value_reasons(self, plan: ColumnPlan, alias: str) -> tuple[list[str], str]:
        """Reasons (SQL CASE expressions) for one value, over its helper columns: ``<alias>`` (the trimmed text,
        NULL when absent), ``<alias>__jtype``, ``<alias>__form`` and ``<alias>__typed``; and a boolean expression,
        true exactly when one of the reasons applies (cheap to evaluate: no text is built)."""
        label = plan.label
        text = quote_ident(alias)
        jtype = quote_ident(alias + "__jtype")
        reasons: list[str] = []
        bad: list[str] = []
        if plan.required:
            reasons.append(f"CASE WHEN {text} IS NULL THEN {self.param(f'missing required field {_q(label)}')} END")
            bad.append(f"{text} IS NULL")
        accepted = _JSON_TYPES[plan.sql_type]
        wrong_json = f"coalesce({jtype}, 'VARCHAR') NOT IN ({', '.join(self.param(t) for t in accepted)})"
        found = (
            "CASE "
            + " ".join(
                f"WHEN {jtype} IN ({', '.join(self.param(t) for t in types_)}) THEN {self.param(word)}"
                for word, types_ in _JSON_WORDS.items()
            )
            + f" ELSE lower({jtype}) END"
        )
        reasons.append(
            f"CASE WHEN {text} IS NOT NULL AND {wrong_json} THEN {self.param(_q(label) + ' must be ')}"
            f" || {self.param(_TYPE_WORDS[plan.sql_type] + ', not ')} || {found} END"
        )
        if plan.is_json:
            bad.append(f"({text} IS NOT NULL AND {wrong_json})")
            return reasons, " OR ".join(bad)
        present = f"{text} IS NOT NULL AND NOT ({wrong_json})"
        sample = f"left({text}, 80)"
        form_ok = quote_ident(alias + "__form")
        typed = quote_ident(alias + "__typed")
        for c in plan.constraints:
            if c.kind == "form":
                reasons.append(
                    f"CASE WHEN {present} AND NOT {form_ok} "
                    f"THEN {self.param(f'{_q(label)} {c.message}: ')} || {sample} END"
                )
        type_word = plan.sql_type.split("(")[0].lower().replace("timestamptz", "timestamp")
        reasons.append(
            f"CASE WHEN {present} AND {form_ok} AND {typed} IS NULL "
            f"THEN {self.param(f'{_q(label)} is not a valid {type_word}: ')} || {sample} END"
        )
        valid = f"{present} AND {form_ok} AND {typed} IS NOT NULL"
        unmet: list[str] = []
        for c in plan.constraints:
            predicate = self._predicate(c, text, typed, plan.sql_type)
            if predicate is None:
                continue
            unmet.append(f"NOT coalesce({predicate}, false)")
            reasons.append(
                f"CASE WHEN {valid} AND NOT coalesce({predicate}, false) "
                f"THEN {self.param(f'{_q(label)} {c.message}: ')} || {sample} END"
            )
        # A present value is bad when it came as the wrong JSON type, lacks its form, does not cast, or misses a
        # constraint: exactly the conditions of the reasons above (``__form`` is never NULL).
        failing = " OR ".join([wrong_json, f"NOT {form_ok}", f"{typed} IS NULL", *unmet])
        bad.append(f"({text} IS NOT NULL AND ({failing}))")
        return reasons, " OR ".join(bad)

    def _predicate(self, c: Constraint, text: str, typed: str, sql_type: str) -> str | None:
        if c.kind == "form":
            return None
        if c.kind in ("ge", "gt", "le", "lt"):
            op = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[c.kind]
            return f"{typed} {op} CAST({self.param(c.value)} AS {sql_type})"
        if c.kind == "one_of":
            return f"list_contains({self.param(c.value)}, {text})"
        if c.kind == "min_length":
            return f"length({text}) >= {self.param(c.value)}"
        if c.kind == "max_length":
            return f"length({text}) <= {self.param(c.value)}"
        if c.kind == "pattern":
            return f"regexp_matches({text}, {self.param(c.value)})"
        if c.kind == "finite":
            return f"isfinite({typed})"
        if c.kind == "decimal_places":
            fraction = f"rtrim(regexp_extract({text}, {self.param(_FRACTION)}, 1), '0')"
            return f"length({fraction}) <= {self.param(c.value)}"
        if c.kind == "whole_digits":
            whole = f"ltrim(regexp_extract({text}, {self.param(_WHOLE)}, 1), '0')"
            return f"length({whole}) <= {self.param(c.value)}"
        raise TypeError(f"no SQL for constraint {c.kind}")  # pragma: no cover - _constraints yields only these

    # -- a whole record -------------------------------------------------------------------------------------
    def contract_stages(self, plans: tuple[ColumnPlan, ...]) -> tuple[list[list[str]], str]:
        """The contract check over ``_incoming``: layers of select items, each over the previous one, and the reason.

        1. each nested object (``properties``) parsed once, as ``_o<i>``;
        2. the text (untrimmed, ``_n<j>__raw``) and JSON type (``_n<j>__jtype``) of each of its typed values;
        3. the trimmed text of each (``_n<j>``);
        4. per value, whether its text has its type's form and its typed value (``<value>__form``, ``__typed``);

        and the reason expression over the last layer, NULL for a valid record. Every helper is computed once, in
        its own layer (DuckDB evaluates an expression repeated inside CASE branches each time), which keeps the
        reason expression small; the reason text is only built for the records that have one (a cheap boolean test
        picks them first).
        """
        objects: list[str] = []
        raw: list[str] = []
        nested: list[str] = []
        helpers: list[str] = []
        reasons: list[str] = []
        bad: list[str] = []
        number = 0
        ws = ""
        for index, plan in enumerate(plans):
            if not plan.is_json:
                helpers += self._value_columns(plan, quote_ident(plan.name), plan.name)
            value_reasons, value_bad = self._value_reasons(plan, plan.name)
            reasons += value_reasons
            bad.append(value_bad)
            column = quote_ident(plan.name)
            if not plan.children:
                continue
            # The nested object is parsed once; each child's text and JSON type come from that parse.
            ws = ws or self.param(WHITESPACE)
            struct = self.param(json.dumps({child.key.rsplit(".", 1)[1]: "JSON" for child in plan.children}))
            parsed = quote_ident(f"_o{index}")
            objects.append(
                f"CASE WHEN {json_type_of(column)} = 'OBJECT' THEN from_json({column}, {struct}) END AS {parsed}"
            )
            for child in plan.children:
                alias = f"_n{number}"
                number += 1
                value = f"{parsed}.{quote_ident(child.key.rsplit('.', 1)[1])}"
                raw += [
                    f"{json_text(value)} AS {quote_ident(alias + '__raw')}",
                    f"{json_type_of(value)} AS {quote_ident(alias + '__jtype')}",
                ]
                nested.append(f"{trimmed(quote_ident(alias + '__raw'), ws)} AS {quote_ident(alias)}")
                helpers += self._value_columns(child, quote_ident(alias), alias)
                child_reasons, child_bad = self._value_reasons(child, alias)
                reasons += child_reasons
                bad.append(child_bad)
        every = "nullif(concat_ws('; ', " + ", ".join(reasons) + "), '')"
        layers = [layer for layer in (objects, raw, nested, helpers) if layer]
        return layers, f"CASE WHEN {' OR '.join(f'({b})' for b in bad)} THEN {every} END"

    def typed_columns(self, plans: tuple[ColumnPlan, ...]) -> str:
        """The select list giving each contract field its typed value (after :meth:`contract_stages`' helpers: the
        value cast there, except amounts, which are checked at a wider precision than their column's)."""
        return ", ".join(
            quote_ident(p.name)
            if p.is_json
            else f"TRY_CAST({quote_ident(p.name)} AS {p.sql_type}) AS {quote_ident(p.name)}"
            if p.sql_type.startswith("DECIMAL")
            else f"{quote_ident(p.name + '__typed')} AS {quote_ident(p.name)}"
            for p in plans
        )

    def rules(self, source: Source) -> list[tuple[str, str]]:
        """(predicate, reason text) of each cross-field rule of the source, over the typed columns of ``_checked``;
        the rules' own named parameters are bound alongside the compiler's (a rule parameter may not shadow one)."""
        rules = []
        for rule in source.rules:
            for name, value in rule.params.items():
                if name in self.params or re.fullmatch(r"p[0-9]+", name):
                    raise ValueError(f"rule parameter ${name} of {source.name} collides with another parameter")
                self.params[name] = value
            rules.append((rule.sql, self.param(rule.message)))
        return rules

    def rule_reasons(self, source: Source) -> list[str]:
        """Each rule of the source as a reason: a CASE expression, NULL when the rule holds."""
        return [f"CASE WHEN NOT coalesce({sql}, false) THEN {message} END" for sql, message in self.rules(source)]


def json_text(value: str) -> str:
    """SQL for the text of a JSON value as ``from_json`` writes it (minified): a string without its quotes and
    escapes, anything else as written. A string without escapes is cut out of its quotes (no JSON parse)."""
    return (
        f"CASE WHEN NOT starts_with({value}, '\"') THEN {value}::VARCHAR "
        f"WHEN contains({value}, '\\') THEN ({value} ->> '$') ELSE ({value}::VARCHAR)[2:-2] END"
    )


def trimmed(text: str, ws: str) -> str:
    """SQL for ``text`` trimmed of the characters in ``ws`` (a parameter placeholder holding :data:`WHITESPACE`),
    NULL when nothing is left.

    ``trim(x, characters)`` is slow in DuckDB; most values have no whitespace at either end, so only the values
    whose first or last character is whitespace are trimmed."""
    return (
        f"nullif(CASE WHEN contains({ws}, left({text}, 1)) OR contains({ws}, right({text}, 1)) "
        f"THEN trim({text}, {ws}) ELSE {text} END, '')"
    )


def json_type_of(value: str) -> str:
    """SQL for the JSON type of ``value``, a JSON text as ``from_json`` writes it (minified): its first character
    names objects, arrays and strings without parsing them again; numbers and literals go through ``json_type``."""
    return (
        f"CASE left({value}, 1) WHEN '{{' THEN 'OBJECT' WHEN '[' THEN 'ARRAY' WHEN '\"' THEN 'VARCHAR' "
        f"ELSE json_type({value}) END"
    )


def _q(label: str) -> str:
    return f'"{label}"'


def raw_columns(source: Source) -> tuple[ColumnPlan, ...]:
    """The top-level fields of a source's contract (the columns of its raw table)."""
    return plan_fields(source.model)


def raw_table_columns(source: Source) -> list[tuple[str, str]]:
    """(column, SQL type) of ``raw.<source>``: the contract's fields, then landing's metadata columns."""
    return [(p.name, p.sql_type) for p in raw_columns(source)] + list(METADATA_COLUMNS)


#: Columns landing adds to every raw table.
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR NOT NULL"),
    ("_row_number", "BIGINT NOT NULL"),
    ("_partition_date", "DATE NOT NULL"),
    ("_landed_at", "TIMESTAMPTZ NOT NULL"),
)
