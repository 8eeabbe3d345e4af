"""Product: customer feedback (CSV or NDJSON): NPS and CSAT responses, support tickets, feature requests, reviews."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, model_validator

from loop.contracts._source import RowRule, Source
from loop.contracts.types import ContractModel, Count, Identifier, Text, Timestamp

FeedbackKind = Literal["nps", "csat", "ticket", "feature_request", "review"]

#: Score range per kind; kinds not listed carry no score.
SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "review": (1, 5)}


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

    @model_validator(mode="after")
    def _score_fits_kind(self) -> FeedbackRecord:
        bounds = SCORE_RANGES.get(self.kind)
        if bounds is None:
            if self.score is not None:
                raise ValueError(f"a {self.kind} carries no score")
        elif self.score is None or not bounds[0] <= self.score <= bounds[1]:
            raise ValueError(f"a {self.kind} score must be between {bounds[0]} and {bounds[1]}")
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


SOURCE = Source(
    pillar="product",
    name="feedback",
    model=FeedbackRecord,
    formats=("csv", "ndjson"),
    key=("feedback_id",),
    rules=(_score_rule(),),
    description="NPS, CSAT, tickets, feature requests and reviews",
)
