"""The order days run in, and reruns, do not change the marts (except what the loop did: its actions)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from loop import cycle
from loop.warehouse import connect

from . import cycle_world
from .cycle_world import ACTED, DAYS, fresh, mart_hashes, published_hashes


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cycle_world.sample(tmp_path_factory)


def _without_actions(hashes: dict[str, Any]) -> dict[str, Any]:
    return {table: value for table, value in hashes.items() if table not in ACTED}


def test_a_shuffled_backfill_with_reruns_gives_the_same_marts(
    sample: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    settings = fresh(tmp_path, sample, "shuffled")
    order = DAYS[:-1]
    random.Random(11).shuffle(order)
    order = [DAYS[-1], *order, order[0]]  # the newest day first, so everything else arrives late; then a rerun
    outcomes = []
    for day in order:
        summary = cycle.run_locally(settings, day, f"scheduled__{day}")
        outcomes.append((day, summary["failed"]))
    # Early cycles may fail validation (the newest day ran before the campaign catalog landed: nothing to score),
    # and then publish nothing; once everything has landed, the last run publishes the same data as in order.
    assert outcomes[-1][1] == [], outcomes
    # Except what the loop did: actions are taken when a cycle runs, so cycles run in another order take other
    # actions (here every action is as of the newest day, which a build as of that day does not see yet).
    reference = cycle_world.reference(tmp_path_factory)  # asked for last: another worker makes it meanwhile
    shuffled = mart_hashes(settings)
    assert _without_actions(shuffled) == _without_actions(mart_hashes(reference))
    assert _without_actions(published_hashes(settings)) == _without_actions(published_hashes(reference))
    with connect(settings, write=False) as con:
        as_of = {d for (d,) in con.execute("SELECT DISTINCT as_of FROM ops.actions").fetchall()}
    assert as_of == {DAYS[-1]} and shuffled["actions"][0] == 0
