"""Experience: platform events in the Segment Spec shape (NDJSON). One record is one track, page or identify call.

Errors and latency are events too: ``Error Occurred`` (properties ``error_code``, ``product_area``), page
``properties.latency_ms`` and ``API Request`` events with ``latency_ms``. UTM parameters arrive in
``context.campaign`` (``name`` is the campaign id).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from loop.contracts._source import RowRule, Source


class EventRecord(BaseModel):
    """A Segment Spec event as the platform's SDKs send it."""

    # Segment payloads carry more top-level keys (integrations, version, channel, ...): dropped, not rejected.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["track", "page", "identify"]
    message_id: str = Field(alias="messageId", min_length=1)
    anonymous_id: str | None = Field(None, alias="anonymousId")
    user_id: str | None = Field(None, alias="userId")
    timestamp: AwareDatetime
    event: str | None = None
    name: str | None = None
    properties: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _segment_rules(self) -> EventRecord:
        if not self.anonymous_id and not self.user_id:
            raise ValueError("an event needs an anonymousId or a userId")
        if self.type == "track" and not self.event:
            raise ValueError("a track event needs an event name")
        return self


SOURCE = Source(
    pillar="experience",
    name="events",
    model=EventRecord,
    formats=("ndjson",),
    key=("message_id",),
    rules=(
        RowRule("coalesce(anonymous_id, user_id) IS NOT NULL", "an event needs an anonymousId or a userId"),
        RowRule("type <> 'track' OR event IS NOT NULL", "a track event needs an event name"),
    ),
    event_time="timestamp",
    description="Segment Spec platform events",
)
