"""Settings: the bot refuses to start on anything unsafe or malformed, and says why."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.settings import Settings, SettingsError
from testing.env import ROOT

GOOD = {
    "MicrosoftAppId": "00000000-0000-0000-0000-000000000001",
    "MicrosoftAppPassword": "pw",
    "MicrosoftAppType": "SingleTenant",
    "MicrosoftAppTenantId": "00000000-0000-0000-0000-0000000000aa",
    "TABLES_CONNECTION_STRING": "UseDevelopmentStorage=true",
    "ANONYMITY_SECRET": "k" * 48,
    "ENTITIES": "DESA=Department of Economic and Social Affairs;DPO=Department of Peace Operations",
    "ALLOWED_TENANT_IDS": "00000000-0000-0000-0000-0000000000AA",
    "ETHICS_ADMIN_IDS": "00000000-0000-0000-0000-0000000000bb",
    "PUBLIC_BASE_URL": "https://dialogue.example.org",
}


def test_good_production_settings_load():
    settings = Settings.from_env(GOOD)
    assert settings.host == "0.0.0.0"
    assert settings.entity("DPO").name == "Department of Peace Operations"
    assert settings.tenant_allowed("00000000-0000-0000-0000-0000000000aa")
    assert not settings.tenant_allowed("00000000-0000-0000-0000-0000000000cc")
    # Public cloud unless told otherwise: botbuilder's defaults, authority validated.
    assert (settings.login_url, settings.oauth_scope, settings.validate_authority) == ("", "", True)


def test_outbound_authority_settings_for_sovereign_or_private_clouds():
    settings = Settings.from_env(
        {
            **GOOD,
            "TO_CHANNEL_FROM_BOT_LOGIN_URL": "https://login.microsoftonline.us/MicrosoftServices/",
            "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": "https://api.botframework.us",
            "VALIDATE_AUTHORITY": "False",
        }
    )
    assert settings.login_url == "https://login.microsoftonline.us/MicrosoftServices"
    assert settings.oauth_scope == "https://api.botframework.us"
    assert settings.validate_authority is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MicrosoftAppId": ""}, "MicrosoftAppId is empty"),
        ({"MicrosoftAppTenantId": ""}, "MicrosoftAppTenantId is required"),
        ({"MicrosoftAppType": "Anything"}, "MicrosoftAppType must be one of"),
        ({"ANONYMITY_SECRET": ""}, "ANONYMITY_SECRET must be at least 32"),
        ({"ANONYMITY_SECRET": "short"}, "ANONYMITY_SECRET must be at least 32"),
        ({"TABLES_CONNECTION_STRING": ""}, "TABLES_CONNECTION_STRING is required"),
        ({"ENTITIES": ""}, "ENTITIES is required"),
        ({"ENTITIES": "desa=lower case code"}, "must be CODE=Name"),
        ({"ENTITIES": "DESA=A;DESA=B"}, "names DESA twice"),
        ({"ALLOWED_TENANT_IDS": ""}, "ALLOWED_TENANT_IDS is empty"),
        ({"ALLOWED_TENANT_IDS": "contoso"}, "must be comma-separated GUIDs"),
        ({"PORT": "http"}, "PORT must be a whole number"),
        ({"TABLE_PREFIX": "no-dashes"}, "TABLE_PREFIX"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL is required"),
        ({"PUBLIC_BASE_URL": "ftp://x"}, "PUBLIC_BASE_URL must be an http"),
        ({"TO_CHANNEL_FROM_BOT_LOGIN_URL": "http://login.x"}, "must be an https URL"),
        ({"VALIDATE_AUTHORITY": "maybe"}, "VALIDATE_AUTHORITY must be true or false"),
        ({"ASSESSMENT_OPEN_DAYS": "0"}, "ASSESSMENT_OPEN_DAYS must be between 1 and 60"),
        ({"ASSESSMENT_OPEN_DAYS": "61"}, "ASSESSMENT_OPEN_DAYS must be between 1 and 60"),
        ({"ASSESSMENT_OPEN_DAYS": "a week"}, "ASSESSMENT_OPEN_DAYS must be a whole number"),
        # A bearer token goes with every Graph request: never in clear off this machine.
        ({"GRAPH_BASE_URL": "http://graph.example.org/v1.0"}, "GRAPH_BASE_URL must be an https"),
        ({"GRAPH_AUTHORITY": "http://login.example.org"}, "GRAPH_AUTHORITY must be the https"),
        ({"GRAPH_AUTHORITY": "https://login.example.org/tenant"}, "without a tenant"),
        ({"GRAPH_AUTHORITY": "https://login.example.org"}, "not a Microsoft authority msal"),
    ],
)
def test_bad_settings_stop_the_start_with_a_clear_message(change, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**GOOD, **change})


def test_graph_defaults_are_microsofts_and_a_stand_in_must_be_trusted_explicitly():
    settings = Settings.from_env(GOOD)
    assert settings.graph_base_url == "https://graph.microsoft.com/v1.0"
    assert settings.graph_authority == "https://login.microsoftonline.com"
    assert settings.graph_scope == "https://graph.microsoft.com/.default"
    local = Settings.from_env(
        {
            **GOOD,
            "GRAPH_BASE_URL": "http://127.0.0.1:8443/v1.0/",
            "GRAPH_AUTHORITY": "https://127.0.0.1:9443",
            "VALIDATE_AUTHORITY": "false",
        }
    )
    assert local.graph_base_url == "http://127.0.0.1:8443/v1.0"
    assert local.graph_scope == "http://127.0.0.1:8443/.default"


def test_appendix_f_stays_open_seven_days_unless_set():
    assert Settings.from_env(GOOD).assessment_open_days == 7
    assert Settings.from_env({**GOOD, "ASSESSMENT_OPEN_DAYS": "14"}).assessment_open_days == 14


def test_dev_mode_allows_no_app_id_and_any_tenant_on_loopback():
    settings = Settings.from_env({**GOOD, "MicrosoftAppId": "", "ALLOWED_TENANT_IDS": ""}, dev=True)
    assert settings.host == "127.0.0.1"
    assert settings.tenant_allowed("anything")


def test_python_m_bot_refuses_to_start_without_app_id():
    env = {k: v for k, v in os.environ.items() if k not in GOOD}
    env.update({**GOOD, "MicrosoftAppId": ""})
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "MicrosoftAppId is empty" in result.stderr
    assert "--dev" in result.stderr
