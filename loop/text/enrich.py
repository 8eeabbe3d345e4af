"""Enrichment of feedback texts: scrub personal data first, then language, sentiment and keywords of the scrubbed text.

:func:`enrich_texts` keeps the input order and gives the same result for the same text in any process (every step
is a pure function of the text, whatever the process's hash seed). A large batch is split over a process pool
(forked workers: they start at once and run only these pure functions, never the DuckDB connection the caller may
hold; ``spawn`` would re-import the caller's ``__main__``); a small one runs in this process, where a pool would
cost more than it saves. :data:`ENRICHER_VERSION` changes whenever any step's output can change, so stored rows
of an older version are computed again.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from loop.text.keywords import keywords
from loop.text.language import language
from loop.text.scrub import scrub
from loop.text.sentiment import sentiment

#: The version of the enrichment (scrubbing rules, language vote, lexicons, keyword rules).
ENRICHER_VERSION = "text-1"
#: Batches smaller than this run in the calling process.
POOL_FROM_TEXTS = 4000
#: Texts per task sent to a worker.
CHUNK_TEXTS = 1000


@dataclass(frozen=True)
class Enrichment:
    """What is published about one feedback text: never the raw text, only its scrubbed form and derived fields."""

    scrubbed_text: str
    pii_kinds: tuple[str, ...]
    language: str
    sentiment: float | None
    sentiment_label: str | None
    keywords: tuple[str, ...]


def enrich_text(text: str) -> Enrichment:
    """The enrichment of one text (see the module docstring)."""
    scrubbed = scrub(text)
    lang = language(scrubbed.text)
    compound, sentiment_label = sentiment(scrubbed.text, lang)
    return Enrichment(
        scrubbed_text=scrubbed.text,
        pii_kinds=scrubbed.kinds,
        language=lang,
        sentiment=compound,
        sentiment_label=sentiment_label,
        keywords=keywords(scrubbed.text, lang),
    )


def _enrich_chunk(texts: Sequence[str]) -> list[Enrichment]:
    return [enrich_text(text) for text in texts]


def enrich_texts(texts: Sequence[str], workers: int = 1) -> list[Enrichment]:
    """The enrichment of every text, in the order given; ``workers`` > 1 uses that many processes for a large batch."""
    if workers <= 1 or len(texts) < POOL_FROM_TEXTS:
        return _enrich_chunk(texts)
    chunks = [list(texts[start : start + CHUNK_TEXTS]) for start in range(0, len(texts), CHUNK_TEXTS)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results: list[Enrichment] = []
        for chunk in pool.map(_enrich_chunk, chunks):
            results.extend(chunk)
    return results
