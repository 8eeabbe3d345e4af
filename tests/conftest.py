"""Shared fixtures: every test gets its own data directory (warehouse, landing, published, Airflow home)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loop.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty data directory under the test's tmp_path."""
    configured = Settings(data_dir=tmp_path / "data")
    configured.ensure_dirs()
    return configured


@pytest.fixture
def landed_fixture(settings: Settings) -> Settings:
    """The hand-written landing fixture (tests/fixtures/landing) copied into the data directory."""
    shutil.copytree(FIXTURES / "landing", settings.landing_dir, dirs_exist_ok=True)
    return settings


def empty_marts(settings: Settings, pillar: str, *, besides: tuple[str, ...] = ()) -> None:
    """The pillar's published tables, empty but with their declared columns (for tests that publish by hand)."""
    from loop.landing.compile import quote_ident
    from loop.transform.catalog import marts
    from loop.warehouse import connect

    with connect(settings, write=True) as con:
        for mart in marts()[pillar]:
            if mart.name in besides:
                continue
            columns = ", ".join(f"{quote_ident(c.name)} {c.data_type}" for c in mart.columns)
            con.execute(f"CREATE OR REPLACE TABLE main.{quote_ident(mart.name)} ({columns})")
