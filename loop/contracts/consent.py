"""Marketing: consent records (CSV or NDJSON), as a consent management platform exports them. One record is one
customer's choice for one category at one moment; the latest choice per customer and category wins (events carry
consent too, in Segment's ``context.consent.categoryPreferences``; both feed the same consent model)."""

from __future__ import annotations

from pydantic import ConfigDict

from loop.contracts._source import Source
from loop.contracts.types import ContractModel, Flag, Identifier, Timestamp


class ConsentRecord(ContractModel):
    """A customer's choice for one consent category (``Advertising``, ``Analytics``, ``Functional``, ...)."""

    # Consent platforms export more columns (banner version, source page): recorded as drift, not landed.
    model_config = ConfigDict(extra="ignore")

    customer_id: Identifier
    category: Identifier
    granted: Flag
    updated_at: Timestamp


SOURCE = Source(
    pillar="marketing",
    name="consent",
    model=ConsentRecord,
    formats=("csv", "ndjson"),
    key=("customer_id", "category", "updated_at"),
    description="Consent choices per customer and category, from a consent management platform",
)
