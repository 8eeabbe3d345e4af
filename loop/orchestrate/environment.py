"""The environment every Airflow process of the project runs with, shared by ``loop run`` and ``loop serve``.

Both modes run Airflow on the embedded defaults — a SQLite metadata DB and the LocalExecutor under
``<data_dir>/airflow`` — and differ only in a few settings:

* **embedded** (``loop run``): the API server listens on 127.0.0.1 on a free port, every request is an admin
  (``simple_auth_manager_all_admins``), and the scheduler runs with ``use_job_schedule = False`` so it only runs
  the backfills it is asked for.
* **standing** (``loop serve``): the API server and UI listen on ``serve_host:serve_port``, the simple auth
  manager asks for a login (one ``admin`` user, password in a 0600 file), and the scheduler runs the daily
  schedule.

``migrate`` creates or upgrades the metadata DB once per Airflow version.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from loop.errors import LoopError
from loop.settings import Settings

DAG_ID = "loop_cycle"
#: Consumes the cycle publication's Asset; unpaused by `loop serve` (a `loop run` stops before it would run).
DIGEST_DAG_ID = "loop_digest"
"""The one DAG of the project (``dags/loop_cycle.py``)."""

ADMIN_USER = "admin"
"""The login of the standing deployment (simple auth manager, role ADMIN)."""

PASSWORD_ENV = "LOOP_SERVE_PASSWORD"
"""Sets the standing deployment's admin password instead of a generated one."""


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def airflow_executable() -> str:
    """The ``airflow`` command of the running interpreter's environment."""
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def connect_host(host: str) -> str:
    """The address (URL form) a local client uses to reach a server bound to ``host`` (wildcards mean loopback)."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def run_dir(settings: Settings) -> Path:
    """Where the running deployment's supervisor keeps its state file and lock."""
    return settings.airflow_home / "run"


def services_log_dir(settings: Settings) -> Path:
    """Where the Airflow services (and their supervisor) write their logs."""
    return settings.airflow_home / "logs" / "services"


def passwords_file(settings: Settings) -> Path:
    """The simple auth manager's passwords file of the standing deployment (mode 0600)."""
    return settings.airflow_home / "passwords.json"


def _secret(home: Path) -> str:
    secret_file = home / ".secret"
    if not secret_file.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return secret_file.read_text().strip()


#: Modules the executor's forkserver imports once for every cycle task.
TASK_PRELOAD = ("airflow.sdk", "pandas", "duckdb", "great_expectations", "loop.cycle", "loop.validation")


def airflow_env(
    settings: Settings,
    port: int,
    *,
    standing: bool = False,
    host: str = "127.0.0.1",
) -> dict[str, str]:
    """The environment of every Airflow process (and so of every task) of one deployment.

    ``standing`` selects ``loop serve``'s settings (login, daily schedule, ``host``); otherwise the embedded ones.
    """
    home = settings.airflow_home
    secret = _secret(home)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW__")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "LOOP_DATA_DIR": str(settings.root),
            "LOOP_TIMEZONE": settings.timezone,  # the DAG's data intervals are business days in it
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            # Task processes fork from executor workers that fork from a forkserver which has already imported
            # the heavy libraries a cycle task needs (Great Expectations alone takes seconds to import): each
            # task inherits them copy-on-write instead of importing them again.
            "AIRFLOW__CORE__MP_START_METHOD": "forkserver",
            "AIRFLOW__CORE__MP_FORKSERVER_PRELOAD": ",".join(TASK_PRELOAD),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{connect_host(host)}:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False" if standing else "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__API__HOST": host,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API_AUTH__JWT_SECRET": secret,
            "AIRFLOW__API__SECRET_KEY": secret,
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True" if standing else "False",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "GX_ANALYTICS_ENABLED": "false",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.dags_dir.parent), os.environ.get("PYTHONPATH")])),
        }
    )
    if standing:
        env.update(
            {
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(settings)),
            }
        )
    return env


def migrate(settings: Settings, env: dict[str, str]) -> None:
    """Create or upgrade Airflow's SQLite metadata DB once per Airflow version."""
    import airflow

    marker = settings.airflow_home / ".migrated"
    if marker.exists() and marker.read_text() == airflow.__version__:
        return
    completed = subprocess.run(
        [airflow_executable(), "db", "migrate"], env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
        raise LoopError(f"Airflow could not set up its metadata database: {tail}")
    marker.write_text(airflow.__version__)
