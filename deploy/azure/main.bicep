// Dialogue Bot: the Azure resources one entity (or the Organization) needs to run the bot.
//
// Readable source of deploy/azure/main.json. The Bicep CLI is a downloaded binary that the
// project's machines cannot fetch, so main.json is kept by hand as its compiled equivalent and is
// the file CI checks (tests/app/test_azure_templates.py); edit both together. deploy/README.md says
// how to compare them where the Bicep CLI is available.
//
// Every name comes from a parameter. The defaults derive them from `namePrefix` and a hash of
// the resource group, so a first deployment needs only the secrets and the Dialogue settings.

targetScope = 'resourceGroup'

// --- Names --------------------------------------------------------------------------------

@description('Lowercase letters and digits (3-11) that start every default resource name.')
@minLength(3)
@maxLength(11)
param namePrefix string = 'dialogue'

@description('Region of every regional resource (the Azure Bot resource itself is global).')
param location string = resourceGroup().location

@description('User-assigned managed identity the web app uses to read its Key Vault secrets.')
param identityName string = '${namePrefix}-id-${uniqueString(resourceGroup().id)}'

@description('Linux App Service plan.')
param appServicePlanName string = '${namePrefix}-plan-${uniqueString(resourceGroup().id)}'

@description('Web app; its default host is <name>.azurewebsites.net (globally unique).')
param webAppName string = '${namePrefix}-bot-${uniqueString(resourceGroup().id)}'

@description('Azure Bot resource (the bot handle; globally unique).')
param botName string = '${namePrefix}-bot-${uniqueString(resourceGroup().id)}'

@description('Storage account holding the tables: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param storageAccountName string = toLower('${namePrefix}${uniqueString(resourceGroup().id)}')

@description('Key Vault holding the secrets: 3-24 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(24)
param keyVaultName string = take('${namePrefix}-kv-${uniqueString(resourceGroup().id)}', 24)

@description('Log Analytics workspace receiving the app\'s logs.')
param logAnalyticsName string = '${namePrefix}-logs-${uniqueString(resourceGroup().id)}'

@description('Application Insights component (workspace-based).')
param appInsightsName string = '${namePrefix}-ai-${uniqueString(resourceGroup().id)}'

@description('Name of the diagnostic settings that send logs to the workspace.')
param diagnosticSettingName string = 'send-to-log-analytics'

@description('Key Vault secret holding the app registration\'s client secret.')
param appPasswordSecretName string = 'microsoft-app-password'

@description('Key Vault secret holding the anonymity secret.')
param anonymitySecretName string = 'anonymity-secret'

@description('Key Vault secret holding the storage connection string (written by this template).')
param tablesConnectionSecretName string = 'tables-connection-string'

@description('Optional custom host name (e.g. dialogue.un.org) already bound to the web app; empty uses the default host.')
param customHostName string = ''

@description('Tags put on every resource.')
param tags object = {}

// --- Bot registration ---------------------------------------------------------------------

@description('Application (client) id of the single-tenant Entra app registration.')
@minLength(36)
@maxLength(36)
param microsoftAppId string

@description('Directory (tenant) id of the app registration.')
param microsoftAppTenantId string = subscription().tenantId

@description('Client secret of the app registration; stored in Key Vault only.')
@secure()
param microsoftAppPassword string

@description('Azure Bot pricing tier: Teams is a standard channel, free in both.')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

@description('Display name of the bot in the Azure portal.')
param botDisplayName string = 'Dialogue Bot'

@description('Teams cloud the channel serves.')
@allowed([
  'CommercialDeployment'
  'GCCModerateDeployment'
])
param teamsDeploymentEnvironment string = 'CommercialDeployment'

// --- The Dialogue -------------------------------------------------------------------------

@description('At least 32 random characters: the key of the hashes that keep answers anonymous.')
@minLength(32)
@secure()
param anonymitySecret string

@description('Comma-separated Entra tenant ids the bot serves.')
param allowedTenantIds string = subscription().tenantId

@description('Comma-separated Entra object ids of the Ethics Office administrators.')
param ethicsAdminIds string

@description('Entities seeded on first start: CODE=Name pairs separated by semicolons.')
param entities string

@description('The Dialogue\'s year seeded on first start (empty: the current year).')
param dialogueCycle string = ''

@description('Content pack of the seeded cycle (a folder of cards/packs).')
param contentPack string = '2023'

@description('Prefix of every table name, e.g. to keep a staging bot apart in the same account.')
param tablePrefix string = 'dlg'

@description('Appendix F results are shown to a leader only from this many answers.')
@minValue(2)
@maxValue(50)
param assessmentMinAnswers int = 3

@description('Log level of the bot.')
@allowed([
  'DEBUG'
  'INFO'
  'WARNING'
  'ERROR'
])
param logLevel string = 'INFO'

// --- Capacity and retention ---------------------------------------------------------------

@description('App Service plan tier (Basic scales to 3 instances, Standard to 10, Premium v3 to 30).')
@allowed([
  'B1'
  'B2'
  'B3'
  'S1'
  'S2'
  'S3'
  'P0v3'
  'P1v3'
  'P2v3'
])
param appServicePlanSku string = 'B1'

@description('Instances serving the bot; all share the tables, so any number is safe.')
@minValue(1)
@maxValue(30)
param instanceCount int = 1

@description('Storage redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_ZRS'

@description('Whether the storage account accepts its access keys. The bot reads TABLES_CONNECTION_STRING (an account-key connection string) today: false stops it.')
param allowSharedKeyAccess bool = true

@description('Days the workspace keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('Days a deleted vault or secret can be recovered.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteDays int = 90

@description('Optional Entra object id of the identity that runs the backups (python -m cli.maintenance export): it may read the storage connection secret and no other, never the anonymity secret. Empty grants nothing.')
param backupPrincipalId string = ''

@description('Kind of the backup identity: a person, a group, or a service principal (e.g. a scheduled job\'s managed identity).')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param backupPrincipalType string = 'User'

// Built-in role "Key Vault Secrets User": read secret values, nothing else.
var keyVaultSecretsUserRole = '4633458b-17de-408a-b874-0445c86b69e6'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: allowSharedKeyAccess
    defaultToOAuthAuthentication: !allowSharedKeyAccess
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        table: {
          enabled: true
          keyType: 'Account'
        }
        blob: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: keyVaultSoftDeleteDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource appPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: keyVault
  name: appPasswordSecretName
  properties: {
    value: microsoftAppPassword
    contentType: 'text/plain'
  }
}

resource anonymitySecretValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: keyVault
  name: anonymitySecretName
  properties: {
    value: anonymitySecret
    contentType: 'text/plain'
  }
}

resource tablesConnectionSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: keyVault
  name: tablesConnectionSecretName
  properties: {
    // Written here so that the account key never passes through a person's hands or a shell.
    value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
    contentType: 'text/plain'
  }
}

resource secretsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, keyVaultSecretsUserRole)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRole)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The backups read the tables, so they need the connection string; a role on the vault would
// also give them the anonymity secret, with which the tables' keyed hashes become linkable.
resource backupSecretReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(backupPrincipalId)) {
  name: guid(tablesConnectionSecret.id, backupPrincipalId, keyVaultSecretsUserRole)
  scope: tablesConnectionSecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRole)
    principalId: backupPrincipalId
    principalType: backupPrincipalType
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: appServicePlanName
  location: location
  tags: tags
  kind: 'linux'
  sku: {
    name: appServicePlanSku
    capacity: instanceCount
  }
  properties: {
    reserved: true
  }
}

resource webApp 'Microsoft.Web/sites@2023-12-01' = {
  name: webAppName
  location: location
  tags: tags
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: identity.id
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      linuxFxVersion: 'PYTHON|3.11'
      appCommandLine: 'python -m bot'
      alwaysOn: true
      healthCheckPath: '/healthz'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: webApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

var publicHost = empty(customHostName) ? webApp.properties.defaultHostName : customHostName

// The settings live in their own resource so they can name the site's own host name; the
// role assignment comes first, or the Key Vault references would not resolve at start.
resource appSettings 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: webApp
  name: 'appsettings'
  properties: {
    MicrosoftAppId: microsoftAppId
    MicrosoftAppType: 'SingleTenant'
    MicrosoftAppTenantId: microsoftAppTenantId
    MicrosoftAppPassword: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${appPasswordSecret.name})'
    TABLES_CONNECTION_STRING: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${tablesConnectionSecret.name})'
    TABLE_PREFIX: tablePrefix
    ANONYMITY_SECRET: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${anonymitySecretValue.name})'
    ALLOWED_TENANT_IDS: allowedTenantIds
    ETHICS_ADMIN_IDS: ethicsAdminIds
    ENTITIES: entities
    DIALOGUE_CYCLE: dialogueCycle
    CONTENT_PACK: contentPack
    ASSESSMENT_MIN_ANSWERS: string(assessmentMinAnswers)
    PUBLIC_BASE_URL: 'https://${publicHost}'
    // The meeting pages' Teams SSO audience: the Application ID URI in webApplicationInfo.
    WEB_SSO_RESOURCE: 'api://${publicHost}/${microsoftAppId}'
    PORT: '8000'
    WEBSITES_PORT: '8000'
    LOG_LEVEL: logLevel
    SCM_DO_BUILD_DURING_DEPLOYMENT: 'true'
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  }
  dependsOn: [
    secretsReader
  ]
}

resource webDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: diagnosticSettingName
  scope: webApp
  properties: {
    workspaceId: workspace.id
    logs: [
      {
        category: 'AppServiceConsoleLogs'
        enabled: true
      }
      {
        category: 'AppServiceHTTPLogs'
        enabled: true
      }
      {
        category: 'AppServicePlatformLogs'
        enabled: true
      }
      {
        category: 'AppServiceAppLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: diagnosticSettingName
  scope: keyVault
  properties: {
    workspaceId: workspace.id
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: botName
  location: 'global'
  tags: tags
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: botDisplayName
    endpoint: 'https://${publicHost}/api/messages'
    msaAppId: microsoftAppId
    msaAppTenantId: microsoftAppTenantId
    msaAppType: 'SingleTenant'
    publicNetworkAccess: 'Enabled'
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
      enableCalling: false
      acceptedTerms: true
      deploymentEnvironment: teamsDeploymentEnvironment
    }
  }
}

@description('The messaging endpoint registered on the Azure Bot resource.')
output botEndpoint string = bot.properties.endpoint

@description('The web app\'s default host name.')
output webAppHostName string = webApp.properties.defaultHostName

@description('The address export links point at (PUBLIC_BASE_URL).')
output publicBaseUrl string = 'https://${publicHost}'

@description('The web app (for az webapp deploy).')
output webAppName string = webApp.name

@description('The storage account holding the tables (for backups and the purge).')
output storageAccountName string = storage.name

@description('The Key Vault holding the secrets (for rotation).')
output keyVaultName string = keyVault.name
