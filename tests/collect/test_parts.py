"""Rolling parts and crash safety: a collector killed mid-stream loses no acknowledged event, and landing reads
what it wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from loop.landing import land_pillar
from loop.settings import Settings

from .conftest import WRITE_KEY, Collector, collector_env


def _landed_lines(events_dir: Path) -> list[str]:
    """Every line of the files in the date folders (what landing sees)."""
    return [line for path in sorted(events_dir.glob("date=*/*.ndjson")) for line in path.read_text().splitlines()]


def test_killed_mid_stream_no_acknowledged_event_is_lost(tmp_path: Path, launch: Callable[..., Collector]) -> None:
    data = tmp_path / "data"
    # Small parts, so that parts are rolled into date folders while one is open when the kill comes.
    first = launch(data, collect_part_bytes="200000")
    acknowledged: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        with httpx.Client(base_url=first.url, auth=(WRITE_KEY, ""), timeout=10) as http:
            while not stop.is_set():
                batch = [
                    {
                        "type": "track",
                        "event": "Product Viewed",
                        "anonymousId": f"anon_{n}",
                        "messageId": str(uuid.uuid4()),
                        "timestamp": datetime.now(UTC).isoformat(),
                        "properties": {"path": f"/products/{n}", "latency_ms": 120},
                    }
                    for n in range(25)
                ]
                try:
                    response = http.post("/v1/batch", json={"batch": batch})
                except httpx.TransportError:
                    return  # the collector is gone: this batch was never acknowledged
                if response.status_code == 200:
                    acknowledged.extend(event["messageId"] for event in batch)

    threads = [threading.Thread(target=stream) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 3000 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) >= 3000
    assert list(first.events_dir.glob("date=*/*.ndjson")), "parts were rolled before the kill"
    left_open = list((first.events_dir / "_collector").rglob("*.ndjson"))  # none if killed amid a roll

    second = launch(data)
    # The part open at the kill is recovered before serving (removed if the kill came before its first line).
    assert len([line for line in second.said if line.startswith("Recovered")]) == len(left_open), second.said
    assert not list((second.events_dir / "_collector").rglob("*.ndjson"))
    with httpx.Client(base_url=second.url, auth=(WRITE_KEY, ""), timeout=10) as http:
        after = {"type": "page", "anonymousId": "anon_after", "messageId": "after-restart", "name": "Home"}
        assert http.post("/v1/batch", json={"batch": [after]}).status_code == 200
    code, said = second.stop()
    assert code == 0 and "Stopped: 1 event(s) stored" in said

    lines = _landed_lines(second.events_dir)
    ids = Counter(json.loads(line)["messageId"] for line in lines)  # every line is whole JSON: no torn line
    assert set(acknowledged) <= set(ids)
    assert ids["after-restart"] == 1
    assert max(ids.values()) == 1  # nothing was retried here, so nothing is there twice
    assert not list((second.events_dir / "_collector").rglob("*.ndjson"))

    # Landing reads the parts as they are: every line lands, none is quarantined.
    [day] = {date.fromisoformat(p.name.removeprefix("date=")) for p in second.events_dir.glob("date=*")}
    results = land_pillar(Settings(data_dir=data), "experience", day)
    assert sum(r.rows_loaded for r in results) == len(lines)
    assert sum(r.rows_quarantined for r in results) == 0


def test_torn_part_recovered_on_start_and_one_collector_per_data_dir(
    tmp_path: Path, launch: Callable[..., Collector]
) -> None:
    data = tmp_path / "data"
    events_dir = data / "landing" / "experience" / "events"
    open_part = events_dir / "_collector" / "date=2026-03-02" / "collector-20260302T235959000Z-000007.ndjson"
    open_part.parent.mkdir(parents=True)
    whole = [
        json.dumps({"type": "page", "messageId": f"m{n}", "anonymousId": "a1", "timestamp": "2026-03-02T23:59:00Z"})
        for n in range(2)
    ]
    open_part.write_text("\n".join(whole) + '\n{"type":"track","messageId":"m2","anon')
    empty_part = open_part.with_name("collector-20260302T235959000Z-000008.ndjson")
    empty_part.write_text('{"type":"tr')

    running = launch(data)
    recovered = [line for line in running.said if line.startswith("Recovered")]
    assert len(recovered) == 2 and "torn last line dropped" in recovered[0] and "removed" in recovered[1]
    landed = events_dir / "date=2026-03-02" / open_part.name
    assert landed.read_text().splitlines() == whole
    assert not open_part.exists() and not empty_part.exists() and not open_part.parent.exists()

    loop = Path(sys.executable).with_name("loop")
    refused = subprocess.run(
        [str(loop), "collect", "--port", "0"], env=collector_env(data), capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1 and "Another `loop collect`" in refused.stderr
    code, _ = running.stop()
    assert code == 0
