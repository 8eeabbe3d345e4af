"""Marketing: daily ad performance (CSV), as ad platforms export it. One record is one campaign-day of one platform.

Ad platforms export their own file shapes (a Google Ads campaign report, a Meta Ads Manager export, loop's generic
CSV): landing recognises each file's shape from its header and maps its rows into these fields before any check
(:mod:`loop.landing.exports`, configured in ``loop/landing/exports/ad_exports.toml`` and ``LOOP_AD_EXPORT_SHAPES``).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from loop.contracts._source import RowRule, Source
from loop.contracts.currencies import ISO_4217
from loop.contracts.types import Amount, ContractModel, Count, CurrencyCode, Day, Identifier


class AdPerformanceRecord(ContractModel):
    """What an ad platform reports for one campaign on one day."""

    # Ad platforms add columns (reach, frequency, ...) without notice: extras are recorded as drift, not rejected.
    model_config = ConfigDict(extra="ignore")

    date: Day
    campaign_id: Identifier = Field(
        description="Our campaign id: as exported, or found in the catalog by the exported campaign name."
    )
    spend: Amount = Field(ge=0, description="Spend in `currency` (the ad account's currency).")
    currency: CurrencyCode
    impressions: Count = Field(ge=0)
    clicks: Count = Field(ge=0)
    platform: Identifier = Field(description="The export shape the record came in (its entry in the shapes config).")
    campaign_name: Identifier | None = Field(
        None, description="The campaign name as the platform exported it (when the export carries one)."
    )

    @model_validator(mode="after")
    def _iso_currency(self) -> AdPerformanceRecord:
        if self.currency not in ISO_4217:
            raise ValueError(_NOT_ISO)
        return self


_NOT_ISO = "currency is not an ISO 4217 currency code"


SOURCE = Source(
    pillar="marketing",
    name="ad_performance",
    model=AdPerformanceRecord,
    formats=("csv",),
    key=("date", "campaign_id", "platform"),
    rules=(RowRule('list_contains($iso_4217, "currency")', _NOT_ISO, {"iso_4217": sorted(ISO_4217)}),),
    references_campaign=True,
    export_shapes=True,
    description="Daily ad-platform performance per campaign and platform",
)
