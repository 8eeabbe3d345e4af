"""The sample world's feedback details: where it was given, ticket handling, request votes, and its words.

Every value here is drawn from a random generator seeded with the feedback's own id, never from the world's main
generator, so adding or changing a detail moves no other figure of the sample. Texts are English or Portuguese
(about 30 %), name the product area in the customer's words, agree with the score (a 2-star review complains), are
now and then written on two lines, and about 2 % carry personal data a customer typed in (an e-mail, a phone number,
a card number, a CPF) for the PII checks to find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

#: Share of texts in Portuguese, written on two lines, carrying planted personal data.
PORTUGUESE = 0.3
MULTI_LINE = 0.06
PII = 0.02
#: The longest a first reply or resolution can be after the ticket opened (2 days), in seconds.
LONGEST_RESOLUTION = 2 * 86400

#: How customers name each product area: (English, Portuguese) words.
AREA_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "checkout": (("checkout", "payment", "card payment"), ("checkout", "pagamento", "pagamento no cartão")),
    "billing": (("billing", "invoice", "the charges"), ("cobrança", "fatura", "boleto")),
    "search": (("search", "search results", "the filters"), ("busca", "resultado da busca", "filtros")),
    "onboarding": (("sign-up", "onboarding", "account setup"), ("cadastro", "primeiro acesso", "cadastro inicial")),
    "catalog": (
        ("product pages", "catalog", "product photos"),
        ("catálogo", "página do produto", "fotos dos produtos"),
    ),
    "account": (("my account", "login", "password reset"), ("minha conta", "login", "troca de senha")),
}

_TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "positive": (
        (
            "Love the new {w}, so quick!",
            "The {w} just works. Great job.",
            "Really easy to use, especially the {w}.",
            "Best shopping app I've used; {w} was painless.",
            "Five stars for the {w}, smooth every time.",
        ),
        (
            "Adorei o novo {w}, muito rápido!",
            "O {w} funciona muito bem. Parabéns!",
            "Muito fácil de usar, principalmente o {w}.",
            "Melhor app de compras que já usei; {w} sem complicação.",
            "Nota máxima para o {w}, tudo certo sempre.",
        ),
    ),
    "neutral": (
        (
            "It's ok. The {w} could be faster.",
            "Decent app, but the {w} is a bit confusing.",
            "Does the job. {w} takes too many steps.",
        ),
        (
            "É ok. O {w} poderia ser mais rápido.",
            "App razoável, mas o {w} é meio confuso.",
            "Funciona. O {w} tem passos demais.",
        ),
    ),
    "negative": (
        (
            "The {w} keeps failing. Very frustrating.",
            "Terrible experience with the {w}, I gave up.",
            "Too many problems with the {w} lately.",
            "{W} is broken again and nobody answers.",
        ),
        (
            "O {w} vive dando erro. Muito frustrante.",
            "Experiência péssima com o {w}, desisti.",
            "Muitos problemas com o {w} ultimamente.",
            "{W} quebrado de novo e ninguém responde.",
        ),
    ),
    "ticket": (
        (
            "Error at {w}, please help",
            "I was charged twice — problem with {w}",
            "Can't get past the {w}, it shows an error",
            "{W} not working since the last update",
        ),
        (
            "Erro no {w}, preciso de ajuda",
            "Fui cobrado duas vezes, problema no {w}",
            "Não consigo passar do {w}, aparece um erro",
            "{W} não funciona desde a última atualização",
        ),
    ),
    "feature_request": (
        (
            "Please add dark mode to the {w}",
            "Could the {w} remember my last choice?",
            "Export my {w} history to CSV",
            "Let me save filters in the {w}",
        ),
        (
            "Por favor, modo escuro no {w}",
            "O {w} podia lembrar a minha última escolha",
            "Exportar o histórico do {w} em CSV",
            "Quero salvar filtros no {w}",
        ),
    ),
}

_SECOND_LINES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "positive": (("Keep it up!", "Thanks to the team."), ("Continuem assim!", "Obrigado ao time.")),
    "neutral": (("Otherwise fine.", "Not bad overall."), ("No resto, tudo bem.", "No geral, ok.")),
    "negative": (
        ("Please fix it.", "I'm thinking of switching."),
        ("Por favor, arrumem.", "Estou pensando em trocar."),
    ),
    "ticket": (
        ("Order number in the app.", "Tried twice already."),
        ("Número do pedido no app.", "Já tentei duas vezes."),
    ),
    "feature_request": (("Would use it daily.", "Thanks!"), ("Usaria todo dia.", "Obrigado!")),
}


def _luhn_card(rng: random.Random) -> str:
    """A 16-digit card number that passes the Luhn check (a Visa-like 4...), grouped in fours."""
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


def _cpf(rng: random.Random) -> str:
    """A CPF whose two check digits are valid, written 000.000.000-00."""
    base = [rng.randint(0, 9) for _ in range(9)]
    if len(set(base)) == 1:
        base[0] = (base[0] + 1) % 10
    for length in (9, 10):
        total = sum(d * w for d, w in zip(base, range(length + 1, 1, -1), strict=False))
        base.append(0 if total % 11 < 2 else 11 - total % 11)
    text = "".join(map(str, base))
    return f"{text[:3]}.{text[3:6]}.{text[6:9]}-{text[9:]}"


def _pii(rng: random.Random, portuguese: bool) -> str:
    """A sentence carrying one piece of personal data."""
    kind = rng.choice(("email", "phone", "card", "cpf"))
    if kind == "email":
        name = rng.choice(("ana.souza", "joao.lima", "mia.chen", "sam.taylor", "lucas.r"))
        value = f"{name}{rng.randint(1, 99)}@example.com"
        return f"Meu e-mail é {value}" if portuguese else f"Email me at {value}"
    if kind == "phone":
        value = (
            f"+55 11 9{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
            if portuguese or rng.random() < 0.5
            else f"(415) 555-{rng.randint(100, 199):04d}"
        )
        return f"Me liga no {value}" if portuguese else f"Call me on {value}"
    if kind == "card":
        value = _luhn_card(rng)
        return f"Meu cartão é {value}" if portuguese else f"My card is {value}"
    value = _cpf(rng)
    return f"Meu CPF é {value}" if portuguese else f"My CPF is {value}"


def _mood(kind: str, score: int | None) -> str:
    if kind in ("ticket", "feature_request"):
        return kind
    if score is None:  # pragma: no cover - surveys and reviews always carry a score
        return "neutral"
    high, low = (9, 6) if kind == "nps" else (4, 2)
    return "positive" if score >= high else "negative" if score <= low else "neutral"


@dataclass(frozen=True)
class Details:
    """The details of one piece of feedback besides its kind, customer, time, area, version and score."""

    text: str
    channel: str
    ticket_status: str | None = None
    first_reply_after: int | None = None
    """Seconds from submission to the first agent reply (tickets)."""
    resolved_after: int | None = None
    """Seconds from submission to the resolution (solved tickets)."""
    votes: int | None = None

    def fields(self, submitted: Any) -> dict[str, Any]:
        """The record's fields, the times from ``submitted`` (a function of seconds after submission -> text)."""
        return {
            "text": self.text,
            "channel": self.channel,
            "ticket_status": self.ticket_status,
            "first_reply_at": None if self.first_reply_after is None else submitted(self.first_reply_after),
            "resolved_at": None if self.resolved_after is None else submitted(self.resolved_after),
            "votes": self.votes,
        }


def details(feedback_id: str, kind: str, area: str, score: int | None, seconds_left: float) -> Details:
    """The details of feedback ``feedback_id``, drawn from a generator seeded with it. ``seconds_left`` is the time
    from submission to the end of the day its file is written: a ticket's reply or resolution after it is not
    known yet (the ticket is still new or open in that day's export)."""
    rng = random.Random(feedback_id)
    portuguese = rng.random() < PORTUGUESE
    language = 1 if portuguese else 0
    mood = _mood(kind, score)
    words = AREA_WORDS.get(area, ((area,), (area,)))[language]
    word = rng.choice(words)
    text = rng.choice(_TEMPLATES[mood][language]).format(w=word, W=word[:1].upper() + word[1:])
    if rng.random() < MULTI_LINE:
        text += "\n" + rng.choice(_SECOND_LINES[mood][language])
    if rng.random() < PII:
        text += ("\n" if rng.random() < 0.5 else " ") + _pii(rng, portuguese)
    if kind in ("nps", "csat"):
        channel = rng.choices(("in_app", "email", "web"), weights=(5, 3, 2))[0]
        return Details(text, channel)
    if kind == "review":
        return Details(text, rng.choices(("play_store", "app_store"), weights=(6, 4))[0])
    if kind == "feature_request":
        votes = int(rng.paretovariate(1.3)) - 1
        return Details(text, rng.choice(("in_app", "web")), votes=min(votes, 500))
    # A ticket: first reply within minutes to a few hours; most solved within hours to two days, some left open.
    first = int(rng.uniform(3, 45) * 60 if rng.random() < 0.7 else rng.uniform(1, 8) * 3600)
    resolution = int(min(LONGEST_RESOLUTION, rng.lognormvariate(9.6, 0.9)))  # a median of about 4 hours
    stays_open = rng.random() < 0.12
    if first > seconds_left:
        return Details(text, "help_desk", ticket_status="new")
    resolution = max(resolution, first)
    if stays_open or resolution > seconds_left:
        status = rng.choices(("open", "pending", "on_hold"), weights=(6, 3, 1))[0]
        return Details(text, "help_desk", ticket_status=status, first_reply_after=first)
    status = "closed" if rng.random() < 0.15 else "solved"
    return Details(text, "help_desk", ticket_status=status, first_reply_after=first, resolved_after=resolution)
