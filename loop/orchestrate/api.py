"""A small client of Airflow's public REST API (``/api/v2``): JSON in, JSON out, retried where a retry can succeed.

Connection errors (refused, reset, timed out), 5xx answers (SQLite's "database is locked" comes back as 503,
other database errors as 500) and 429 are retried with exponential backoff until ``patience`` seconds have passed;
any other error answer raises an ``AirflowAPIError`` (a ``LoopError``) naming the call, the status and Airflow's
detail. With ``credentials`` the client logs in through the simple auth manager (``POST /auth/token``) and sends
the token as a bearer token, logging in again when it expires. ``alive`` (e.g. a check that the deployment's
processes still run) is called before each retry and may raise to stop waiting.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from loop.errors import LoopError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class AirflowAPIError(LoopError):
    """Airflow answered a REST call with an error, or did not answer within the client's patience."""

    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.retryable = status is None or status in RETRYABLE_STATUSES


class AirflowAPI:
    """JSON calls to one Airflow API server, e.g. ``AirflowAPI("http://127.0.0.1:8080").get("/api/v2/version")``."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        credentials: tuple[str, str] | None = None,
        patience: float = 60.0,
        timeout: float = 30.0,
        first_delay: float = 0.5,
        max_delay: float = 8.0,
        alive: Callable[[], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.credentials = credentials
        self.patience = patience
        self.timeout = timeout
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.alive = alive

    # -- verbs --------------------------------------------------------------------------------------------------
    def get(self, path: str, *, patience: float | None = None) -> dict[str, Any]:
        return self.request("GET", path, patience=patience)

    def post(self, path: str, body: dict[str, Any] | None = None, *, patience: float | None = None) -> dict[str, Any]:
        return self.request("POST", path, body if body is not None else {}, patience=patience)

    def patch(self, path: str, body: dict[str, Any], *, patience: float | None = None) -> dict[str, Any]:
        return self.request("PATCH", path, body, patience=patience)

    def put(self, path: str, body: dict[str, Any] | None = None, *, patience: float | None = None) -> dict[str, Any]:
        return self.request("PUT", path, body, patience=patience)

    # -- core ---------------------------------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, patience: float | None = None
    ) -> dict[str, Any]:
        """One call; retried with exponential backoff on connection errors, 5xx and 429 for ``patience`` s."""
        deadline = time.monotonic() + (self.patience if patience is None else patience)
        delay = self.first_delay
        logged_in_again = False
        while True:
            try:
                return self._once(method, path, body, authenticate=True)
            except AirflowAPIError as error:
                if error.status == 401 and self.credentials is not None and not logged_in_again:
                    self.token = None  # expired: log in again once
                    logged_in_again = True
                    continue
                if not error.retryable or time.monotonic() + delay > deadline:
                    raise
                if self.alive is not None:
                    self.alive()  # no point waiting for a server that has stopped
            time.sleep(delay)
            delay = min(delay * 2, self.max_delay)

    def wait_until_up(self, timeout: float = 180.0, poll: float = 0.5) -> None:
        """Poll the health endpoint (which needs no login) until the API server answers, for up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._once("GET", "/api/v2/monitor/health", None, authenticate=False)
                return
            except AirflowAPIError as error:
                if time.monotonic() > deadline:
                    raise AirflowAPIError(
                        f"Airflow's API server at {self.base_url} did not come up within {timeout:.0f} s ({error})",
                        status=error.status,
                    ) from error
            if self.alive is not None:
                self.alive()
            time.sleep(poll)

    def login(self) -> str:
        """A token from the simple auth manager for ``credentials`` (``POST /auth/token``)."""
        if self.credentials is None:
            raise LoopError("No credentials to log in to Airflow with.")
        username, password = self.credentials
        answer = self._once("POST", "/auth/token", {"username": username, "password": password}, authenticate=False)
        token = answer.get("access_token")
        if not isinstance(token, str):
            raise AirflowAPIError(f"Airflow's /auth/token answered without an access token: {answer}")
        self.token = token
        return token

    def _once(self, method: str, path: str, body: dict[str, Any] | None, *, authenticate: bool) -> dict[str, Any]:
        if authenticate and self.token is None and self.credentials is not None:
            self.login()
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if authenticate and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = _detail(error.read())
            raise AirflowAPIError(
                f"Airflow answered {method} {path} with {error.code}: {detail}", status=error.code, detail=detail
            ) from error
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise AirflowAPIError(
                f"Airflow's API at {self.base_url} did not answer {method} {path}: {reason}"
            ) from error
        try:
            payload = json.loads(raw or b"{}")
        except json.JSONDecodeError as error:
            raise AirflowAPIError(f"Airflow answered {method} {path} with something that is not JSON.") from error
        return payload if isinstance(payload, dict) else {"items": payload}


def _detail(raw: bytes) -> str:
    text = raw.decode(errors="replace")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()[:300]
    detail = payload.get("detail", payload) if isinstance(payload, dict) else payload
    return (detail if isinstance(detail, str) else json.dumps(detail))[:300]
