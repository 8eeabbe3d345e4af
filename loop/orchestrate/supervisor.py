"""Keep every Airflow process of a deployment tied to the ``loop`` command that started it.

``loop run`` and ``loop serve`` never start Airflow themselves: they start this supervisor
(``python -m loop.orchestrate.supervisor``) with a pipe on its stdin and tell it which services to run. The
supervisor

* makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``), so every process the services fork stays
  in its tree even when its own parent exits;
* starts each service in its own session, with ``PR_SET_PDEATHSIG`` = SIGKILL, and its output in
  ``<log-dir>/<service>.log``;
* records itself and every descendant (pid + create time) in its state file (``<airflow_home>/run/supervisor.json``),
  refreshed every couple of seconds;
* stops the whole tree (SIGTERM, a short grace, then SIGKILL) and removes the state file when its stdin reaches EOF
  — the ``loop`` command exited, was killed, or closed the pipe — when it gets SIGTERM or SIGINT, or when a service
  exits on its own (the exit code is then 3 and the reason the last line of its log).

It also holds the Airflow home's lock (``run/supervisor.lock``, an ``flock`` handed over by the ``loop`` command),
so a second ``loop run`` or ``loop serve`` on the same metadata DB sees that a deployment is live. If the supervisor
itself is killed with SIGKILL, its services die with it (PDEATHSIG) and the next start kills whatever is left of
the tree from the state file, checking each pid's create time so that an unrelated process is never touched.

While running it reads JSON lines on stdin: ``{"start": "<name>", "argv": [...]}`` starts one more service.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from loop.errors import LoopError

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

STATE_FILE = "supervisor.json"
LOCK_FILE = "supervisor.lock"
LOG_FILE = "supervisor.log"
REFRESH_SECONDS = 2.0
GRACE_SECONDS = 5.0
EXIT_SERVICE_DIED = 3
CREATE_TIME_TOLERANCE = 0.05


# ----------------------------------------------------------------------------------------------------------------
# process helpers (shared by both sides)
# ----------------------------------------------------------------------------------------------------------------


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)  # the C library the interpreter is linked with


def _prctl(option: int, value: int) -> None:
    libc = _libc()
    if libc.prctl(option, value, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl({option}) failed: {os.strerror(errno)}")


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``sig`` when the process that started it dies (``PR_SET_PDEATHSIG``)."""
    parent = os.getpid()
    libc = _libc()  # loaded before the fork: the child only calls into it

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl: nobody would ever stop us
            os._exit(1)

    return preexec


def _record(process: psutil.Process) -> dict[str, Any] | None:
    try:
        with process.oneshot():
            return {"pid": process.pid, "create_time": process.create_time(), "name": process.name()}
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def matching_process(pid: int, create_time: float) -> psutil.Process | None:
    """The live process ``pid`` if it is the one that was recorded (same create time), else None."""
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - create_time) > CREATE_TIME_TOLERANCE:
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def is_gone(process: psutil.Process) -> bool:
    """True once ``process`` has exited (a zombie counts as exited)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return True
    except psutil.AccessDenied:
        return False


def terminate(
    processes: Iterable[psutil.Process],
    grace: float = GRACE_SECONDS,
    rescan: Callable[[], list[psutil.Process]] | None = None,
    reap: Callable[[], None] | None = None,
) -> list[str]:
    """SIGTERM ``processes`` (plus what ``rescan`` finds meanwhile), wait up to ``grace`` s, then SIGKILL the rest.

    Returns a description of the processes that had to be killed with SIGKILL.
    """
    targets: dict[int, psutil.Process] = {p.pid: p for p in processes}

    def refresh() -> None:
        for process in rescan() if rescan else []:
            if process.pid not in targets:
                targets[process.pid] = process
                _signal(process, signal.SIGTERM)

    for process in targets.values():
        _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if reap:
            reap()
        refresh()
        if all(is_gone(p) for p in targets.values()):
            return []
        time.sleep(0.1)
    # Kill until nothing is left: a dying server may still fork (respawned workers).
    killed: list[str] = []
    for _ in range(50):
        refresh()
        alive = [p for p in targets.values() if not is_gone(p)]
        if not alive:
            break
        for process in alive:
            killed.append(_describe(process))
            _signal(process, signal.SIGKILL)
        time.sleep(0.1)
        if reap:
            reap()
    return killed


def _describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} ({' '.join(process.cmdline())[:120]})"
    except psutil.Error:
        return str(process.pid)


def _signal(process: psutil.Process, sig: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        process.send_signal(sig)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json(path: Path, payload: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


def read_state(state_file: Path) -> dict[str, Any] | None:
    """The supervisor's state file, or None if there is none (or it is unreadable)."""
    try:
        payload = json.loads(state_file.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


# ----------------------------------------------------------------------------------------------------------------
# the supervisor process
# ----------------------------------------------------------------------------------------------------------------


class _Supervisor:
    def __init__(self, state_file: Path, log_dir: Path, info: dict[str, Any], grace: float) -> None:
        self.state_file = state_file
        self.log_dir = log_dir
        self.info = info
        self.grace = grace
        self.me = psutil.Process()
        self.services: dict[str, subprocess.Popen[bytes]] = {}
        self.known: dict[int, dict[str, Any]] = {}
        self.stopping = False
        self.signalled: int | None = None
        self.owner = os.getppid()  # the loop command (recorded now: once it dies, the parent is someone else)

    def log(self, message: str) -> None:
        print(f"{_now()} supervisor[{os.getpid()}]: {message}", file=sys.stderr, flush=True)

    # -- services -----------------------------------------------------------------------------------------------
    def start(self, name: str, argv: list[str]) -> None:
        if name in self.services:
            self.log(f"{name} is already running; not starting it twice")
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        self.services[name] = process
        self.log(f"started {name} (pid {process.pid}): {shlex.join(argv)}")
        self.write_state()

    def reap(self) -> None:
        """Collect every exited child: services, and orphans the subreaper inherited."""
        by_pid = {p.pid: p for p in self.services.values()}
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in by_pid and by_pid[pid].returncode is None:
                by_pid[pid].returncode = os.waitstatus_to_exitcode(status)

    def dead_service(self) -> str | None:
        for name, process in self.services.items():
            if process.returncode is not None:
                return f"the {name} exited with code {process.returncode}; see {self.log_dir / (name + '.log')}"
        return None

    # -- state --------------------------------------------------------------------------------------------------
    def descendants(self) -> list[psutil.Process]:
        try:
            children = self.me.children(recursive=True)
        except psutil.Error:
            return []
        return [c for c in children if not is_gone(c)]

    def write_state(self) -> None:
        for process in self.descendants():
            record = _record(process)
            if record:
                self.known[process.pid] = record
        # Forget what has exited (or whose pid now belongs to someone else).
        self.known = {
            pid: rec for pid, rec in self.known.items() if matching_process(pid, rec["create_time"]) is not None
        }
        me = _record(self.me) or {"pid": os.getpid(), "create_time": 0.0, "name": "supervisor"}
        _write_json(
            self.state_file,
            {
                "supervisor": me,
                "owner": self.owner,
                "info": self.info,
                "stopping": self.stopping,
                "services": {
                    name: {"pid": p.pid, "returncode": p.returncode, "log": str(self.log_dir / f"{name}.log")}
                    for name, p in self.services.items()
                },
                "processes": sorted(self.known.values(), key=lambda r: r["pid"]),
                "updated": _now(),
            },
        )

    # -- commands -----------------------------------------------------------------------------------------------
    def command(self, line: str) -> None:
        try:
            message = json.loads(line)
            name, argv = str(message["start"]), [str(a) for a in message["argv"]]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            self.log(f"ignoring a command it cannot read ({error}): {line[:200]!r}")
            return
        self.start(name, argv)

    # -- main loop ----------------------------------------------------------------------------------------------
    def run(self, services: list[tuple[str, list[str]]]) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        signal.set_wakeup_fd(wake_w)

        def on_stop(signum: int, _frame: object) -> None:
            self.signalled = signum

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select() when a child exits
        signal.signal(
            signal.SIGHUP, lambda *_: None
        )  # no terminal to lose (a handler, unlike SIG_IGN, is not inherited)

        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        self.write_state()
        reason: str | None = None
        exit_code = 0
        stdin = sys.stdin.fileno()
        buffer = b""
        stdin_open = True
        try:
            for name, argv in services:
                self.start(name, argv)
            next_refresh = time.monotonic() + REFRESH_SECONDS
            while reason is None:
                watched = [wake_r] + ([stdin] if stdin_open else [])
                timeout = max(0.0, next_refresh - time.monotonic())
                readable, _, _ = select.select(watched, [], [], timeout)
                if wake_r in readable:
                    with contextlib.suppress(BlockingIOError):
                        while os.read(wake_r, 512):
                            pass
                if stdin in readable:
                    chunk = os.read(stdin, 65536)
                    if not chunk:
                        stdin_open = False
                        reason = "its stdin reached EOF (the loop command exited or closed the pipe)"
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        if line.strip() and reason is None:
                            self.command(line.decode(errors="replace"))
                if self.signalled is not None and reason is None:
                    reason = f"it received {signal.Signals(self.signalled).name}"
                self.reap()
                if reason is None and (died := self.dead_service()):
                    reason, exit_code = died, EXIT_SERVICE_DIED
                if time.monotonic() >= next_refresh:
                    self.write_state()
                    next_refresh = time.monotonic() + REFRESH_SECONDS
        except Exception as error:  # never leave the tree running because of a bug here
            reason, exit_code = f"of an internal error: {type(error).__name__}: {error}", 1
        self.log(f"stopping because {reason}")
        self.shutdown()
        self.log("stopped")
        return exit_code

    def shutdown(self) -> None:
        self.stopping = True
        with contextlib.suppress(OSError):
            self.write_state()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        recorded = [p for pid, rec in self.known.items() if (p := matching_process(pid, rec["create_time"]))]
        killed = terminate(self.descendants() + recorded, grace=self.grace, rescan=self.descendants, reap=self.reap)
        if killed:
            self.log(f"killed with SIGKILL after {self.grace:g} s: {'; '.join(killed)}")
        self.reap()
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()


def _service_spec(text: str) -> tuple[str, list[str]]:
    name, sep, command = text.partition("=")
    if not sep or not name or not command.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=COMMAND")
    return name, shlex.split(command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loop.orchestrate.supervisor",
        description="Run services as one process tree; stop them all when stdin reaches EOF or on SIGTERM/SIGINT.",
    )
    parser.add_argument("--state-file", type=Path, required=True, help="where to record the process tree")
    parser.add_argument("--log-dir", type=Path, required=True, help="each service logs to <log-dir>/<name>.log")
    parser.add_argument("--service", type=_service_spec, action="append", default=[], help="NAME=COMMAND")
    parser.add_argument("--info", type=json.loads, default={}, help="JSON object copied into the state file")
    parser.add_argument("--grace", type=float, default=GRACE_SECONDS, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("--lock-fd", type=int, help="an inherited fd holding the Airflow home's lock (kept open)")
    args = parser.parse_args(argv)
    args.state_file.parent.mkdir(parents=True, exist_ok=True)
    supervisor = _Supervisor(args.state_file, args.log_dir, dict(args.info), args.grace)
    return supervisor.run(list(args.service))


# ----------------------------------------------------------------------------------------------------------------
# the loop command's side
# ----------------------------------------------------------------------------------------------------------------


class DeploymentBusy(LoopError):
    """Another supervisor (``loop run`` or ``loop serve``) holds the Airflow home."""

    def __init__(self, message: str, state: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.state = state


def state_path(run_dir: Path) -> Path:
    return run_dir / STATE_FILE


def _try_lock(run_dir: Path, owner: Mapping[str, Any] | None = None) -> int | None:
    """The home's lock as an fd if nobody holds it (then ``owner`` is written into the lock file), else None."""
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    if owner is not None:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(dict(owner)).encode(), 0)
    return fd


def _lock_owner(run_dir: Path) -> dict[str, Any]:
    return read_state(run_dir / LOCK_FILE) or {}


def live_state(run_dir: Path, wait: float = 15.0) -> dict[str, Any] | None:
    """The state of the live deployment on this Airflow home, or None if there is none.

    A deployment is live while its supervisor (or the ``loop`` command starting it) holds the lock; the state
    file appears once the supervisor runs. If it does not appear within ``wait`` seconds, the state is made up
    from what the lock's owner wrote into the lock file.
    """
    fd = _try_lock(run_dir)
    if fd is not None:
        os.close(fd)
        return None
    deadline = time.monotonic() + wait
    while True:
        state = read_state(state_path(run_dir))
        if state is not None:
            sup = state.get("supervisor", {})
            if matching_process(int(sup.get("pid", 0)), float(sup.get("create_time", 0))) is not None:
                return state
        if time.monotonic() > deadline:
            owner = _lock_owner(run_dir)
            return {"info": owner, "owner": owner.get("pid"), "stopping": False, "starting": True}
        time.sleep(0.2)


def claim_home(run_dir: Path, owner: Mapping[str, Any], wait_for_stopping: float = 60.0) -> int:
    """Lock the Airflow home for a new deployment: an fd to hand over to its supervisor (``pass_fds``).

    Waits for a deployment that is shutting down; raises ``DeploymentBusy`` if one is running.
    """
    deadline = time.monotonic() + wait_for_stopping
    while True:
        fd = _try_lock(run_dir, {**owner, "pid": os.getpid()})
        if fd is not None:
            return fd
        state = live_state(run_dir, wait=2.0)
        if state is not None and (not state.get("stopping") or time.monotonic() > deadline):
            info = state.get("info", {})
            raise DeploymentBusy(
                f"`{info.get('command', 'another loop command')}` (pid {state.get('owner', '?')}) is already running "
                f"Airflow on {run_dir.parent}",
                state,
            )
        time.sleep(0.5)


def kill_survivors(run_dir: Path, grace: float = 5.0) -> list[int]:
    """Kill what a dead deployment left running, as listed in its stale state file; returns the pids killed.

    Call it holding the home's lock (``claim_home``): the supervisor that wrote the file is then gone. Only a
    process whose pid *and* create time match the record is killed (with its descendants), never a process that
    merely reuses a recorded pid.
    """
    path = state_path(run_dir)
    state = read_state(path)
    if state is None:
        path.unlink(missing_ok=True)
        return []
    records = [state.get("supervisor", {}), *state.get("processes", [])]
    found: dict[int, psutil.Process] = {}
    for record in records:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            process = matching_process(int(record["pid"]), float(record["create_time"]))
            if process is None:
                continue
            found[process.pid] = process
            with contextlib.suppress(psutil.Error):
                for child in process.children(recursive=True):
                    found.setdefault(child.pid, child)
    if found:
        terminate(found.values(), grace=grace)
    path.unlink(missing_ok=True)
    return sorted(found)


class Supervisor:
    """The ``loop`` command's handle on a running supervisor: start services, check on it, stop it."""

    def __init__(self, process: subprocess.Popen[bytes], run_dir: Path, log_dir: Path) -> None:
        self.process = process
        self.run_dir = run_dir
        self.log_dir = log_dir

    @classmethod
    def launch(
        cls,
        *,
        run_dir: Path,
        log_dir: Path,
        env: Mapping[str, str],
        services: Mapping[str, list[str]],
        info: Mapping[str, Any],
        lock_fd: int | None = None,
        grace: float = GRACE_SECONDS,
    ) -> Supervisor:
        """Start the supervisor (own session, stdin a pipe held by this process) and its first services."""
        log_dir.mkdir(parents=True, exist_ok=True)
        args = [
            sys.executable,
            "-m",
            "loop.orchestrate.supervisor",
            "--state-file",
            str(state_path(run_dir)),
            "--log-dir",
            str(log_dir),
            "--info",
            json.dumps(dict(info)),
            "--grace",
            str(grace),
        ]
        for name, argv in services.items():
            args += ["--service", f"{name}={shlex.join(argv)}"]
        if lock_fd is not None:
            args += ["--lock-fd", str(lock_fd)]
        with (log_dir / LOG_FILE).open("ab") as log:
            process = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                start_new_session=True,
                pass_fds=(lock_fd,) if lock_fd is not None else (),
            )
        return cls(process, run_dir, log_dir)

    @property
    def pid(self) -> int:
        return self.process.pid

    def start_service(self, name: str, argv: list[str]) -> None:
        """Ask the supervisor to start one more service."""
        self.check()
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps({"start": name, "argv": argv}) + "\n").encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            self.check()
            raise

    def reason(self) -> str:
        """Why the supervisor stopped, from the last line of its log."""
        with contextlib.suppress(OSError):
            for line in reversed((self.log_dir / LOG_FILE).read_text(errors="replace").splitlines()):
                if "stopping because " in line:
                    return line.split("stopping because ", 1)[1]
        return f"it exited with code {self.process.returncode}; see {self.log_dir / LOG_FILE}"

    def check(self) -> None:
        """Raise a ``LoopError`` if the supervisor (and so the deployment) has stopped."""
        if self.process.poll() is not None:
            raise LoopError(f"The Airflow deployment stopped because {self.reason()}.")

    def stop(self, timeout: float = 60.0) -> None:
        """Close the pipe (the supervisor stops the whole tree) and wait for the supervisor to exit."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=GRACE_SECONDS + 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def claimed(run_dir: Path, owner: Mapping[str, Any]) -> Iterator[int]:
    """``claim_home`` for a ``with`` block: the lock fd, closed here at the end of the block (the supervisor
    launched within keeps its own copy, and so the lock)."""
    fd = claim_home(run_dir, owner)
    try:
        yield fd
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
