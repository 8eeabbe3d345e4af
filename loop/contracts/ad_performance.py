"""Marketing: daily ad performance (CSV), as ad platforms export it. One record is one campaign-day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from loop.contracts._source import Source


class AdPerformanceRecord(BaseModel):
    """What an ad platform reports for one campaign on one day."""

    # Ad platforms add columns (reach, frequency, ...) without notice: extras are dropped, not rejected.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    date: date
    campaign_id: str = Field(min_length=1)
    spend: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    impressions: int = Field(ge=0)
    clicks: int = Field(ge=0)


SOURCE = Source(
    pillar="marketing",
    name="ad_performance",
    model=AdPerformanceRecord,
    formats=("csv",),
    key=("date", "campaign_id"),
    references_campaign=True,
    description="Daily ad-platform performance per campaign",
)
