'use strict'
// The Embedded GraphQL API's seed: what reset() restores.
//
// Ids the reference's own samples use are kept verbatim (placeholders such as
// "944dxxx-xxx-xxx-xxx-xxx222eb99" included), so the published samples run against the
// emulator unchanged:
//   projects      944dxxx-xxx-xxx-xxx-xxx222eb99 (staging, solution "Slack webhook solution")
//                 1f0e2d3c-4b5a-4697-8877-665544332211 (production, empty)
//   workflows     ea3c20f5-xxxx-xxxx-xxxx-0ce2b7bb9f29, a6af4264-xxxx-xxxx-xxxx-70a1e59d72b2
//                 (Tray's exportWorkflows example), e5dc0748-xxxx-xxxx-xxxx-dfcc33795f12 (import target)
//   solutions     28233cac-XXXX-XXXX-XXXX-e464a6881c04 (marketing, mailchimp, marketo)
//                 b3422397-XXXX-XXXX-XXXX-57e7e66771b3 (sales, onboarding)
//                 52342dffd-XXXX-XXXX-XXXX-dfasdhkfh235lC (marketing, sales)
//                 b73d4e07xxx-xxx-xxx-xxx-xxxafad23d94 (onboarding, slack; has a newer version)
//   services      slack, trello (Tray's getAuthentications example), aws-sqs (the createUserAuthentication
//                 sample: service e73d8e91-XXXX-XXXX-XXXX-37df289242, environment
//                 a84eu2880-XXXX-XXXX-XXXX-7edd82904d), salesforce, twilio, marketo, mailchimp
//   org auths     Roger Ramjet's Slack / Trello / Slack 2 accounts (master token view)
// There are no end users in the seed.

const WORKSPACE_ID = '6c595d5b-xxxx-xxxx-xxxx-959ceb938eae'
const CREATOR_ID = '6a4e56d9-xxxx-xxxx-xxxx-2429f79b40ff'

function service (id, name, title, version, envs) {
  return {
    id,
    name,
    icon: `https://s3.amazonaws.com/images.tray.io/artisan/icons/${name}.png`,
    title,
    version,
    environments: envs.map(([envId, envTitle]) => ({ id: envId, title: envTitle }))
  }
}

const SERVICES = [
  service('227312c4-3e5f-4b0d-22a0-5b9630ece00e', 'slack', 'Slack', '1', [['0c7e1d2a-5b3f-4e8a-9d61-2f4a8b6c1e01', 'Slack']]),
  service('72cef4e9-229f-4d7c-97e3-b6cd4d92146f', 'trello', 'Trello', '1', [['5e2b7c9d-1a4f-4b6e-8c3d-7f9a0b1c2d02', 'Trello']]),
  service('e73d8e91-XXXX-XXXX-XXXX-37df289242', 'aws-sqs', 'AWS SQS', '1', [['a84eu2880-XXXX-XXXX-XXXX-7edd82904d', 'AWS SQS']]),
  service('9b1d3f5a-7c2e-4a8b-9d0f-1e3a5c7b9d03', 'salesforce', 'Salesforce', '2', [
    ['3c5e7a9b-1d2f-4e6a-8b0c-2d4f6a8c0e04', 'Salesforce (production)'],
    ['4d6f8b0c-2e3a-4f7b-9c1d-3e5a7b9d1f05', 'Salesforce (sandbox)']
  ]),
  service('6a8c0e2f-4b5d-4c9e-8f1a-5b7d9f1b3d06', 'twilio', 'Twilio', '1', [['7b9d1f3a-5c6e-4dae-9a2b-6c8e0a2c4e07', 'Twilio']]),
  service('8cae2f4b-6d7f-4ebf-8b3c-7d9f1b3d5f08', 'marketo', 'Marketo', '1', [['9dbf3a5c-7e8a-4fc0-9c4d-8eaf2c4e6a09', 'Marketo']]),
  service('aec04b6d-8f9b-4ad1-8d5e-9fb03d5f7b10', 'mailchimp', 'MailChimp', '1', [['bfd15c7e-9a0c-4be2-9e6f-a0c14e6a8c11', 'MailChimp']])
]

const ORG_AUTHS = [
  { id: '569xxxxxx-xxxxx-xxxx-7e829d2c56d', name: "Roger Ramjet's Slack Account", serviceId: '227312c4-3e5f-4b0d-22a0-5b9630ece00e', serviceEnvironmentId: '0c7e1d2a-5b3f-4e8a-9d61-2f4a8b6c1e01', customFields: { team: 'ramjet' } },
  { id: '0b07xxxxxx-xxxxx-xxxx-b8d4121471c3', name: "Roger Ramjet's Trello Account", serviceId: '72cef4e9-229f-4d7c-97e3-b6cd4d92146f', serviceEnvironmentId: '5e2b7c9d-1a4f-4b6e-8c3d-7f9a0b1c2d02', customFields: {} },
  { id: 'a29dxxxxxx-xxxxx-xxxx-99901f41c698', name: "Roger Ramjet's Slack Account 2", serviceId: '227312c4-3e5f-4b0d-22a0-5b9630ece00e', serviceEnvironmentId: '0c7e1d2a-5b3f-4e8a-9d61-2f4a8b6c1e01', customFields: {} }
]

// --- workflows -------------------------------------------------------------------------------

function trigger (kind) {
  switch (kind) {
    case 'webhook': return { title: 'Webhook', connector: { name: 'webhook', version: '2.3' }, operation: 'fire_and_forget' }
    case 'scheduled': return { title: 'Scheduled Trigger', connector: { name: 'scheduled', version: '2.1' }, operation: 'trigger' }
    default: return { title: 'ManualTrigger', connector: { name: 'noop', version: '1.1' }, operation: 'trigger' }
  }
}

/** A workflow export object, in the shape of Tray's exportWorkflows example. */
function workflowExport (id, title, created, versionId, kind) {
  return {
    id,
    created,
    workspace_id: WORKSPACE_ID,
    creator: CREATOR_ID,
    version: { id: versionId, created },
    title,
    enabled: true,
    tags: [],
    settings: { config: {}, input_schema: {}, output_schema: {} },
    steps_structure: [{ name: 'trigger', type: 'normal', content: {} }],
    steps: { trigger: { ...trigger(kind), output_schema: {}, error_handling: {}, properties: {} } },
    dependencies: []
  }
}

// Tray's exportWorkflows example, verbatim: its two workflows are seeded as they are.
const EXAMPLE_EXPORT = JSON.parse("{\"tray_export_version\":4,\"export_type\":\"workflow\",\"workflows\":[{\"id\":\"ea3c20f5-xxxx-xxxx-xxxx-0ce2b7bb9f29\",\"created\":\"2023-05-15T11:26:14.794686Z\",\"workspace_id\":\"6c595d5b-xxxx-xxxx-xxxx-959ceb938eae\",\"creator\":\"6a4e56d9-xxxx-xxxx-xxxx-2429f79b40ff\",\"version\":{\"id\":\"153485a5-xxxx-xxxx-xxxx-34bc1f9f08f4\",\"created\":\"2023-05-15T11:26:14.794685Z\"},\"title\":\"webhookslack\",\"enabled\":true,\"tags\":[],\"settings\":{\"config\":{},\"input_schema\":{},\"output_schema\":{}},\"steps_structure\":[{\"name\":\"trigger\",\"type\":\"normal\",\"content\":{}}],\"steps\":{\"trigger\":{\"title\":\"ManualTrigger\",\"connector\":{\"name\":\"noop\",\"version\":\"1.1\"},\"operation\":\"trigger\",\"output_schema\":{},\"error_handling\":{},\"properties\":{}}},\"dependencies\":[]},{\"id\":\"a6af4264-xxxx-xxxx-xxxx-70a1e59d72b2\",\"created\":\"2023-04-25T09:06:10.563859Z\",\"workspace_id\":\"6c595d5b-xxxx-xxxx-xxxx-959ceb938eae\",\"creator\":\"6c595d5b-xxxx-xxxx-xxxx-959ceb938eae\",\"version\":{\"id\":\"1a8c552e-xxxx-xxxx-xxxx-4ec119353733\",\"created\":\"2023-04-25T09:23:42.981741Z\"},\"title\":\"Sheetsratelimitingtest\",\"enabled\":true,\"tags\":[],\"settings\":{\"config\":{},\"input_schema\":{},\"output_schema\":{}},\"steps_structure\":[{\"name\":\"trigger\",\"type\":\"normal\",\"content\":{}},{\"name\":\"loop-1\",\"type\":\"loop\",\"content\":{\"_loop\":[{\"name\":\"boolean-condition-1\",\"type\":\"branch\",\"content\":{\"true\":[{\"name\":\"break-loop-1\",\"type\":\"break\",\"content\":{},\"target\":\"loop-1\"}],\"false\":[]}},{\"name\":\"slack-1\",\"type\":\"normal\",\"content\":{}}]}}],\"steps\":{\"slack-1\":{\"title\":\"Slack\",\"connector\":{\"name\":\"slack\",\"version\":\"9.1\"},\"operation\":\"list_users\",\"output_schema\":{},\"error_handling\":{},\"authentication\":{\"group\":\"14c77d41-xxxx-xxxx-xxxx-382944191584\",\"title\":\"MaelDuin'sslackaccount1\",\"service_icon\":{\"icon_type\":\"url\",\"value\":\"//s3.amazonaws.com/images.tray.io/artisan/icons/c25033a972715dbbdb7e73ac79261230.png\"},\"scopes\":[\"mpim:read\",\"im:read\",\"users:read.email\",\"channels:read\",\"chat:write:user\",\"files:read\",\"reminders:write\",\"channels:write\",\"groups:read\",\"chat:write:bot\",\"users:read\",\"groups:write\"],\"service_name\":\"slack\",\"service_version\":4},\"properties\":{\"token\":{\"type\":\"jsonpath\",\"value\":\"$.auth.access_token\"},\"limit\":{\"type\":\"integer\",\"value\":100}}},\"loop-1\":{\"title\":\"LoopCollection\",\"connector\":{\"name\":\"loop\",\"version\":\"1.3\"},\"operation\":\"loop_forever\",\"output_schema\":{\"type\":\"object\",\"$schema\":\"http://json-schema.org/draft-03/schema\",\"id\":\"http://jsonschema.net\",\"properties\":{\"index\":{\"type\":\"number\",\"id\":\"http://jsonschema.net/index\"}}},\"error_handling\":{},\"properties\":{}},\"boolean-condition-1\":{\"title\":\"BooleanCondition\",\"connector\":{\"name\":\"boolean-condition\",\"version\":\"2.3\"},\"operation\":\"boolean_condition\",\"output_schema\":{},\"error_handling\":{},\"properties\":{\"conditions\":{\"type\":\"array\",\"value\":[{\"type\":\"object\",\"value\":{\"value1\":{\"type\":\"jsonpath\",\"value\":\"$.steps.loop-1.index\"},\"comparison_type\":{\"type\":\"string\",\"value\":\"===\"},\"value2\":{\"type\":\"number\",\"value\":250}}}]},\"strictness\":{\"type\":\"string\",\"value\":\"All\"}}},\"break-loop-1\":{\"title\":\"BreakLoop\",\"connector\":{\"name\":\"break-loop\",\"version\":\"1.1\"},\"operation\":\"break\",\"output_schema\":{},\"error_handling\":{},\"properties\":{}},\"trigger\":{\"title\":\"ManualTrigger\",\"connector\":{\"name\":\"noop\",\"version\":\"1.1\"},\"operation\":\"trigger\",\"output_schema\":{},\"error_handling\":{},\"properties\":{}}},\"dependencies\":[]}],\"projects\":[]}")
const EXAMPLE_WORKFLOWS = new Map(EXAMPLE_EXPORT.workflows.map((w) => [w.id, w]))

// [id, title, trigger kind, project]
const STAGING = '944dxxx-xxx-xxx-xxx-xxx222eb99'
const PRODUCTION = '1f0e2d3c-4b5a-4697-8877-665544332211'
const MARKETING = '2a1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'
const SALES = '3b2c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e'

const WORKFLOWS = [
  ['ea3c20f5-xxxx-xxxx-xxxx-0ce2b7bb9f29', 'webhookslack', 'manual', STAGING, null, null],
  ['a6af4264-xxxx-xxxx-xxxx-70a1e59d72b2', 'Sheetsratelimitingtest', 'manual', STAGING, null, null],
  ['3af6461f-XXXX-XXXX-XXXX-91ada5769f90', 'Slack webhook', 'webhook', STAGING, '2019-11-20T10:00:00.000Z', '41d2c3e4-5f6a-4b7c-8d9e-0f1a2b3c4d01'],
  ['e5dc0748-xxxx-xxxx-xxxx-dfcc33795f12', 'Import target', 'manual', PRODUCTION, '2023-05-16T08:00:00.000Z', '52e3d4f5-6a7b-4c8d-9e0f-1a2b3c4d5e02'],
  ['7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e01', 'New Marketo lead to MailChimp', 'webhook', MARKETING, '2020-02-03T09:30:00.000Z', '63f4e5a6-7b8c-4d9e-8f0a-2b3c4d5e6f03'],
  ['8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f02', 'New Salesforce contact to Marketo', 'webhook', MARKETING, '2020-02-04T09:30:00.000Z', '74a5f6b7-8c9d-4e0f-9a1b-3c4d5e6f7a04'],
  ['9e3f4a5b-6c7d-4e8f-8a9b-1c2d3e4f5a03', 'Salesforce opportunity won', 'webhook', SALES, '2020-03-01T12:00:00.000Z', '85b6a7c8-9d0e-4f1a-8b2c-4d5e6f7a8b05'],
  ['af4a5b6c-7d8e-4f9a-9b0c-2d3e4f5a6b04', 'Daily Salesforce digest to Slack', 'scheduled', SALES, '2020-03-02T12:00:00.000Z', '96c7b8d9-0e1f-4a2b-9c3d-5e6f7a8b9c06']
]

function buildWorkflows () {
  return WORKFLOWS.map(([id, title, kind, projectId, created, versionId]) => ({
    id,
    title,
    trigger: kind,
    projectId,
    export: EXAMPLE_WORKFLOWS.has(id) ? JSON.parse(JSON.stringify(EXAMPLE_WORKFLOWS.get(id))) : workflowExport(id, title, created, versionId, kind)
  }))
}

// --- solutions -------------------------------------------------------------------------------

const CUSTOM = [{ key: 'my_custom_field', value: 'myCustomFieldValue' }]
const NO_NEWER = { hasNewerVersion: false, requiresUserInputToUpdateVersion: false, requiresSystemInputToUpdateVersion: false }

const SOLUTIONS = [
  {
    id: '28233cac-XXXX-XXXX-XXXX-e464a6881c04',
    title: 'New Marketo Leads > MailChimp Email Campaign',
    description: 'Send new Marketo leads to Mailchimp campaign',
    tags: ['marketing', 'mailchimp', 'marketo'],
    customFields: CUSTOM,
    configSlots: [{ externalId: 'external_campaignId', title: 'campaign ID', defaultValue: '1234' }],
    authSlots: [
      { externalId: 'external_marketo_authentication', title: 'Marketo authentication' },
      { externalId: 'external_mailchimp_authentication', title: 'mailchimp authentication' }
    ],
    workflowIds: ['7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e01'],
    projectId: MARKETING,
    newerVersion: NO_NEWER
  },
  {
    id: 'b3422397-XXXX-XXXX-XXXX-57e7e66771b3',
    title: 'Salesforce to Slack',
    description: 'Post won Salesforce opportunities and a daily digest to Slack',
    tags: ['sales', 'onboarding'],
    customFields: [{ key: 'category', value: 'sales' }],
    configSlots: [
      { externalId: 'external_limit', title: 'Record limit', defaultValue: '10' },
      { externalId: 'external_channel', title: 'Slack channel', defaultValue: '#sales' }
    ],
    authSlots: [
      { externalId: 'external_slack_authentication', title: 'Slack authentication' },
      { externalId: 'external_salesforce_authentication', title: 'Salesforce authentication' }
    ],
    workflowIds: ['9e3f4a5b-6c7d-4e8f-8a9b-1c2d3e4f5a03', 'af4a5b6c-7d8e-4f9a-9b0c-2d3e4f5a6b04'],
    projectId: SALES,
    newerVersion: NO_NEWER
  },
  {
    id: '52342dffd-XXXX-XXXX-XXXX-dfasdhkfh235lC',
    title: 'New Salesforce Contacts to Marketo',
    description: 'New Salesforce Contacts to Marketo Leads',
    tags: ['marketing', 'sales'],
    customFields: CUSTOM,
    configSlots: [{ externalId: 'external_datamappings', title: 'Field mappings', defaultValue: '{"email":"Email"}' }],
    authSlots: [
      { externalId: 'external_marketo_authentication', title: 'Marketo authentication' },
      { externalId: 'external_salesforce_authentication', title: 'Salesforce authentication' }
    ],
    workflowIds: ['8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f02'],
    projectId: MARKETING,
    newerVersion: NO_NEWER
  },
  {
    id: 'b73d4e07xxx-xxx-xxx-xxx-xxxafad23d94',
    title: 'Slack webhook solution',
    description: 'sends a message to a slack channel of your choice',
    tags: ['onboarding', 'slack'],
    customFields: [],
    configSlots: [{ externalId: 'external_channel', title: 'Slack channel', defaultValue: '#general' }],
    authSlots: [{ externalId: 'external_slack_authentication', title: 'Slack authentication' }],
    workflowIds: ['3af6461f-XXXX-XXXX-XXXX-91ada5769f90'],
    projectId: STAGING,
    // A newer version of this solution needs input from the end user (as in Tray's
    // getSolutionInstancesByOwner example): its instances show these flags until upgraded.
    newerVersion: { hasNewerVersion: true, requiresUserInputToUpdateVersion: true, requiresSystemInputToUpdateVersion: false }
  }
]

const PROJECTS = [
  { id: STAGING, name: 'Staging integrations', solutionId: 'b73d4e07xxx-xxx-xxx-xxx-xxxafad23d94' },
  { id: PRODUCTION, name: 'Production integrations', solutionId: null },
  { id: MARKETING, name: 'Marketing solutions', solutionId: '28233cac-XXXX-XXXX-XXXX-e464a6881c04' },
  { id: SALES, name: 'Sales solutions', solutionId: 'b3422397-XXXX-XXXX-XXXX-57e7e66771b3' }
]

/** Fresh, independent copies of the seed data. */
function seedData () {
  const copy = (v) => JSON.parse(JSON.stringify(v))
  return {
    services: copy(SERVICES),
    orgAuths: copy(ORG_AUTHS),
    solutions: copy(SOLUTIONS),
    projects: copy(PROJECTS),
    workflows: buildWorkflows()
  }
}

module.exports = { seedData, WORKSPACE_ID, IDS: { STAGING, PRODUCTION, MARKETING, SALES } }
