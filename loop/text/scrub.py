"""Personal data scrubbed from feedback text before anything is published.

:func:`scrub` replaces e-mail addresses with ``[email]``, Brazilian national ids (CPF, CNPJ, valid check digits) with
``[national_id]``, card-like numbers (13-19 digits passing the Luhn check) with ``[card]`` and phone numbers with
``[phone]``, in that order, so a card or a CPF is never taken for a phone number. Every other character is kept
as it was (newlines, emojis, accents, spacing). Phone numbers are what ``phonenumbers`` finds valid for Brazil or the
United States, or any international ``+`` number; dates, versions, amounts and numbers introduced as an order,
ticket or invoice reference are left alone (an unseparated card-like number too). A text without ``@`` and without
ten digits close together (seven after a ``+``) costs one or two regular-expression searches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from validate_docbr import CNPJ, CPF

#: The token each kind of personal data is replaced with.
TOKENS = {"email": "[email]", "national_id": "[national_id]", "card": "[card]", "phone": "[phone]"}
#: Regions whose national phone formats are recognised (numbers starting with ``+`` are recognised in any region).
PHONE_REGIONS = ("BR", "US")

_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}")
#: Ten digits with at most three separator characters between consecutive digits: anything shorter is no Brazilian
#: or US phone number (area code included), card or national id. Seven digits after a ``+`` may be an international
#: phone number.
_DIGIT_RUN = re.compile(r"\d(?:[ \t.\-()/]{0,3}\d){9}")
_INTERNATIONAL = re.compile(r"\+[ (]{0,2}\d(?:[ \t.\-()/]{0,3}\d){6}")
_CPF = re.compile(r"(?<![\d.\-/])(?:\d{3}\.\d{3}\.\d{3}-\d{2}|\d{11})(?![\d]|[.\-/]\d)")
_CNPJ = re.compile(r"(?<![\d.\-/])(?:\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}|\d{14})(?![\d]|[.\-/]\d)")
#: 13-19 digits, plain or in groups of 4-6 digits (4-4-4-4, 4-6-5, ...) separated by one space or dash.
_CARD = re.compile(r"(?<![\d+\-.])(?:\d{13,19}|\d{4}(?:[ \-]\d{4,6}){2,3}(?:[ \-]\d{1,4})?)(?![\d]|[.\-]\d)")
#: A number introduced like this is a reference (order, ticket, invoice), not a phone number. "nº", "n°" and "no."
#: abbreviate "número"; a bare "no" is the Portuguese "in the" ("me liga no +55 ...") and introduces nothing.
_REFERENCE_BEFORE = re.compile(
    r"(?:\b(?:order|orders|pedido|pedidos|protocol|protocolo|ticket|chamado|invoice|fatura|nota|nf|nfe|"
    r"c[oó]digo|code|id|ref|tracking|rastreio|transaction|transa[cç][aã]o)|#|\bn[º°]\.?|\bno\.)\s*[:#º°.]?\s*$",
    re.IGNORECASE,
)
_CPF_CHECK = CPF()
_CNPJ_CHECK = CNPJ()


@dataclass(frozen=True)
class Scrubbed:
    """A text with its personal data replaced, and the kinds that were found (sorted, distinct)."""

    text: str
    kinds: tuple[str, ...]


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (as every payment card number does)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _replace(
    pattern: re.Pattern[str], text: str, token: str, accept: Callable[[re.Match[str]], bool]
) -> tuple[str, bool]:
    found = False

    def swap(match: re.Match[str]) -> str:
        nonlocal found
        if accept(match):
            found = True
            return token
        return match.group()

    return pattern.sub(swap, text), found


def _is_card(match: re.Match[str]) -> bool:
    digits = _digits(match.group())
    if not (13 <= len(digits) <= 19 and luhn_valid(digits) and len(set(digits)) > 1):
        return False
    # An unseparated number introduced as an order, ticket or protocol number is that reference, not a card.
    return not (digits == match.group() and _is_reference(match.string, match.start()))


def _is_reference(text: str, start: int) -> bool:
    return _REFERENCE_BEFORE.search(text, max(0, start - 40), start) is not None


def _phone_spans(text: str) -> list[tuple[int, int]]:
    spans: set[tuple[int, int]] = set()
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            if not _is_reference(text, match.start):
                spans.add((match.start, match.end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _has_long_number(text: str) -> bool:
    return _DIGIT_RUN.search(text) is not None or ("+" in text and _INTERNATIONAL.search(text) is not None)


def scrub(text: str) -> Scrubbed:
    """``text`` with e-mails, national ids, card numbers and phone numbers replaced by their tokens."""
    has_at = "@" in text
    if not has_at and not _has_long_number(text):
        return Scrubbed(text, ())
    kinds = []
    if has_at:
        text, found = _replace(_EMAIL, text, TOKENS["email"], lambda _: True)
        if found:
            kinds.append("email")
        if not _has_long_number(text):
            return Scrubbed(text, tuple(kinds))
    text, cpf = _replace(_CPF, text, TOKENS["national_id"], lambda m: _CPF_CHECK.validate(m.group()))
    text, cnpj = _replace(_CNPJ, text, TOKENS["national_id"], lambda m: _CNPJ_CHECK.validate(m.group()))
    if cpf or cnpj:
        kinds.append("national_id")
    text, card = _replace(_CARD, text, TOKENS["card"], _is_card)
    if card:
        kinds.append("card")
    if _has_long_number(text):
        spans = _phone_spans(text)
        if spans:
            kinds.append("phone")
            for start, end in reversed(spans):
                text = text[:start] + TOKENS["phone"] + text[end:]
    return Scrubbed(text, tuple(sorted(kinds)))
