"""Published pillars without a dbt build: a small ``cycle`` scorecard and hand-made ``product`` feedback (free text
with line breaks, a missing customer id) in the warehouse, then published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from loop import publish
from loop.settings import Settings
from loop.transform import catalog
from loop.warehouse import connect

from ..conftest import empty_marts


def make_scorecard(settings: Settings, campaigns: int) -> None:
    empty_marts(settings, "cycle", besides=("campaign_scorecard",))
    with connect(settings, write=True) as con:
        con.execute(
            "CREATE OR REPLACE TABLE main.campaign_scorecard AS "
            "SELECT 'cmp_' || i AS campaign_id, i AS scorecard_rank, 100 - i AS promise_kept_score "
            "FROM range(1, $n + 1) t(i)",
            {"n": campaigns},
        )


def publish_cycle(
    settings: Settings, as_of: date, run: str = "r1", cycle_date: date | None = None
) -> publish.Publication:
    return publish.publish(
        settings, "cycle", cycle_date=cycle_date or as_of, as_of=as_of, run_id=run, attempt=f"{run}#0"
    )


@pytest.fixture
def published(settings: Settings) -> Settings:
    make_scorecard(settings, 3)
    publish_cycle(settings, date(2026, 3, 2))
    return settings


#: Hand-made product feedback: free text with line breaks, quotes, commas and unicode; one customer id missing.
FEEDBACK_ROWS = [
    (
        "fb-1",
        "cus_alice",
        "nps",
        "2026-03-01 22:30:00+00",
        "checkout",
        "2.3.0",
        3,
        "detractor",
        "Froze at pay.\nTwice!",
    ),
    ("fb-2", "cus_bob", "ticket", "2026-03-02 09:00:00+00", "checkout", "2.3.0", None, None, 'Said "paid", was not'),
    ("fb-3", "cus_alice", "review", "2026-03-03 10:00:00+00", "billing", "2.4.0", 2, None, "a,b\r\nc\n\nd ünï"),
    ("fb-4", "cus_carol", "nps", "2026-03-04 11:00:00+00", "search", "2.4.0", 10, "promoter", "Works great"),
    ("fb-5", None, "feature_request", "2026-03-04 12:00:00+00", "search", "2.4.0", None, None, "Dark mode please"),
    ("fb-6", "cus_dave", "csat", "2026-03-05 08:00:00+00", "billing", "2.4.0", 5, None, "  leading and trailing  "),
]
RAW_CUSTOMERS = {row[1] for row in FEEDBACK_ROWS if row[1] is not None}
TEST_KEY = "test-key-" + "9" * 23


def text_column() -> str:
    """The published free-text column of feedback (the scrubbed text where the mart publishes one)."""
    names = {c.name for c in catalog.mart("feedback").columns}
    return next(name for name in ("scrubbed_text", "text") if name in names)


def make_feedback(settings: Settings, rows: Sequence[Sequence[object]] = FEEDBACK_ROWS) -> None:
    """The product marts with their declared columns (empty), and feedback holding ``rows``."""
    empty_marts(settings, "product")
    with connect(settings, write=True) as con:
        con.executemany(
            "INSERT INTO main.feedback BY NAME SELECT ? AS feedback_id, ? AS customer_id, ? AS kind, "
            "CAST(? AS TIMESTAMPTZ) AS submitted_at, ? AS product_area, ? AS product_version, ? AS score, "
            f"? AS nps_category, ? AS {text_column()}",
            rows,
        )


def publish_product(
    settings: Settings, as_of: date, run: str = "r1", validation: dict[str, object] | None = None
) -> publish.Publication:
    return publish.publish(
        settings, "product", cycle_date=as_of, as_of=as_of, run_id=run, attempt=f"{run}#0", validation=validation
    )


@pytest.fixture
def product(tmp_path: Path) -> Settings:
    """A published product pillar (hand-made feedback) under a data directory with a fixed pseudonym key."""
    configured = Settings(data_dir=tmp_path / "data", pseudonym_key=TEST_KEY)
    configured.ensure_dirs()
    make_feedback(configured)
    publish_product(configured, date(2026, 3, 5))
    return configured
