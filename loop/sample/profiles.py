"""Who the sample customers are: contact traits and consent, a pure function of (seed, customer).

Each customer's profile is drawn from its own generator seeded with the sample's seed and the customer's index,
so profiles never shift the generator's main random stream (the events of a sample without actions stay what they
were) and a customer keeps the same name, email, phone and consent whatever actions the world reacts to.

* ``country``: mostly ``BR`` (80 %), some ``PT`` (12 %) and ``US`` (8 %); names, postal codes and phones follow it.
* ``email``: unique (``ana.souza123@example.com``, ``anasouza123@example.net``, ``a.souza123@example.org``, on the
  reserved example domains), some with capitals; about 2 % are not valid addresses.
* ``phone``: E.164 (``+5511987654321``, 47 %), the national format of the customer's country (``(11) 98765-4321``,
  ``912 345 678``, ``(415) 234-5678``, 37 %), international with spaces (``+55 11 98765-4321``, 13 %), about 3 %
  invalid (too short, placeholders) and 5 % absent.
* ``zip``: ``01310-100`` (BR, some without the hyphen), ``1000-205`` (PT), ``94107`` (US).
* consent (Segment's ``context.consent.categoryPreferences``): about 82 % grant every category, 15 % deny
  ``Advertising`` (and ``DataSharing``), 3 % deny everything; about 5 % change their mind 1 to 7 days after their
  first visit (a grant-all withdraws advertising, or everything; a denier grants everything), so their later
  events carry other preferences.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Any

CATEGORIES = ("Advertising", "Analytics", "Functional", "DataSharing")
GRANT_ALL = dict.fromkeys(CATEGORIES, True)
DENY_ADVERTISING = {"Advertising": False, "Analytics": True, "Functional": True, "DataSharing": False}
DENY_ALL = dict.fromkeys(CATEGORIES, False)

_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "BR": (
        (
            "Ana", "Maria", "João", "Pedro", "Lucas", "Gabriel", "Juliana", "Beatriz", "Rafael", "Mariana",
            "Fernanda", "Carlos", "Camila", "Bruno", "Letícia", "Thiago", "Larissa", "Gustavo", "Amanda", "Felipe",
            "Luíza", "Matheus", "Vitória", "André", "Patrícia", "Rodrigo", "Aline", "Diego", "Bianca", "Márcio",
        ),
        (
            "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
            "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira",
            "Barbosa", "Araújo", "Conceição", "Nascimento", "Moreira", "Cavalcanti",
        ),
    ),
    "PT": (
        (
            "João", "Inês", "Tiago", "Beatriz", "Rodrigo", "Mariana", "Duarte", "Leonor", "Francisco", "Matilde",
            "Afonso", "Carolina", "Gonçalo", "Sofia", "Rui", "Catarina",
        ),
        ("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins", "Sousa", "Gonçalves"),
    ),
    "US": (
        (
            "James", "Emily", "Michael", "Olivia", "David", "Sophia", "Daniel", "Emma", "Matthew", "Ava", "Ethan",
            "Mia", "Ryan", "Chloe",
        ),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor", "Lee"),
    ),
}  # fmt: skip
_BR_DDD = ("11", "11", "11", "12", "13", "19", "21", "21", "27", "31", "41", "47", "48", "51", "61", "62", "71",
           "81", "85", "91")  # fmt: skip
_US_AREA = ("212", "305", "312", "404", "415", "512", "617", "702", "206", "303", "713", "646")
_DOMAINS = ("example.com", "example.net", "example.org")
_INVALID_PHONES = ("12345", "0000000000", "+55 11 9876", "n/a", "999")
_INVALID_EMAILS = ("{local}@", "{local}.example.com", "{local}@@example.com")


@dataclass(frozen=True)
class Profile:
    """A customer's contact traits and consent over time."""

    email: str
    phone: str | None
    first_name: str
    last_name: str
    country: str
    zip: str
    consent: dict[str, bool]
    changed_on: int | None = None  # day offset from which ``changed`` applies
    changed: dict[str, bool] | None = None

    def traits(self) -> dict[str, Any]:
        """The identify traits (``phone`` left out when the customer gave none)."""
        traits: dict[str, Any] = {"email": self.email}
        if self.phone is not None:
            traits["phone"] = self.phone
        traits |= {"first_name": self.first_name, "last_name": self.last_name, "country": self.country}
        traits["zip"] = self.zip
        return traits

    def consent_on(self, offset: int) -> dict[str, bool]:
        """The consent preferences in force on day ``offset`` of the period."""
        if self.changed is not None and self.changed_on is not None and offset >= self.changed_on:
            return self.changed
        return self.consent


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _phone(rng: random.Random, country: str) -> str:
    if country == "BR":
        ddd, head, tail = rng.choice(_BR_DDD), f"9{rng.randint(6, 9)}{rng.randint(0, 999):03d}", rng.randint(0, 9999)
        e164 = f"+55{ddd}{head}{tail:04d}"
        form = rng.choice(("({d}) {h}-{t}", "{d} {h}-{t}", "0{d} {h} {t}"))
        national = form.format(d=ddd, h=head, t=f"{tail:04d}")
        international = f"+55 {ddd} {head}-{tail:04d}"
    elif country == "PT":
        digits = f"9{rng.choice('1236')}{rng.randint(0, 9_999_999):07d}"
        e164, national = f"+351{digits}", f"{digits[:3]} {digits[3:6]} {digits[6:]}"
        international = f"+351 {national}"
    else:
        area, exchange, line = rng.choice(_US_AREA), rng.randint(201, 989), rng.randint(0, 9999)
        e164 = f"+1{area}{exchange}{line:04d}"
        national = rng.choice(("({a}) {e}-{n}", "{a}-{e}-{n}")).format(a=area, e=exchange, n=f"{line:04d}")
        international = f"+1 {area}-{exchange}-{line:04d}"
    draw = rng.random()
    if draw < 0.47:
        return e164
    if draw < 0.84:
        return national
    if draw < 0.97:
        return international
    return rng.choice(_INVALID_PHONES)


def _zip(rng: random.Random, country: str) -> str:
    if country == "BR":
        head, tail = rng.randint(1000, 99999), rng.randint(0, 999)
        return f"{head:05d}-{tail:03d}" if rng.random() < 0.8 else f"{head:05d}{tail:03d}"
    if country == "PT":
        return f"{rng.randint(1000, 9999)}-{rng.randint(1, 999):03d}"
    return f"{rng.randint(1001, 99950):05d}"


def profile(seed: int, index: int, first_day: int) -> Profile:
    """The profile of customer ``index`` (0-based) of the sample drawn with ``seed``."""
    rng = random.Random(f"loop-sample-profile:{seed}:{index}")
    draw = rng.random()
    country = "BR" if draw < 0.8 else "PT" if draw < 0.92 else "US"
    firsts, lasts = _NAMES[country]
    first, last = rng.choice(firsts), rng.choice(lasts)
    local = rng.choice(("{f}.{l}{n}", "{f}{l}{n}", "{i}.{l}{n}")).format(
        f=_ascii(first), l=_ascii(last).replace(" ", ""), i=_ascii(first)[0], n=index + 1
    )
    email = f"{local}@{rng.choice(_DOMAINS)}"
    if rng.random() < 0.1:
        email = email.replace(local, local.title(), 1)
    if rng.random() < 0.02:
        email = rng.choice(_INVALID_EMAILS).format(local=local)
    phone = _phone(rng, country) if rng.random() >= 0.05 else None
    postal = _zip(rng, country)
    draw = rng.random()
    consent = DENY_ALL if draw < 0.03 else DENY_ADVERTISING if draw < 0.18 else GRANT_ALL
    changed_on: int | None = None
    changed: dict[str, bool] | None = None
    if rng.random() < 0.05:  # changes their mind later: a grant-all withdraws, a denier grants everything
        changed_on = first_day + rng.randint(1, 7)
        withdrawn = DENY_ADVERTISING if rng.random() < 0.7 else DENY_ALL
        changed = dict(withdrawn if consent is GRANT_ALL else GRANT_ALL)
    return Profile(email, phone, first, last, country, postal, dict(consent), changed_on, changed)
