"""The sample generator: deterministic, laid out as landing expects, realistic, and honest about what it plants."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from loop.sample import BAD_KINDS, CAMPAIGNS, generate

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
        ("marketing", "touches"),
        ("experience", "events"),
        ("product", "feedback"),
        ("product", "releases"),
    }
    days = {p.name for p in root.glob("experience/events/date=*")}
    assert days == {f"date=2026-03-0{d}" for d in range(2, 8)}
    assert (
        (root / "marketing/campaigns/date=2026-03-02/part-0000.csv")
        .read_text()
        .startswith(
            "campaign_id,campaign_name,channel,objective,promise,start_date,end_date,budget,currency,target_segment\n"
        )
    )
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
