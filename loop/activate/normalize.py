"""Contact data normalized and SHA-256 hashed per destination, exactly as each platform documents it.

Every hash is SHA-256 of the UTF-8 bytes of the normalized value, written as 64 lowercase hex characters. A value that
cannot be normalized (not an email address, a phone number that is not valid for its country, a country that is
not an ISO 3166-1 alpha-2 code, ...) is left empty in the file, never hashed as it came. Text is first brought to
Unicode NFC and trimmed (neither platform names a normalization form; NFC is what a hash of the same name typed
elsewhere most likely saw, and a no-op on already composed text).

Google Customer Match (``customer-match``: ``Email,Phone,First Name,Last Name,Country,Zip``)
    Sources, newest first. Google's own pages disagree over time, so the newest rule is applied:

    - Data Manager API, "Format user data" (developers.google.com/data-manager/api/devguides/concepts/formatting),
      which the Google Ads and Display & Video 360 Customer Match guides now point to: email lowercased; leading,
      trailing and intermediate whitespace removed; **for gmail.com and googlemail.com only, every ``.`` before the
      ``@`` removed and a ``+`` with everything after it removed from the local part** (other domains keep dots and
      plus signs: ``user.name+NYC@Example.com`` -> ``user.name+nyc@example.com``); phone in E.164 with the ``+``
      and the country code; given and family name lowercased and trimmed; region code a two-letter ISO-3166-1
      alpha-2 code, not hashed; postal code not hashed (US: 5 digits or ZIP+4; elsewhere no extension).
    - Earlier versions of that page had no gmail rule at all, then removed dots only (no ``+`` rule); the Google
      Ads API Customer Match guide (developers.google.com/google-ads/api/docs/remarketing/audience-types/
      customer-match) said dots before gmail.com "are not required" to be removed, while Campaign Manager 360's
      enhanced conversions still require it. We follow the current Data Manager rule, dots *and* plus.
    - Google Ads Help "About the customer matching process" (support.google.com/google-ads/answer/7474263): only
      Email, Phone, First Name and Last Name are hashed; "don't hash Country and Zip data". The Customer Match CSV
      template: "Lowercase all characters and remove all extra spaces before after or in between email addresses
      and names" -- so runs of spaces inside a name become one space.

    Implemented: Email as above, then hashed; Phone ``+<country code><number>`` (``phonenumbers``: a number
    without ``+`` is parsed with the customer's country as default region, then must be valid for it), hashed;
    First/Last Name NFC, lowercase, trimmed, inner whitespace runs -> one space, must hold a letter, hashed;
    Country ISO alpha-2 in upper case, in clear; Zip trimmed, inner whitespace runs -> one space, letters, digits,
    spaces and hyphens only, in clear.

Meta Custom Audience customer file (``meta``: ``email,phone,fn,ln,zip,country``)
    Source: Marketing API, "Customer File Custom Audiences -- Hashing and Normalizing Data"
    (developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences), every key "Hashing required":
    EMAIL trim leading and trailing whitespace, lowercase; PHONE remove symbols, letters and leading zeros, with the
    country code; FN/LN "a-z" lowercase only, no punctuation, special characters in UTF-8; ZIP lowercase, no white
    space, only the first 5 digits in the U.S., Area/District/Sector in the UK; COUNTRY lowercase two-letter ISO
    3166-1 alpha-2. The Meta Business SDK's ``normalize_key`` does the same (names: letters only).

    Implemented: email trimmed, lowercased, must be an address (no gmail rule: Meta documents none), hashed; phone
    the E.164 digits without ``+`` (country code included, so never a leading zero), hashed; fn/ln lowercase with
    only letters kept (accented and non-Latin letters kept in UTF-8; punctuation, digits and spaces dropped),
    hashed; zip lowercase without whitespace (US: first 5 digits of a 5 or 5+4 digit code; GB: the sector, e.g.
    ``SW1A 1AA`` -> ``sw1a1``), hashed; country lowercase ISO alpha-2, hashed.

Owned channels (``owned``): the plain ``customer_id``, nothing else.

A row is usable when it has an email, a phone, or the whole mailing address (first name, last name, country and
zip), the combinations Google documents for matching; other rows are left out and counted. Normalizing a phone
is slow (``phonenumbers``), so each distinct (number, region) is parsed once per process (LRU cache); the rest
runs once per distinct value of a column.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, reduce

import numpy as np
import pandas as pd
import phonenumbers

CUSTOMER_MATCH = "customer-match"
META = "meta"
OWNED = "owned"
DESTINATIONS: tuple[str, ...] = (CUSTOMER_MATCH, META, OWNED)
"""Where audiences go: two paid platforms and the company's own email/push tools."""

#: The channel of the audiences each destination takes (``main.audiences.channel``).
CHANNEL: dict[str, str] = {CUSTOMER_MATCH: "paid", META: "paid", OWNED: "owned"}

#: ISO 3166-1 alpha-2: the 249 officially assigned codes (not ``UK``, ``EU`` or ``XK``).
ISO_3166_ALPHA2: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
    IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 (249 codes, one line each would be a page)
)

_WHITESPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_GOOGLE_ZIP = re.compile(r"[0-9A-Za-z]+(?:[ -][0-9A-Za-z]+)*")
_META_ZIP = re.compile(r"[0-9a-z]+(?:-[0-9a-z]+)*")
_US_ZIP = re.compile(r"(\d{5})(?:-?\d{4})?")
_UK_POSTCODE = re.compile(r"([a-z]{1,2}\d[a-z\d]?\d)(?:[a-z]{2})?")  # outward code + sector digit (+ unit)
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def sha256_hex(value: str) -> str:
    """SHA-256 of the UTF-8 bytes of ``value``, as 64 lowercase hex characters."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _text(raw: object) -> str | None:
    """``raw`` as NFC text without surrounding whitespace, or None when missing or blank."""
    if not isinstance(raw, str):
        return None
    text = unicodedata.normalize("NFC", raw).strip()
    return text or None


def _plain(raw: object) -> str | None:
    """``raw`` exactly as it is (an identifier), or None when missing or empty."""
    return raw if isinstance(raw, str) and raw else None


def _lower(text: str) -> str:
    return unicodedata.normalize("NFC", text.lower())


# ----------------------------------------------------------------------------------------------------------------
# one value
# ----------------------------------------------------------------------------------------------------------------


def country_code(raw: object) -> str | None:
    """The ISO 3166-1 alpha-2 code ``raw`` stands for (any case, trimmed), upper case; None for anything else."""
    text = _text(raw)
    if text is None:
        return None
    code = text.upper()
    return code if code in ISO_3166_ALPHA2 else None


def phone_e164(raw: object, country: object = None) -> str | None:
    """The E.164 form (``+5511912345678``) of a valid phone number, or None.

    A number written with ``+`` carries its country code; one without is read as a number of ``country`` (the
    customer's country, ISO alpha-2), and without a usable country it cannot be read at all (never guessed).
    """
    text = _text(raw)
    if text is None:
        return None
    return _e164(text, None if text.startswith("+") else country_code(country))


@lru_cache(maxsize=1 << 21)
def _e164(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def google_email(raw: object) -> str | None:
    """Google: lowercase, no whitespace at all; gmail.com/googlemail.com lose dots and ``+tag`` before the ``@``."""
    text = _text(raw)
    if text is None:
        return None
    email = _lower(_WHITESPACE.sub("", text))
    if not _EMAIL.fullmatch(email):
        return None
    local, domain = email.split("@")
    if domain in _GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


def google_name(raw: object) -> str | None:
    """Google: lowercase, trimmed, runs of inner whitespace as one space; must hold a letter."""
    text = _text(raw)
    if text is None:
        return None
    name = _lower(_WHITESPACE.sub(" ", text))
    return name if any(ch.isalpha() for ch in name) else None


def google_zip(raw: object) -> str | None:
    """Google (in clear): trimmed, inner whitespace runs as one space; letters, digits, spaces and hyphens only."""
    text = _text(raw)
    if text is None:
        return None
    code = _WHITESPACE.sub(" ", text)
    return code if _GOOGLE_ZIP.fullmatch(code) else None


def meta_email(raw: object) -> str | None:
    """Meta: trimmed and lowercased; must be an email address."""
    text = _text(raw)
    if text is None:
        return None
    email = _lower(text)
    return email if _EMAIL.fullmatch(email) else None


def meta_phone(raw: object, country: object = None) -> str | None:
    """Meta: the digits of the E.164 number (country code first, no ``+``, so no leading zero)."""
    e164 = phone_e164(raw, country)
    return e164[1:] if e164 else None


def meta_name(raw: object) -> str | None:
    """Meta: lowercase letters only (UTF-8 letters kept); punctuation, digits and whitespace dropped."""
    text = _text(raw)
    if text is None:
        return None
    name = "".join(ch for ch in _lower(text) if unicodedata.category(ch)[0] in "LM")
    return name if any(ch.isalpha() for ch in name) else None


def meta_zip(raw: object, country: object = None) -> str | None:
    """Meta: lowercase without whitespace; US the first 5 digits, GB the postcode sector (``sw1a1``)."""
    text = _text(raw)
    if text is None:
        return None
    code = _lower(_WHITESPACE.sub("", text))
    region = country_code(country)
    if region == "US":
        us = _US_ZIP.fullmatch(code)
        return us.group(1) if us else None
    if region == "GB":
        uk = _UK_POSTCODE.fullmatch(code)
        return uk.group(1) if uk else None
    return code if _META_ZIP.fullmatch(code) else None


def meta_country(raw: object) -> str | None:
    """Meta: the ISO alpha-2 code in lower case."""
    code = country_code(raw)
    return code.lower() if code else None


# ----------------------------------------------------------------------------------------------------------------
# one destination's file layout
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One column of a destination file: where it comes from, how it is normalized, whether it is hashed."""

    column: str
    source: str
    normalize: Callable[[object, object], str | None]
    hashed: bool
    by_country: bool = False


def _ignore_country(func: Callable[[object], str | None]) -> Callable[[object, object], str | None]:
    def normalize(raw: object, country: object = None) -> str | None:
        return func(raw)

    normalize.__doc__ = func.__doc__
    return normalize


@dataclass(frozen=True)
class Layout:
    """A destination's file: its columns in order and the column groups that make a row usable for matching."""

    destination: str
    fields: tuple[Field, ...]
    identifiers: tuple[tuple[str, ...], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(field.column for field in self.fields)

    def field(self, column: str) -> Field:
        return next(f for f in self.fields if f.column == column)


LAYOUTS: dict[str, Layout] = {
    CUSTOMER_MATCH: Layout(
        CUSTOMER_MATCH,
        (
            Field("Email", "email", _ignore_country(google_email), hashed=True),
            Field("Phone", "phone", phone_e164, hashed=True, by_country=True),
            Field("First Name", "first_name", _ignore_country(google_name), hashed=True),
            Field("Last Name", "last_name", _ignore_country(google_name), hashed=True),
            Field("Country", "country", _ignore_country(country_code), hashed=False),
            Field("Zip", "zip", _ignore_country(google_zip), hashed=False),
        ),
        (("Email",), ("Phone",), ("First Name", "Last Name", "Country", "Zip")),
    ),
    META: Layout(
        META,
        (
            Field("email", "email", _ignore_country(meta_email), hashed=True),
            Field("phone", "phone", meta_phone, hashed=True, by_country=True),
            Field("fn", "first_name", _ignore_country(meta_name), hashed=True),
            Field("ln", "last_name", _ignore_country(meta_name), hashed=True),
            Field("zip", "zip", meta_zip, hashed=True, by_country=True),
            Field("country", "country", _ignore_country(meta_country), hashed=True),
        ),
        (("email",), ("phone",), ("fn", "ln", "zip", "country")),
    ),
    OWNED: Layout(
        OWNED, (Field("customer_id", "customer_id", _ignore_country(_plain), hashed=False),), (("customer_id",),)
    ),
}
"""The file layout of every destination."""


def normalize_value(destination: str, column: str, raw: object, country: object = None) -> tuple[str, str]:
    """One value as it goes into ``destination``'s ``column``: (normalized, file value); both empty when unusable."""
    field = LAYOUTS[destination].field(column)
    normalized = field.normalize(raw, country)
    if normalized is None:
        return "", ""
    return normalized, sha256_hex(normalized) if field.hashed else normalized


# ----------------------------------------------------------------------------------------------------------------
# whole columns (once per distinct value)
# ----------------------------------------------------------------------------------------------------------------


def _per_distinct(values: pd.Series, func: Callable[[str], str | None]) -> pd.Series:
    """``func`` applied once per distinct non-missing value; missing values and None results become NA."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=object)  # the last slot (code -1) stays None: missing values
    results[: len(uniques)] = [func(value) for value in uniques]
    return pd.Series(results[codes], index=values.index, dtype=object)


def _normalized_column(contacts: pd.DataFrame, field: Field) -> pd.Series:
    raw = contacts[field.source].astype(object)
    if not field.by_country:
        return _per_distinct(raw, lambda value: field.normalize(value, None))
    # Depends on the country too: one call per distinct (country, value) pair.
    region = _per_distinct(contacts["country"].astype(object), country_code).fillna("")
    keyed = (region.astype(str) + "\x1f" + raw.astype(str)).where(raw.notna(), None)

    def split(key: str) -> str | None:
        country, _, value = key.partition("\x1f")
        return field.normalize(value, country or None)

    return _per_distinct(keyed, split)


def destination_rows(destination: str, contacts: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The file rows of ``contacts`` (one per row, same index) for ``destination``, and which rows are usable.

    ``contacts`` has ``customer_id`` and, for the paid destinations, the raw contact columns (``email``, ``phone``,
    ``first_name``, ``last_name``, ``country``, ``zip``). Returned values are strings; empty where unusable.
    """
    layout = LAYOUTS[destination]
    columns: dict[str, pd.Series] = {}
    for field in layout.fields:
        normalized = _normalized_column(contacts, field)
        columns[field.column] = _per_distinct(normalized, sha256_hex) if field.hashed else normalized
    frame = pd.DataFrame(columns, index=contacts.index)
    present = frame.notna()
    usable = reduce(
        lambda a, b: a | b,
        (present[list(group)].all(axis=1) for group in layout.identifiers),
    )
    return frame.fillna("").astype(object), usable


def csv_lines(frame: pd.DataFrame) -> pd.Series:
    """Each row of ``frame`` (string values) as one CSV line without line end, quoted as RFC 4180 wants."""
    columns = [frame[column].astype(object).tolist() for column in frame.columns]
    commas = len(columns) - 1
    lines = []
    for values in zip(*columns, strict=True):
        line = ",".join(values)
        if line.count(",") != commas or '"' in line or "\n" in line or "\r" in line:
            line = ",".join(_quoted(value) for value in values)
        lines.append(line)
    return pd.Series(lines, index=frame.index, dtype=object)


def _quoted(value: str) -> str:
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_header(destination: str) -> str:
    """The header line of ``destination``'s files."""
    return ",".join(LAYOUTS[destination].columns)
