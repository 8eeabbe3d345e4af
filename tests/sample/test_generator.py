"""The sample generator: deterministic, laid out as landing expects, realistic, and honest about what it plants."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tracemalloc
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from loop.contracts import source_named
from loop.sample import BAD_KINDS, CAMPAIGNS, Action, Actions, generate
from loop.sample.generator import AREAS

START = date(2026, 3, 2)


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.*")}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("gen") / "landing"
    return root, generate(root, customers=400, days=6, start=START, seed=3, bad_fraction=0.02)


def _events(root: Path) -> list[tuple[str, str]]:
    return [
        (p.parent.name, line)
        for p in sorted(root.glob("experience/events/date=*/*.ndjson"))
        for line in p.read_text().splitlines()
    ]


def test_same_arguments_same_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", customers=150, days=3, seed=5)
    generate(tmp_path / "b", customers=150, days=3, seed=5)
    generate(tmp_path / "c", customers=150, days=3, seed=6)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_layout_follows_the_landing_spec(sample) -> None:  # type: ignore[no-untyped-def]
    root, summary = sample
    sources = {p.relative_to(root).parts[:2] for p in root.glob("*/*/date=*/part-0000.*")}
    assert sources == {
        ("marketing", "campaigns"),
        ("marketing", "ad_performance"),
        ("marketing", "currency_rates"),
        ("marketing", "touches"),
        ("experience", "events"),
        ("product", "feedback"),
        ("product", "releases"),
    }
    days = {p.name for p in root.glob("experience/events/date=*")}
    assert days == {f"date=2026-03-0{d}" for d in range(2, 8)}
    catalog = list(
        csv.DictReader(io.StringIO((root / "marketing/campaigns/date=2026-03-02/part-0000.csv").read_text()))
    )
    columns = [info.alias or name for name, info in source_named("campaigns").model.model_fields.items()]
    assert list(catalog[0]) == columns  # the header follows the contract, whatever fields it has
    assert all(None not in row and None not in row.values() for row in catalog)  # no ragged row
    if "promise_areas" in columns:  # written once the contract has the field
        areas = {c.campaign_id: c.promise_areas for c in CAMPAIGNS}
        assert all(row["promise_areas"] == areas[row["campaign_id"]] for row in catalog)
        assert {a for row in catalog for a in row["promise_areas"].split(";")} <= set(AREAS)
    assert len(list(root.glob("marketing/campaigns/date=*/*.csv"))) >= 2  # campaigns start mid-period
    manifest = json.loads((root / "_generator/manifest.json").read_text())
    assert manifest["events"] == summary.events == len(_events(root))


def test_events_are_segment_spec_and_funnels_are_ordered(sample) -> None:  # type: ignore[no-untyped-def]
    root, _ = sample
    good = []
    for _, line in _events(root):
        try:
            good.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    complete = [e for e in good if {"type", "messageId", "timestamp"} <= e.keys()]
    assert len(complete) > 0.95 * len(good)
    names = Counter(e.get("event") for e in complete if e["type"] == "track")
    for name in ("Product Viewed", "Signed Up", "Product Added", "Order Completed", "Error Occurred", "API Request"):
        assert names[name] > 0, name
    by_user: dict[str, list[tuple[str, str]]] = {}
    for e in complete:
        if e.get("userId") and e["type"] == "track" and e["event"] in ("Signed Up", "Order Completed"):
            by_user.setdefault(e["userId"], []).append((e["timestamp"], e["event"]))
    buyers = [sorted(v) for v in by_user.values() if any(n == "Order Completed" for _, n in v)]
    assert buyers and all(v[0][1] == "Signed Up" for v in buyers)  # nobody buys before signing up
    utm = {e["context"]["campaign"]["name"] for e in complete if "campaign" in e.get("context", {})}
    assert utm <= {c.campaign_id for c in CAMPAIGNS} and len(utm) >= 8


def test_bad_journeys_and_areas_carry_the_errors(sample) -> None:  # type: ignore[no-untyped-def]
    root, _ = sample
    errors_by_area: Counter[str] = Counter()
    pages_by_area: Counter[str] = Counter()
    for _, line in _events(root):
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        area = (e.get("properties") or {}).get("product_area")
        if e.get("event") == "Error Occurred":
            errors_by_area[area] += 1
        elif e.get("type") == "page":
            pages_by_area[area] += 1
    rate = {a: errors_by_area[a] / pages_by_area[a] for a in pages_by_area if pages_by_area[a]}
    assert rate["checkout"] > 2 * rate["catalog"] and rate["billing"] > 2 * rate["search"]


def test_planted_bad_records_are_counted_truthfully(sample) -> None:  # type: ignore[no-untyped-def]
    root, summary = sample
    assert set(summary.bad_records) == set(BAD_KINDS) and all(summary.bad_records[k] > 0 for k in BAD_KINDS)
    malformed = 0
    for path in root.glob("*/*/date=*/*.ndjson"):
        for line in path.read_text().splitlines():
            try:
                json.loads(line)
            except json.JSONDecodeError:
                malformed += 1
    assert malformed == summary.bad_records["malformed_json"]


def test_no_bad_records_when_asked(tmp_path: Path) -> None:
    summary = generate(tmp_path, customers=200, days=3, bad_fraction=0.0)
    assert sum(summary.bad_records.values()) == 0
    for path in tmp_path.glob("*/*/date=*/*.ndjson"):
        for line in path.read_text().splitlines():
            json.loads(line)
    assert "cmp_unknown" not in "".join(p.read_text() for p in tmp_path.glob("marketing/*/date=*/*.csv"))


def test_memory_stays_flat_as_events_grow(tmp_path: Path) -> None:
    def peak(days: int) -> tuple[int, int]:
        tracemalloc.start()
        summary = generate(tmp_path / str(days), customers=300, days=days, bad_fraction=0.0)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return summary.events, top

    small_events, small_peak = peak(3)
    large_events, large_peak = peak(24)
    assert large_events > 1.5 * small_events
    assert large_peak < 1.5 * small_peak + 2_000_000


def test_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate(tmp_path, customers=0)
    with pytest.raises(ValueError, match="bad_fraction"):
        generate(tmp_path, bad_fraction=0.9)


# -- contact traits and consent --------------------------------------------------------------------------------------


def _good_events(root: Path) -> list[dict[str, Any]]:
    good = []
    for _, line in _events(root):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if {"type", "messageId", "timestamp", "context"} <= record.keys():
            good.append(record)
    return good


def test_identify_carries_contact_traits(sample) -> None:  # type: ignore[no-untyped-def]
    root, _ = sample
    identifies = [e for e in _good_events(root) if e["type"] == "identify"]
    assert len(identifies) > 100
    traits = [e["traits"] for e in identifies]
    assert all({"email", "first_name", "last_name", "country", "zip", "plan", "segment"} <= t.keys() for t in traits)
    countries = Counter(t["country"] for t in traits)
    assert set(countries) <= {"BR", "PT", "US"} and countries["BR"] > 0.6 * len(traits) and countries["PT"] > 0
    emails = {e["userId"]: e["traits"]["email"] for e in identifies}
    assert len(set(emails.values())) == len(emails)  # one person, one address
    phones = [(t["phone"], t["country"]) for t in traits if "phone" in t]
    assert 0.85 * len(traits) < len(phones) < len(traits)  # a few gave none

    def valid(phone: str, country: str) -> bool:
        try:
            return bool(phonenumbers.is_valid_number(phonenumbers.parse(phone, country)))
        except phonenumbers.NumberParseException:
            return False

    assert sum(valid(p, c) for p, c in phones) > 0.9 * len(phones)  # valid once read with the customer's country
    assert any(not valid(p, c) for p, c in phones)  # ... but a few are not
    assert any(p.startswith("+") and p[1:].isdigit() for p, _ in phones)  # E.164
    assert any(not p.startswith("+") and valid(p, c) for p, c in phones)  # national formats


def test_events_carry_segment_consent(tmp_path: Path) -> None:
    generate(tmp_path, customers=1500, days=8, seed=4, bad_fraction=0.0)
    by_person: dict[str, list[tuple[str, tuple[bool, ...]]]] = {}
    for e in _good_events(tmp_path):
        preferences = e["context"]["consent"]["categoryPreferences"]
        assert list(preferences) == ["Advertising", "Analytics", "Functional", "DataSharing"]
        assert all(isinstance(v, bool) for v in preferences.values())
        by_person.setdefault(e["anonymousId"], []).append((e["timestamp"], tuple(preferences.values())))
    first = Counter(min(choices)[1] for choices in by_person.values())
    people = len(by_person)
    assert first[(True, True, True, True)] > 0.7 * people  # most grant everything
    assert 0.08 * people < first[(False, True, True, False)] < 0.22 * people  # ~15 % deny advertising
    assert 0 < first[(False, False, False, False)] < 0.06 * people  # ~3 % deny everything
    changed = [c for c in by_person.values() if len({p for _, p in c}) > 1]
    assert changed and len(changed) < 0.05 * people  # a few change their mind later
    for choices in changed:
        ordered = [p for _, p in sorted(choices)]
        assert ordered.index(ordered[-1]) > 0  # the new choice comes after the first one, and stays


# -- actions and days ------------------------------------------------------------------------------------------------

SMALL: dict[str, Any] = {"customers": 300, "days": 6, "start": START, "seed": 9, "bad_fraction": 0.02}


def _actions(reverse: bool = False) -> Actions:
    ids = [f"cus_{i:06d}" for i in range(1, 301)]
    day1 = START + timedelta(days=1)
    items = [
        Action("s1", "signal", "slow_checkout", day1, "checkout", "slow pages"),
        Action("s2", "signal", "landing", day1, "onboarding", "error E500"),
        Action("r1", "audience_export", "service_recovery", day1, treatment=tuple(ids[0::2]), holdout=tuple(ids[1::2])),
        Action(
            "h1", "audience_export", "retargeting_holdback", day1, treatment=tuple(ids[1::4]), holdout=tuple(ids[3::4])
        ),
        Action("v1", "audience_export", "advocates", START + timedelta(days=2), treatment=tuple(ids[0::3])),
        Action("l1", "audience_export", "lookalike_seed", day1, treatment=tuple(ids[:60])),
    ]
    if reverse:  # the same actions, listed and filled in another order
        items = [
            Action(
                a.action_id, a.kind, a.subject, a.cycle_date, a.product_area, a.symptom, a.treatment[::-1], a.holdout
            )
            for a in reversed(items)
        ]
    return Actions(tuple(items))


def test_same_arguments_and_actions_same_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "plain", **SMALL)
    generate(tmp_path / "a", actions=_actions(), **SMALL)
    generate(tmp_path / "b", actions=_actions(reverse=True), **SMALL)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "plain")
    # Days up to the first action's day come out as without actions: an action changes only the days after it.
    for day in ("2026-03-02", "2026-03-03"):
        plain = {k: v for k, v in _digest(tmp_path / "plain").items() if f"date={day}" in k}
        assert plain and plain == {k: v for k, v in _digest(tmp_path / "a").items() if f"date={day}" in k}


def test_actions_without_effect_change_nothing(tmp_path: Path) -> None:
    inert = Actions(
        (
            Action("x1", "audience_export", "someone_elses_audience", START, treatment=("cus_000001",)),
            Action("x2", "signal", "odd", START, "warehouse", "slow pages"),  # not a product area
            Action("x3", "signal", "late", START + timedelta(days=40), "checkout", "slow pages"),  # after the period
            Action("x4", "signal", "early", START - timedelta(days=3), "checkout", "slow pages"),  # before it
            Action("x5", "audience_export", "service_recovery", START, treatment=("not-a-customer", "cus_999999")),
        )
    )
    generate(tmp_path / "plain", **SMALL)
    generate(tmp_path / "empty", actions=Actions(), **SMALL)
    generate(tmp_path / "inert", actions=inert, **SMALL)
    files = [{k: v for k, v in _digest(tmp_path / n).items() if "_generator" not in k} for n in ("empty", "inert")]
    assert _digest(tmp_path / "plain") == _digest(tmp_path / "empty")
    assert files[0] == files[1]  # only the manifest tells the actions were given


def test_days_to_write_writes_only_those_days_with_a_full_runs_bytes(tmp_path: Path) -> None:
    actions = _actions()
    full = generate(tmp_path / "full", actions=actions, **SMALL)
    wanted = [START + timedelta(days=2), START + timedelta(days=4)]
    some = generate(tmp_path / "some", actions=actions, days_to_write=wanted, **SMALL)
    expected = {k: v for k, v in _digest(tmp_path / "full").items() if any(f"date={d}" in k for d in wanted)}
    written = {k: v for k, v in _digest(tmp_path / "some").items() if not k.startswith("_generator")}
    assert written == expected and len(written) >= 8
    assert some.days_written == ("2026-03-04", "2026-03-06") and full.days_written[0] == "2026-03-02"
    assert some.events == sum(
        len(p.read_text().splitlines()) for p in (tmp_path / "some").glob("experience/events/*/*.ndjson")
    )
    assert some.events < full.events


def test_day_by_day_with_the_actions_known_so_far_equals_a_full_run(tmp_path: Path) -> None:
    """What ``loop demo`` does: each day written alone, knowing only the actions taken before it."""
    actions = _actions()
    generate(tmp_path / "full", actions=actions, **SMALL)
    for offset in range(SMALL["days"]):
        day = START + timedelta(days=offset)
        generate(tmp_path / "daily", actions=actions.before(day), days_to_write=[day], **SMALL)
    full, daily = _digest(tmp_path / "full"), _digest(tmp_path / "daily")
    assert {k: v for k, v in daily.items() if "_generator" not in k} == {
        k: v for k, v in full.items() if "_generator" not in k
    }


def test_days_to_write_must_be_days_of_the_period(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a day of the period"):
        generate(tmp_path, days=3, days_to_write=[START + timedelta(days=3)])
    with pytest.raises(ValueError, match="names no day"):
        generate(tmp_path, days=3, days_to_write=[])


def test_a_day_written_again_leaves_no_file_of_an_earlier_run(tmp_path: Path) -> None:
    signal = Action("s1", "signal", "slow_checkout", START + timedelta(days=2), "checkout", "slow pages")
    fix_day = START + timedelta(days=4)  # a day without a planned release
    root = tmp_path / "day"
    releases = root / f"product/releases/date={fix_day}"
    generate(root, actions=Actions((signal,)), **SMALL)
    assert "-fix.1" in (releases / "part-0000.csv").read_text()
    (root / f"product/feedback/date={fix_day}/extra.ndjson").write_text("{}\n")  # not the generator's
    generate(root, days_to_write=[fix_day], **SMALL)  # the same day, now without the action
    assert not releases.exists()  # its release file (and the folder it alone filled) is gone
    assert (root / f"product/feedback/date={fix_day}/extra.ndjson").exists()
    plain = generate(tmp_path / "plain", **SMALL)
    assert plain.records["releases"] == 4  # the planned ones: 2.3.0, 2.4.0, 2.4.1, 2.5.0
    assert {k: v for k, v in _digest(root).items() if f"date={fix_day}" in k and "extra" not in k} == {
        k: v for k, v in _digest(tmp_path / "plain").items() if f"date={fix_day}" in k
    }
