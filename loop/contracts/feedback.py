"""Product: customer feedback (CSV or NDJSON): NPS and CSAT responses, support tickets, feature requests, reviews."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from loop.contracts._source import RowRule, Source

FeedbackKind = Literal["nps", "csat", "ticket", "feature_request", "review"]

#: Score range per kind; kinds not listed carry no score.
SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "review": (1, 5)}


class FeedbackRecord(BaseModel):
    """One piece of feedback from one customer about one product area and version."""

    # Survey and helpdesk tools export extra columns (locale, agent, ...): dropped.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    feedback_id: str = Field(min_length=1)
    kind: FeedbackKind
    customer_id: str = Field(min_length=1)
    submitted_at: AwareDatetime
    product_area: str = Field(min_length=1)
    product_version: str = Field(min_length=1)
    score: int | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _score_fits_kind(self) -> FeedbackRecord:
        bounds = SCORE_RANGES.get(self.kind)
        if bounds is None:
            if self.score is not None:
                raise ValueError(f"a {self.kind} carries no score")
        elif self.score is None or not bounds[0] <= self.score <= bounds[1]:
            raise ValueError(f"a {self.kind} score must be between {bounds[0]} and {bounds[1]}")
        return self


def _score_rule_sql() -> str:
    ranged = " OR ".join(
        f"(kind = '{kind}' AND score BETWEEN {low} AND {high})" for kind, (low, high) in SCORE_RANGES.items()
    )
    unscored = ", ".join(f"'{kind}'" for kind in SCORE_RANGES)
    return f"{ranged} OR (kind NOT IN ({unscored}) AND score IS NULL)"


SOURCE = Source(
    pillar="product",
    name="feedback",
    model=FeedbackRecord,
    formats=("csv", "ndjson"),
    key=("feedback_id",),
    rules=(
        RowRule(
            _score_rule_sql(),
            "score does not fit the feedback kind (nps 0-10, csat and review 1-5, none for tickets and requests)",
        ),
    ),
    description="NPS, CSAT, tickets, feature requests and reviews",
)
