"""Marketing: owned-channel touches (CSV or NDJSON). One record is one email/push send, open or click."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from loop.contracts._source import Source
from loop.contracts.types import ContractModel, Identifier, Timestamp


class TouchRecord(ContractModel):
    """One owned-channel touch of one customer by one campaign."""

    # ESP exports carry tracking columns we do not use: recorded as drift, not landed.
    model_config = ConfigDict(extra="ignore")

    touch_id: Identifier
    campaign_id: Identifier
    customer_id: Identifier
    channel: Literal["email", "push"]
    action: Literal["sent", "opened", "clicked"]
    timestamp: Timestamp


SOURCE = Source(
    pillar="marketing",
    name="touches",
    model=TouchRecord,
    formats=("csv", "ndjson"),
    key=("touch_id",),
    references_campaign=True,
    description="Owned-channel touches (email/push sends, opens, clicks)",
)
