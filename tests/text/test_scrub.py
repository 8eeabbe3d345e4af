"""Scrubbing personal data from feedback text: what is replaced, what is left alone, and that nothing else moves."""

from __future__ import annotations

import pytest

from loop.text.scrub import Scrubbed, luhn_valid, scrub

POSITIVE = [
    ("write to ana.souza+promo@gmail.com please", "write to [email] please", ("email",)),
    ("Mail: JOHN_DOE@Example.co.uk.", "Mail: [email].", ("email",)),
    ("contato: maria7@empresa.com.br!", "contato: [email]!", ("email",)),
    ("card 4111 1111 1111 1111 was charged", "card [card] was charged", ("card",)),
    ("cartão 4111-1111-1111-1111", "cartão [card]", ("card",)),
    ("paid with 5500005555555559 today", "paid with [card] today", ("card",)),
    ("amex 3782 822463 10005", "amex [card]", ("card",)),
    ("meu CPF é 529.982.247-25", "meu CPF é [national_id]", ("national_id",)),
    ("cpf 52998224725 ok", "cpf [national_id] ok", ("national_id",)),
    ("CNPJ 11.222.333/0001-81", "CNPJ [national_id]", ("national_id",)),
    ("ligue (11) 98765-4321", "ligue [phone]", ("phone",)),
    ("WhatsApp +55 21 99876-5432!", "WhatsApp [phone]!", ("phone",)),
    ("call me at (415) 555-2671", "call me at [phone]", ("phone",)),
    ("call +1 415-555-2671 now", "call [phone] now", ("phone",)),
    ("UK office +44 20 7946 0958", "UK office [phone]", ("phone",)),
    ("phone: 4155552671", "phone: [phone]", ("phone",)),
    ("me liga no +55 11 91234-5678 que eu explico", "me liga no [phone] que eu explico", ("phone",)),
    ("estou no (11) 98765-4321 o dia todo", "estou no [phone] o dia todo", ("phone",)),
    (
        "email a@b.com, cpf 529.982.247-25, card 4111111111111111, tel (11) 98765-4321",
        "email [email], cpf [national_id], card [card], tel [phone]",
        ("card", "email", "national_id", "phone"),
    ),
]

NEGATIVE = [
    "released on 2026-03-02, version 2.4.0",
    "cobrado R$ 1.234,56 em 3x de R$ 411,52",
    "order #20394857 arrived late",
    "my order 1029384756 never arrived",
    "pedido 123456789012 chegou",
    "ticket 4155552671 still open",
    "pedido nº 4155552671 atrasado",
    "nota no. 4155552671 sem valor",
    "protocolo: 20260302123456 sem resposta",
    "at 10:30 on 02/03/2026",
    "card 4111 1111 1111 1112 fails Luhn",
    "cpf 529.982.247-26 has wrong check digits",
    "build 10.12.2024.1 and 123456789",
    "no personal data at all 😀 ação",
    "user at example dot com",
    "",
]


@pytest.mark.parametrize(("text", "expected", "kinds"), POSITIVE)
def test_personal_data_is_replaced_by_its_token(text: str, expected: str, kinds: tuple[str, ...]) -> None:
    assert scrub(text) == Scrubbed(expected, kinds)


@pytest.mark.parametrize("text", NEGATIVE)
def test_numbers_that_are_not_personal_data_are_left_alone(text: str) -> None:
    assert scrub(text) == Scrubbed(text, ())


def test_every_other_character_is_kept() -> None:
    text = "  Olá!\n\nMeu e-mail é zoë@exemplo.com.br 🙂\r\n\tligue (11) 98765-4321 ✨  "
    result = scrub(text)
    assert result.text == "  Olá!\n\nMeu e-mail é [email] 🙂\r\n\tligue [phone] ✨  "
    assert result.kinds == ("email", "phone")


def test_a_card_or_a_cpf_is_not_taken_for_a_phone() -> None:
    assert scrub("4111111111111111").kinds == ("card",)
    assert scrub("52998224725").kinds == ("national_id",)


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
