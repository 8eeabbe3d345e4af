"""Planted personal data never leaves the warehouse: PII written into the free text of every feedback kind, through
every shipped export shape (loop's CSV, Delighted, Typeform, Zendesk, Google Play), lands (it is in ``raw.feedback``)
but is in no published file of any pillar, and in no export (`loop export feedback` as Parquet and CSV, the product
pillar's tables as CSV).

Runs one more cycle of the reference run's last day (``tests/cycle_world.py``) with the planted files added.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from loop import cycle, publish
from loop.publish.export import export_feedback, export_pillar
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.warehouse import connect

from .. import cycle_world
from ..cycle_world import DAYS
from .test_pseudonym import string_values

SHAPES = Path(__file__).parents[1] / "fixtures" / "landing" / "feedback_exports"

#: What is planted, each written as people write it. Every value must be scrubbed from every published text.
PLANTED = {
    "email": "ana.souza+loja@gmail.com",
    "phone_br": "+55 11 91234-5678",
    "phone_us": "(415) 555-0134",
    "card": "4111 1111 1111 1111",
    "card_dashes": "5500-0000-0000-0004",
    "cpf": "529.982.247-25",
    "cpf_plain": "39053344705",
}
#: The same values as they could reappear once separators are gone.
DIGITS = {name: re.sub(r"\D", "", value) for name, value in PLANTED.items() if name != "email"}
TEXTS = {
    "email": "Please write to me at {} about the refund",
    "phone_br": "Me liga no {} que eu explico o problema do pagamento",
    "phone_us": "Call me back on {}, the checkout failed twice",
    "card": "My card {} was charged twice\nand nobody answers",
    "card_dashes": "Cartão {} recusado na finalização da compra",
    "cpf": "Meu CPF é {} e o cadastro não aceita",
    "cpf_plain": "CPF {} não passa no cadastro",
}

#: Per shape: the fixture file, the column holding the free text, the id column (a copied row gets a new id) and the
#: customer column (planted rows come from the sample's acquired customers, as real feedback would).
SHAPE_FILES = {
    "generic": ("generic.csv", "text", "feedback_id", "customer_id"),
    "delighted_nps": ("delighted_nps.csv", "Comment", "Response ID", "customer_id"),
    "typeform_csat": ("typeform_csat.csv", "What could we do better?", "#", "customer_id"),
    "zendesk": ("zendesk.csv", "Subject", "Id", "Requester external id"),
    "google_play": ("google_play.csv", "Review Text", "Review Link", "Customer ID"),
}


def _read(path: Path) -> tuple[str, list[str], list[dict[str, str]]]:
    raw = path.read_bytes()
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    reader = csv.DictReader(io.StringIO(raw.decode(encoding), newline=""))
    return encoding, list(reader.fieldnames or []), list(reader)


def _new_id(value: str, column: str, suffix: str) -> str:
    if column == "Review Link":
        return re.sub(r"(reviewId=[^&]+)", lambda m: m.group(1) + suffix, value)
    return value + suffix


def _plant(folder: Path, customers: list[str]) -> dict[str, set[str]]:
    """Write one copy of every fixture row per planted value; return the planted feedback ids' id fragments."""
    planted_ids: dict[str, set[str]] = {}
    planted = 0
    for shape, (name, text_column, id_column, customer_column) in SHAPE_FILES.items():
        encoding, header, rows = _read(SHAPES / name)
        assert {text_column, id_column, customer_column} <= set(header), (shape, header)
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        planted_ids[shape] = set()
        for number, row in enumerate(rows):
            for kind, value in PLANTED.items():
                suffix = f"pii{number}{kind.replace('_', '')}"
                copy = dict(row)
                copy[id_column] = _new_id(row[id_column], id_column, suffix)
                copy[text_column] = TEXTS[kind].format(value)
                if copy[customer_column]:  # an empty customer stays empty (that row is quarantined)
                    copy[customer_column] = customers[planted % len(customers)]
                planted += 1
                writer.writerow(copy)
                planted_ids[shape].add(suffix)
        (folder / f"planted-{shape}.csv").write_bytes(out.getvalue().encode(encoding))
    return planted_ids


def _leaks(text: str) -> set[str]:
    found = {name for name, value in PLANTED.items() if value in text}
    without_separators = re.sub(r"[ ()+.\-]", "", text)
    found |= {name for name, value in DIGITS.items() if value in without_separators}
    if "ana.souza" in text:
        found.add("email")
    return found


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, set[str]]]:
    reference = cycle_world.reference(tmp_path_factory)
    settings = Settings(data_dir=tmp_path_factory.mktemp("planted") / "data")
    shutil.copytree(reference.root, settings.root)
    day = DAYS[-1]
    folder = settings.landing_dir / f"product/feedback/date={day}"
    with connect(settings, write=False) as con:
        customers = [
            row[0]
            for row in con.execute(
                "SELECT customer_id FROM main.customer_360 WHERE acquisition_campaign_id IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
    ids = _plant(folder, customers)
    summary = cycle.run_locally(settings, day, f"planted__{day}")
    assert summary["failed"] == [], summary["failed"]
    assert set(summary["publish"]) == set(PUBLISHED_PILLARS)
    return settings, ids


def test_the_planted_pii_landed_for_every_kind_and_shape(planted: tuple[Settings, dict[str, set[str]]]) -> None:
    """The test means something only if the PII really went in: every shape and every kind carries it in raw."""
    settings, ids = planted
    with connect(settings, write=False) as con:
        rows = con.execute("SELECT feedback_id, kind, text FROM raw.feedback WHERE text IS NOT NULL").fetchall()
    landed = [(fid, kind, text) for fid, kind, text in rows if "pii" in fid]
    for shape, suffixes in ids.items():
        mine = [r for r in landed if any(fid_suffix in r[0] for fid_suffix in suffixes)]
        assert mine, f"no planted {shape} row landed"
        assert set().union(*(_leaks(r[2]) for r in mine)) == set(PLANTED), shape
    assert {kind for _, kind, _ in landed} == {"nps", "csat", "ticket", "feature_request", "review"}


def test_no_published_file_of_any_pillar_holds_the_planted_pii(planted: tuple[Settings, dict[str, set[str]]]) -> None:
    settings, _ = planted
    scrubbed_tokens = 0
    for pillar in PUBLISHED_PILLARS:
        current = publish.current(settings, pillar)
        assert current is not None and current.attempt.startswith("planted__"), pillar
        for table in current.tables:
            for value in string_values(current.path(settings, table)):
                assert not _leaks(value), (pillar, table, value)
                scrubbed_tokens += any(t in value for t in ("[email]", "[phone]", "[card]", "[national_id]"))
    assert scrubbed_tokens > 0  # the planted texts are published, scrubbed


def test_no_export_holds_the_planted_pii(planted: tuple[Settings, dict[str, set[str]]], tmp_path: Path) -> None:
    settings, _ = planted
    files = []
    for fmt in ("parquet", "csv"):
        pull = export_feedback(settings, tmp_path / f"feedback.{fmt}", fmt)  # type: ignore[arg-type]
        assert pull.rows > 0
        files.append(tmp_path / f"feedback.{fmt}")
    files += [t.path for t in export_pillar(settings, "product", tmp_path / "product", "csv")]
    con = duckdb.connect()
    for path in files:
        if path.suffix == ".parquet":
            texts = string_values(path)
        else:
            texts = {str(v) for row in con.read_csv(str(path), all_varchar=True).fetchall() for v in row if v}
            texts.add(path.read_text(encoding="utf-8"))
        for text in texts:
            assert not _leaks(text), (path.name, text[:200])
