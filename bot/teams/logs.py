"""Structured logs: one JSON object a line (short human lines in `--dev`), with the correlation id.

What goes in: ids, verbs, counts, types of errors. What never goes in: names, e-mails, typed
text or answers — log calls pass only such values, and export links are redacted.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

_CORRELATION: contextvars.ContextVar[str] = contextvars.ContextVar("correlation", default="-")
# Everything after /exports/ may be (part of) a link's token, whatever it contains: a
# token cut at a space or a slash would still leak its other half. In a message, up to the end
# of the line; in a request path (which may hold a decoded newline), up to its end.
_TOKEN_IN_TEXT = re.compile(r"/exports/.*", re.IGNORECASE)
_TOKEN_IN_PATH = re.compile(r"/exports/.*", re.IGNORECASE | re.DOTALL)


def install_correlation() -> None:
    """Stamp every log record with the correlation id current when it is created."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_correlation", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.correlation = _CORRELATION.get()
        return record

    factory.stamps_correlation = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def new_correlation(activity_id: str | None) -> str:
    """Start a correlation id for this request: the activity's id, else a fresh one."""
    value = (activity_id or "")[:64] or uuid.uuid4().hex[:16]
    _CORRELATION.set(value)
    return value


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "correlation": getattr(record, "correlation", "-"),
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            # The type and where it happened; exception messages may quote user input.
            entry["error"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
            trace = self.formatStack(self.formatException(record.exc_info))[-4000:]
            entry["trace"] = redact(trace)
        return json.dumps(entry, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    """One short line a record, for a person watching `make run`'s console."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        line = f"{stamp} {record.levelname:<7} {record.name}: {redact(record.getMessage())}"
        if record.exc_info and record.exc_info[0]:
            # The type only: the trace is in the JSON logs of a real deployment.
            line += f" [{record.exc_info[0].__name__}]"
        return line


class AccessLogger(AbstractAccessLogger):
    """HTTP access lines without export tokens (a link is a short-lived credential)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """Log method, path (redacted), status and duration; failures as warnings."""
        path = _TOKEN_IN_PATH.sub("/exports/…", request.path)
        level = logging.WARNING if response.status >= 500 else logging.INFO
        self.logger.log(
            level, "http %s %s %s %.0fms", request.method, path, response.status, time * 1000
        )


def redact(text: str) -> str:
    """The text with export tokens cut out (each is a short-lived credential)."""
    return _TOKEN_IN_TEXT.sub("/exports/…", text)


def configure(level: str, *, human: bool = False) -> None:
    """Send JSON lines (or, for a person at the console, short lines) to stderr.

    In the human form the access lines of answered requests are left out: every click makes
    one, and they would push `make run`'s banner off the screen.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(HumanFormatter() if human else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("azure").setLevel(logging.WARNING)
    if human:
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
