"""Marketing: the campaign catalog (CSV). One record is one campaign; each file is a full catalog snapshot."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from loop.contracts._source import RowRule, Source
from loop.contracts.types import Amount, ContractModel, CurrencyCode, Day, Identifier, Text

Channel = Literal["paid_search", "paid_social", "display", "affiliate", "email", "push"]
Objective = Literal["awareness", "acquisition", "retention", "reactivation"]


class CampaignRecord(ContractModel):
    """A campaign as marketing plans it: what it promises, to whom, when and with what budget."""

    # Catalog exports often carry extra planning columns; they are recorded as drift and not landed.
    model_config = ConfigDict(extra="ignore")

    campaign_id: Identifier
    campaign_name: Identifier
    channel: Channel
    objective: Objective
    promise: Text = Field(min_length=1, description="The offer or promise the campaign makes to customers.")
    start_date: Day
    end_date: Day | None = None
    budget: Amount = Field(ge=0)
    currency: CurrencyCode
    target_segment: Text | None = None
    promise_areas: Identifier | None = Field(
        None, description="';'-separated product areas the promise depends on (e.g. checkout;billing)."
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> CampaignRecord:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


SOURCE = Source(
    pillar="marketing",
    name="campaigns",
    model=CampaignRecord,
    formats=("csv",),
    key=(),
    rules=(RowRule('"end_date" IS NULL OR "end_date" >= "start_date"', "end_date is before start_date"),),
    description="Campaign catalog snapshot",
)
