"""Keywords: YAKE's scores, a cheap path for very short texts, and the same output in every process."""

from __future__ import annotations

import csv
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import yake

from loop.text.keywords import MIN_WORDS, keywords, yake_keywords
from loop.text.language import language

SAMPLE = Path(__file__).parents[1] / "fixtures" / "text" / "labelled_feedback.csv"
LONGER = [
    (
        "en",
        "I was charged twice for my subscription this month. Billing support has not answered my emails for a "
        "week. Please refund the second charge!\nAlso the invoice PDF shows the wrong VAT number.",
    ),
    (
        "pt",
        "O checkout falha quando tento pagar com cartão, mas o suporte foi atencioso e resolveu rápido. "
        "A busca ainda está lenta. Sinceramente, o aplicativo precisa melhorar a busca e o carrinho.",
    ),
    (
        "en",
        "Onboarding was confusing: the tutorial skipped the step about connecting my bank account, and the app "
        "crashed twice on Android 14. Apps like this should be simpler. The apps team should test on Samsung phones.",
    ),
]


def _texts() -> list[tuple[str, str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        rows = [(r["language"], r["text"]) for r in csv.DictReader(handle)]
    return rows + LONGER


def test_scores_are_yakes() -> None:
    """Every candidate and score yake 0.7.3 gives (n=2) on the sample texts, up to tokenisation corner cases."""
    extractors = {lang: yake.KeywordExtractor(lan=lang, n=2, top=1000) for lang in ("en", "pt")}
    same = 0
    texts = _texts()
    for lang, text in texts:
        theirs = sorted((kw.lower(), round(float(score), 6)) for kw, score in extractors[lang].extract_keywords(text))
        ours = sorted((kw.lower(), round(score, 6)) for kw, score in yake_keywords(text, lang, top=1000))
        same += theirs == ours
    assert same / len(texts) >= 0.95


def test_keywords_are_lowercase_ranked_and_at_most_five() -> None:
    lang, text = LONGER[0]
    found = keywords(text, lang)
    assert found == ("month", "billing support", "charged", "subscription", "vat number")
    assert all(k == k.lower() for k in found)
    assert len(keywords(LONGER[1][1], "pt")) == 5


def test_ties_are_broken_by_keyword() -> None:
    ranked = yake_keywords("The checkout keeps failing when I try to pay with my card, but support was quick.", "en")
    scores = [round(score, 9) for _, score in ranked]
    assert scores == sorted(scores)
    for (kw_a, a), (kw_b, b) in itertools.pairwise(ranked):
        if round(a, 9) == round(b, 9):
            assert kw_a.lower() < kw_b.lower()


def test_short_texts_take_the_cheap_path() -> None:
    assert MIN_WORDS == 4
    assert keywords("Love it!", "en") == ("love",)
    assert keywords("Muito lento, péssimo", "pt") == ("lento", "péssimo")
    assert keywords("Great app", "und") == ()


def test_scrubbing_tokens_are_never_keywords() -> None:
    found = keywords("Please call me at [phone] or write to [email] about the refund of my order", "en")
    assert not {"phone", "email"} & set(" ".join(found).split())


_ENRICH_ALL = """
import csv, json, sys
from loop.text.enrich import enrich_texts
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")))
texts = [r["text"] for r in rows] + json.loads(sys.stdin.read())
out = [[e.scrubbed_text, list(e.pii_kinds), e.language, e.sentiment, e.sentiment_label, list(e.keywords)]
       for e in enrich_texts(texts, workers=2)]
sys.stdout.write(json.dumps(out, ensure_ascii=False))
"""


def test_enrichment_is_the_same_whatever_the_hash_seed() -> None:
    extra = json.dumps([f"{text} Try {n}." for n in range(1500) for _, text in LONGER])  # enough for the pool
    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        completed = subprocess.run(
            [sys.executable, "-c", _ENRICH_ALL, str(SAMPLE)],
            input=extra.encode(),
            env=env,
            capture_output=True,
            check=True,
        )
        outputs.append(completed.stdout)
    assert outputs[0] == outputs[1]
    assert len(json.loads(outputs[0])) > 4000


def test_language_of_the_sample_texts_is_known() -> None:
    assert all(language(text) == lang for lang, text in LONGER)
