"""Product: customer feedback (CSV or NDJSON): NPS and CSAT responses, support tickets, feature requests, reviews.

One record is one piece of feedback of any kind. The fields every kind shares come first; the kind-specific fields
(a ticket's status, first reply and resolution times; a feature request's votes) are set only on their kind, and
dbt splits them into per-kind models. Survey tools, help desks and app stores export their own layouts; the
feedback export shapes (:mod:`loop.landing.exports`) map those into these fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from loop.contracts._source import RowRule, Source
from loop.contracts.types import ContractModel, Count, Identifier, Text, Timestamp

FeedbackKind = Literal["nps", "csat", "ticket", "feature_request", "review"]
TicketStatus = Literal["new", "open", "pending", "on_hold", "solved", "closed"]

#: Score range per kind; kinds not listed carry no score.
SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "review": (1, 5)}
#: Fields only one kind may carry.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "ticket": ("ticket_status", "first_reply_at", "resolved_at"),
    "feature_request": ("votes",),
}


class FeedbackRecord(ContractModel):
    """One piece of feedback from one customer about one product area and version."""

    # Survey and helpdesk tools export extra columns (locale, agent, ...): recorded as drift, not landed.
    model_config = ConfigDict(extra="ignore")

    feedback_id: Identifier
    kind: FeedbackKind
    customer_id: Identifier
    submitted_at: Timestamp
    product_area: Identifier
    product_version: Identifier
    score: Count | None = None
    text: Text | None = None
    channel: Identifier | None = Field(
        default=None, description="Where it was given: in_app, email, web, help_desk, app_store, play_store, ..."
    )
    ticket_status: TicketStatus | None = Field(default=None, description="Tickets only: the help desk's status.")
    first_reply_at: Timestamp | None = Field(default=None, description="Tickets only: the first agent reply.")
    resolved_at: Timestamp | None = Field(default=None, description="Tickets only: when it was solved.")
    votes: Count | None = Field(default=None, description="Feature requests only: votes it received.")

    @model_validator(mode="after")
    def _score_fits_kind(self) -> FeedbackRecord:
        bounds = SCORE_RANGES.get(self.kind)
        if bounds is None:
            if self.score is not None:
                raise ValueError(f"a {self.kind} carries no score")
        elif self.score is None or not bounds[0] <= self.score <= bounds[1]:
            raise ValueError(f"a {self.kind} score must be between {bounds[0]} and {bounds[1]}")
        return self

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> FeedbackRecord:
        for kind, names in KIND_FIELDS.items():
            if self.kind != kind:
                for name in names:
                    if getattr(self, name) is not None:
                        raise ValueError(f"{name} is set only on a {kind}")
        for name in ("first_reply_at", "resolved_at"):
            value = getattr(self, name)
            if value is not None and value < self.submitted_at:
                raise ValueError(f"{name} is before submitted_at")
        return self


def _score_rule() -> RowRule:
    """The score rule as SQL over the typed columns, every value a named parameter."""
    params: dict[str, object] = {"unscored_kinds": [kind for kind in SCORE_RANGES]}
    ranged = []
    for number, (kind, (low, high)) in enumerate(SCORE_RANGES.items()):
        params |= {f"kind_{number}": kind, f"low_{number}": low, f"high_{number}": high}
        ranged.append(f'("kind" = $kind_{number} AND "score" BETWEEN $low_{number} AND $high_{number})')
    sql = " OR ".join(ranged) + ' OR (NOT list_contains($unscored_kinds, "kind") AND "score" IS NULL)'
    return RowRule(
        sql,
        "score does not fit the feedback kind (nps 0-10, csat and review 1-5, none for tickets and requests)",
        params,
    )


def _kind_fields_rule() -> RowRule:
    """Kind-specific fields only on their kind, and a ticket's reply and resolution not before it was opened."""
    params: dict[str, object] = {}
    clauses = []
    for number, (kind, names) in enumerate(KIND_FIELDS.items()):
        params[f"own_kind_{number}"] = kind
        unset = " AND ".join(f'"{name}" IS NULL' for name in names)
        clauses.append(f'("kind" = $own_kind_{number} OR ({unset}))')
    clauses += [f'coalesce("{name}" >= "submitted_at", true)' for name in ("first_reply_at", "resolved_at")]
    return RowRule(
        " AND ".join(clauses),
        "ticket_status, first_reply_at and resolved_at are for tickets only, votes for feature requests only; "
        "a ticket's first reply and resolution are not before it was submitted",
        params,
    )


SOURCE = Source(
    pillar="product",
    name="feedback",
    model=FeedbackRecord,
    formats=("csv", "ndjson"),
    key=("feedback_id",),
    rules=(_score_rule(), _kind_fields_rule()),
    export_shapes=True,
    description="NPS, CSAT, tickets, feature requests and reviews",
)
