"""The dbt sources are rendered from the raw contracts: the committed files equal the rendering, so a contract
change without `python -m loop.transform.sources` fails here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from loop.contracts import sources_of
from loop.landing.compile import raw_table_columns
from loop.settings import PILLARS
from loop.transform import sources
from loop.transform.catalog import DERIVED_SOURCES

SOURCE_CALL = re.compile(r"""source\(\s*['"](\w+)['"]\s*,\s*['"](\w+)['"]\s*\)""")


def test_committed_source_files_equal_the_rendering() -> None:
    assert sources.stale() == [], "run: python -m loop.transform.sources"
    assert sources.main(["--check"]) == 0


def test_each_pillar_has_one_source_with_one_table_per_contract() -> None:
    for pillar in PILLARS:
        document = yaml.safe_load(sources.path_of(pillar).read_text())
        [source] = document["sources"]
        assert (source["name"], source["schema"]) == (pillar, "raw")
        assert [t["name"] for t in source["tables"]] == [s.name for s in sources_of(pillar)]
        for table, contract in zip(source["tables"], sources_of(pillar), strict=True):
            declared = [(c["name"], c["data_type"]) for c in table["columns"]]
            landed = [(name, sources._data_type(sql_type)) for name, sql_type in raw_table_columns(contract)]
            assert declared == landed
            assert all(c["description"] for c in table["columns"])
    # a contract field's own description is carried over
    [campaigns] = [
        t for t in yaml.safe_load(sources.render("marketing"))["sources"][0]["tables"] if t["name"] == "campaigns"
    ]
    promise = next(c for c in campaigns["columns"] if c["name"] == "promise")
    assert promise["description"].startswith("The offer or promise the campaign makes to customers.")


def test_every_source_the_staging_models_read_is_rendered() -> None:
    rendered = {
        (source["name"], table["name"])
        for pillar in sources.SOURCE_PILLARS
        for source in yaml.safe_load(sources.render(pillar))["sources"]
        for table in source["tables"]
    }
    used = {call for path in (sources.STAGING).rglob("*.sql") for call in SOURCE_CALL.findall(path.read_text())}
    # loop's own derivations of raw data (catalog.DERIVED_SOURCES) are declared by hand, not rendered from a contract
    derived = {
        (source["name"], table["name"])
        for name in DERIVED_SOURCES
        for source in yaml.safe_load((sources.STAGING / name / f"_{name}__sources.yml").read_text())["sources"]
        for table in source["tables"]
    }
    assert derived == {("enrich", "feedback_texts")}
    assert used and used <= rendered | derived


def test_the_enrich_source_follows_the_text_table() -> None:
    """enrich.feedback_texts is declared by hand: its columns are the ones loop.text.store creates."""
    import duckdb

    from loop.text.store import ensure_text_table

    con = duckdb.connect()
    ensure_text_table(con)
    created = [(r[0], r[1].lower()) for r in con.execute("DESCRIBE enrich.feedback_texts").fetchall()]
    [source] = yaml.safe_load((sources.STAGING / "enrich" / "_enrich__sources.yml").read_text())["sources"]
    [table] = source["tables"]
    assert (source["name"], source["schema"], table["name"]) == ("enrich", "enrich", "feedback_texts")
    assert [(c["name"], c["data_type"]) for c in table["columns"]] == created


def test_the_cycle_source_follows_the_action_tables() -> None:
    from loop.activate.actions import ACTION_TABLES

    [source] = yaml.safe_load(sources.path_of("cycle").read_text())["sources"]
    assert (source["name"], source["schema"]) == ("cycle", "ops")
    for table in source["tables"]:
        declared = [(c["name"], c["data_type"]) for c in table["columns"]]
        assert declared == [(n, sources._data_type(t)) for n, t in ACTION_TABLES[f"ops.{table['name']}"]]


def test_a_stale_file_is_reported_and_rewritten(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    shutil.copytree(sources.STAGING, staging)
    path = sources.path_of("product", staging)
    path.write_text(path.read_text().replace("data_type: bigint", "data_type: integer"))
    (sources.path_of("experience", staging)).unlink()
    assert sources.stale(staging) == [sources.path_of("experience", staging), path]
    assert sources.write(staging) == [sources.path_of("experience", staging), path]
    assert sources.stale(staging) == [] and path.read_text() == sources.render("product")
