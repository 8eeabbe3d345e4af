"""The language vote: English, Portuguese or undetermined."""

from __future__ import annotations

import pytest

from loop.text.language import language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The checkout keeps failing when I pay", "en"),
        ("I can't log in", "en"),
        ("Great app", "en"),
        ("O checkout fica travando quando pago", "pt"),
        ("Não consigo entrar", "pt"),
        ("Ótimo aplicativo", "pt"),
        ("atendimento nota dez", "pt"),
        ("OK", "und"),
        ("👍👍", "und"),
        ("", "und"),
        ("4111 2222", "und"),
    ],
)
def test_language(text: str, expected: str) -> None:
    assert language(text) == expected


def test_the_vote_ignores_case_and_newlines() -> None:
    assert language("THE APP IS\nSLOW AND I HATE IT") == "en"
    assert language("O APP É\nMUITO LENTO") == "pt"
