"""Reading the recorded actions from the warehouse for the sample world."""

from __future__ import annotations

from datetime import date, timedelta

from loop.sample import Action, Actions, generate, read_actions
from loop.sample.actions import customer_index
from loop.settings import Settings
from loop.warehouse import connect

from .recorded import create_tables, record

START = date(2026, 3, 2)


def test_no_warehouse_or_no_tables_means_no_actions(settings: Settings) -> None:
    assert not settings.warehouse_path.exists()
    assert read_actions(settings) == Actions() and not read_actions(settings)
    with connect(settings, write=True) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    assert read_actions(settings) == Actions()
    create_tables(settings)
    assert len(read_actions(settings)) == 0


def test_recorded_actions_are_read_normalized(settings: Settings) -> None:
    day = START + timedelta(days=1)
    recovery = Action(
        "b-2",
        "audience_export",
        "service_recovery",
        day,
        treatment=("cus_000007", "cus_000003"),
        holdout=("cus_000009",),
    )
    signal = Action("a-1", "signal", "checkout_errors", day, "checkout", "error PAYMENT_DECLINED")
    rerun = Action("c-3", "signal", "checkout_errors", START, "checkout", "slow pages", as_of=day + timedelta(days=5))
    record(settings, [recovery, rerun, signal])
    actions = read_actions(settings)
    assert [a.action_id for a in actions] == ["c-3", "a-1", "b-2"]  # by cycle date, then id
    got = {a.action_id: a for a in actions}
    assert got["b-2"].treatment == ("cus_000003", "cus_000007") and got["b-2"].holdout == ("cus_000009",)
    assert got["a-1"] == Action(
        "a-1", "signal", "checkout_errors", day, "checkout", "error PAYMENT_DECLINED", as_of=day
    )
    assert got["c-3"].day == day + timedelta(days=5)  # computed from newer marts: taken as of then
    assert [a.action_id for a in actions.before(day + timedelta(days=1))] == ["a-1", "b-2"]
    assert [a.action_id for a in actions.on(START)] == ["c-3"]


def test_the_world_reacts_to_what_the_warehouse_recorded(settings: Settings) -> None:
    day = START + timedelta(days=1)
    actions = Actions(
        (
            Action("a-1", "signal", "checkout_errors", day, "checkout", "slow pages"),
            Action(
                "b-2", "audience_export", "service_recovery", day, treatment=tuple(f"cus_{i:06d}" for i in range(1, 90))
            ),
        )
    )
    record(settings, actions)
    args = {"customers": 200, "days": 5, "start": START, "seed": 2}
    from_warehouse = generate(settings.landing_dir / "a", actions=read_actions(settings), **args)
    by_hand = generate(settings.landing_dir / "b", actions=actions, **args)
    assert from_warehouse.actions == by_hand.actions == 2
    for path in (settings.landing_dir / "b").rglob("part-*"):
        assert (
            settings.landing_dir / "a" / path.relative_to(settings.landing_dir / "b")
        ).read_bytes() == path.read_bytes()


def test_customer_ids_map_to_the_generators_customers() -> None:
    assert customer_index("cus_000123") == 122
    assert customer_index("cus_1234567") == 1234566
    assert customer_index("cus_000000") is None and customer_index("123") is None and customer_index("cus_x") is None
