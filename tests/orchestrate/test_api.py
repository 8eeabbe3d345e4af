"""The REST client against a real local HTTP server: what is retried (5xx, 429, connection errors) and what is not."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from loop.errors import LoopError
from loop.orchestrate.api import AirflowAPI, AirflowAPIError
from loop.orchestrate.environment import free_port


class _Airflowish(BaseHTTPRequestHandler):
    """Answers from a script: each request pops the next (status, body) for its path."""

    script: ClassVar[dict[str, list[tuple[int, dict[str, object]]]]] = {}
    seen: ClassVar[list[tuple[str, str, str | None, bytes]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, self.headers.get("Authorization"), body))
        queue = self.script.get(self.path, [])
        status, payload = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else (404, {"detail": "no"}))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Airflowish.script, _Airflowish.seen = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Airflowish)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_5xx_and_429_are_retried_with_backoff_until_an_answer(server: str) -> None:
    locked: dict[str, object] = {
        "detail": "Database is locked. Backfill creation is not supported on SQLite under concurrent access."
    }
    _Airflowish.script["/api/v2/backfills"] = [
        (503, locked),
        (500, {"detail": "Database error"}),
        (429, {}),
        (200, {"id": 7}),
    ]
    api = AirflowAPI(server, patience=10, first_delay=0.05)
    started = time.monotonic()
    assert api.post("/api/v2/backfills", {"dag_id": "loop_cycle"}) == {"id": 7}
    assert len(_Airflowish.seen) == 4
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2  # exponential backoff


def test_a_client_error_is_one_clear_loop_error_at_once(server: str) -> None:
    _Airflowish.script["/api/v2/backfills"] = [(409, {"detail": "There is already a running backfill for dag x"})]
    with pytest.raises(AirflowAPIError) as error:
        AirflowAPI(server, patience=10).post("/api/v2/backfills", {})
    assert isinstance(error.value, LoopError) and error.value.status == 409 and not error.value.retryable
    assert (
        str(error.value)
        == "Airflow answered POST /api/v2/backfills with 409: There is already a running backfill for dag x"
    )
    assert len(_Airflowish.seen) == 1


def test_a_refused_connection_is_retried_until_patience_runs_out() -> None:
    api = AirflowAPI(f"http://127.0.0.1:{free_port()}", patience=0.6, first_delay=0.1)
    started = time.monotonic()
    with pytest.raises(AirflowAPIError, match="did not answer GET /api/v2/version") as error:
        api.get("/api/v2/version")
    assert error.value.retryable and 0.3 <= time.monotonic() - started < 3


def test_credentials_get_a_bearer_token_and_log_in_again_when_it_expires(server: str) -> None:
    _Airflowish.script["/auth/token"] = [(201, {"access_token": "first"}), (201, {"access_token": "second"})]
    _Airflowish.script["/api/v2/dags"] = [(200, {"dags": []}), (401, {"detail": "expired"}), (200, {"dags": [1]})]
    api = AirflowAPI(server, credentials=("admin", "pw"))
    assert api.get("/api/v2/dags") == {"dags": []}
    assert api.get("/api/v2/dags") == {"dags": [1]}
    calls = [(method, path, auth) for method, path, auth, _ in _Airflowish.seen]
    assert calls == [
        ("POST", "/auth/token", None),
        ("GET", "/api/v2/dags", "Bearer first"),
        ("GET", "/api/v2/dags", "Bearer first"),
        ("POST", "/auth/token", None),
        ("GET", "/api/v2/dags", "Bearer second"),
    ]
    assert json.loads(_Airflowish.seen[0][3]) == {"username": "admin", "password": "pw"}
