"""``enrich.feedback_texts`` on a real DuckDB file: each distinct text enriched once, keyed by its SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import duckdb

from loop.landing.schema import ensure_tables
from loop.text.enrich import ENRICHER_VERSION, enrich_texts
from loop.text.store import enrich_new_texts

TEXTS = [
    "Great app, love it! Call me at (415) 555-2671",
    "O checkout é muito lento\ne travou quando paguei com o cartão 4111 1111 1111 1111",
    "OK",
    "  spaces kept  \n",
]


def _land(con: duckdb.DuckDBPyConnection, texts: Sequence[str | None], first_id: int = 0) -> None:
    for number, text in enumerate(texts, start=first_id):
        con.execute(
            """
            INSERT INTO raw.feedback (feedback_id, kind, text, _source_file, _row_number, _partition_date, _landed_at)
            VALUES (?, 'ticket', ?, 'feedback.csv', ?, DATE '2026-03-02', now())
            """,
            [f"fb_{number}", text, number],
        )


def test_each_distinct_text_is_enriched_once(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_tables(con)
    _land(con, [*TEXTS, TEXTS[0], None])
    assert enrich_new_texts(con) == len(TEXTS)
    assert enrich_new_texts(con) == 0

    rows = con.execute(
        "SELECT text_sha256, scrubbed_text, pii_kinds, language, sentiment, sentiment_label, keywords, "
        "enricher_version FROM enrich.feedback_texts"
    ).fetchall()
    expected = {hashlib.sha256(t.encode()).hexdigest(): e for t, e in zip(TEXTS, enrich_texts(TEXTS), strict=True)}
    assert {row[0] for row in rows} == set(expected)
    for sha, scrubbed, kinds, lang, score, verdict, words, version in rows:
        e = expected[sha]
        assert (scrubbed, tuple(kinds), lang, score, verdict, tuple(words)) == (
            e.scrubbed_text,
            e.pii_kinds,
            e.language,
            e.sentiment,
            e.sentiment_label,
            e.keywords,
        )
        assert version == ENRICHER_VERSION
    by_sha = {row[0]: row for row in rows}
    card = by_sha[hashlib.sha256(TEXTS[1].encode()).hexdigest()]
    assert card[1] == "O checkout é muito lento\ne travou quando paguei com o cartão [card]"
    assert card[2] == ["card"]
    assert by_sha[hashlib.sha256(TEXTS[3].encode()).hexdigest()][1] == TEXTS[3]

    # DuckDB's sha256() is the hex of the UTF-8 bytes, as in Python: dbt joins feedback rows on it.
    joined = con.execute(
        "SELECT count(*) FROM raw.feedback f JOIN enrich.feedback_texts e ON e.text_sha256 = sha256(f.text)"
    ).fetchone()
    assert joined == (len(TEXTS) + 1,)

    _land(con, ["A new ticket: the search is broken again", TEXTS[2]], first_id=100)
    assert enrich_new_texts(con) == 1
    con.close()


def test_rows_of_an_older_enricher_are_computed_again(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_tables(con)
    _land(con, TEXTS)
    enrich_new_texts(con)
    con.execute("UPDATE enrich.feedback_texts SET enricher_version = 'text-0', language = 'xx' WHERE language = 'pt'")
    assert enrich_new_texts(con) == 1
    assert con.execute("SELECT count(*), count(DISTINCT enricher_version) FROM enrich.feedback_texts").fetchone() == (
        len(TEXTS),
        1,
    )
    assert con.execute("SELECT count(*) FROM enrich.feedback_texts WHERE language = 'xx'").fetchone() == (0,)
    con.close()


def test_a_warehouse_without_feedback_has_nothing_to_enrich(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    assert enrich_new_texts(con) == 0
    con.close()


def test_a_large_batch_gives_the_same_rows_through_the_pool() -> None:
    texts = [f"{t} #{n}" for n in range(1200) for t in TEXTS]
    assert enrich_texts(texts, workers=2) == enrich_texts(texts, workers=1)
