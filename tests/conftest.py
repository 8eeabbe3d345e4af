"""Shared fixtures: every test gets its own data directory (warehouse, landing, published, Airflow home); what is
expensive to make and only read (the cycle tests' reference run) is made once per session (:func:`shared_dir`)."""

from __future__ import annotations

import fcntl
import os
import resource
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from loop.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"

#: The slowest test files, heaviest first. pytest-xdist (``--dist loadfile --no-loadscope-reorder``, see
#: pyproject.toml) hands whole files to its workers in collection order: starting the long ones first keeps both
#: workers busy to the end instead of leaving one alone with a long file. ``test_cycle.py`` goes first since it makes
#: the reference run that the other cycle files compare with at their end.
SLOW_FIRST = (
    "tests/test_cycle.py",
    "tests/orchestrate/test_embedded.py",
    "tests/test_cycle_crash.py",
    "tests/transform/test_incremental.py",
    "tests/test_cycle_order.py",
    "tests/publish/test_planted_pii.py",
    "tests/activate/test_loop_turning.py",
    "tests/publish/test_product_cycle.py",
    "tests/transform/test_product_marts.py",
    "tests/orchestrate/test_serve.py",
    "tests/validation/test_suites.py",
    "tests/transform/test_marts.py",
    "tests/collect/test_sdks.py",
    "tests/collect/test_parts.py",
    "tests/transform/test_sessions.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow files first (a stable sort: every other test keeps its place)."""
    rank = {path: number for number, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(SLOW_FIRST)))


@pytest.fixture(autouse=True)
def _process_memory_uncapped() -> Iterator[None]:
    """`loop query` caps its process's data segment (``cap_process_memory``); a test calling the CLI in-process must
    not leave its pytest worker capped, or what that worker starts later inherits the cap (Chromium's renderers crash
    under a data limit of about 2 GB: "Target crashed")."""
    before = resource.getrlimit(resource.RLIMIT_DATA)
    yield
    if resource.getrlimit(resource.RLIMIT_DATA) != before:
        resource.setrlimit(resource.RLIMIT_DATA, before)


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


def shared_dir(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """A directory made once per test session and shared by every module and xdist worker that asks for it.

    The first caller makes it (``make(path)``) under an exclusive file lock while later callers wait, then read it
    as it is: callers copy it before changing anything. A failed ``make`` leaves nothing, so the next caller tries
    again (and fails the same way). Without xdist the directory lives in the run's base temporary directory.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    target = root / f"shared-{name}"
    with (root / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (target / ".made").exists():
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir()
                try:
                    make(target)
                except BaseException:
                    shutil.rmtree(target, ignore_errors=True)
                    raise
                (target / ".made").touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target
