"""Marketing: the campaign catalog (CSV). One record is one campaign; each file is a full catalog snapshot."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from loop.contracts._source import RowRule, Source

Channel = Literal["paid_search", "paid_social", "display", "affiliate", "email", "push"]
Objective = Literal["awareness", "acquisition", "retention", "reactivation"]


class CampaignRecord(BaseModel):
    """A campaign as marketing plans it: what it promises, to whom, when and with what budget."""

    # Catalog exports often carry extra planning columns; they are not part of the contract and are dropped.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    campaign_id: str = Field(min_length=1)
    campaign_name: str = Field(min_length=1)
    channel: Channel
    objective: Objective
    promise: str = Field(min_length=1, description="The offer or promise the campaign makes to customers.")
    start_date: date
    end_date: date | None = None
    budget: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    target_segment: str | None = None

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
    rules=(RowRule("end_date IS NULL OR end_date >= start_date", "end_date is before start_date"),),
    description="Campaign catalog snapshot",
)
