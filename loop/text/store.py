"""The warehouse table of enriched feedback texts, ``enrich.feedback_texts``: one row per distinct text.

A row is keyed by the SHA-256 of the text as it landed (``sha256(text)`` in DuckDB gives the same hex), so a text is
processed once whatever the number of feedback rows, re-landings or as-of builds that carry it, and the same text
always has the same enrichment: dbt joins feedback rows to it on that hash. A row made by an older enricher (another
``enricher_version``) is computed again.
"""

from __future__ import annotations

from typing import Any

SCHEMA = "enrich"
TABLE = "feedback_texts"

DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.{TABLE} (
    text_sha256 VARCHAR PRIMARY KEY,
    scrubbed_text VARCHAR NOT NULL,
    pii_kinds VARCHAR[] NOT NULL,
    language VARCHAR NOT NULL,
    sentiment DOUBLE,
    sentiment_label VARCHAR,
    keywords VARCHAR[] NOT NULL,
    enricher_version VARCHAR NOT NULL,
    enriched_at TIMESTAMP WITH TIME ZONE NOT NULL
)
"""


def ensure_text_table(con: Any) -> None:
    """Create ``enrich.feedback_texts`` if it does not exist (dbt reads it as a source)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(DDL)
