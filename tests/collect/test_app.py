"""The collector's HTTP contract, against a running `loop collect` with a real HTTP client (httpx)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import OTHER_KEY, WRITE_KEY, Collector, collector_env, start_collector, stored_events


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    running = start_collector(tmp_path_factory.mktemp("collect") / "data")
    try:
        yield running
        code, _ = running.stop()
        assert code == 0
    finally:
        if running.process.poll() is None:
            running.kill()


@pytest.fixture
def client(server: Collector) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=(WRITE_KEY, ""), timeout=10) as http:
        yield http


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "type": "track",
        "event": "Product Viewed",
        "userId": "cus_1",
        "messageId": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).isoformat(),
    }
    event.update(fields)
    return event


def _stored(server: Collector, message_id: str) -> dict[str, Any]:
    [event] = [e for e in stored_events(server.events_dir) if e.get("messageId") == message_id]
    return event


def _refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and set(body) == {"code", "message"}
    return str(body["message"])


def test_write_key_as_basic_user_or_in_the_body(server: Collector) -> None:
    batch = {"batch": [_event()]}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert "LOOP_WRITE_KEYS" in _refused(http.post("/v1/batch", json=batch), 401, "unauthorized")
        _refused(http.post("/v1/batch", json=batch, auth=("wrong", "")), 401, "unauthorized")
        _refused(http.post("/v1/batch", json={**batch, "writeKey": "wrong"}), 401, "unauthorized")
        # A wrong Basic key is refused even when the body names a right one.
        _refused(http.post("/v1/batch", json={**batch, "writeKey": WRITE_KEY}, auth=("x", "")), 401, "unauthorized")
        assert http.post("/v1/batch", json=batch, auth=(OTHER_KEY, "")).json() == {"success": True}
        keyed = {"batch": [_event()], "writeKey": WRITE_KEY}
        assert http.post("/v1/batch", json=keyed).status_code == 200
    stored = _stored(server, keyed["batch"][0]["messageId"])
    assert "writeKey" not in stored


def test_gzip_body(server: Collector, client: httpx.Client) -> None:
    event = _event()
    body = gzip.compress(json.dumps({"batch": [event]}).encode())
    response = client.post("/v1/batch", content=body, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert _stored(server, event["messageId"])["event"] == "Product Viewed"
    _refused(client.post("/v1/batch", content=body[:-20], headers={"Content-Encoding": "gzip"}), 400, "invalid_gzip")
    _refused(client.post("/v1/batch", content=body, headers={"Content-Encoding": "br"}), 400, "unsupported_encoding")


def test_size_limits(client: httpx.Client) -> None:
    big = _event(properties={"blob": "x" * 33_000})
    message = _refused(client.post("/v1/batch", json={"batch": [_event(), big]}), 400, "event_too_large")
    assert message.startswith("Event 1 of the batch is") and "32 KB" in message
    _refused(client.post("/v1/track", json=big), 400, "event_too_large")
    # 20 events of 30 KB: each within the event limit, the batch beyond 500 KB.
    events = [_event(properties={"blob": "y" * 30_000}) for _ in range(20)]
    _refused(client.post("/v1/batch", json={"batch": events}), 400, "request_too_large")
    # A gzip bomb: 50 MB of JSON in 50 KB; decompression stops at the limit.
    bomb = gzip.compress(b'{"batch": [], "pad": "' + b" " * 50_000_000 + b'"}')
    assert len(bomb) < 100_000
    _refused(client.post("/v1/batch", content=bomb, headers={"Content-Encoding": "gzip"}), 400, "request_too_large")


def test_malformed_json(client: httpx.Client) -> None:
    _refused(client.post("/v1/batch", content=b'{"batch": [}'), 400, "invalid_json")
    _refused(client.post("/v1/batch", content=b'{"batch": [{"type": "track", "x": NaN}]}'), 400, "invalid_json")
    _refused(client.post("/v1/batch", content=b"[1, 2]"), 400, "invalid_json")
    _refused(client.post("/v1/batch", content=b"\xff\xfe{}"), 400, "invalid_json")
    _refused(client.post("/v1/batch", json={"batch": {"type": "track"}}), 400, "invalid_request")
    _refused(client.post("/v1/batch", json={"batch": [_event(), 42]}), 400, "invalid_request")
    _refused(client.post("/v1/nothing", json={}), 404, "not_found")


def test_batch_context_and_integrations_merged_into_each_event(server: Collector, client: httpx.Client) -> None:
    own = _event(context={"page": {"path": "/own"}, "locale": "fr-FR"}, integrations={"Mixpanel": False})
    bare = _event()
    batch = {
        "batch": [own, bare],
        "context": {"page": {"path": "/batch"}, "ip": "203.0.113.9", "library": {"name": "custom"}},
        "integrations": {"All": True},
        "writeKey": WRITE_KEY,
        "sentAt": datetime.now(UTC).isoformat(),
    }
    assert client.post("/v1/batch", json=batch).status_code == 200
    stored_own, stored_bare = _stored(server, own["messageId"]), _stored(server, bare["messageId"])
    assert stored_own["context"] == {
        "page": {"path": "/own"},  # the event's own keys win
        "locale": "fr-FR",
        "ip": "203.0.113.9",
        "library": {"name": "custom"},
    }
    assert stored_own["integrations"] == {"All": True, "Mixpanel": False}
    assert stored_bare["context"] == batch["context"] and stored_bare["integrations"] == {"All": True}
    for stored in (stored_own, stored_bare):
        assert not {"writeKey", "sentAt", "batch"} & set(stored)


def test_clock_skew_corrected_from_sent_at(server: Collector, client: httpx.Client) -> None:
    # The device's clock runs an hour late: the event happened 2 s before it was sent, by that clock.
    device_now = datetime.now(UTC) - timedelta(hours=1)
    happened = (device_now - timedelta(seconds=2)).isoformat()
    skewed = _event(timestamp=happened)
    before = datetime.now(UTC)
    response = client.post("/v1/batch", json={"batch": [skewed], "sentAt": device_now.isoformat()})
    after = datetime.now(UTC)
    assert response.status_code == 200
    stored = _stored(server, skewed["messageId"])
    received = datetime.fromisoformat(stored["receivedAt"])
    assert stored["receivedAt"].endswith("Z") and before - timedelta(seconds=1) <= received <= after
    corrected = datetime.fromisoformat(stored["timestamp"])
    assert abs((received - corrected) - timedelta(seconds=2)) < timedelta(milliseconds=5)
    assert stored["originalTimestamp"] == happened

    # Without sentAt the timestamp is kept; without a timestamp it is receivedAt.
    kept, untimed = _event(), _event()
    del untimed["timestamp"]
    assert client.post("/v1/batch", json={"batch": [kept, untimed]}).status_code == 200
    assert _stored(server, kept["messageId"])["timestamp"] == kept["timestamp"]
    stored_untimed = _stored(server, untimed["messageId"])
    assert stored_untimed["timestamp"] == stored_untimed["receivedAt"] and "originalTimestamp" not in stored_untimed


def test_single_calls_take_their_type_from_the_path(server: Collector, client: httpx.Client) -> None:
    calls = {
        "track": {"event": "Signed Up"},
        "page": {"name": "Home"},
        "identify": {"traits": {"email": "ana@example.com"}},
        "screen": {"name": "Cart"},
        "alias": {"previousId": "anon_9"},
        "group": {"groupId": "acct_1", "traits": {"name": "Initech"}},
    }
    for call, fields in calls.items():
        event = _event(**fields)
        del event["type"]
        response = client.post(f"/v1/{call}", json={**event, "sentAt": datetime.now(UTC).isoformat()})
        assert response.json() == {"success": True}, call
        stored = _stored(server, event["messageId"])
        assert stored["type"] == call and "sentAt" not in stored
    # analytics.js's short paths
    short = _event(event="Clicked")
    assert client.post("/v1/t", json=short).status_code == 200
    assert _stored(server, short["messageId"])["type"] == "track"


def test_missing_message_id_is_derived_from_the_event(server: Collector, client: httpx.Client) -> None:
    event = _event(event="Retried " + uuid.uuid4().hex)
    del event["messageId"]
    for _ in range(2):  # a client retrying the same request
        assert client.post("/v1/batch", json={"batch": [event, {**event, "event": event["event"] + "!"}]}).is_success
    ids = [e["messageId"] for e in stored_events(server.events_dir) if e["event"].startswith(event["event"])]
    assert len(ids) == 4 and len(set(ids)) == 2 and all(i.startswith("api-") for i in ids)


def test_numbers_are_stored_as_written(server: Collector, client: httpx.Client) -> None:
    message_id = str(uuid.uuid4())
    properties = '{"revenue": 12.50, "latency_ms": 1.5e3, "order": 1234567890123456789012, "score": 7}'
    event = f'{{"type": "track", "event": "Order Completed", "userId": "cus_1", "messageId": "{message_id}"'
    body = f'{{"batch": [{event}, "properties": {properties}}}]}}'
    assert client.post("/v1/batch", content=body.encode()).status_code == 200
    line = next(
        text
        for path in server.events_dir.rglob("*.ndjson")
        for text in path.read_text().splitlines()
        if message_id in text
    )
    assert '"revenue":12.50,"latency_ms":1.5e3,"order":1234567890123456789012,"score":7' in line


def test_cors_preflight_for_browsers(client: httpx.Client) -> None:
    response = client.options(
        "/v1/t",
        headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"


def test_full_queue_answers_429_with_retry_after(tmp_path: Path, launch: Callable[..., Collector]) -> None:
    busy = launch(tmp_path / "data", collect_queue_events="1")
    statuses: list[int] = []
    retry_after: set[str] = set()
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=busy.url, auth=(WRITE_KEY, ""), timeout=10) as http:
            while not stop.is_set():
                response = http.post("/v1/batch", json={"batch": [_event(), _event()]})
                statuses.append(response.status_code)
                if response.status_code == 429:
                    assert response.json()["code"] == "too_many_requests"
                    retry_after.add(response.headers["Retry-After"])
                    stop.set()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    stop.wait(timeout=15)
    stop.set()
    for thread in threads:
        thread.join()
    code, _ = busy.stop()
    assert 429 in statuses and 200 in statuses
    assert set(statuses) <= {200, 429}
    assert retry_after == {"1"}
    assert code == 0
    # Every acknowledged event is stored, and nothing refused is.
    assert len(stored_events(busy.events_dir)) == 2 * statuses.count(200)


def test_refuses_to_start_without_write_keys(tmp_path: Path) -> None:
    env = collector_env(tmp_path / "data")
    del env["LOOP_WRITE_KEYS"]
    loop = Path(sys.executable).with_name("loop")
    done = subprocess.run([str(loop), "collect"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "LOOP_WRITE_KEYS" in done.stderr and "Traceback" not in done.stderr


def test_date_folder_is_the_landing_day_in_the_business_time_zone(
    tmp_path: Path, launch: Callable[..., Collector]
) -> None:
    from zoneinfo import ZoneInfo

    # A zone whose calendar day differs from UTC's right now: UTC+14 after 10:00 UTC, UTC-12 before 12:00 UTC.
    zone = "Pacific/Kiritimati" if datetime.now(UTC).hour >= 12 else "Etc/GMT+12"
    running = launch(tmp_path / "data", timezone=zone)
    with httpx.Client(base_url=running.url, auth=(WRITE_KEY, ""), timeout=10) as http:
        assert http.post("/v1/track", json=_event()).status_code == 200
    code, _ = running.stop()
    expected = datetime.now(ZoneInfo(zone)).date()
    assert expected != datetime.now(UTC).date()
    assert code == 0 and [p.name for p in running.events_dir.glob("date=*")] == [f"date={expected.isoformat()}"]
