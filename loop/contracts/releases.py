"""Product: releases (CSV). One record is one product version with the product areas it touched."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from loop.contracts._source import Source


class ReleaseRecord(BaseModel):
    """A product release."""

    # Release trackers export more columns (author, ticket links): dropped.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    version: str = Field(min_length=1)
    released_on: date
    product_areas: str = Field(min_length=1, description="';'-separated product areas the release touched.")
    notes: str | None = None


SOURCE = Source(
    pillar="product",
    name="releases",
    model=ReleaseRecord,
    formats=("csv",),
    key=("version",),
    description="Product releases",
)
