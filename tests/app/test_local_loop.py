"""`make run` tells the truth quickly: taken ports on either loopback, short console lines."""

from __future__ import annotations

import logging
import socket

import pytest

from bot.teams.logs import HumanFormatter, JsonFormatter
from scripts import run_local
from testing.azurite import free_port
from testing.processes import port_holder, port_in_use


def _listen(family: socket.AddressFamily, address: str) -> socket.socket:
    sock = socket.socket(family)
    sock.bind((address, 0))
    sock.listen()
    return sock


def test_a_port_held_on_ipv4_loopback_is_named_with_its_address() -> None:
    with _listen(socket.AF_INET, "127.0.0.1") as held:
        port = held.getsockname()[1]
        assert port_holder(port) == "127.0.0.1"
        assert port_in_use(port)


def test_a_port_held_only_on_ipv6_loopback_counts_as_taken() -> None:
    try:
        held = _listen(socket.AF_INET6, "::1")
    except OSError:
        pytest.fail("this machine has no IPv6 loopback: the check cannot be shown here")
    with held:
        port = held.getsockname()[1]
        assert port_holder(port) == "::1"


def test_a_free_port_is_free() -> None:
    assert port_holder(free_port()) is None


def test_run_local_refuses_a_taken_port_at_once_naming_the_setting(monkeypatch) -> None:
    with _listen(socket.AF_INET6, "::1") as held:
        monkeypatch.setattr(run_local, "PLAYGROUND_PORT", held.getsockname()[1])
        monkeypatch.setattr(run_local.azurite, "command", lambda *a: ["/bin/true"])
        monkeypatch.setattr(run_local, "PLAYGROUND_BIN", run_local.Path("/bin/true"))
        status = run_local.main([])
    assert status == 1


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("bot.signin", logging.INFO, __file__, 1, message, args, None)


def test_the_console_format_is_one_short_line_without_export_tokens() -> None:
    record = _record("export link %s served", "/exports/abc.def-secret")
    human = HumanFormatter().format(record)
    assert human.endswith("INFO    bot.signin: export link /exports/…")
    assert "secret" not in human and not human.startswith("{")
    assert JsonFormatter().format(record).startswith("{")


def test_the_banner_says_what_carries_over_and_how_to_mention() -> None:
    config = run_local.parse_yaml_subset(run_local.PLAYGROUND_CONFIG.read_text(encoding="utf-8"))
    text = run_local.banner(config, 3978, switched=True)
    assert "What carries over: the data" in text
    assert "picked" in text and "sheet" in text
    assert "The bot was asked" in text
    assert "The bot was asked" not in run_local.banner(config, 3978)
