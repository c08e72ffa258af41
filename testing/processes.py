"""Child processes of tests, benchmarks and `make run`: starting, watching and stopping them.

Every child leads its own process group (npm's .bin scripts start node as a grandchild), so a
stop reaches the whole group, and a terminal's Ctrl-C reaches only the supervisor.
"""

from __future__ import annotations

import errno
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

STOP_GRACE_SECONDS = 8.0
LOG_TAIL_LINES = 40


class StartupError(RuntimeError):
    """Something could not start; the message says what and where to look."""


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process's group and wait; SIGKILL the group if it does not end in time."""
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def shown(path: Path) -> str:
    """A path relative to the working directory where possible, for messages."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def port_holder(port: int) -> str | None:
    """The loopback address (127.0.0.1 or ::1) on which something already holds this port."""
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            sock = socket.socket(family)
        except OSError:
            continue  # no IPv6 on this machine: nothing can hold ::1
        with sock:
            # Lingering TIME_WAIT connections from a previous run must not count as "in use".
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except OSError as error:
                # A machine without an IPv6 loopback answers EADDRNOTAVAIL: not "in use".
                if error.errno == errno.EADDRNOTAVAIL:
                    continue
                return address
    return None


def port_in_use(port: int) -> bool:
    """Whether something already holds this port on either loopback address.

    A program holding only ::1 is reached by "localhost" first on many machines, so a port free
    on 127.0.0.1 alone would start, then hang until a client gave up.
    """
    return port_holder(port) is not None


def accepts(port: int) -> bool:
    """Whether a loopback port accepts connections."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def http_get(url: str, timeout: float = 1.0) -> tuple[int, str] | None:
    """GET a loopback URL without any proxy; None when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, response.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (OSError, ValueError):
        return None


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, indented, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "    (no log)"
    last = text.splitlines()[-lines:]
    return "\n".join("    " + line for line in last) or "    (empty log)"


@dataclass
class Child:
    """One supervised process, the leader of its own process group."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_signal: signal.Signals = signal.SIGTERM
    pump: threading.Thread | None = None


@dataclass
class Supervisor:
    """Starts children in their own process groups and stops them all, last started first."""

    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        command: list[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
        echo: bool = False,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> Child:
        """Start a command with output to `log` (and to the terminal, prefixed, if `echo`)."""
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("wb")
        try:
            # Own session: the terminal's Ctrl-C reaches only us, and we stop the whole group.
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if echo else handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            handle.close()
            raise StartupError(f"cannot start {name} ({shlex.join(command)}): {error}") from error
        child = Child(name, process, log, stop_signal)
        if echo and process.stdout is not None:
            child.pump = threading.Thread(
                target=_pump, args=(process.stdout, handle, f"[{name}] "), daemon=True
            )
            child.pump.start()
        else:
            handle.close()
        self.children.append(child)
        return child

    def exited(self) -> Child | None:
        """The first child that has exited, if any (left unreaped until stop_all)."""
        return next((c for c in self.children if exit_status(c.process)), None)

    def stop_all(self) -> None:
        """Stop each process group, last started first, so the bot finishes before its storage."""
        for child in reversed(self.children):
            if child.process.returncode is None:
                if not exit_status(child.process):
                    _signal_group(child.process, child.stop_signal)
                    _wait_unreaped(child.process, STOP_GRACE_SECONDS)
                # Grandchildren may outlive the leader; the group kill reaches them too. The
                # leader is not reaped yet, so its id (the group's id) cannot have been reused.
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
            if child.pump is not None:
                child.pump.join(timeout=2)


def exit_status(process: subprocess.Popen[bytes]) -> str:
    """How the process ended ("exited with code 1", "was killed by SIGKILL"), or "" if running.

    It peeks without reaping, so the process group id stays reserved until stop_all.
    """
    if process.returncode is not None:
        return f"exited with code {process.returncode}"
    try:
        result = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return "exited"
    if result is None:
        return ""
    if result.si_code == os.CLD_EXITED:
        return f"exited with code {result.si_status}"
    return f"was killed by {signal.Signals(result.si_status).name}"


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal a child's process group, ignoring groups already gone."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_unreaped(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until the process exits or the timeout passes, leaving it for Popen to reap."""
    deadline = time.monotonic() + timeout
    while not exit_status(process) and time.monotonic() < deadline:
        time.sleep(0.05)


def _pump(source: IO[bytes], log: IO[bytes], prefix: str) -> None:
    """Copy a child's output to its log file and to our terminal."""
    with log:
        for line in iter(source.readline, b""):
            log.write(line)
            log.flush()
            sys.stdout.write(prefix + line.decode("utf-8", "replace"))
            sys.stdout.flush()


def wait_until(
    ready: Callable[[], bool], supervisor: Supervisor, child: Child, what: str, timeout: float
) -> None:
    """Poll `ready` until true; fail early if any child exits, or at the timeout."""
    deadline = time.monotonic() + timeout
    while not ready():
        dead = supervisor.exited()
        if dead is not None:
            raise StartupError(
                f"{dead.name} {exit_status(dead.process)} while waiting for "
                f"{what}. Last lines of {shown(dead.log)}:\n{tail(dead.log)}"
            )
        if time.monotonic() > deadline:
            raise StartupError(
                f"{what} did not answer within {timeout:.0f} s. "
                f"Last lines of {shown(child.log)}:\n{tail(child.log)}"
            )
        time.sleep(0.2)


@dataclass
class BotProcess:
    """One bot process and where it listens; its output goes to `log_path`."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        """The process's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        """The end of what the process printed, for failure messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def errors_logged(self) -> int:
        """Lines the process logged at ERROR (unhandled errors, failed background work)."""
        if not self.log_path.exists():
            return 0
        return sum(1 for line in self.log_path.open(errors="replace") if '"level": "ERROR"' in line)

    def peak_rss_mb(self) -> float:
        """VmHWM: the most resident memory the process has had, in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def wait_healthy(self, timeout: float = 60.0, poll: float = 0.1) -> float:
        """Block until GET /healthz answers 200 and return when (monotonic); fail with the
        process's output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(poll)
        raise TimeoutError(f"{self.name} never answered /healthz with 200:\n{self.log_tail()}")

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (the bot flushes pending card updates and messages), SIGKILL if it hangs."""
        stop_group(self.process, timeout)
