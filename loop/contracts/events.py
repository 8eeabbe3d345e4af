"""Experience: platform events in the Segment Spec shape (NDJSON). One record is one Segment call: track, page,
identify, screen, alias or group (the marts read track, page and identify; the others are landed as they come).

Errors and latency are events too: ``Error Occurred`` (properties ``error_code``, ``product_area``), page
``properties.latency_ms`` and ``API Request`` events with ``latency_ms``. UTM parameters arrive in
``context.campaign`` (``name`` is the campaign id). The properties the marts read are typed here, with the ranges
a real measurement can have; any other property is kept as sent.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from loop.contracts._source import RowRule, Source
from loop.contracts.types import Amount, ContractModel, Count, CurrencyCode, Identifier, Measure, Text, Timestamp

#: A page or API call slower than this is a measurement error (the client gave up long before), not an experience.
MAX_LATENCY_MS = 120_000
#: One order above this is an error of the tracking plan (cents sent as units, a test order), not revenue.
MAX_ORDER_REVENUE = 1_000_000


class EventProperties(ContractModel):
    """The event properties the marts read; others are kept as sent."""

    model_config = ConfigDict(extra="allow")

    path: Text | None = None
    product_area: Identifier | None = None
    latency_ms: Measure | None = Field(None, ge=0, le=MAX_LATENCY_MS)
    error_code: Identifier | None = None
    order_id: Identifier | None = None
    revenue: Amount | None = Field(None, ge=0, le=MAX_ORDER_REVENUE)
    currency: CurrencyCode | None = None
    status_code: Count | None = Field(None, ge=100, le=599)


class EventTraits(ContractModel):
    """Identify traits the loop reads: the contact data audiences are exported with. Others are kept as sent."""

    model_config = ConfigDict(extra="allow")

    email: Identifier | None = None
    phone: Identifier | None = None
    first_name: Identifier | None = None
    last_name: Identifier | None = None
    country: Identifier | None = None
    zip: Identifier | None = None


#: Where Segment's consent management puts a customer's choices: ``{"Advertising": false, "Analytics": true}``.
CONSENT_PATH = "$.consent.categoryPreferences"


def _consent_preferences_are_flags(context: dict[str, Any] | None) -> bool:
    consent = (context or {}).get("consent")
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if consent is not None and not isinstance(consent, dict):
        return False
    return preferences is None or (
        isinstance(preferences, dict) and all(isinstance(v, bool) for v in preferences.values())
    )


class EventRecord(ContractModel):
    """A Segment Spec event as the platform's SDKs send it."""

    # Segment payloads carry more top-level keys (integrations, version, channel, ...): recorded as drift.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["track", "page", "identify", "screen", "alias", "group"]
    message_id: Identifier = Field(alias="messageId")
    anonymous_id: Identifier | None = Field(None, alias="anonymousId")
    user_id: Identifier | None = Field(None, alias="userId")
    timestamp: Timestamp = Field(
        description="When the event happened; `loop collect` corrects it for the client's clock skew."
    )
    event: Identifier | None = None
    name: Text | None = None
    properties: EventProperties | None = None
    context: dict[str, Any] | None = None
    traits: EventTraits | None = Field(None, description="Identify: the customer's traits; group: the group's.")
    previous_id: Identifier | None = Field(None, alias="previousId", description="Alias: the id merged into userId.")
    group_id: Identifier | None = Field(None, alias="groupId", description="Group: the account or company.")
    received_at: Timestamp | None = Field(
        None, alias="receivedAt", description="When `loop collect` received the event (its server clock)."
    )
    original_timestamp: Text | None = Field(
        None, alias="originalTimestamp", description="The timestamp as the client sent it, before the correction."
    )

    @model_validator(mode="after")
    def _segment_rules(self) -> EventRecord:
        if not self.anonymous_id and not self.user_id:
            raise ValueError("an event needs an anonymousId or a userId")
        if self.type == "track" and not self.event:
            raise ValueError("a track event needs an event name")
        if self.type == "alias" and not (self.previous_id and self.user_id):
            raise ValueError(ALIAS_MESSAGE)
        if self.type == "group" and not self.group_id:
            raise ValueError(GROUP_MESSAGE)
        if not _consent_preferences_are_flags(self.context):
            raise ValueError(CONSENT_MESSAGE)
        return self


ALIAS_MESSAGE = "an alias needs a previousId and a userId"
GROUP_MESSAGE = "a group call needs a groupId"
CONSENT_MESSAGE = "context.consent.categoryPreferences must map each consent category to true or false"
#: The same rule in landing's SQL: absent or null, or an object whose every value is a JSON boolean (written ``true``
#: or ``false`` once extracted). ``context`` is parsed once per record: one ``json_extract`` of both paths, bound to
#: ``c`` by a one-element ``list_transform`` (``c[1]``: consent, ``c[2]``: its preferences), which is about twice as
#: fast as extracting each path on its own.
CONSENT_RULE = RowRule(
    """list_bool_and(list_transform([json_extract("context", ['$.consent', $consent_path])], lambda c:
        coalesce(json_type(c[1]), 'NULL') IN ('NULL', 'OBJECT')
        AND coalesce(json_type(c[2]), 'NULL') IN ('NULL', 'OBJECT')
        AND coalesce(list_bool_and(list_transform(json_extract(c[2], '$.*'),
            lambda v: v IN ('true', 'false'))), true)))""",
    CONSENT_MESSAGE,
    {"consent_path": CONSENT_PATH},
)


SOURCE = Source(
    pillar="experience",
    name="events",
    model=EventRecord,
    formats=("ndjson",),
    key=("message_id",),
    rules=(
        RowRule('coalesce("anonymous_id", "user_id") IS NOT NULL', "an event needs an anonymousId or a userId"),
        RowRule('"type" <> $track OR "event" IS NOT NULL', "a track event needs an event name", {"track": "track"}),
        RowRule(
            '"type" <> $alias OR ("previous_id" IS NOT NULL AND "user_id" IS NOT NULL)',
            ALIAS_MESSAGE,
            {"alias": "alias"},
        ),
        RowRule('"type" <> $group OR "group_id" IS NOT NULL', GROUP_MESSAGE, {"group": "group"}),
        CONSENT_RULE,
    ),
    event_time="timestamp",
    description="Segment Spec platform events",
)
