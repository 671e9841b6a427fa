'use strict'
// The REST API's in-memory state and its seed. seed() gives a fresh copy; /_emulator/reset
// goes back to it. The fixed ids are documented in emulator/README.md.

const SEED_TIME = '2024-01-15T09:30:00.000Z'

const IDS = {
  workspaces: ['6f1c2a9e-3b4d-4e8f-9a01-2b3c4d5e6f70', '8a2d3b0f-4c5e-4f90-8b12-3c4d5e6f7a81'],
  project: 'c0ffee00-1234-4abc-8def-0123456789ab',
  authentication: '5b7e2c1a-9d3f-4a6b-8c0e-1f2a3b4c5d6e',
  users: ['u-1f4e2b7c-admin', 'u-2a5f3c8d-member', 'u-3b6a4d9e-viewer']
}

const SEED_PROJECT = {
  projectId: IDS.project,
  name: 'Lead routing',
  description: 'Seeded project of the tray emulator',
  workflows: [
    { id: 'wf-1', name: 'New lead to Slack', triggers: ['webhook'], steps: ['salesforce-1', 'slack-1'] },
    { id: 'wf-2', name: 'Nightly sync', triggers: ['scheduled'], steps: ['trello-1'] }
  ],
  version: 3
}

const TRIGGERS = [
  {
    name: 'sms_received',
    title: 'SMS received',
    description: 'Fires when an SMS is received on one of your Twilio numbers.',
    connectorName: 'twilio-output',
    connectorVersion: '2.1',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        phone_number: { type: 'string', title: 'Phone number' }
      },
      required: ['phone_number']
    }
  },
  {
    name: 'card_created',
    title: 'Card created',
    description: 'Fires when a card is created on a board.',
    connectorName: 'trello',
    connectorVersion: '2.0',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      properties: { board_id: { type: 'string', title: 'Board ID' } },
      required: ['board_id']
    }
  },
  {
    name: 'prospect_updated',
    title: 'Prospect updated',
    description: 'Fires when a prospect changes.',
    connectorName: 'outreach',
    connectorVersion: '3.2',
    inputSchema: { type: 'object', properties: {} }
  }
]

// service name -> versions and environments (GET /services/{name}/versions/{version}/environments)
const SERVICES = {
  slack: { versions: ['4'], scopes: ['channels:read', 'channels:write', 'chat:write'] },
  twilio: { versions: ['1'], scopes: [] },
  trello: { versions: ['1'], scopes: ['read', 'write'] },
  clearbit: { versions: ['1'], scopes: [] },
  gmail: { versions: ['1', '2'], scopes: ['https://mail.google.com/'] },
  outreach: { versions: ['2'], scopes: ['prospects.read', 'prospects.write'] }
}

function seed () {
  const workspaces = new Map([
    [IDS.workspaces[0], { id: IDS.workspaces[0], name: 'Development', description: 'Where new projects are built', createdAt: SEED_TIME }],
    [IDS.workspaces[1], { id: IDS.workspaces[1], name: 'Production', description: 'Live projects', createdAt: SEED_TIME }]
  ])
  const users = [
    { id: IDS.users[0], name: 'Ada Admin', email: 'ada@example.com', role: 'admin', status: 'active' },
    { id: IDS.users[1], name: 'Max Member', email: 'max@example.com', role: 'contributor', status: 'active' },
    { id: IDS.users[2], name: 'Vic Viewer', email: 'vic@example.com', role: 'viewer', status: 'active' }
  ]
  const authentications = new Map([[IDS.authentication, {
    id: IDS.authentication,
    name: 'Twilio (seeded)',
    serviceEnvironmentId: 'twilio-1-production',
    scopes: [],
    createdAt: SEED_TIME,
    secret: { data: { account_sid: 'AC-emulator', auth_token: 'not-a-real-token' } } // never answered
  }]])
  const projects = new Map([[IDS.project, { id: IDS.project, workspaceId: IDS.workspaces[0], exportedData: JSON.stringify(SEED_PROJECT) }]])
  return { workspaces, users, authentications, projects, subscriptions: new Map(), triggers: TRIGGERS, services: SERVICES }
}

module.exports = { seed, IDS }
