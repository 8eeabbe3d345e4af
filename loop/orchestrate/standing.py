"""``loop serve``: a long-lived Airflow for the project, on the embedded defaults (SQLite + LocalExecutor).

It runs in the foreground under the same supervisor as ``loop run`` (``loop.orchestrate.supervisor``): an API server
with the UI on ``serve_host:serve_port``, a scheduler that runs the daily schedule (``loop_cycle`` runs once a day,
for the day before), a DAG processor and a triggerer. Ctrl-C or SIGTERM stops every process. ``loop_cycle`` is
unpaused on start, and so is ``loop_digest``, which the cycle publication's Asset triggers.

The UI and the REST API ask for a login: Airflow 3's simple auth manager with one ``admin`` user. Its password is
generated once (or taken from ``LOOP_SERVE_PASSWORD``), kept in ``<airflow_home>/passwords.json`` (mode 0600) and
printed at start.

While it runs, ``loop run`` on the same data directory does not start a second scheduler on the SQLite DB: it logs
in with the stored credentials (``POST /auth/token``) and submits its backfill to this deployment
(``StandingAirflow.attach``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from datetime import date
from types import FrameType
from typing import Any

from loop.errors import LoopError
from loop.orchestrate.api import AirflowAPI, AirflowAPIError
from loop.orchestrate.embedded import CycleRun, CycleRunner, has_leftovers
from loop.orchestrate.environment import (
    ADMIN_USER,
    DAG_ID,
    DIGEST_DAG_ID,
    PASSWORD_ENV,
    airflow_env,
    airflow_executable,
    connect_host,
    migrate,
    passwords_file,
    run_dir,
    services_log_dir,
)
from loop.orchestrate.supervisor import (
    DeploymentBusy,
    Supervisor,
    claimed,
    kill_survivors,
    live_state,
    matching_process,
)
from loop.settings import Settings


def ensure_password(settings: Settings) -> str:
    """The admin password: ``LOOP_SERVE_PASSWORD`` if set, else the stored one, else a new one (stored, 0600)."""
    path = passwords_file(settings)
    stored = read_password(settings)
    wanted = os.environ.get(PASSWORD_ENV) or stored or secrets.token_urlsafe(12)
    if wanted != stored or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps({ADMIN_USER: wanted}) + "\n")
        os.replace(tmp, path)
    path.chmod(0o600)
    return wanted


def read_password(settings: Settings) -> str | None:
    """The stored admin password of the standing deployment, if any."""
    try:
        value = json.loads(passwords_file(settings).read_text()).get(ADMIN_USER)
    except (OSError, json.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


class StandingAirflow(CycleRunner):
    """A client of the standing deployment of this data directory (``loop serve``), logged in as admin."""

    where = "the standing Airflow (`loop serve`)"

    def __init__(
        self,
        settings: Settings,
        api_url: str,
        password: str,
        supervisor: dict[str, Any] | None = None,
        handle: Supervisor | None = None,
    ) -> None:
        """``supervisor`` is the record of a running deployment's supervisor (pid, create time) from its state
        file; ``handle`` is the supervisor ``loop serve`` itself started."""
        self.settings = settings
        self.log_dir = services_log_dir(settings)
        self.supervisor = supervisor
        self.handle = handle
        self.api = AirflowAPI(api_url, credentials=(ADMIN_USER, password), alive=self.check)

    @classmethod
    def attach(cls, settings: Settings) -> StandingAirflow | None:
        """A client of the live ``loop serve`` of this data directory, or None if it does not run."""
        state = live_state(run_dir(settings))
        if state is None:
            return None
        info = state.get("info", {})
        if info.get("mode") != "serve" or state.get("stopping"):
            return None  # a `loop run` (or a stopping deployment): starting an embedded Airflow waits or refuses
        password = read_password(settings)
        if not info.get("url") or password is None:
            raise LoopError(
                f"`loop serve` runs on {settings.root} but its login is unreadable ({passwords_file(settings)}); "
                "restart `loop serve` and run again."
            )
        standing = cls(settings, str(info["url"]), password, state.get("supervisor"))
        standing.api.wait_until_up(180)  # it may still be starting
        standing.wait_for_dag()
        return standing

    def run_cycles(
        self,
        start: date,
        end: date,
        progress: Callable[[list[CycleRun]], None] | None = None,
        *,
        full_refresh: str | None = None,
    ) -> list[CycleRun]:
        """As on the embedded Airflow; on Ctrl-C the backfill is cancelled (the deployment itself keeps running)."""
        try:
            return super().run_cycles(start, end, progress, full_refresh=full_refresh)
        except KeyboardInterrupt:
            if self.backfill_id is not None:
                with contextlib.suppress(LoopError):
                    self.api.put(f"/api/v2/backfills/{self.backfill_id}/cancel", patience=5)
            raise

    def check(self) -> None:
        if self.handle is not None:
            self.handle.check()
            return
        if self.supervisor is None:  # attached while it was starting: look again
            state = live_state(run_dir(self.settings), wait=0)
            if state is None:
                raise LoopError("The standing Airflow (`loop serve`) stopped; start it again or run without it.")
            self.supervisor = state.get("supervisor")
            return
        if matching_process(int(self.supervisor["pid"]), float(self.supervisor["create_time"])) is None:
            raise LoopError(
                "The standing Airflow (`loop serve`) stopped while cycles were running; run `loop run` again."
            )


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError:
            return False
    return True


def ui_url(host: str, port: int) -> str:
    """The UI's address as a user types it (a wildcard host shows as this machine's name)."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        return f"http://{socket.gethostname()}:{port}  (listening on all interfaces)"
    return f"http://[{host}]:{port}" if ":" in host and not host.startswith("[") else f"http://{host}:{port}"


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(settings: Settings, say: Callable[[str], None] = print) -> int:
    """Run the standing deployment in the foreground until Ctrl-C or SIGTERM; 0 when stopped that way."""
    settings.ensure_dirs()
    host, port = settings.serve_host, settings.serve_port
    api_url = f"http://{connect_host(host)}:{port}"
    home = run_dir(settings)
    log_dir = services_log_dir(settings)
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    previous_int = signal.getsignal(signal.SIGINT)
    supervisor: Supervisor | None = None
    stopped = False
    say(f"Starting the standing Airflow for {settings.root} (logs in {log_dir})…")
    try:
        try:
            with claimed(home, {"command": "loop serve", "mode": "serve", "url": api_url}) as lock_fd:
                kill_survivors(home)
                if not _port_free(host, port):
                    raise LoopError(f"Port {port} on {host} is in use; set LOOP_SERVE_PORT to a free port.")
                password = ensure_password(settings)
                env = airflow_env(settings, port, standing=True, host=host)
                migrate(settings, env)
                airflow = airflow_executable()
                commands = {
                    "api-server": [airflow, "api-server", "--host", host, "--port", str(port)],
                    "dag-processor": [airflow, "dag-processor"],
                    "triggerer": [airflow, "triggerer"],
                    "scheduler": [airflow, "scheduler"],
                }
                clean_first = has_leftovers(settings)
                supervisor = Supervisor.launch(
                    run_dir=home,
                    log_dir=log_dir,
                    env=env,
                    services={n: a for n, a in commands.items() if not (clean_first and n == "scheduler")},
                    info={"mode": "serve", "command": "loop serve", "url": api_url, "port": port},
                    lock_fd=lock_fd,
                )
        except DeploymentBusy as busy:
            raise LoopError(f"{busy}; stop it first — two schedulers must not share one SQLite metadata DB.") from None
        standing = StandingAirflow(settings, api_url, password, handle=supervisor)
        try:
            standing.api.wait_until_up(180)
        except AirflowAPIError as error:
            raise LoopError(f"{error}; see the logs in {log_dir}.") from error
        if clean_first:
            cancelled, failed = standing.cancel_leftovers()
            say(f"Cleaned up after a deployment that died: {cancelled} backfill(s) cancelled, {failed} run(s) failed.")
            supervisor.start_service("scheduler", commands["scheduler"])
        standing.wait_for_dag()
        standing.api.patch(f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        standing.wait_for_dag(DIGEST_DAG_ID)
        standing.api.patch(f"/api/v2/dags/{DIGEST_DAG_ID}", {"is_paused": False})
        say(
            f"Airflow UI: {ui_url(host, port)}\n"
            f"  login:    {ADMIN_USER} / {password}   (stored in {passwords_file(settings)})\n"
            f"  {DAG_ID} is unpaused and runs daily; `loop run` submits its cycles here while this runs.\n"
            f"  {DIGEST_DAG_ID} runs whenever a cycle publishes (digests in {settings.exports_dir / 'digests'}).\n"
            "  Ctrl-C or SIGTERM stops every Airflow process."
        )
        while True:
            supervisor.check()
            time.sleep(1.0)
    except KeyboardInterrupt:
        say("Stopping the standing Airflow…")
        stopped = True
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if supervisor is not None:
                supervisor.stop()
        finally:
            signal.signal(signal.SIGTERM, previous_term)
            signal.signal(signal.SIGINT, previous_int)
    if stopped:
        say("Stopped: no Airflow process of this deployment is left running.")
    return 0
