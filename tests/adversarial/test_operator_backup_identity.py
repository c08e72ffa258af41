"""An operator who runs the backups must not be able to read the anonymity secret.

The backup reads the tables with the storage connection string from Key Vault. A role on the
whole vault would also hand it the anonymity secret, the key of every poll and Appendix F hash:
with the tables and that key, the open polls' votes and a session's only answer are linkable.
So the backup identity's role is scoped to the one secret it needs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AZURE = ROOT / "deploy" / "azure"
TEMPLATE = json.loads((AZURE / "main.json").read_text(encoding="utf-8"))
SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"
TABLES_SECRET_SCOPE = (
    "[format('Microsoft.KeyVault/vaults/{0}/secrets/{1}', parameters('keyVaultName'), "
    "parameters('tablesConnectionSecretName'))]"
)
VAULT_SCOPE = "[format('Microsoft.KeyVault/vaults/{0}', parameters('keyVaultName'))]"


def grants() -> list[dict[str, Any]]:
    return [
        r for r in TEMPLATE["resources"] if r["type"] == "Microsoft.Authorization/roleAssignments"
    ]


def backup_grants() -> list[dict[str, Any]]:
    return [g for g in grants() if "backupPrincipalId" in g["properties"]["principalId"]]


def test_the_template_grants_the_backup_identity_the_connection_secret_only():
    parameter = TEMPLATE["parameters"]["backupPrincipalId"]
    assert parameter["type"] == "string" and parameter["defaultValue"] == ""
    (grant,) = backup_grants()
    assert grant["scope"] == TABLES_SECRET_SCOPE
    assert "variables('keyVaultSecretsUserRole')" in grant["properties"]["roleDefinitionId"]
    # Only when a backup identity is named; none by default.
    assert grant["condition"] == "[not(empty(parameters('backupPrincipalId')))]"
    assert any("tablesConnectionSecretName" in d for d in grant["dependsOn"])


def test_no_grant_but_the_apps_own_reaches_the_anonymity_secret():
    app_identity = "parameters('identityName')"
    for grant in grants():
        reaches_vault = grant["scope"] == VAULT_SCOPE
        reaches_secret = "anonymitySecretName" in grant["scope"]
        if reaches_vault or reaches_secret:
            assert app_identity in grant["properties"]["principalId"], grant["name"]


def test_the_bicep_source_scopes_the_backup_grant_to_the_secret():
    pycep = pytest.importorskip("pycep", reason="pycep-parser (a dev dependency) parses Bicep")
    bicep = pycep.BicepParser(cache=False).parse(file_path=AZURE / "main.bicep")
    found = []
    for resource in bicep["resources"].values():
        config = resource["config"]
        # A conditional resource (`= if (...) {...}`) nests its body under a second "config".
        body = config.get("config", config)
        if resource["type"] == "Microsoft.Authorization/roleAssignments" and (
            "backupPrincipalId" in json.dumps(body["properties"]["principalId"])
        ):
            found.append((config, body))
    ((config, grant),) = found
    assert grant["scope"] == "tablesConnectionSecret"
    assert "backupPrincipalId" in json.dumps(config["condition"])


def test_the_runbook_grants_the_backup_operator_the_connection_secret_not_the_vault():
    runbook = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    backups = runbook.split("### Backups and exports", 1)[1].split("\n### ", 1)[0]
    # Shell continuation lines joined, so each command is one line.
    commands = re.findall(r"az role assignment create[^\n]*", backups.replace("\\\n", " "))
    assert commands, "the backup section names the backup operator's role"
    for command in commands:
        assert "/secrets/tables-connection-string" in command, command
    assert "backupPrincipalId" in backups
