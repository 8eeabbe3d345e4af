"""The loop turning, in process, on real dbt builds, GX validations and publications.

A first cycle (day 3 of a generated world) publishes the cycle pillar, exports its audiences and records its
actions; the sample world reads those actions and reacts in the days it has not written yet (the product team
ships a fix for each signalled area two days later; contacted and held-out customers behave differently). A later
cycle (day 9) measures what the actions changed: the published ``action_outcomes`` must show, for a signal whose
area a release then named, the symptom's share of sessions falling after that release (verdict ``better``, with
a 95 % interval entirely below zero), and every audience action compared with its holdout on the fixed metrics.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from loop import cycle
from loop.publish.reader import run_query
from loop.sample import generate, read_actions
from loop.settings import PILLARS, Settings
from loop.warehouse import connect

START = date(2026, 3, 2)
DAYS = 9
FIRST = START + timedelta(days=2)  # the first cycle that acts
LAST = START + timedelta(days=DAYS - 1)  # the cycle that measures
WORLD = {"customers": 1500, "days": DAYS, "start": START, "seed": 5, "bad_fraction": 0.0}
AUDIENCE_METRICS = {"conversion", "repurchase", "error rate", "satisfaction"}


def _land_only(settings: Settings, day: date) -> None:
    attempt = cycle.Attempt.of(day, f"scheduled__{day}")
    for pillar in PILLARS:
        cycle.land(settings, attempt, pillar)


def _published(settings: Settings, sql: str) -> list[dict[str, object]]:
    result = run_query(settings, sql, limit=10_000)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


@pytest.fixture(scope="module")
def turned(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("turning") / "data")
    settings.ensure_dirs()
    days = [START + timedelta(days=i) for i in range(DAYS)]
    generate(settings.landing_dir, **WORLD, days_to_write=days[:3])  # type: ignore[arg-type]
    for day in days[:2]:
        _land_only(settings, day)
    first = cycle.run_locally(settings, FIRST, f"scheduled__{FIRST}")
    assert first["failed"] == [], first["failed"]
    actions = read_actions(settings)
    assert any(a.kind == "signal" for a in actions), "the first cycle sent no product signal"
    generate(settings.landing_dir, **WORLD, actions=actions, days_to_write=days[3:])  # type: ignore[arg-type]
    for day in days[3:-1]:
        _land_only(settings, day)
    last = cycle.run_locally(settings, LAST, f"scheduled__{LAST}")
    assert last["failed"] == [], last["failed"]
    return settings


def test_the_first_cycle_exported_its_audiences_without_the_holdouts(turned: Settings) -> None:
    with connect(turned, write=False) as con:
        exported = con.execute(
            "SELECT a.action_id, count(*) FILTER (WHERE m.arm = 'treatment'), "
            "count(*) FILTER (WHERE m.arm = 'holdout') "
            "FROM ops.actions AS a JOIN ops.action_members AS m USING (action_id) "
            "WHERE a.kind = 'audience_export' AND a.cycle_date = ? GROUP BY ALL",
            [FIRST],
        ).fetchall()
    assert exported, "the first cycle recorded no audience export"
    files = {p.read_text() for p in (turned.exports_dir / "owned").glob("*/0001-*-full.csv")}
    assert files, "no owned export file was written"
    with connect(turned, write=False) as con:
        held = {
            c for (c,) in con.execute("SELECT customer_id FROM ops.action_members WHERE arm = 'holdout'").fetchall()
        }
    exported_ids = {line for text in files for line in text.splitlines()[1:]}
    assert not held & exported_ids, "a held-out customer was exported"


def test_a_signal_whose_area_was_fixed_is_measured_better(turned: Settings) -> None:
    outcomes = _published(
        turned,
        "SELECT o.*, a.product_area FROM action_outcomes AS o JOIN actions AS a USING (action_id) "
        "WHERE o.action_kind = 'signal'",
    )
    assert outcomes, "no signal was measured"
    with connect(turned, write=False) as con:
        fixed = {
            area
            for (area,) in con.execute(
                "SELECT DISTINCT unnest(string_split(product_areas, ';')) FROM raw.releases "
                "WHERE version LIKE '%-fix.%'"
            ).fetchall()
        }
    assert fixed, "the world shipped no fix after the signals"
    better = [o for o in outcomes if o["product_area"] in fixed and o["verdict"] == "better"]
    assert better, outcomes
    for o in better:
        assert o["difference_high"] < 0 and o["cohort_rate"] < o["comparison_rate"], o
        assert o["cohort_n"] > 0 and o["comparison_n"] > 0


def test_every_audience_action_is_compared_with_its_holdout(turned: Settings) -> None:
    actions = _published(turned, "SELECT * FROM actions WHERE action_kind = 'audience_export'")
    outcomes = _published(turned, "SELECT * FROM action_outcomes WHERE action_kind = 'audience_export'")
    assert actions
    measured = {o["action_id"] for o in outcomes}
    assert {a["action_id"] for a in actions} <= measured
    for o in outcomes:
        assert o["comparison"] == "holdout" and o["metric"] in AUDIENCE_METRICS, o
        if o["verdict"] != "too few to tell yet":
            assert o["difference_low"] <= o["difference"] <= o["difference_high"], o
