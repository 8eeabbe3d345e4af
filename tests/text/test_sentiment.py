"""Sentiment and language detection measured on the hand-labelled feedback sample, and the Portuguese analyser."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from LeIA import SentimentIntensityAnalyzer as StockLeIA

from loop.text.enrich import enrich_texts
from loop.text.sentiment import PortugueseAnalyzer, label, sentiment

SAMPLE = Path(__file__).parents[1] / "fixtures" / "text" / "labelled_feedback.csv"
#: Floors a few points under the figures measured when the sample was labelled (see the README).
SENTIMENT_FLOOR = {"en": 0.75, "pt": 0.68}
LANGUAGE_FLOOR = {"en": 0.95, "pt": 0.95}


def _sample() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_sample_is_large_enough() -> None:
    rows = _sample()
    for lang in ("en", "pt"):
        labels = [r["label"] for r in rows if r["language"] == lang]
        assert len(labels) >= 60
        assert {"positive", "neutral", "negative"} == set(labels)


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_accuracy_on_the_labelled_sample(lang: str) -> None:
    rows = [r for r in _sample() if r["language"] == lang]
    enriched = enrich_texts([r["text"] for r in rows])
    sentiment_accuracy = sum(e.sentiment_label == r["label"] for r, e in zip(rows, enriched, strict=True)) / len(rows)
    language_accuracy = sum(e.language == lang for e in enriched) / len(rows)
    print(f"{lang}: sentiment accuracy {sentiment_accuracy:.1%}, language accuracy {language_accuracy:.1%}")
    assert sentiment_accuracy >= SENTIMENT_FLOOR[lang]
    assert language_accuracy >= LANGUAGE_FLOOR[lang]


def test_the_portuguese_analyser_scores_as_leia_does() -> None:
    stock, fast = StockLeIA(), PortugueseAnalyzer()
    texts = [r["text"] for r in _sample() if r["language"] == "pt"] + [
        'Não gostei!! "Péssimo"... app travou?!',
        "(ótimo) -rápido- e eficiente :) 😀 ...bom... ?!?ruim",
        "NADA funciona, NUNCA mais compro aqui!!!",
    ]
    for text in texts:
        assert fast.polarity_scores(text) == stock.polarity_scores(text), text


def test_thresholds_and_undetermined_language() -> None:
    assert label(0.05) == "positive"
    assert label(0.0499) == "neutral"
    assert label(-0.05) == "negative"
    assert sentiment("whatever", "und") == (None, None)
    score, verdict = sentiment("I love this app", "en")
    assert score is not None and score > 0.5 and verdict == "positive"
    score, verdict = sentiment("O aplicativo é horrível", "pt")
    assert score is not None and score < -0.05 and verdict == "negative"
