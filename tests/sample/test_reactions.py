"""The sample world reacts to the loop's actions: each reaction is measurable in the generated files.

Three worlds with the same arguments: one without actions, one where the cycle of day 2 took a checkout signal and
exported service_recovery, retargeting_holdback and advocates audiences (their arms crossed over the customers who
had signed up by then, so each comparison is balanced for the others), and one with only a lookalike seed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from loop.sample import Action, Actions, generate

START = date(2026, 3, 2)
DAYS = 10
ACTION_DAY = START + timedelta(days=2)  # the cycle of day 2 took the actions
FIX_DAY = START + timedelta(days=4)  # the checkout fix ships two days later
ARGS: dict[str, Any] = {"customers": 6000, "days": DAYS, "start": START, "seed": 11, "bad_fraction": 0.0}
RETARGET = "cmp_display_retarget"
SEED_CAMPAIGN = "cmp_search_delivery"


@dataclass
class Observed:
    """What the files of one world show."""

    checkout_pages: Counter[date] = field(default_factory=Counter)
    checkout_errors: Counter[date] = field(default_factory=Counter)
    retargeted: Counter[str] = field(default_factory=Counter)  # customer -> retargeting sessions after the action
    retargeted_to_checkout: Counter[str] = field(default_factory=Counter)
    returns: Counter[str] = field(default_factory=Counter)  # customer -> sessions from home after the action
    referrals: list[tuple[date, str, dict[str, Any]]] = field(default_factory=list)  # (day, advocate, event)
    referred_ids: set[str] = field(default_factory=set)  # customers whose first session was referred
    acquired_by: dict[str, str | None] = field(default_factory=dict)  # signed up by the action day -> campaign
    early: Counter[str] = field(default_factory=Counter)  # pages and errors of the seed campaign's later visitors
    feedback: list[dict[str, Any]] = field(default_factory=list)
    releases: dict[date, list[str]] = field(default_factory=dict)


def _observe(root: Path) -> Observed:
    seen = Observed()
    events = [
        json.loads(line)
        for path in sorted(root.glob("experience/events/date=*/*.ndjson"))
        for line in path.read_text().splitlines()
    ]
    events.sort(key=lambda e: e["timestamp"])
    first_landing: dict[str, date] = {}
    referred_anonymous: set[str] = set()
    for e in events:
        day = date.fromisoformat(e["timestamp"][:10])
        context, properties, user = e.get("context", {}), e.get("properties") or {}, e.get("userId")
        campaign = context.get("campaign", {}).get("name")
        page = e["type"] == "page"
        path = properties.get("path")
        if page and path == f"/lp/{SEED_CAMPAIGN}":
            first_landing.setdefault(e["anonymousId"], day)
        landed = first_landing.get(e["anonymousId"])
        if landed is not None and landed > ACTION_DAY and (day - landed).days < 3:
            seen.early["pages" if page else "errors" if e.get("event") == "Error Occurred" else "other"] += 1
        if properties.get("product_area") == "checkout":
            if page:
                seen.checkout_pages[day] += 1
            elif e.get("event") == "Error Occurred":
                seen.checkout_errors[day] += 1
        if user and day > ACTION_DAY and campaign == RETARGET and page:
            if path == f"/lp/{RETARGET}":  # a known customer landing from the ad: brought back by retargeting
                seen.retargeted[user] += 1
            elif path == "/checkout":
                seen.retargeted_to_checkout[user] += 1
        if user and day > ACTION_DAY and page and e["name"] == "Home":
            seen.returns[user] += 1
        if "referrer" in context:
            referred_anonymous.add(e["anonymousId"])
            if page and e["name"] == "Home":
                seen.referrals.append((day, context["referrer"]["id"], e))
        if user and e["anonymousId"] in referred_anonymous:
            seen.referred_ids.add(user)
        if e.get("event") == "Signed Up" and day <= ACTION_DAY:
            seen.acquired_by[user] = campaign
    seen.feedback = [
        json.loads(line)
        for path in sorted(root.glob("product/feedback/date=*/*.ndjson"))
        for line in path.read_text().splitlines()
    ]
    for path in sorted(root.glob("product/releases/date=*/*.csv")):
        seen.releases[date.fromisoformat(path.parent.name[5:])] = path.read_text().splitlines()[1:]
    return seen


@dataclass
class Worlds:
    base: Observed
    reacting: Observed
    lookalike: Observed
    recovery: tuple[list[str], list[str]]  # service_recovery (treatment, holdout)
    holdback: tuple[list[str], list[str]]  # retargeting_holdback (treatment, holdout)
    advocates: list[str]


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Worlds:
    root = tmp_path_factory.mktemp("worlds")
    generate(root / "base", **ARGS)
    base = _observe(root / "base")
    signed = sorted(base.acquired_by)  # the customers the day-2 audiences are drawn from
    recovery = (signed[0::2], signed[1::2])
    holdback = (
        [c for i, c in enumerate(signed) if i // 2 % 2 == 0],
        [c for i, c in enumerate(signed) if i // 2 % 2 == 1],
    )
    advocates = signed[0::4]
    actions = Actions(
        (
            Action("a-signal", "signal", "checkout_errors", ACTION_DAY, "checkout", "error PAYMENT_DECLINED"),
            Action(
                "a-recovery",
                "audience_export",
                "service_recovery",
                ACTION_DAY,
                treatment=tuple(recovery[0]),
                holdout=tuple(recovery[1]),
            ),
            Action(
                "a-holdback",
                "audience_export",
                "retargeting_holdback",
                ACTION_DAY,
                treatment=tuple(holdback[0]),
                holdout=tuple(holdback[1]),
            ),
            Action("a-advocates", "audience_export", "advocates", ACTION_DAY, treatment=tuple(advocates)),
        )
    )
    summary = generate(root / "reacting", actions=actions, **ARGS)
    assert summary.actions == 4
    seed = tuple(c for c, campaign in base.acquired_by.items() if campaign == SEED_CAMPAIGN)
    lookalike = Actions((Action("a-seed", "audience_export", "lookalike_seed", ACTION_DAY, treatment=seed),))
    generate(root / "lookalike", actions=lookalike, **ARGS)
    return Worlds(base, _observe(root / "reacting"), _observe(root / "lookalike"), recovery, holdback, advocates)


def _error_rate(seen: Observed, days: list[date]) -> float:
    return sum(seen.checkout_errors[d] for d in days) / sum(seen.checkout_pages[d] for d in days)


def test_a_signal_ships_a_fix_two_days_later_and_the_area_gets_better(worlds: Worlds) -> None:
    fixes = [row for row in worlds.reacting.releases.get(FIX_DAY, []) if "-fix." in row.split(",")[0]]
    assert len(fixes) == 1
    version, released_on, areas, notes = fixes[0].split(",", 3)
    assert version == "2.4.0-fix.1"  # a hotfix on top of the release current that day
    assert released_on == FIX_DAY.isoformat() and areas == "checkout" and "PAYMENT_DECLINED" in notes
    assert not any("-fix." in row for rows in worlds.base.releases.values() for row in rows)
    assert all("-fix." not in row for day, rows in worlds.reacting.releases.items() if day != FIX_DAY for row in rows)
    before = [START + timedelta(days=i) for i in range(4)]
    after = [FIX_DAY + timedelta(days=i) for i in range(DAYS - 4)]
    # Checkout error events per checkout page: a quarter of what they were, and of what they are without the fix.
    assert _error_rate(worlds.reacting, after) < 0.5 * _error_rate(worlds.reacting, before)
    assert _error_rate(worlds.reacting, after) < 0.5 * _error_rate(worlds.base, after)
    assert _error_rate(worlds.base, after) > 0.8 * _error_rate(worlds.base, before)  # it did not mend by itself


def _scores(seen: Observed, customers: list[str], kinds: tuple[str, ...]) -> list[int]:
    group = set(customers)
    return [
        f["score"]
        for f in seen.feedback
        if f["kind"] in kinds and f["customer_id"] in group and f["submitted_at"][:10] > ACTION_DAY.isoformat()
    ]


def test_service_recovery_treatment_comes_back_more_and_answers_better(worlds: Worlds) -> None:
    treatment, holdout = worlds.recovery
    nps_t, nps_h = _scores(worlds.reacting, treatment, ("nps",)), _scores(worlds.reacting, holdout, ("nps",))
    assert len(nps_t) >= 20 and len(nps_h) >= 15
    assert mean(nps_t) > mean(nps_h) + 1.0  # the outcome measured against the holdout is visibly positive
    csat_t = _scores(worlds.reacting, treatment, ("csat", "review"))
    csat_h = _scores(worlds.reacting, holdout, ("csat", "review"))
    assert mean(csat_t) > mean(csat_h) + 0.3
    returns_t = sum(worlds.reacting.returns[c] for c in treatment) / len(treatment)
    returns_h = sum(worlds.reacting.returns[c] for c in holdout) / len(holdout)
    assert returns_t > 1.3 * returns_h
    # Without the action the two arms answer alike (no built-in gap the test would mistake for the effect).
    base_t, base_h = _scores(worlds.base, treatment, ("nps",)), _scores(worlds.base, holdout, ("nps",))
    assert mean(nps_t) - mean(nps_h) > mean(base_t) - mean(base_h) + 1.0


def test_held_back_customers_are_not_retargeted_and_the_holdout_is(worlds: Worlds) -> None:
    treatment, holdout = worlds.holdback
    assert sum(worlds.reacting.retargeted[c] for c in treatment) == 0
    chased = [c for c in holdout if worlds.reacting.retargeted[c]]
    assert len(chased) > 0.5 * len(holdout)
    # The retargeting campaign takes them back to the cart, where checkout still fails until its fix.
    assert sum(worlds.reacting.retargeted_to_checkout[c] for c in holdout) > 0.5 * len(chased)
    assert not worlds.base.retargeted  # without the action nobody known is brought back by retargeting


def test_advocates_bring_referred_visitors(worlds: Worlds) -> None:
    referrals = worlds.reacting.referrals
    assert len(referrals) >= 20
    assert {advocate for _, advocate, _ in referrals} <= set(worlds.advocates)
    assert all(day > ACTION_DAY for day, _, _ in referrals)
    assert all(e.get("userId") is None for _, _, e in referrals)  # new visitors, anonymous when they arrive
    new_ids = {c for c in worlds.reacting.referred_ids if int(c.removeprefix("cus_")) > ARGS["customers"]}
    assert new_ids and new_ids == worlds.reacting.referred_ids  # those who sign up get new customer ids
    assert not worlds.base.referrals


def test_a_lookalike_seed_brings_better_fitting_visitors(worlds: Worlds) -> None:
    def rate(seen: Observed) -> float:
        return seen.early["errors"] / seen.early["pages"]

    assert worlds.base.early["pages"] > 1000 and worlds.lookalike.early["pages"] > 1000
    assert rate(worlds.lookalike) < 0.8 * rate(worlds.base)
