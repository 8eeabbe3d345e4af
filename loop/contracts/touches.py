"""Marketing: owned-channel touches (CSV or NDJSON). One record is one email/push send, open or click."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from loop.contracts._source import Source


class TouchRecord(BaseModel):
    """One owned-channel touch of one customer by one campaign."""

    # ESP exports carry tracking columns we do not use: dropped.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    touch_id: str = Field(min_length=1)
    campaign_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    channel: Literal["email", "push"]
    action: Literal["sent", "opened", "clicked"]
    timestamp: AwareDatetime


SOURCE = Source(
    pillar="marketing",
    name="touches",
    model=TouchRecord,
    formats=("csv", "ndjson"),
    key=("touch_id",),
    references_campaign=True,
    description="Owned-channel touches (email/push sends, opens, clicks)",
)
