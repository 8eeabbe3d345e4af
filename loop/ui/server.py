"""`loop ui`: the Streamlit app of :mod:`loop.ui` served on 127.0.0.1, in the foreground.

The app runs as ``python -m streamlit run loop/ui/app.py`` in a child process with loop's settings passed on as
``LOOP_*`` variables, headless, without file watching, usage statistics or development mode; it is ready when
``/_stcore/health`` answers ``ok``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import webbrowser
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from loop.errors import LoopError
from loop.settings import Settings

#: The script `streamlit run` starts (beside no `pages/` folder, see loop/ui/app.py).
APP = Path(__file__).parent / "entry" / "streamlit_app.py"
HOST = "127.0.0.1"
DEFAULT_PORT = 8501
#: How long `loop ui` waits for the app to answer before giving up.
START_TIMEOUT_SECONDS = 60.0


def environment(settings: Settings) -> dict[str, str]:
    """This process's environment with every loop setting as its ``LOOP_*`` variable (the app reads the same)."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"LOOP_{name.upper()}"] = str(value)
    env["LOOP_DATA_DIR"] = str(settings.root)
    return env


def command(port: int) -> list[str]:
    """The command line that serves the app on ``127.0.0.1:port``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        HOST,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--theme.base",
        "light",
    ]


def free_port() -> int:
    """A port nobody listens on right now (the system's pick)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """Start the app in a child process (its output goes to this process's)."""
    return subprocess.Popen(command(port), env=environment(settings), stdin=subprocess.DEVNULL)


def url(port: int) -> str:
    return f"http://{HOST}:{port}"


def wait_ready(
    base_url: str, timeout: float = START_TIMEOUT_SECONDS, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until the app's health check answers ``ok``; fail if it does not within ``timeout`` seconds or if
    ``process`` ends first."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise LoopError(f"The app stopped before it was ready (exit code {process.returncode}).")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.status == 200 and response.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise LoopError(f"The app did not answer at {base_url} within {timeout:.0f} s.")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop the app: terminate, then kill if it does not end within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(settings: Settings, port: int | None, open_browser: bool = False, say: Callable[[str], None] = print) -> int:
    """Serve the pages on 127.0.0.1 until interrupted (Ctrl-C); print the address once it answers."""
    chosen = DEFAULT_PORT if port is None else (free_port() if port == 0 else port)
    process = start(settings, chosen)
    # A termination signal stops the app too (the finally below), not only Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        wait_ready(url(chosen), process=process)
        say(f"loop ui: {url(chosen)}  (reading {settings.published_dir}; Ctrl-C stops it)")
        if open_browser:
            webbrowser.open(url(chosen))
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(process)
