"""Golden vectors for the per-destination normalization and hashing.

``tests/fixtures/activate/vectors.csv`` holds raw value -> normalized value -> SHA-256, the hashes computed outside
Python (``printf '%s' value | sha256sum``), one of them Meta's own documented example. The tests compare the code
with that file; they never hash with the code under test to get an expected value.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from loop.activate import normalize
from loop.activate.normalize import LAYOUTS, csv_lines, destination_rows, normalize_value

VECTORS = Path(__file__).parent.parent / "fixtures" / "activate" / "vectors.csv"
HEX64 = re.compile(r"[0-9a-f]{64}")


def _vectors() -> list[dict[str, str]]:
    with open(VECTORS, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = _vectors()


def _id(row: dict[str, str]) -> str:
    return f"{row['destination']}:{row['column']}:{row['raw']!r}:{row['country']!r}"


def test_the_vectors_cover_what_they_must() -> None:
    notes = " ".join(r["note"] for r in ROWS)
    raws = [r["raw"] for r in ROWS]
    assert "+55 (11) 91234-5678" in raws and "(11) 91234-5678" in raws
    assert any(r["raw"] == "(11) 91234-5678" and not r["country"] and not r["normalized"] for r in ROWS)
    assert "gmail" in notes and "invalid number" in notes and "empty" in notes
    assert any(unicodedata.normalize("NFC", r) != r for r in raws), "a decomposed unicode name"
    assert any(r != r.strip() for r in raws if r.strip()), "surrounding spaces"
    assert {r["destination"] for r in ROWS} == {"customer-match", "meta", "owned"}
    for row in ROWS:
        hashed = LAYOUTS[row["destination"]].field(row["column"]).hashed
        if row["normalized"] and hashed:
            assert HEX64.fullmatch(row["sha256"]), row
        else:
            assert row["sha256"] == "", row


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_golden_vector(row: dict[str, str]) -> None:
    normalized, value = normalize_value(row["destination"], row["column"], row["raw"], row["country"] or None)
    assert normalized == row["normalized"]
    expected = row["sha256"] if row["sha256"] else row["normalized"]
    assert value == expected


@pytest.mark.parametrize("destination", ["customer-match", "meta"])
def test_whole_columns_agree_with_the_vectors(destination: str) -> None:
    """The vectorized path (once per distinct value) gives the file values of the vectors too."""
    layout = LAYOUTS[destination]
    rows = [r for r in ROWS if r["destination"] == destination]
    contacts = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(rows))],
            **{f.source: [None] * len(rows) for f in layout.fields},
        }
    )
    for i, row in enumerate(rows):
        source = layout.field(row["column"]).source
        contacts.loc[i, source] = row["raw"] if row["raw"] != "" else None
        if row["country"] and source != "country":
            contacts.loc[i, "country"] = row["country"]
    frame, _ = destination_rows(destination, contacts)
    for i, row in enumerate(rows):
        expected = row["sha256"] if row["sha256"] else row["normalized"]
        assert frame.loc[i, row["column"]] == expected, _id(row)


def test_a_row_needs_an_identifier() -> None:
    contacts = pd.DataFrame(
        {
            "customer_id": ["email", "phone", "address", "half-address", "nothing", "garbage"],
            "email": ["a@example.com", None, None, None, None, "not-an-email"],
            "phone": [None, "+55 11 91234-5678", None, None, None, "12"],
            "first_name": [None, None, "Ana", "Ana", None, "..."],
            "last_name": [None, None, "Silva", None, None, None],
            "country": [None, None, "BR", "BR", "BR", "Brasil"],
            "zip": [None, None, "01310-100", "01310-100", "01310-100", None],
        }
    )
    for destination in ("customer-match", "meta"):
        frame, usable = destination_rows(destination, contacts)
        assert usable.tolist() == [True, True, True, False, False, False], destination
        garbage = frame.iloc[5]
        assert (garbage == "").all(), "a value that cannot be normalized is empty, never a hash of garbage"


def test_csv_lines_quote_only_when_needed() -> None:
    frame = pd.DataFrame({"customer_id": ["plain", "with,comma", 'with"quote', "é"]})
    assert csv_lines(frame).tolist() == ["plain", '"with,comma"', '"with""quote"', "é"]


def test_owned_is_the_plain_customer_id() -> None:
    frame, usable = destination_rows("owned", pd.DataFrame({"customer_id": ["C-1", " c 2 "]}))
    assert frame["customer_id"].tolist() == ["C-1", " c 2 "]
    assert usable.all()


def test_phone_parsing_is_cached_per_distinct_value() -> None:
    normalize._e164.cache_clear()
    contacts = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(1000)],
            "phone": ["(11) 91234-5678"] * 500 + ["+55 11 91234-5678"] * 500,
            "country": ["BR"] * 1000,
        }
    )
    frame = normalize._normalized_column(contacts, LAYOUTS["customer-match"].field("Phone"))
    assert set(frame) == {"+5511912345678"}
    assert normalize._e164.cache_info().misses == 2


def test_the_iso_list_agrees_with_phonenumbers() -> None:
    """249 codes; phonenumbers knows the same regions but for 7 without phones and 3 codes that are not ISO."""
    import phonenumbers

    assert len(normalize.ISO_3166_ALPHA2) == 249
    regions = set(phonenumbers.SUPPORTED_REGIONS)
    assert normalize.ISO_3166_ALPHA2 - regions == {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}
    assert regions - normalize.ISO_3166_ALPHA2 == {"AC", "TA", "XK"}
