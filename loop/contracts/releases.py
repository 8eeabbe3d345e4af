"""Product: releases (CSV). One record is one product version with the product areas it touched."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from loop.contracts._source import Source
from loop.contracts.types import ContractModel, Day, Identifier, Text


class ReleaseRecord(ContractModel):
    """A product release."""

    # Release trackers export more columns (author, ticket links): recorded as drift, not landed.
    model_config = ConfigDict(extra="ignore")

    version: Identifier
    released_on: Day
    product_areas: Identifier = Field(description="';'-separated product areas the release touched.")
    notes: Text | None = None


SOURCE = Source(
    pillar="product",
    name="releases",
    model=ReleaseRecord,
    formats=("csv",),
    key=("version",),
    description="Product releases",
)
