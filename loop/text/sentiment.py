"""Sentiment of a feedback text: VADER for English, its Portuguese fork LeIA for Portuguese, none otherwise.

Both lexicons ship in their wheels. The score is VADER's ``compound`` (-1 most negative .. +1 most positive); the
label uses VADER's documented thresholds: ``positive`` from +0.05, ``negative`` from -0.05, ``neutral`` between.
A text of undetermined language (``und``) has no sentiment (``None``, ``None``).

LeIA rebuilds, for every text, a dictionary of every word paired with every punctuation mark; the analyser here
looks the same pairs up directly, which gives the same scores (checked in ``tests/text/test_sentiment.py``) at
less than half the cost.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any, Literal

from LeIA import leia
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as VaderAnalyzer

SentimentLabel = Literal["positive", "neutral", "negative"]

#: VADER's documented thresholds on the compound score.
POSITIVE_FROM = 0.05
NEGATIVE_FROM = -0.05


_MARK_CHARACTERS = frozenset("".join(leia.PUNC_LIST))


class _FastSentiText(leia.SentiText):
    """LeIA's ``SentiText`` with its word/punctuation lookup done per token instead of through a product dict."""

    def _words_and_emoticons(self) -> list[str]:
        text: str = self.text
        words_only = {w for w in leia.REGEX_REMOVE_PUNCTUATION.sub("", text).split() if len(w) > 1}
        tokens = [token for token in text.split() if len(token) > 1]
        for index, token in enumerate(tokens):
            tokens[index] = _strip_punctuation(token, words_only)
        return tokens


def _strip_punctuation(token: str, words_only: set[str]) -> str:
    # LeIA maps "word<punc>" and "<punc>word" to "word" for each mark of PUNC_LIST (the "after" form wins).
    if token[0] not in _MARK_CHARACTERS and token[-1] not in _MARK_CHARACTERS:
        return token
    for mark in leia.PUNC_LIST:
        if token.endswith(mark) and token[: -len(mark)] in words_only:
            return token[: -len(mark)]
    for mark in leia.PUNC_LIST:
        if token.startswith(mark) and token[len(mark) :] in words_only:
            return token[len(mark) :]
    return token


class PortugueseAnalyzer(leia.SentimentIntensityAnalyzer):
    """LeIA's analyser, with :class:`_FastSentiText`."""

    def polarity_scores(self, text: str) -> dict[str, float]:
        text = unicodedata.normalize("NFKD", text).encode("ASCII", "ignore").decode("ASCII")
        text = " ".join(self.emojis.get(token, token) for token in text.split())
        sentitext = _FastSentiText(text)
        sentiments: list[Any] = []
        words_and_emoticons = sentitext.words_and_emoticons
        for item in words_and_emoticons:
            index = words_and_emoticons.index(item)  # as LeIA does (first occurrence)
            if item.lower() in leia.BOOSTER_DICT:
                sentiments.append(0)
                continue
            sentiments = self.sentiment_valence(0, sentitext, item, index, sentiments)
        sentiments = self._but_check(words_and_emoticons, sentiments)
        scores: dict[str, float] = self.score_valence(sentiments, text)
        return scores


@cache
def _english() -> VaderAnalyzer:
    return VaderAnalyzer()


@cache
def _portuguese() -> PortugueseAnalyzer:
    return PortugueseAnalyzer()


def label(compound: float) -> SentimentLabel:
    """``positive``, ``neutral`` or ``negative`` for a compound score (VADER's thresholds)."""
    if compound >= POSITIVE_FROM:
        return "positive"
    if compound <= NEGATIVE_FROM:
        return "negative"
    return "neutral"


def sentiment(text: str, language: str) -> tuple[float | None, SentimentLabel | None]:
    """The compound score and label of ``text`` in ``language`` (``en``/``pt``); ``(None, None)`` otherwise."""
    if language == "en":
        compound = float(_english().polarity_scores(text)["compound"])
    elif language == "pt":
        compound = float(_portuguese().polarity_scores(text)["compound"])
    else:
        return None, None
    return compound, label(compound)
