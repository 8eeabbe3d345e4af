"""Ad-platform export shapes (``ad_exports.toml``): what only ad performance exports need besides the common keys.

An ad row's currency comes from a column, from the header of the spend column (``Amount spent (BRL)``) or is fixed
for the export; its platform is the entry's name; a report covering more than one day per row is refused; and a
campaign named rather than identified is matched in the campaign catalog (held until a catalog names it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from loop.contracts.ad_performance import AdPerformanceRecord
from loop.contracts.currencies import ISO_4217
from loop.landing.exports.base import Column, ExportShape, HeaderMapping, Mapped, Strict, _trim, spec


class AdColumns(Strict):
    """The export's column for each contract field (an exact header name, or ``{ pattern = "..." }``)."""

    date: Column
    spend: Column
    impressions: Column
    clicks: Column
    campaign_id: Column | None = None
    campaign_name: Column | None = None


class Currency(Strict):
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


class AdShape(ExportShape):
    """One ad-platform export shape (an entry ``[shapes.<name>]`` of ``ad_exports.toml``)."""

    contract: ClassVar[type[BaseModel]] = AdPerformanceRecord
    given: ClassVar[tuple[str, ...]] = ("currency", "platform")

    columns: AdColumns
    campaign_match: Literal["campaign_id", "campaign_name"]
    currency: Currency
    same_day_column: str | None = None
    currencies: list[str] = Field(default_factory=list, description="The currencies expected; empty: any.")

    @model_validator(mode="after")
    def _consistent(self) -> AdShape:
        if getattr(self.columns, self.campaign_match) is None:
            raise ValueError(f"campaign_match is {self.campaign_match} but columns.{self.campaign_match} is not given")
        wrong = [v for v in self.currencies if v not in ISO_4217]
        if wrong:
            raise ValueError(f"currencies: {', '.join(map(repr, wrong))} not ISO 4217 currency codes")
        source = self.currency.header_of
        if source is not None:
            column = getattr(self.columns, source)
            if column is None or spec(column).pattern is None or "(?P<currency>" not in str(spec(column).pattern):
                raise ValueError(
                    f"currency.header_of is {source} but columns.{source} is not a pattern with a (?P<currency>...) "
                    "group"
                )
        return self

    def derived(self, name: str) -> bool:
        # The campaign id is a column, or found by the campaign's name (campaign_match, checked above).
        return name == "campaign_id"

    def optional_column(self, name: str) -> bool:
        return name in ("campaign_name", "campaign_id") and name != self.campaign_match

    def extra_columns(self) -> list[str]:
        return [c for c in (self.currency.column, self.same_day_column) if c is not None]

    def finish(
        self,
        mapping: HeaderMapping,
        row: dict[str, str],
        out: dict[str, str | None],
        problems: list[str],
        lookups: dict[str, list[str]],
    ) -> Mapped:
        out["platform"] = self.name
        date = _trim(row.get(mapping.positions.get("date", ""))) or None
        if self.same_day_column is not None and out["date"] is not None and not problems:
            other = _trim(row.get(self.same_day_column))
            try:
                end = datetime.strptime(other, self.date_format or "%Y-%m-%d").date().isoformat()
            except ValueError:
                end = None
            if end != out["date"]:
                problems.append(
                    f"the row covers {date} to {other or 'an unreadable date'} ({self.same_day_column}); loop lands "
                    "one day per row (export with a daily breakdown)"
                )
        currency = (
            _trim(row.get(self.currency.column)) or None
            if self.currency.column is not None
            else mapping.captures.get(self.currency.header_of, {}).get("currency") or None
            if self.currency.header_of is not None
            else self.currency.fixed
        )
        out["currency"] = currency
        # Whether it is an ISO 4217 code at all is the contract's rule; whether the shape expects it, the shape's.
        if currency in ISO_4217 and self.currencies and currency not in self.currencies:
            problems.append(
                f"currency {currency} is not one {self.label} exports are expected in ({', '.join(self.currencies)})"
            )
        if problems:
            return Mapped(out, "; ".join(problems), "contract")
        if self.campaign_match == "campaign_name" and out["campaign_name"] is not None:
            name = out["campaign_name"]
            ids = lookups.get(name or "", [])
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

    @classmethod
    def lookups(cls, con: Any) -> dict[str, list[str]]:
        """Campaign name -> the campaign ids carrying it in any landed catalog snapshot."""
        rows = con.execute(
            "SELECT campaign_name, list(DISTINCT campaign_id ORDER BY campaign_id) FROM raw.campaigns "
            "WHERE campaign_name IS NOT NULL GROUP BY campaign_name"
        ).fetchall()
        return {str(name): [str(i) for i in ids] for name, ids in rows}
