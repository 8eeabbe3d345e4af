"""The warehouse table of enriched feedback texts, ``enrich.feedback_texts``: one row per distinct text.

A row is keyed by the SHA-256 of the text as it landed (``sha256(text)`` in DuckDB gives the same hex), so a text is
processed once whatever the number of feedback rows, re-landings or as-of builds that carry it, and the same text
always has the same enrichment: dbt joins feedback rows to it on that hash. A row made by an older enricher (another
``enricher_version``) is computed again.
"""

from __future__ import annotations

import os
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


def enrich_new_texts(con: Any, workers: int | None = None) -> int:
    """Enrich the distinct feedback texts of ``raw.feedback`` that have no row of the current enricher version yet.

    Rows are written in one bulk ``INSERT OR REPLACE`` (a row of an older version is replaced). Returns the number
    of texts enriched: 0 when every text already has its row. ``workers`` defaults to the machine's CPU count.
    """
    import pandas as pd

    from loop.text.enrich import ENRICHER_VERSION, enrich_texts

    ensure_text_table(con)
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = 'feedback'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    pending = con.execute(
        f"""
        SELECT landed.text, landed.text_sha256
        FROM (SELECT DISTINCT text, sha256(text) AS text_sha256 FROM raw.feedback WHERE text IS NOT NULL) AS landed
        WHERE NOT EXISTS (
            SELECT 1 FROM {SCHEMA}.{TABLE} AS done
            WHERE done.text_sha256 = landed.text_sha256 AND done.enricher_version = ?
        )
        ORDER BY landed.text_sha256
        """,
        [ENRICHER_VERSION],
    ).fetchall()
    if not pending:
        return 0
    texts = [text for text, _ in pending]
    enriched = enrich_texts(texts, workers=workers or os.cpu_count() or 1)
    frame = pd.DataFrame(
        {
            "text_sha256": [sha for _, sha in pending],
            "scrubbed_text": [e.scrubbed_text for e in enriched],
            "pii_kinds": [list(e.pii_kinds) for e in enriched],
            "language": [e.language for e in enriched],
            "sentiment": pd.array([e.sentiment for e in enriched], dtype="Float64"),
            "sentiment_label": [e.sentiment_label for e in enriched],
            "keywords": [list(e.keywords) for e in enriched],
        }
    )
    con.register("loop_enriched_texts", frame)
    try:
        con.execute(
            f"""
            INSERT OR REPLACE INTO {SCHEMA}.{TABLE}
            SELECT text_sha256, scrubbed_text, CAST(pii_kinds AS VARCHAR[]), language, CAST(sentiment AS DOUBLE),
                   sentiment_label, CAST(keywords AS VARCHAR[]),
                   ? AS enricher_version, now() AS enriched_at
            FROM loop_enriched_texts
            """,
            [ENRICHER_VERSION],
        )
    finally:
        con.unregister("loop_enriched_texts")
    return len(pending)
