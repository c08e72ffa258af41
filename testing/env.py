"""Where the repository is, and the settings every test's bot runs with."""

from __future__ import annotations

from pathlib import Path

from testing.azurite import Azurite
from testing.teams import TENANT

ROOT = Path(__file__).resolve().parent.parent
ENTITIES = (
    "DESA=Department of Economic and Social Affairs;"
    "DPO=Department of Peace Operations;"
    "OICT=Office of Information and Communications Technology"
)


def bot_env(azurite: Azurite, prefix: str) -> dict[str, str]:
    """The settings every test's bot runs with: the session's Azurite, its own tables."""
    return {
        "TABLES_CONNECTION_STRING": azurite.connection_string,
        "ANONYMITY_SECRET": "test-secret-" + "x" * 40,
        "ENTITIES": ENTITIES,
        "ALLOWED_TENANT_IDS": TENANT,
        "TABLE_PREFIX": prefix,
        "CARD_UPDATE_INTERVAL_SECONDS": "0.2",
        "DIALOGUE_CYCLE": "2026",
    }
