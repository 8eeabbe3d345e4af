"""Pseudonymized customer ids: a keyed hash, stable across publications and processes with one key, never the raw id
in a published product file; a product mart with an unmarked customer-id column is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from loop import publish
from loop.errors import LoopError
from loop.publish.pseudonym import Pseudonymizer, key_path, pseudonym_key
from loop.settings import PROJECT_ROOT, Settings
from loop.transform import catalog

from .conftest import FEEDBACK_ROWS, RAW_CUSTOMERS, TEST_KEY, make_feedback, publish_product


def pseudonyms(settings: Settings) -> dict[str, str | None]:
    """feedback_id -> published customer_id of the current product publication."""
    current = publish.current(settings, "product")
    assert current is not None
    rows = duckdb.execute(
        "SELECT feedback_id, customer_id FROM read_parquet($path)", {"path": str(current.path(settings, "feedback"))}
    ).fetchall()
    return dict(rows)


def string_values(path: Path) -> set[str]:
    """Every value of every string (or list of strings) column of a Parquet file."""
    con = duckdb.connect()
    found: set[str] = set()
    for name, kind, *_ in con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(path)}).fetchall():
        if kind not in ("VARCHAR", "VARCHAR[]"):
            continue
        column = '"' + name.replace('"', '""') + '"'
        values = f"unnest({column})" if kind == "VARCHAR[]" else column
        rows = con.execute(f"SELECT DISTINCT {values} FROM read_parquet($p)", {"p": str(path)}).fetchall()
        found |= {row[0] for row in rows if row[0] is not None}
    return found


def test_a_pseudonym_is_the_keyed_hash_and_null_stays_null(product: Settings) -> None:
    published = pseudonyms(product)
    raw = {row[0]: row[1] for row in FEEDBACK_ROWS}
    for feedback_id, customer_id in raw.items():
        if customer_id is None:
            assert published[feedback_id] is None
        else:
            expected = hmac.new(TEST_KEY.encode(), customer_id.encode(), hashlib.sha256).hexdigest()[:32]
            assert published[feedback_id] == expected
    assert published["fb-1"] == published["fb-3"]  # the same customer, the same pseudonym
    manifest = json.loads((product.published_dir / "product" / "manifest.json").read_text())
    assert manifest["tables"]["feedback"]["pseudonymized"] == ["customer_id"]
    # The warehouse keeps the raw ids (the cycle marts join on them).
    from loop.warehouse import connect

    with connect(product, write=False) as con:
        assert {r[0] for r in con.execute("SELECT customer_id FROM main.feedback").fetchall()} - {None} == RAW_CUSTOMERS


def test_no_raw_customer_id_in_any_published_product_file(product: Settings) -> None:
    current = publish.current(product, "product")
    assert current is not None and set(current.tables) == set(catalog.pillar_tables()["product"])
    for table in current.tables:
        values = string_values(current.path(product, table))
        leaked = {v for v in values for raw in RAW_CUSTOMERS if raw in v}
        assert not leaked, (table, leaked)


def test_pseudonyms_are_stable_across_publications_and_processes(product: Settings, tmp_path: Path) -> None:
    first = pseudonyms(product)
    publish_product(product, date(2026, 3, 6), run="r2")
    assert pseudonyms(product) == first
    # Another process, another data directory, the same key from the environment: the same pseudonyms.
    other = Settings(data_dir=tmp_path / "other")
    other.ensure_dirs()
    make_feedback(other)
    script = (
        "from datetime import date\nfrom loop import publish\nfrom loop.settings import Settings\n"
        "publish.publish(Settings(), 'product', cycle_date=date(2026, 3, 5), as_of=date(2026, 3, 5), "
        "run_id='p', attempt='p#0')\n"
    )
    env = os.environ | {"LOOP_DATA_DIR": str(other.root), "LOOP_PSEUDONYM_KEY": TEST_KEY}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=tmp_path)
    assert pseudonyms(other) == first
    assert not key_path(other).exists()  # the key came from the setting: no key file made
    # Another key: other pseudonyms.
    another = Settings(data_dir=other.root, pseudonym_key="another-key-" + "1" * 20)
    publish_product(another, date(2026, 3, 6), run="r3")
    changed = pseudonyms(another)
    assert changed.keys() == first.keys() and changed["fb-5"] is None
    assert all(changed[k] != first[k] for k in first if first[k] is not None)


def test_without_a_setting_the_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    make_feedback(settings)
    publish_product(settings, date(2026, 3, 5))
    path = key_path(settings)
    assert path == settings.root / "secrets" / "pseudonym.key"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o077 == 0
    key = path.read_text()
    first = pseudonyms(settings)
    publish_product(settings, date(2026, 3, 6), run="r2")
    assert path.read_text() == key and pseudonyms(settings) == first
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left
    # The file's text as LOOP_PSEUDONYM_KEY gives the same pseudonyms (how to move the key to a secret store).
    assert Pseudonymizer(pseudonym_key(settings))("cus_alice") == first["fb-1"]
    moved = Settings(data_dir=tmp_path / "data", pseudonym_key=key.strip())
    assert Pseudonymizer.of(moved)("cus_alice") == first["fb-1"]


def test_processes_racing_to_make_the_key_agree_on_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    script = (
        "import sys\nfrom loop.publish.pseudonym import Pseudonymizer\nfrom loop.settings import Settings\n"
        "print(Pseudonymizer.of(Settings(data_dir=sys.argv[1]))('cus_alice'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LOOP_PSEUDONYM_KEY"}
    racers = [
        subprocess.Popen([sys.executable, "-c", script, str(data)], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(4)
    ]
    answers = {racer.communicate()[0].strip() for racer in racers}
    assert len(answers) == 1 and len(answers.pop()) == 32
    assert [p.name for p in (data / "secrets").iterdir()] == ["pseudonym.key"]


def test_a_damaged_key_file_or_a_short_key_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    key_path(settings).parent.mkdir(parents=True)
    key_path(settings).write_text("\n")
    with pytest.raises(LoopError, match="empty or damaged"):
        pseudonym_key(settings)
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(data_dir=tmp_path, pseudonym_key="short")
    assert Settings(data_dir=tmp_path, pseudonym_key="").pseudonym_key is None
    assert "x" * 20 not in repr(Settings(data_dir=tmp_path, pseudonym_key="x" * 20))


# ----------------------------------------------------------------------------------------------------------------
# the guard: a customer-id column must be marked
# ----------------------------------------------------------------------------------------------------------------


def project_copy(tmp_path: Path) -> Path:
    """The dbt project's models and seeds (what the catalog reads), copied."""
    project = tmp_path / "dbt_project"
    for part in ("models", "seeds"):
        shutil.copytree(PROJECT_ROOT / "dbt_project" / part, project / part)
    return project


def edit_product_yaml(project: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = project / "models" / "marts" / "product" / "_product__models.yml"
    document = yaml.safe_load(path.read_text())
    edit(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def feedback_model(document: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in document["models"] if m["name"] == "feedback")


def test_the_catalog_reads_the_marks(tmp_path: Path) -> None:
    project = project_copy(tmp_path)

    def mark(document: dict[str, Any]) -> None:
        columns = feedback_model(document)["columns"]
        columns.append({"name": "referrer_customer_id", "data_type": "varchar", "meta": {"pseudonymize": True}})
        for column in columns:
            if column["name"] == "submitted_at":
                column["config"] = {"meta": {"interval": True}}

    edit_product_yaml(project, mark)
    feedback = next(m for m in catalog.marts(project)["product"] if m.name == "feedback")
    assert feedback.pseudonymized == ("customer_id", "referrer_customer_id")  # config.meta and plain meta
    assert feedback.interval_column == "submitted_at" and feedback.unmarked_customer_ids == ()
    shipped = catalog.mart("feedback")
    assert "customer_id" in shipped.pseudonymized


@pytest.mark.parametrize("name", ["customer_id", "referrer_customer_id", "Buyer_Customer_ID"])
def test_an_unmarked_customer_id_column_is_refused_and_nothing_switches(
    product: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    project = project_copy(tmp_path)

    def unmark(document: dict[str, Any]) -> None:
        columns = feedback_model(document)["columns"]
        if name == "customer_id":
            for column in columns:
                if column["name"] == "customer_id":
                    column.pop("config", None)
        else:
            columns.append({"name": name, "data_type": "varchar", "description": "not marked"})

    edit_product_yaml(project, unmark)
    marts = catalog.marts(project)
    with pytest.raises(LoopError, match=f"feedback.{name} holds customer ids but is not marked"):
        publish.check_pseudonymized("product", marts["product"])
    publish.check_pseudonymized("cycle", marts["cycle"])  # only the product pillar's publication promises it
    # The publication itself refuses before writing anything: the current version and its files stay.
    before = publish.current(product, "product")
    versions = sorted((product.published_dir / "product" / "versions").iterdir())
    if name != "customer_id":
        from loop.warehouse import connect

        with connect(product, write=True) as con:
            con.execute(f"ALTER TABLE main.feedback ADD COLUMN \"{name}\" VARCHAR DEFAULT 'cus_alice'")
    shipped = catalog.marts
    monkeypatch.setattr(catalog, "marts", lambda project_dir=project: shipped(project))
    with pytest.raises(LoopError, match="not published \\(previous version kept\\)"):
        publish_product(product, date(2026, 3, 6), run="refused")
    assert publish.current(product, "product") == before
    assert sorted((product.published_dir / "product" / "versions").iterdir()) == versions
