"""The generated sample and the uninterrupted reference run shared by the cycle tests (``tests/test_cycle*.py``).

Both are made once per test session (whichever xdist worker asks first makes them, the others wait and reuse
them) and are only read: a test that changes anything works on its own copy.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from loop import cycle, publish
from loop.sample import generate
from loop.settings import PUBLISHED_PILLARS, Settings
from loop.transform.catalog import pillar_tables
from loop.warehouse import connect

from .conftest import shared_dir

START = date(2026, 3, 2)
DAYS = [START + timedelta(days=i) for i in range(4)]
#: The marts of what the loop did (they depend on when cycles ran, not only on the data landed).
ACTED = {"actions", "action_outcomes"}
#: The pseudonym key of every cycle scenario's data directory (a fixed test value, never a real key).
PSEUDONYM_KEY = "0123456789abcdef" * 4


def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four days of landing files, generated once (with planted bad records, late events and duplicates)."""

    def make(root: Path) -> None:
        generate(root / "landing", customers=500, days=len(DAYS), start=START, seed=5, bad_fraction=0.02)

    return shared_dir(tmp_path_factory, "cycle-sample", make) / "landing"


def fresh(tmp_path: Path, sample: Path, name: str) -> Settings:
    settings = Settings(data_dir=tmp_path / name)
    settings.ensure_dirs()
    shutil.copytree(sample, settings.landing_dir, dirs_exist_ok=True)
    # One pseudonym key for every scenario (and the processes they start), so their published files compare equal.
    key = settings.root / "secrets" / "pseudonym.key"
    key.parent.mkdir(mode=0o700)
    key.write_text(PSEUDONYM_KEY + "\n")
    key.chmod(0o600)
    return settings


def reference(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The uninterrupted, in-order run every other scenario must end up equal to."""
    landing = sample(tmp_path_factory)

    def make(root: Path) -> None:
        settings = fresh(root, landing, "data")
        for day in DAYS:
            summary = cycle.run_locally(settings, day, f"scheduled__{day}")
            assert summary["failed"] == [], summary["failed"]
            assert set(summary["publish"]) == set(PUBLISHED_PILLARS)

    return Settings(data_dir=shared_dir(tmp_path_factory, "cycle-reference", make) / "data")


def mart_hashes(settings: Settings) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the sorted rows) of every published table, in the warehouse."""
    hashes = {}
    with connect(settings, write=False) as con:
        for tables in pillar_tables().values():
            for table in tables:
                [(rows, digest)] = con.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(j, chr(10) ORDER BY j), '')) FROM "
                    f'(SELECT to_json(t)::VARCHAR AS j FROM main."{table}" AS t)'
                ).fetchall()
                hashes[table] = (int(rows), str(digest))
    return hashes


def published_hashes(settings: Settings) -> dict[str, tuple[str, int, str]]:
    """(as of, rows, md5) of every current published table, read from its Parquet file."""
    import duckdb

    con = duckdb.connect()
    found = {}
    for pillar in PUBLISHED_PILLARS:
        current = publish.current(settings, pillar)
        assert current is not None, f"{pillar} is not published"
        for table in current.tables:
            [(rows, digest)] = con.execute(
                "SELECT count(*), md5(coalesce(string_agg(j, chr(10) ORDER BY j), '')) FROM "
                "(SELECT to_json(t)::VARCHAR AS j FROM read_parquet($path) AS t)",
                {"path": str(current.path(settings, table))},
            ).fetchall()
            found[table] = (current.as_of.isoformat(), int(rows), str(digest))
    return found
