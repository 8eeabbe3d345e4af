"""The cycle's promises, on a real generated sample, real dbt builds, GX validations and publications:

* each attempt trusts only its own landing, build and validations;
* a rerun of an earlier day never takes "current" back in time;
* a failing suite keeps every mart built from its pillar unpublished.

The other promises are in ``test_cycle_crash.py`` (a cycle killed at any step recovers to the uninterrupted marts)
and ``test_cycle_order.py`` (the order days run in, and reruns, do not change the marts): in files of their own so
that two workers run them side by side, all three on the sample and reference run of ``cycle_world.py``.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from loop import cycle, publish, quarantine
from loop.errors import LoopError
from loop.publish.reader import run_query
from loop.sample.generator import CAMPAIGNS
from loop.settings import PUBLISHED_PILLARS, Settings

from . import cycle_world
from .cycle_world import DAYS, mart_hashes, published_hashes


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The uninterrupted, in-order run (shared with the other cycle tests; copied before any change)."""
    return cycle_world.reference(tmp_path_factory)


def test_each_pillar_is_published_with_its_lineage(reference: Settings) -> None:
    for pillar in PUBLISHED_PILLARS:
        current = publish.current(reference, pillar)
        assert current is not None and current.as_of == DAYS[-1]
        assert pillar in current.lineage and "experience" in current.lineage  # every mart here reads experience data


def test_the_broken_promise_campaigns_are_at_the_bottom_of_the_scorecard_with_their_reason(
    reference: Settings,
) -> None:
    """The generator's bad-journey campaigns land their visitors on a slow, failing page (the landing page is in
    onboarding): under every attribution model they have the lowest promise-kept scores of the published scorecard,
    are flagged, and their reason names their promise and onboarding."""
    planted = {c.campaign_id: c.promise for c in CAMPAIGNS if c.bad_journey}
    assert len(planted) == 2
    rows = run_query(
        reference,
        "select model, campaign_id, promise_kept_score, scorecard_rank, flagged, flag_reason "
        "from campaign_scorecard order by model, scorecard_rank",
        limit=1000,
    ).rows
    models = sorted({row[0] for row in rows})
    assert models == ["first_touch", "last_non_direct", "last_touch", "linear", "position_based"]
    for model in models:
        scored = [row for row in rows if row[0] == model and row[2] is not None]
        assert len(scored) > len(planted) + 3, model
        bottom = {row[1] for row in scored[-len(planted) :]}
        assert bottom == set(planted), (model, [(row[1], row[2]) for row in scored])
        for _, campaign_id, _, _, flagged, reason in (row for row in scored if row[1] in planted):
            assert flagged and reason.startswith(f"promised '{planted[campaign_id]}'; "), (model, reason)
            assert "of its customers' onboarding sessions" in reason, (model, reason)
    flagged = {row[1] for row in rows if row[4]}
    assert flagged >= set(planted) and len(flagged) < len({row[1] for row in rows})  # the flag singles some out


def test_rerunning_an_earlier_day_keeps_current_at_the_newest_cycle(reference: Settings, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "copy")
    shutil.copytree(reference.root, settings.root)
    before = published_hashes(settings)
    # Marketers query in a loop while the cycle runs (land, build, validate, publish): no query fails.
    errors: list[str] = []
    answered: list[int] = []
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            try:
                result = run_query(
                    settings, "select count(*) from sessions join campaign_scorecard using (campaign_id)", limit=1
                )
                answered.append(result.rows[0][0])
            except Exception as error:  # any failure is a finding
                errors.append(repr(error))

    readers = [threading.Thread(target=query) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        summary = cycle.run_locally(settings, DAYS[0], f"scheduled__{DAYS[0]}")
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert errors == [] and len(answered) > 20
    assert summary["failed"] == []
    newest = DAYS[-1].isoformat()
    assert {p: r["as_of"] for p, r in summary["publish"].items()} == dict.fromkeys(PUBLISHED_PILLARS, newest)
    assert published_hashes(settings) == before  # same data, refreshed: never the marts as of the earlier day


def test_a_rerun_whose_build_fails_publishes_nothing(reference: Settings, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "copy")
    shutil.copytree(reference.root, settings.root)
    published = {p: publish.current(settings, p) for p in PUBLISHED_PILLARS}
    # The second day's campaign catalog is corrected: it drops the campaign that started that day, whose ad spend
    # has landed since. dbt's relationship test fails the build.
    [catalog] = (settings.landing_dir / "marketing/campaigns/date=2026-03-03").iterdir()
    lines = catalog.read_text().splitlines()
    assert any(line.startswith("cmp_search_midseason,") for line in lines)
    catalog.write_text("\n".join(line for line in lines if not line.startswith("cmp_search_midseason,")) + "\n")
    summary = cycle.run_locally(settings, DAYS[1], f"scheduled__{DAYS[1]}")
    assert any(f.startswith("build:") and "dbt build failed" in f for f in summary["failed"]), summary["failed"]
    assert summary["publish"] == {}
    assert {p: publish.current(settings, p) for p in PUBLISHED_PILLARS} == published
    # Publishing with this attempt is refused even when asked directly: an earlier attempt's validation does not count.
    attempt = cycle.Attempt(DAYS[1], f"scheduled__{DAYS[1]}", summary["attempt"])
    with pytest.raises(LoopError, match="no successful build"):
        cycle.publish_pillar(settings, attempt, "marketing")


def test_an_attempt_never_borrows_another_attempts_validation(reference: Settings, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "copy")
    shutil.copytree(reference.root, settings.root)
    validated = cycle.Attempt.of(DAYS[-1], f"scheduled__{DAYS[-1]}", 0)  # built, validated and published
    cleared = cycle.Attempt.of(DAYS[-1], f"scheduled__{DAYS[-1]}", 1)  # the same run, cleared and run again
    cycle.build(settings, cleared)
    with pytest.raises(LoopError, match="was not validated in this attempt"):
        cycle.publish_pillar(settings, cleared, "marketing")
    with pytest.raises(LoopError, match="cannot be validated: this attempt has no successful build"):
        cycle.validate(settings, cycle.Attempt.of(DAYS[-1], "manual__never_built", 0), "marketing")
    cycle.publish_pillar(settings, validated, "marketing")  # the first attempt's own validation still counts for it


def test_a_failing_experience_suite_keeps_every_mart_built_from_it_unpublished(
    reference: Settings, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "copy")
    shutil.copytree(reference.root, settings.root)
    published = {p: publish.current(settings, p) for p in PUBLISHED_PILLARS}
    # A bad release makes pages crawl: 300 new visitors wait 100 s for their first page. Every event is valid
    # (the contract allows up to 120 s) and dbt's tests pass, but the sessions' latency distribution is off.
    day = DAYS[-1]
    slow = settings.landing_dir / f"experience/events/date={day}/slow-release.ndjson"
    slow.write_text(
        "".join(
            json.dumps(
                {
                    "type": "page",
                    "messageId": f"slow-{n}",
                    "anonymousId": f"visitor-slow-{n}",
                    "timestamp": f"{day}T12:{n % 60:02d}:00Z",
                    "name": "Home",
                    "properties": {"path": "/", "product_area": "onboarding", "latency_ms": 100_000},
                }
            )
            + "\n"
            for n in range(300)
        )
    )
    summary = cycle.run_locally(settings, day, f"scheduled__{day}")
    assert [f.split(":")[0] for f in summary["failed"]] == ["validate_experience"], summary["failed"]
    assert "latency" in summary["failed"][0]
    # Every pillar's marts are built from experience data (sessions, acquisition): none is published.
    assert summary["publish"] == {}
    assert {p: publish.current(settings, p) for p in PUBLISHED_PILLARS} == published
    # The records stay in the marts, so the next cycles would fail too: the operator isolates the file, and the
    # rerun publishes without it.
    relative = slow.relative_to(settings.landing_dir).as_posix()
    assert quarantine.isolate(settings, relative, None, "release 2.6.0 latency regression", "isolate") == 300
    summary = cycle.run_locally(settings, day, f"scheduled__{day}")
    assert summary["failed"] == [] and set(summary["publish"]) == set(PUBLISHED_PILLARS)
    assert mart_hashes(settings) == mart_hashes(reference)
