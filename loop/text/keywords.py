"""Keywords of a feedback text: YAKE (Campos et al., 2020) for English and Portuguese, up to two words, top five.

:func:`yake_keywords` is the algorithm of ``yake.KeywordExtractor(lan=..., n=2, top=5)`` (yake 0.7.3: its
stopword lists, word tags, term features, candidate scores and ``seqm`` de-duplication at 0.9), computed with plain
dicts instead of a networkx graph and numpy, and with a regular-expression tokeniser instead of segtok: about six
times faster than yake. ``tests/text/test_keywords.py`` checks that it gives yake's candidates and scores on at
least 95% of the labelled feedback texts (99.7% of 2,765 generated benchmark texts; the rest differ in how a
sentence that starts with punctuation is split).

Output is deterministic whatever the process or ``PYTHONHASHSEED``: candidates are ranked by their score rounded to
nine decimals, then by keyword, and keywords are lowercased. A text of fewer than :data:`MIN_WORDS` words
(``"Love it!"``, ``"Muito lento"``) gets no YAKE run: its keywords are its words that are not stopwords, in order.
The scrubbing tokens (``[email]``, ``[phone]``, ...) are never keywords.
"""

from __future__ import annotations

import importlib.util
import math
import re
import string
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from loop.text.scrub import TOKENS

#: Longest keyword, in words.
NGRAM = 2
#: Keywords kept per text.
TOP = 5
#: Texts with fewer words than this take the cheap path (their content words) instead of YAKE.
MIN_WORDS = 4
#: YAKE's de-duplication threshold (``dedup_lim``): a candidate more similar than this to a kept one is dropped.
DEDUP_LIMIT = 0.9
#: Decimals of the score used for ranking, so that float noise never reorders candidates.
SCORE_DECIMALS = 9

_EXCLUDE = frozenset(string.punctuation)
_DISCARD = ("u", "d")
_SENTENCE_BREAK = re.compile(
    "(?<![\\s.][^\\W\\d_])(?<!\\d)(?<!\\betc)(?<!\\bvs)(?<=[.!?\u2026])[\"'\u201d\u2019)\\]]*\\s+"
)
_TOKEN = re.compile("[^\\W_]+(?:['\u2019\\-.,/][^\\W_]+)*|\\S")
_CURLY_APOSTROPHE = "\u2019"
_CONTRACTION = re.compile(r"(.+?)'(?:s|ll|re|ve|m|d)$", re.IGNORECASE)
_PLACEHOLDERS = tuple(TOKENS.values())
_STRIP_PUNCTUATION = str.maketrans("", "", string.punctuation)


@cache
def stopwords(language: str) -> frozenset[str]:
    """YAKE's stopword list for ``language`` (``en`` or ``pt``), read from the installed yake wheel."""
    spec = importlib.util.find_spec("yake")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("yake is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "core" / "StopwordsList"
    path = folder / f"stopwords_{language[:2].lower()}.txt"
    if not path.exists():
        path = folder / "stopwords_noLang.txt"
    return frozenset(path.read_text(encoding="utf-8").lower().split("\n"))


@dataclass(eq=False)
class _Term:
    """One single term (lowercased, a trailing plural ``s`` removed) and its statistics in the text."""

    id: int
    stopword: bool
    tf: float = 0.0
    tf_a: float = 0.0
    tf_n: float = 0.0
    sentences: dict[int, int] = field(default_factory=dict)
    h: float = 0.0


@dataclass(eq=False)
class _Candidate:
    kw: str
    terms: tuple[_Term, ...]
    tags: set[str]
    tf: float = 0.0
    h: float = 1.0


def _count(candidates: dict[str, _Candidate], unique_kw: str, kw: str, tags: str, terms: tuple[_Term, ...]) -> None:
    candidate = candidates.get(unique_kw)
    if candidate is None:
        candidates[unique_kw] = _Candidate(kw, terms, {tags}, 1.0)
    else:
        candidate.tags.add(tags)
        candidate.tf += 1.0


@lru_cache(maxsize=65536)
def _tag(word: str, inside: bool) -> str:
    """yake's word tag: ``d`` digit, ``u`` unusual, ``a`` acronym, ``n`` proper noun (capitalised, not first in
    its sentence), ``p`` plain."""
    plain = word.replace(",", "")
    if plain.isdigit() or plain.replace(".", "", 1).isdigit():
        return "d"
    digits = alphas = excluded = 0
    for char in word:
        if char.isdigit():
            digits += 1
        if char.isalpha():
            alphas += 1
        if char in _EXCLUDE:
            excluded += 1
    if (digits > 0 and alphas > 0) or (digits == 0 and alphas == 0) or excluded > 1:
        return "u"
    if word.isupper():
        return "a"
    if len(word) > 1 and word[0].isupper() and inside and sum(c.isupper() for c in word) == 1:
        return "n"
    return "p"


def _sentences(text: str) -> list[list[str]]:
    """The text's sentences as lists of tokens (words, numbers, single punctuation marks).

    Sentences end at ``.``, ``!``, ``?`` or ``…`` followed by a space, unless it ends a number, a single letter
    (``e.g.``) or ``etc``/``vs`` (what segtok, yake's splitter, does in most texts). Contractions lose their
    ``'s``, ``'ll``, ``'re``, ``'ve``, ``'m`` or ``'d`` and keep ``n't`` apart, as in yake. Newlines are spaces.
    """
    sentences = []
    for chunk in _SENTENCE_BREAK.split(text):
        tokens: list[str] = []
        for token in _TOKEN.findall(chunk):
            if "'" in token or _CURLY_APOSTROPHE in token:
                token = token.replace(_CURLY_APOSTROPHE, "'")
                if token.lower().endswith("n't") and len(token) > 3:
                    tokens.extend((token[:-3], token[-3:]))
                    continue
                contraction = _CONTRACTION.match(token)
                if contraction:
                    token = contraction.group(1)
            tokens.append(token)
        if tokens:
            sentences.append(tokens)
    return sentences


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def _similarity(a: str, b: str) -> float:
    """yake's ``seqm`` de-duplication similarity (its pre-filter, then its fast character/word/trigram overlap)."""
    if a == b:
        return 1.0
    len_a, len_b = len(a), len(b)
    longest = max(len_a, len_b)
    if abs(len_a - len_b) > longest * 0.6:
        return 0.0
    if longest > 3:
        if a[0] != b[0] or a[-1] != b[-1]:
            return 0.0
        if min(len_a, len_b) >= 3 and a[:2].lower() != b[:2].lower():
            return 0.0
    if abs(a.count(" ") - b.count(" ")) > 1:
        return 0.0
    if longest == 0:
        return 0.0
    length_ratio = min(len_a, len_b) / longest
    if length_ratio < 0.3:
        return 0.0
    a, b = a.lower(), b.lower()
    chars_a, chars_b = set(a), set(b)
    chars_union = chars_a | chars_b
    char_overlap = len(chars_a & chars_b) / len(chars_union)
    if char_overlap < 0.2:
        return 0.0
    if longest <= 4:
        return char_overlap * length_ratio
    words_a, words_b = a.split(), b.split()
    if len(words_a) > 1 or len(words_b) > 1:
        word_union = set(words_a) | set(words_b)
        word_overlap = len(set(words_a) & set(words_b)) / len(word_union)
        if word_overlap > 0.4:
            return word_overlap
    trigrams_a = {a[i : i + 3] for i in range(len(a) - 2)}
    trigrams_b = {b[i : i + 3] for i in range(len(b) - 2)}
    trigram_union = trigrams_a | trigrams_b
    trigram_overlap = len(trigrams_a & trigrams_b) / len(trigram_union) if trigram_union else 0.0
    return min(0.3 * length_ratio + 0.2 * char_overlap + 0.5 * trigram_overlap, 1.0)


def yake_keywords(text: str, language: str, top: int = TOP) -> list[tuple[str, float]]:
    """YAKE's ``top`` keywords of ``text`` (up to :data:`NGRAM` words) with their scores, lower is more relevant.

    Ranked by (score rounded to :data:`SCORE_DECIMALS` decimals, keyword); keywords keep the text's case.
    """
    stop = stopwords(language)
    terms: dict[str, _Term] = {}
    edges: dict[tuple[int, int], float] = {}
    candidates: dict[str, _Candidate] = {}
    sentences = _sentences(text)
    for sentence_id, sentence in enumerate(sentences):
        previous: tuple[str, str, str, _Term] | None = None  # tag, word, lowercased word, term
        for position, word in enumerate(sentence):
            if _EXCLUDE.issuperset(word):
                previous = None  # punctuation ends a block: no co-occurrence or candidate spans it
                continue
            tag = _tag(word, position > 0)
            lowered = word.lower()
            unique = lowered[:-1] if lowered.endswith("s") and len(lowered) > 3 else lowered
            term = terms.get(unique)
            if term is None:
                bare = unique.translate(_STRIP_PUNCTUATION)
                term = _Term(len(terms), lowered in stop or unique in stop or len(bare) < 3)
                terms[unique] = term
            term.sentences[sentence_id] = term.sentences.get(sentence_id, 0) + 1
            term.tf += 1.0
            if tag == "a":
                term.tf_a += 1.0
            elif tag == "n":
                term.tf_n += 1.0
            _count(candidates, lowered, word, tag, (term,))
            if previous is not None:
                if tag not in _DISCARD and previous[0] not in _DISCARD:
                    key = (previous[3].id, term.id)
                    edges[key] = edges.get(key, 0.0) + 1.0
                _count(
                    candidates,
                    f"{previous[2]} {lowered}",
                    f"{previous[1]} {word}",
                    previous[0] + tag,
                    (previous[3], term),
                )
            previous = (tag, word, lowered, term)

    valid_tfs = [t.tf for t in terms.values() if not t.stopword]
    if not valid_tfs:
        return []
    mean_tf = sum(valid_tfs) / len(valid_tfs)
    std_tf = math.sqrt(sum((tf - mean_tf) ** 2 for tf in valid_tfs) / len(valid_tfs))
    max_tf = max(t.tf for t in terms.values())
    out_degree: dict[int, int] = {}
    out_weight: dict[int, float] = {}
    in_degree: dict[int, int] = {}
    in_weight: dict[int, float] = {}
    for (left, right), weight in edges.items():
        out_degree[left] = out_degree.get(left, 0) + 1
        out_weight[left] = out_weight.get(left, 0.0) + weight
        in_degree[right] = in_degree.get(right, 0) + 1
        in_weight[right] = in_weight.get(right, 0.0) + weight
    sentence_count = len(sentences)
    for term in terms.values():
        pwr = out_degree.get(term.id, 0) / out_weight[term.id] if out_weight.get(term.id) else 0.0
        pwl = in_degree.get(term.id, 0) / in_weight[term.id] if in_weight.get(term.id) else 0.0
        relatedness = 0.5 + pwl * (term.tf / max_tf) + (0.5 + pwr * (term.tf / max_tf))
        frequency = term.tf / (mean_tf + std_tf)
        spread = len(term.sentences) / sentence_count
        casing = max(term.tf_a, term.tf_n) / (1.0 + math.log(term.tf))
        position_weight = math.log(math.log(3.0 + _median(list(term.sentences))))
        term.h = position_weight * relatedness / (casing + frequency / relatedness + spread / relatedness)

    scored = []
    for unique_kw, candidate in candidates.items():
        if candidate.terms[0].stopword or candidate.terms[-1].stopword:
            continue
        if not any("u" not in tags and "d" not in tags for tags in candidate.tags):
            continue
        # With up to two words, a valid candidate has no stopword inside: yake's stopword weighting never applies.
        sum_h, prod_h = 0.0, 1.0
        for term in candidate.terms:
            sum_h += term.h
            prod_h *= term.h
        score = prod_h / ((sum_h + 1) * candidate.tf)
        scored.append((round(score, SCORE_DECIMALS), unique_kw, candidate.kw, score))
    scored.sort(key=lambda item: (item[0], item[1]))
    kept: list[tuple[str, float]] = []
    kept_unique: list[str] = []
    for _, unique_kw, kw, score in scored:
        if all(_similarity(unique_kw, other) <= DEDUP_LIMIT for other in kept_unique):
            kept.append((kw, score))
            kept_unique.append(unique_kw)
            if len(kept) == top:
                break
    return kept


def keywords(text: str, language: str) -> tuple[str, ...]:
    """Up to :data:`TOP` lowercased keywords of ``text`` in ``language`` (``en``/``pt``); none for ``und``."""
    if language not in ("en", "pt"):
        return ()
    for token in _PLACEHOLDERS:  # a scrubbed e-mail or phone is no keyword: it only separates the words around it
        if token in text:
            text = text.replace(token, ",")
    words = text.split()
    if len(words) < MIN_WORDS:
        return _short_keywords(text, language)
    seen: list[str] = []
    for kw, _ in yake_keywords(text, language):
        lowered = kw.lower()
        if lowered not in seen:
            seen.append(lowered)
    return tuple(seen)


def _short_keywords(text: str, language: str) -> tuple[str, ...]:
    """The cheap path for a text of a few words: its words of three letters or more that are not stopwords."""
    stop = stopwords(language)
    found: list[str] = []
    for token in text.lower().split():
        word = token.strip(string.punctuation + "¡¿…«»\u201c\u201d\u2018\u2019")
        if len(word) >= 3 and word not in stop and any(c.isalpha() for c in word) and word not in found:
            found.append(word)
    return tuple(found[:TOP])
