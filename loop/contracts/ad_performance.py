"""Marketing: daily ad performance (CSV), as ad platforms export it. One record is one campaign-day."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from loop.contracts._source import Source
from loop.contracts.types import Amount, ContractModel, Count, CurrencyCode, Day, Identifier


class AdPerformanceRecord(ContractModel):
    """What an ad platform reports for one campaign on one day."""

    # Ad platforms add columns (reach, frequency, ...) without notice: extras are recorded as drift, not rejected.
    model_config = ConfigDict(extra="ignore")

    date: Day
    campaign_id: Identifier
    spend: Amount = Field(ge=0)
    currency: CurrencyCode
    impressions: Count = Field(ge=0)
    clicks: Count = Field(ge=0)


SOURCE = Source(
    pillar="marketing",
    name="ad_performance",
    model=AdPerformanceRecord,
    formats=("csv",),
    key=("date", "campaign_id"),
    references_campaign=True,
    description="Daily ad-platform performance per campaign",
)
