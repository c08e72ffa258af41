"""Offline checks of deploy/azure: the ARM template, its Bicep source, and the app's zip."""

from __future__ import annotations

import importlib.util
import json
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
AZURE = ROOT / "deploy" / "azure"
TEMPLATE = json.loads((AZURE / "main.json").read_text(encoding="utf-8"))
SECRETS = {"microsoftAppPassword", "anonymitySecret"}
# Settings that hold a secret: in the app settings only as Key Vault references.
SECRET_SETTINGS = {"MicrosoftAppPassword", "ANONYMITY_SECRET", "TABLES_CONNECTION_STRING"}
# Key Vault Secrets User: reads secret values and nothing else.
SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"
KV_REFERENCE = re.compile(
    r"^\[format\('@Microsoft\.KeyVault\(VaultName=\{0\};SecretName=\{1\}\)', "
    r"parameters\('keyVaultName'\), parameters\('(\w+)'\)\)\]$"
)
PARAMETER = re.compile(r"^\[parameters\('(\w+)'\)\]$")


def resources(kind: str) -> list[dict[str, Any]]:
    """Every resource of one type."""
    return [r for r in TEMPLATE["resources"] if r["type"] == kind]


def one(kind: str) -> dict[str, Any]:
    """The single resource of this type."""
    (found,) = resources(kind)
    return found


def app_settings() -> dict[str, str]:
    """The web app's application settings."""
    (config,) = [
        r for r in resources("Microsoft.Web/sites/config") if r["name"].endswith("'appsettings')]")
    ]
    return config["properties"]


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[") and value.endswith("]")


def test_every_name_is_an_expression_of_parameters():
    for resource in TEMPLATE["resources"]:
        name = resource["name"]
        assert is_expression(name), f"{resource['type']} has a literal name {name!r}"
        assert "parameters(" in name, f"{resource['type']} name does not come from a parameter"
    for name, parameter in TEMPLATE["parameters"].items():
        if name.endswith("Name") and "defaultValue" in parameter:
            default = parameter["defaultValue"]
            # Generated defaults stay unique per resource group; fixed ones are child names.
            assert "uniqueString(resourceGroup().id)" in default or not is_expression(default)


def test_parameters_are_typed_and_described_and_secrets_are_secure():
    types = {"string", "securestring", "int", "bool", "object", "array", "secureObject"}
    used = json.dumps([TEMPLATE["parameters"], TEMPLATE["resources"], TEMPLATE["outputs"]])
    for name, parameter in TEMPLATE["parameters"].items():
        assert parameter["type"] in types, name
        assert parameter["metadata"]["description"], name
        assert f"parameters('{name}')" in used, f"{name} is declared but never used"
        looks_secret = re.search(r"(password|secret)$", name, re.IGNORECASE)
        assert bool(looks_secret) == (parameter["type"] == "securestring"), name
    assert {n for n, p in TEMPLATE["parameters"].items() if p["type"] == "securestring"} == SECRETS
    for name in SECRETS:
        assert "defaultValue" not in TEMPLATE["parameters"][name]
        # A secret goes into Key Vault and nowhere else: not app settings, not outputs.
        uses = [r for r in TEMPLATE["resources"] if f"parameters('{name}')" in json.dumps(r)]
        assert [r["type"] for r in uses] == ["Microsoft.KeyVault/vaults/secrets"], name
        assert f"parameters('{name}')" not in json.dumps(TEMPLATE["outputs"])
    assert TEMPLATE["parameters"]["anonymitySecret"]["minLength"] == 32


def test_api_versions_are_dates_and_dependencies_are_declared():
    declared = {r["type"] for r in TEMPLATE["resources"]}
    for resource in TEMPLATE["resources"]:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", resource["apiVersion"]), resource
        for dependency in resource.get("dependsOn", []):
            kind = re.match(r"^\[(?:extension)?[rR]esourceId\(.*?'([\w./]+)', ", dependency)
            assert kind and kind[1] in declared, dependency
    assert TEMPLATE["$schema"].endswith("/2019-04-01/deploymentTemplate.json#")


def test_the_web_app_runs_python_311_over_https_with_a_health_check():
    plan = one("Microsoft.Web/serverfarms")
    assert plan["kind"] == "linux" and plan["properties"]["reserved"] is True
    assert plan["sku"]["capacity"] == "[parameters('instanceCount')]"
    assert TEMPLATE["parameters"]["instanceCount"]["type"] == "int"
    site = one("Microsoft.Web/sites")
    assert site["kind"] == "app,linux"
    properties = site["properties"]
    assert properties["httpsOnly"] is True
    # No affinity cookie: any instance may serve any request (all state is in the tables).
    assert properties["clientAffinityEnabled"] is False
    config = properties["siteConfig"]
    assert config["linuxFxVersion"] == "PYTHON|3.11"
    assert config["appCommandLine"] == "python -m bot"
    assert config["healthCheckPath"] == "/healthz"
    assert config["alwaysOn"] is True
    assert config["minTlsVersion"] == "1.2" and config["ftpsState"] == "Disabled"
    identity = (
        "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', "
        "parameters('identityName'))]"
    )
    assert site["identity"]["type"] == "UserAssigned"
    assert properties["keyVaultReferenceIdentity"] == identity
    ftp = one("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert ftp["properties"]["allow"] is False


def _required_settings() -> set[str]:
    """Every variable Settings.from_env names as missing in production."""
    names: set[str] = set()
    guid = "00000000-0000-0000-0000-000000000001"
    for env in ({}, {"MicrosoftAppId": guid, "MicrosoftAppType": "SingleTenant"}):
        with pytest.raises(SettingsError) as refused:
            Settings.from_env(env, dev=False)
        for problem in str(refused.value).splitlines()[1:]:
            names.add(problem.strip().removeprefix("- ").split(" ", 1)[0])
    return names


def test_app_settings_hold_every_setting_the_bot_requires_in_production():
    required = _required_settings()
    assert {"MicrosoftAppId", "MicrosoftAppTenantId", "TABLES_CONNECTION_STRING"} <= required
    settings = app_settings()
    assert required <= settings.keys(), required - settings.keys()
    assert settings["MicrosoftAppType"] == "SingleTenant"
    assert settings["PORT"] == settings["WEBSITES_PORT"] == "8000"
    assert settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] == "true"
    assert "MicrosoftAppPassword" in settings
    secret_names = {
        r["name"].split("parameters('")[-1].split("'")[0]
        for r in resources("Microsoft.KeyVault/vaults/secrets")
    }
    for name, value in settings.items():
        reference = KV_REFERENCE.match(value)
        assert bool(reference) == (name in SECRET_SETTINGS), name
        if reference:
            assert reference[1] in secret_names, name


def test_the_settings_the_template_writes_are_accepted_by_the_bot():
    """Resolve each setting as Azure would, with sample values, and start the bot's parser."""
    samples = {
        "microsoftAppId": "11111111-2222-3333-4444-555555555555",
        "microsoftAppTenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "allowedTenantIds": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "ethicsAdminIds": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "entities": "DESA=Department of Economic and Social Affairs",
    }
    secrets = {
        "appPasswordSecretName": "client-secret",
        "anonymitySecretName": "s" * 48,
        "tablesConnectionSecretName": "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=",
    }
    env = {}
    for name, value in app_settings().items():
        parameter = PARAMETER.match(value)
        reference = KV_REFERENCE.match(value)
        if not is_expression(value):
            env[name] = value
        elif parameter:
            default = TEMPLATE["parameters"][parameter[1]].get("defaultValue")
            env[name] = samples.get(parameter[1], default)
            assert isinstance(env[name], str), name
        elif reference:
            env[name] = secrets[reference[1]]
        elif name == "ASSESSMENT_MIN_ANSWERS":
            env[name] = str(TEMPLATE["parameters"]["assessmentMinAnswers"]["defaultValue"])
        elif name == "PUBLIC_BASE_URL":
            assert value.startswith("[format('https://{0}', ")
            env[name] = "https://dialogue-bot-x.azurewebsites.net"
        elif name == "WEB_SSO_RESOURCE":
            assert value.startswith("[format('api://{0}/{1}', ")
            assert value.endswith("parameters('microsoftAppId'))]")
            env[name] = f"api://dialogue-bot-x.azurewebsites.net/{env['MicrosoftAppId']}"
        elif name == "APPLICATIONINSIGHTS_CONNECTION_STRING":
            assert ".ConnectionString]" in value
            env[name] = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
        else:
            raise AssertionError(f"{name}: unexpected expression {value}")
    settings = Settings.from_env(env, dev=False)
    assert settings.port == 8000 and settings.app_type == "SingleTenant"
    assert settings.host == "0.0.0.0" and settings.table_prefix == "dlg"
    assert settings.web_sso_resource.endswith("/" + settings.app_id)


def test_storage_refuses_public_blobs_old_tls_and_plain_http():
    storage = one("Microsoft.Storage/storageAccounts")
    assert storage["kind"] == "StorageV2"
    properties = storage["properties"]
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True
    assert properties["allowSharedKeyAccess"] == "[parameters('allowSharedKeyAccess')]"
    assert TEMPLATE["parameters"]["allowSharedKeyAccess"] == {
        **TEMPLATE["parameters"]["allowSharedKeyAccess"],
        "type": "bool",
        "defaultValue": True,
    }


def test_key_vault_uses_rbac_soft_delete_and_purge_protection_and_the_app_may_read_it():
    vault = one("Microsoft.KeyVault/vaults")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enableSoftDelete"] is True and vault["enablePurgeProtection"] is True
    secrets = resources("Microsoft.KeyVault/vaults/secrets")
    values = " ".join(s["properties"]["value"] for s in secrets)
    for name in SECRETS:
        assert f"parameters('{name}')" in values
    assert "listKeys(" in values  # the connection string is written by the template itself
    # The app's own grant (a backup identity may have another, on one secret only).
    (grant,) = [
        g
        for g in resources("Microsoft.Authorization/roleAssignments")
        if "parameters('identityName')" in g["properties"]["principalId"]
    ]
    assert SECRETS_USER_ROLE in json.dumps(TEMPLATE["variables"])
    assert "variables('keyVaultSecretsUserRole')" in grant["properties"]["roleDefinitionId"]
    assert "parameters('identityName')" in grant["properties"]["principalId"]
    assert grant["scope"] == "[format('Microsoft.KeyVault/vaults/{0}', parameters('keyVaultName'))]"
    # The settings wait for the grant: Key Vault references resolve only once it exists.
    (config,) = resources("Microsoft.Web/sites/config")
    assert any("roleAssignments" in d for d in config["dependsOn"])


def test_the_azure_bot_is_single_tenant_on_teams_pointing_at_the_app():
    bot = one("Microsoft.BotService/botServices")
    assert bot["kind"] == "azurebot" and bot["location"] == "global"
    properties = bot["properties"]
    assert properties["msaAppType"] == "SingleTenant"
    assert properties["msaAppId"] == "[parameters('microsoftAppId')]"
    assert properties["msaAppTenantId"] == "[parameters('microsoftAppTenantId')]"
    assert properties["endpoint"].startswith("[format('https://{0}/api/messages', ")
    assert "defaultHostName" in properties["endpoint"]
    channel = one("Microsoft.BotService/botServices/channels")
    assert channel["properties"]["channelName"] == "MsTeamsChannel"
    assert channel["properties"]["properties"]["isEnabled"] is True


def test_logs_reach_log_analytics_and_application_insights_uses_the_workspace():
    workspace = (
        "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('logAnalyticsName'))]"
    )
    insights = one("Microsoft.Insights/components")
    assert insights["properties"]["WorkspaceResourceId"] == workspace
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in app_settings()
    diagnostics = {d["scope"]: d for d in resources("Microsoft.Insights/diagnosticSettings")}
    web = diagnostics["[format('Microsoft.Web/sites/{0}', parameters('webAppName'))]"]
    assert web["properties"]["workspaceId"] == workspace
    categories = {log["category"] for log in web["properties"]["logs"] if log["enabled"]}
    # The bot writes JSON lines to stderr: App Service keeps them as console logs.
    assert {"AppServiceConsoleLogs", "AppServiceHTTPLogs"} <= categories
    vault = diagnostics["[format('Microsoft.KeyVault/vaults/{0}', parameters('keyVaultName'))]"]
    assert [log["category"] for log in vault["properties"]["logs"]] == ["AuditEvent"]


def test_outputs_give_the_endpoint_and_host_and_no_secret():
    outputs = TEMPLATE["outputs"]
    assert {"botEndpoint", "webAppHostName"} <= outputs.keys()
    assert all(o["type"] == "string" for o in outputs.values())
    assert "listKeys" not in json.dumps(outputs) and "ConnectionString" not in json.dumps(outputs)


def _bicep() -> dict[str, Any]:
    pycep = pytest.importorskip("pycep", reason="pycep-parser (a dev dependency) parses Bicep")
    return pycep.BicepParser(cache=False).parse(file_path=AZURE / "main.bicep")


def _literal_leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, value) of every plain value in JSON, expressions and expression keys left out."""
    if isinstance(value, dict):
        return [
            leaf
            for key, item in value.items()
            if not is_expression(key)
            for leaf in _literal_leaves(item, (*path, key))
        ]
    if isinstance(value, list):
        return [leaf for n, item in enumerate(value) for leaf in _literal_leaves(item, (*path, n))]
    return [] if is_expression(value) else [(path, value)]


def _at(tree: Any, path: tuple) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def test_bicep_source_parses_and_matches_the_json_template():
    bicep = _bicep()
    json_params = TEMPLATE["parameters"]
    assert bicep["parameters"].keys() == json_params.keys()
    for name, parameter in bicep["parameters"].items():
        secure = any(d["type"] == "secure" for d in parameter["decorators"])
        kind = parameter["type"]
        expected = {"string": "securestring", "object": "secureObject"}[kind] if secure else kind
        assert json_params[name]["type"] == expected, name
    assert bicep["outputs"].keys() == TEMPLATE["outputs"].keys()
    bicep_resources = list(bicep["resources"].values())
    assert Counter((r["type"], r["api_version"]) for r in bicep_resources) == Counter(
        (r["type"], r["apiVersion"]) for r in TEMPLATE["resources"]
    )
    # Same type, same order: every plain value of the JSON resource is the same in Bicep.
    seen: Counter[str] = Counter()
    for resource in TEMPLATE["resources"]:
        index = seen[resource["type"]]
        seen[resource["type"]] += 1
        source = [r for r in bicep_resources if r["type"] == resource["type"]][index]["config"]
        body = {k: v for k, v in resource.items() if k not in ("type", "apiVersion", "name")}
        for path, value in _literal_leaves(body):
            if path[0] in ("dependsOn", "scope"):
                continue
            assert _at(source, path) == value, (resource["type"], path)


def _package_app():
    spec = importlib.util.spec_from_file_location("package_app", AZURE / "package_app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_app_zip_holds_the_packages_and_requirements_from_pyproject(tmp_path):
    module = _package_app()
    first = module.build(tmp_path / "a.zip")
    second = module.build(tmp_path / "b.zip")
    assert first.read_bytes() == second.read_bytes()  # reproducible
    with zipfile.ZipFile(first) as archive:
        names = set(archive.namelist())
        required = archive.read("requirements.txt").decode().splitlines()
    assert {"bot/__main__.py", "bot/app.py", "storage/tables.py", "requirements.txt"} <= names
    assert any(n.startswith("cards/templates/") for n in names)
    assert any(n.startswith("cards/packs/2023/") for n in names)
    # The pages' scripts and the two bundles they load (no CDN in production either).
    assert {"bot/web/static/page.js", "bot/web/static/dashboard.js"} <= names
    assert {
        "node_modules/@microsoft/teams-js/dist/umd/MicrosoftTeams.min.js",
        "node_modules/chart.js/dist/chart.umd.js",
    } <= names
    assert not any("__pycache__" in n or n.startswith(("tests/", ".venv/")) for n in names)
    assert "pyproject.toml" not in names
    assert [line for line in required if not line.startswith("#")] == (
        module.project()["dependencies"]
    )
