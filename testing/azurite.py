"""Starts the real Azure Tables emulator (Azurite) from the project's node_modules."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from testing.processes import stop_group

# Azurite's published development account; it is not a secret.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(root: Path, port: int, location: Path | None = None) -> list[str]:
    """Azurite's table service on loopback: in memory, or with its tables kept in `location`."""
    storage = ["--location", str(location)] if location else ["--inMemoryPersistence"]
    return [
        str(root / "node_modules" / ".bin" / "azurite-table"),
        *storage,
        "--tableHost",
        "127.0.0.1",
        "--tablePort",
        str(port),
        "--disableTelemetry",
        "--silent",
    ]


def connection_string(port: int) -> str:
    """The connection string for an Azurite table service on this port."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


class Azurite:
    """One Azurite table service process on a free port, in memory."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self._command = command(root, self.port)
        if not Path(self._command[0]).exists():
            raise FileNotFoundError(f"{self._command[0]} is missing: run `npm ci` first")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        """How clients reach this instance."""
        return connection_string(self.port)

    def start(self, timeout: float = 20.0) -> None:
        """Start and wait until the port accepts connections."""
        self._process = subprocess.Popen(
            self._command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise RuntimeError(f"Azurite exited with {self._process.returncode}: {err[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError("Azurite did not start listening in time")

    def stop(self) -> None:
        """Stop the process group (npm's .bin script starts node as a child)."""
        if self._process is not None:
            stop_group(self._process)
