"""`python -m bot [--dev]`: start the Dialogue Bot server."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings, SettingsError
from bot.teams.logs import AccessLogger, configure


def main(argv: list[str] | None = None) -> int:
    """Read settings, refuse to start on bad ones, then serve until stopped."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "--dev",
        action="store_true",
        help="allow unauthenticated local traffic (no MicrosoftAppId); binds to 127.0.0.1 only",
    )
    args = parser.parse_args(argv)
    configure(os.environ.get("LOG_LEVEL", "INFO").upper(), human=args.dev)
    try:
        settings = Settings.from_env(os.environ, dev=args.dev)
    except SettingsError as error:
        print(f"Dialogue Bot cannot start.\n{error}", file=sys.stderr)
        return 2
    if settings.dev:
        logging.getLogger(__name__).warning(
            "development mode: inbound authentication is off; listening on %s only", settings.host
        )
    try:
        app = create_app(settings)
    except (SettingsError, ValueError) as error:
        # A broken content pack or catalog: say which file and field, then stop.
        print(f"Dialogue Bot cannot start.\n{error}", file=sys.stderr)
        return 2
    web.run_app(
        app, host=settings.host, port=settings.port, print=None, access_log_class=AccessLogger
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
