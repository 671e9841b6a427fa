'use strict'
// Tests of the emulator's Embedded GraphQL API: `node emulator/graphql/test.js` (exit 1 on failure).
// Runs against a small fake ctx; needs only `graphql` (emulator/node_modules or NODE_PATH).

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')
const { parse, validate } = require('graphql')
const { getVariableValues } = require('graphql/execution/values')
const createGraphQL = require('./index')
const samples = require('./doc-samples.json')

// --- a fake ctx with the infra's shape ---------------------------------------------------------

function fakeCtx () {
  let now = Date.parse('2024-01-01T00:00:00.000Z')
  const tokens = new Map()
  return {
    clock: { now: () => now, advance (ms) { now += ms } },
    auth: {
      identify (token) {
        if (token === 'master') return { kind: 'master' }
        const t = tokens.get(token)
        if (!t || t.expiresAt <= now) return null
        return { kind: 'user', userId: t.userId }
      },
      issueUserToken (userId) {
        const token = crypto.randomBytes(16).toString('hex')
        tokens.set(token, { userId, expiresAt: now + 2 * 24 * 3600 * 1000 })
        return token
      },
      revokeUser (userId) { for (const [k, t] of tokens) if (t.userId === userId) tokens.delete(k) }
    },
    uuid: () => crypto.randomUUID()
  }
}

// --- a tiny runner ------------------------------------------------------------------------------

const tests = []
const test = (name, fn) => tests.push({ name, fn })

let ctx, gql

function fresh (opts) {
  ctx = fakeCtx()
  gql = createGraphQL(ctx, opts)
}

/** POST /graphql as the server would: token already identified. Returns { status, body }. */
async function raw (token, query, variables, operationName) {
  const identity = ctx.auth.identify(token)
  assert.ok(identity, `token ${token} is not valid`)
  return gql.handle({ token, identity, body: { query, variables, operationName } })
}

/** The response body; asserts HTTP 200. */
async function gq (token, query, variables, operationName) {
  const res = await raw(token, query, variables, operationName)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return JSON.parse(JSON.stringify(res.body)) // as the wire would carry it
}

/** data, asserting no errors. */
async function ok (token, query, variables) {
  const body = await gq(token, query, variables)
  assert.equal(body.errors, undefined, JSON.stringify(body.errors))
  return body.data
}

/** The single error of a call that fails at execution; asserts the field is null. */
async function fails (token, query, variables, code, messageRe) {
  const body = await gq(token, query, variables)
  assert.ok(body.errors && body.errors.length >= 1, 'expected an error, got ' + JSON.stringify(body))
  const e = body.errors[0]
  if (code) assert.equal(e.extensions && e.extensions.code, code, JSON.stringify(e))
  if (messageRe) assert.match(e.message, messageRe)
  assert.ok(body.data !== undefined, 'an execution error keeps data')
  if (e.path) {
    let v = body.data
    for (const p of e.path) v = v == null ? v : v[p]
    assert.equal(v, null)
  }
  return e
}

const M = 'master'

async function createUser (name, externalUserId, isTestUser) {
  const d = await ok(M, 'mutation($n: String!, $e: String!, $t: Boolean) { createExternalUser(input: {name: $n, externalUserId: $e, isTestUser: $t}) { userId isTestUser } }',
    { n: name, e: externalUserId, t: isTestUser })
  return d.createExternalUser.userId
}

async function tokenFor (userId) {
  const d = await ok(M, 'mutation($u: ID!) { authorize(input: {userId: $u}) { accessToken } }', { u: userId })
  return d.authorize.accessToken
}

const SOL_SLACK = 'b73d4e07xxx-xxx-xxx-xxx-xxxafad23d94'
const SOL_MARKETO = '28233cac-XXXX-XXXX-XXXX-e464a6881c04'
const SOL_SF_SLACK = 'b3422397-XXXX-XXXX-XXXX-57e7e66771b3'
const SLACK_SERVICE = '227312c4-3e5f-4b0d-22a0-5b9630ece00e'
const SLACK_ENV = '0c7e1d2a-5b3f-4e8a-9d61-2f4a8b6c1e01'
const SF_SERVICE = '9b1d3f5a-7c2e-4a8b-9d0f-1e3a5c7b9d03'
const SF_ENV = '3c5e7a9b-1d2f-4e6a-8b0c-2d4f6a8c0e04'
const STAGING = '944dxxx-xxx-xxx-xxx-xxx222eb99'
const PRODUCTION = '1f0e2d3c-4b5a-4697-8877-665544332211'

const CREATE_INSTANCE = `mutation($s: ID!, $n: String!, $a: [AuthValue!], $c: [ConfigValue!], $m: String) {
  createSolutionInstance(input: {solutionId: $s, instanceName: $n, authValues: $a, configValues: $c, clientMutationId: $m}) {
    clientMutationId
    solutionInstance { id name enabled owner created
      solution { id title tags customFields { key value } configSlots { externalId title defaultValue } authSlots { externalId title } }
      solutionVersionFlags { hasNewerVersion requiresUserInputToUpdateVersion requiresSystemInputToUpdateVersion }
      workflows { edges { node { id triggerUrl sourceWorkflowId sourceWorkflowName } } pageInfo { hasNextPage } }
      authValues { externalId authId } configValues { externalId value } } } }`

async function createInstance (token, solutionId, name, extra = {}) {
  const d = await ok(token, CREATE_INSTANCE, { s: solutionId, n: name, ...extra })
  return d.createSolutionInstance.solutionInstance
}

async function createAuth (token, name, serviceId, envId, data) {
  const d = await ok(token, `mutation($n: String!, $s: String!, $e: String!, $d: Json!) {
    createUserAuthentication(input: {name: $n, serviceId: $s, serviceEnvironmentId: $e, data: $d, scopes: []}) { authenticationId } }`,
  { n: name, s: serviceId, e: envId, d: data === undefined ? '{"token":"secret"}' : data })
  return d.createUserAuthentication.authenticationId
}

// === the schema and the reference's samples ======================================================

test('schema builds and holds every documented root field', () => {
  const schema = createGraphQL.getSchema()
  const q = Object.keys(schema.getQueryType().getFields())
  assert.deepEqual(q.sort(), ['users', 'viewer'])
  const m = Object.keys(schema.getMutationType().getFields()).sort()
  assert.deepEqual(m, ['authorize', 'callConnector', 'createExternalUser', 'createSolutionInstance', 'createUserAuthentication',
    'exportProject', 'exportWorkflows', 'generateAuthorizationCode', 'importProject', 'importWorkflows', 'removeAuthentication',
    'removeExternalUser', 'removeSolutionInstance', 'updateExternalUser', 'updateSolutionInstance', 'upgradeSolutionInstance'].sort())
  // every mutation: input: XxxInput! with clientMutationId; payload with clientMutationId
  for (const [name, f] of Object.entries(schema.getMutationType().getFields())) {
    assert.equal(f.args.length, 1, name)
    const INPUT = { removeAuthentication: 'RemoveUserAuthenticationInput!', callConnector: 'ConnectorCallInput!' }
    assert.equal(String(f.args[0].type), INPUT[name] || name[0].toUpperCase() + name.slice(1) + 'Input!', name)
    assert.ok(f.args[0].type.ofType.getFields().clientMutationId, name + ' input clientMutationId')
    assert.ok(f.type.getFields().clientMutationId, name + ' payload clientMutationId')
  }
  // the connections of Tray's published schema take the Relay arguments; viewer.authentications
  // and SolutionInstance.workflows take none
  const viewer = schema.getType('Viewer').getFields()
  const conns = [schema.getQueryType().getFields().users, viewer.solutions, viewer.solutionInstances]
  assert.equal(viewer.authentications.args.length, 0)
  assert.equal(schema.getType('SolutionInstance').getFields().workflows.args.length, 0)
  for (const f of conns) {
    for (const a of ['first', 'after', 'last', 'before']) assert.ok(f.args.find((x) => x.name === a), `${f.name}.${a}`)
  }
  assert.ok(!schema.getType('Authentication').getFields().data, 'auth data is never exposed')
})

test('every documented sample (slips fixed) validates; curl variables coerce', () => {
  const schema = createGraphQL.getSchema()
  assert.ok(samples.samples.length >= 60)
  assert.equal(samples.samples.filter((s) => s.source === 'curl').length, 20)
  for (const s of samples.samples) {
    const doc = parse(s.query)
    assert.deepEqual(validate(schema, doc).map((e) => e.message), [], s.name)
    for (const op of doc.definitions) {
      const r = getVariableValues(schema, op.variableDefinitions || [], s.variables || {})
      assert.equal(r.errors, undefined, s.name + ': ' + JSON.stringify(r.errors))
    }
  }
})

test('the reference\'s slips, as published, fail like on a real server', () => {
  const schema = createGraphQL.getSchema()
  const invalid = samples.slips.filter((s) => !s.validates)
  assert.ok(invalid.length >= 4)
  for (const s of invalid) {
    let errors
    try { errors = validate(schema, parse(s.query)) } catch (e) { errors = [e] }
    assert.ok(errors.length > 0, s.name + ' should fail')
  }
  // the four slips NOTES.md lists, checked on their own
  const v = (q) => { try { return validate(schema, parse(q)).length } catch (e) { return 1 } }
  assert.ok(v('mutation { removeExternalUser(input: {userId: $userId}) { clientMutationId } }'))
  assert.ok(v('mutation { updateExternalUser(input: {userId: "u", isTestUser: "true"}) { user { id } } }'))
  assert.ok(v('mutation { updateExternalUser(input: {userId: "u", isTestUser: true}) { user { id clientMutationId } } }'))
  assert.ok(v('mutation { createSolutionInstance(input: {solutionId: "s", instanceName: "n"}) { solutionInstance { solution { customFields } } } }'))
  assert.ok(v('mutation { createSolutionInstance(input: {solutionId: "s", instanceName: "n"}) { solutionInstance { solution { configSlots } } } }'))
  // the workflow samples that send the project mutations are valid GraphQL: the fix is the operation
  assert.ok(samples.slips.filter((s) => s.validates).every((s) => /importProject|exportProject/.test(s.query)))
})

test('published samples run verbatim against the seed', async () => {
  fresh()
  const byName = (n) => samples.samples.find((s) => s.name === n)
  // Export Workflows with the reference's ids answers Tray's exportWorkflows example byte for byte
  const ew = byName('curl: Workflows / Export Workflows')
  const d = await ok(M, ew.query, ew.variables)
  const hash = crypto.createHash('sha256').update(d.exportWorkflows.exportedWorkflowsJson).digest('hex')
  assert.equal(hash, 'bc566eb8dad96f95363ad3fad14f550870902d397adf808e2d78214bf5909e03')
  // Import Project / Export Project with the reference's project id
  const ip = byName('curl: Projects / Import Project')
  assert.deepEqual(await ok(M, ip.query, ip.variables), { importProject: { clientMutationId: null } })
  const ep = byName('curl: Projects / Export Project')
  assert.deepEqual(await ok(M, ep.query, ep.variables), { exportProject: { exportedProjectJson: '{}' } }) // Tray's example
  // Get solutions (curl) and the users samples
  const gs = await ok(M, byName('curl: Users / Get users').query)
  assert.deepEqual(gs.users.edges, [])
  const sol = await ok(M, byName('curl: Solutions / Get solutions').query)
  assert.equal(sol.viewer.solutions.edges.length, 4)
  const tags = await ok(M, byName('example: Solutions / Get solutions / Get solutions by tag(s)').query)
  assert.deepEqual(tags.viewer.solutions.edges.map((e) => e.node.id), [SOL_MARKETO])
  const auths = await ok(M, byName('curl: Authentications / Get user authentications').query)
  assert.deepEqual(auths.viewer.authentications.edges.map((e) => e.node.name),
    ["Roger Ramjet's Slack Account", "Roger Ramjet's Trello Account", "Roger Ramjet's Slack Account 2"])
  // Create user Auth (curl) with the reference's service ids, with the master token
  const ca = byName('curl: Authentications / Create user Auth')
  const a = await ok(M, ca.query, ca.variables)
  assert.ok(a.createUserAuthentication.authenticationId)
  // every other sample executes without a GraphQL-level failure (request errors, unknown variables)
  for (const s of samples.samples) {
    const res = await raw(M, s.query, s.variables)
    assert.equal(res.status, 200, s.name)
    assert.ok('data' in res.body, s.name + ' ' + JSON.stringify(res.body))
  }
})

// === the HTTP-level contract =======================================================================

test('request errors: missing query 400, syntax and validation errors without data', async () => {
  fresh()
  let r = await gql.handle({ token: M, identity: { kind: 'master' }, body: {} })
  assert.equal(r.status, 400)
  assert.ok(r.body.errors[0].message)
  r = await gql.handle({ token: M, identity: { kind: 'master' }, body: { query: '' } })
  assert.equal(r.status, 400)
  r = await gql.handle({ token: M, identity: { kind: 'master' }, body: { query: '{ users { ', variables: {} } })
  assert.equal(r.status, 200)
  assert.equal(r.body.data, undefined)
  assert.match(r.body.errors[0].message, /Syntax Error/)
  r = await gql.handle({ token: M, identity: { kind: 'master' }, body: { query: '{ users { nope } }' } })
  assert.equal(r.status, 200)
  assert.equal(r.body.data, undefined)
  assert.match(r.body.errors[0].message, /Cannot query field "nope"/)
  r = await gql.handle({ token: M, identity: { kind: 'master' }, body: { query: '{ viewer { authentications { edges { node { data } } } } }' } })
  assert.equal(r.body.data, undefined, 'data is not a field of Authentication')
  // variables of the wrong type: errors, no data
  r = await raw(M, 'mutation($t: Boolean) { updateExternalUser(input: {userId: "x", isTestUser: $t}) { user { id } } }', { t: 'true' })
  assert.equal(r.body.data, undefined)
  assert.match(r.body.errors[0].message, /Boolean cannot represent/)
  // a JSON string as variables is accepted
  r = await gql.handle({ token: M, identity: { kind: 'master' }, body: { query: 'query($f: Int) { users(first: $f) { pageInfo { hasNextPage } } }', variables: '{"f": 1}' } })
  assert.equal(r.body.errors, undefined)
})

test('operationName picks the operation; aliases run side by side', async () => {
  fresh()
  const doc = 'query A { users { pageInfo { hasNextPage } } } query B { viewer { solutions(first: 1) { edges { node { id } } } } }'
  const b = await gq(M, doc, {}, 'B')
  assert.equal(b.data.viewer.solutions.edges.length, 1)
  const none = await gq(M, doc, {})
  assert.match(none.errors[0].message, /operation name/)
  assert.equal(none.data, undefined)
  const two = await ok(M, 'mutation { a: createExternalUser(input: {name: "A", externalUserId: "a"}) { userId } b: createExternalUser(input: {name: "B", externalUserId: "b"}) { userId } }')
  assert.ok(two.a.userId && two.b.userId && two.a.userId !== two.b.userId)
  // one alias failing does not stop the other
  const mixed = await gq(M, 'mutation { a: createExternalUser(input: {name: "A", externalUserId: "a"}) { userId } c: createExternalUser(input: {name: "C", externalUserId: "c"}) { userId } }')
  assert.equal(mixed.data.a, null)
  assert.ok(mixed.data.c.userId)
  assert.deepEqual(mixed.errors[0].path, ['a'])
})

// === token rules ===================================================================================

test('token rules: master-only, user-only, both', async () => {
  fresh()
  const uid = await createUser('U', 'u')
  const ut = await tokenFor(uid)
  const masterOnly = {
    users: '{ users { edges { cursor } } }',
    solutions: '{ viewer { solutions { edges { cursor } } } }',
    createExternalUser: 'mutation { createExternalUser(input: {name: "x", externalUserId: "x"}) { userId } }',
    authorize: `mutation { authorize(input: {userId: "${uid}"}) { accessToken } }`,
    generateAuthorizationCode: `mutation { generateAuthorizationCode(input: {userId: "${uid}"}) { authorizationCode } }`,
    updateExternalUser: `mutation { updateExternalUser(input: {userId: "${uid}", isTestUser: true}) { user { id } } }`,
    removeExternalUser: `mutation { removeExternalUser(input: {userId: "${uid}"}) { clientMutationId } }`,
    importProject: `mutation { importProject(input: {exportedProjectJson: "{}", targetProjectId: "${PRODUCTION}"}) { clientMutationId } }`,
    exportProject: `mutation { exportProject(input: {projectId: "${STAGING}", exportSolution: true}) { exportedProjectJson } }`,
    importWorkflows: 'mutation { importWorkflows(input: {exportedWorkflowsJson: "{\\"workflows\\":[]}", targetWorkflowIds: []}) { clientMutationId } }',
    exportWorkflows: 'mutation { exportWorkflows(input: {workflowIds: ["ea3c20f5-xxxx-xxxx-xxxx-0ce2b7bb9f29"]}) { exportedWorkflowsJson } }'
  }
  for (const [name, q] of Object.entries(masterOnly)) {
    const e = await fails(ut, q, {}, 'UNAUTHORIZED', /requires a master token/)
    assert.notEqual(e.extensions.code, 'access_not_allowed')
    assert.equal(e.path[e.path.length - 1], name === 'solutions' ? 'solutions' : name)
  }
  const userOnly = {
    createSolutionInstance: `mutation { createSolutionInstance(input: {solutionId: "${SOL_SLACK}", instanceName: "x"}) { solutionInstance { id } } }`,
    updateSolutionInstance: 'mutation { updateSolutionInstance(input: {solutionInstanceId: "x", enabled: true}) { solutionInstance { id } } }',
    upgradeSolutionInstance: 'mutation { upgradeSolutionInstance(input: {solutionInstanceId: "x"}) { solutionInstance { id } } }',
    removeSolutionInstance: 'mutation { removeSolutionInstance(input: {solutionInstanceId: "x"}) { clientMutationId } }'
  }
  for (const q of Object.values(userOnly)) await fails(M, q, {}, 'UNAUTHORIZED', /requires a user token/)
  // both: no UNAUTHORIZED for either token
  for (const t of [M, ut]) {
    await ok(t, '{ viewer { authentications { edges { node { id } } } solutionInstances { totalCount } } }')
    await ok(t, 'mutation { callConnector(input: {connector: "text-helpers", version: "1.0", operation: "change_case", input: "{\\"text\\":\\"a\\"}"}) { output } }')
    const id = await createAuth(t, 'mine', SLACK_SERVICE, SLACK_ENV)
    await ok(t, `mutation { removeAuthentication(input: {authenticationId: "${id}"}) { clientMutationId } }`)
  }
  // the owner criteria needs the master token
  await fails(ut, `{ viewer { solutionInstances(criteria: {owner: "${uid}"}) { totalCount } } }`, {}, 'UNAUTHORIZED')
  // a user token whose user is gone
  await ok(M, `mutation { removeExternalUser(input: {userId: "${uid}"}) { clientMutationId } }`)
  assert.equal(ctx.auth.identify(ut), null, 'tokens revoked')
})

// === users =========================================================================================

test('users: create, defaults, duplicates, criteria, update, not found', async () => {
  fresh()
  const d = await ok(M, 'mutation { createExternalUser(input: {name: "Dwight Schrute", externalUserId: "dwight"}) { userId isTestUser clientMutationId } }')
  assert.equal(d.createExternalUser.isTestUser, false, 'billable by default')
  assert.equal(d.createExternalUser.clientMutationId, null)
  const t = await ok(M, 'mutation { createExternalUser(input: {name: "Test", externalUserId: "t1", isTestUser: true}) { userId isTestUser } }')
  assert.equal(t.createExternalUser.isTestUser, true)
  const e = await fails(M, 'mutation { createExternalUser(input: {name: "Other", externalUserId: "dwight"}) { userId } }', {}, 'CONFLICT')
  assert.match(e.message, /A user with externalUserId "dwight" already exists/)
  await createUser('Dwight Schrute', 'dwight-2', true)

  const q = 'query($c: UserSearchCriteria) { users(criteria: $c) { edges { node { id name externalUserId isTestUser } cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }'
  const find = async (c) => (await ok(M, q, { c })).users.edges.map((x) => x.node.externalUserId)
  assert.deepEqual(await find(null), ['dwight', 't1', 'dwight-2'])
  assert.deepEqual(await find({ userId: d.createExternalUser.userId }), ['dwight'])
  assert.deepEqual(await find({ externalUserId: 't1' }), ['t1'])
  assert.deepEqual(await find({ externalUserId: 'nobody' }), [])
  assert.deepEqual(await find({ name: 'Dwight Schrute' }), ['dwight', 'dwight-2'])
  assert.deepEqual(await find({ isTestUser: true }), ['t1', 'dwight-2'])
  assert.deepEqual(await find({ isTestUser: false }), ['dwight'])
  assert.deepEqual(await find({ isTestUser: true, name: 'Dwight Schrute' }), ['dwight-2'])
  assert.deepEqual(await find({ userId: d.createExternalUser.userId, isTestUser: true }), [])
  const one = await ok(M, q, { c: { externalUserId: 'dwight' } })
  assert.deepEqual(one.users.pageInfo, { hasNextPage: false, hasPreviousPage: false, startCursor: one.users.edges[0].cursor, endCursor: one.users.edges[0].cursor })

  const up = await ok(M, 'mutation($u: ID!, $t: Boolean) { updateExternalUser(input: {userId: $u, isTestUser: $t, clientMutationId: "cm"}) { user { id name externalUserId isTestUser } clientMutationId } }',
    { u: d.createExternalUser.userId, t: true })
  assert.deepEqual(up.updateExternalUser, { user: { id: d.createExternalUser.userId, name: 'Dwight Schrute', externalUserId: 'dwight', isTestUser: true }, clientMutationId: 'cm' })
  assert.deepEqual(await find({ isTestUser: false }), [])

  for (const m of ['authorize', 'generateAuthorizationCode']) {
    await fails(M, `mutation { ${m}(input: {userId: "nope"}) { clientMutationId } }`, {}, 'NOT_FOUND')
  }
  await fails(M, 'mutation { updateExternalUser(input: {userId: "nope", isTestUser: true}) { user { id } } }', {}, 'NOT_FOUND')
  await fails(M, 'mutation { removeExternalUser(input: {userId: "nope"}) { clientMutationId } }', {}, 'NOT_FOUND')
})

// === pagination ====================================================================================

const PAGE = `query($first: Int, $after: String, $last: Int, $before: String) {
  users(first: $first, after: $after, last: $last, before: $before) {
    edges { node { id externalUserId } cursor }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`

test('pagination: 250 users by 100, forwards and backwards', async () => {
  fresh()
  gql.seedUsers(250, { prefix: 'p-' })
  const all = []
  let after = null
  const infos = []
  for (;;) {
    const d = await ok(M, PAGE, { first: 100, after })
    const c = d.users
    all.push(...c.edges.map((e) => e.node.externalUserId))
    infos.push(c.pageInfo)
    assert.equal(c.pageInfo.startCursor, c.edges[0].cursor)
    assert.equal(c.pageInfo.endCursor, c.edges[c.edges.length - 1].cursor)
    if (!c.pageInfo.hasNextPage) break
    after = c.pageInfo.endCursor
  }
  assert.equal(infos.length, 3)
  assert.deepEqual(infos.map((i) => [i.hasNextPage, i.hasPreviousPage]), [[true, false], [true, true], [false, true]])
  assert.deepEqual(all, Array.from({ length: 250 }, (_, i) => 'p-' + (i + 1)), 'each user once, in order')

  // default page size 100; first: 0 empty
  let d = await ok(M, PAGE, {})
  assert.equal(d.users.edges.length, 100)
  assert.equal(d.users.pageInfo.hasNextPage, true)
  d = await ok(M, PAGE, { first: 0 })
  assert.deepEqual(d.users.edges, [])
  assert.equal(d.users.pageInfo.startCursor, null)

  // backwards with last/before
  const back = []
  let before = null
  let pages = 0
  for (;;) {
    const c = (await ok(M, PAGE, { last: 100, before })).users
    back.unshift(...c.edges.map((e) => e.node.externalUserId))
    pages++
    if (!c.pageInfo.hasPreviousPage) break
    before = c.pageInfo.startCursor
    assert.equal(c.pageInfo.hasNextPage, pages > 1)
  }
  assert.equal(pages, 3)
  assert.deepEqual(back, all)

  // a window between two cursors
  const p1 = (await ok(M, PAGE, { first: 10 })).users
  const cur3 = p1.edges[2].cursor
  const cur8 = p1.edges[7].cursor
  const mid = (await ok(M, PAGE, { first: 100, after: cur3, before: cur8 })).users
  assert.deepEqual(mid.edges.map((e) => e.node.externalUserId), ['p-4', 'p-5', 'p-6', 'p-7'])
  assert.equal(mid.pageInfo.hasNextPage, false)
  assert.equal(mid.pageInfo.hasPreviousPage, true)
  const lastTwo = (await ok(M, PAGE, { last: 2, after: cur3, before: cur8 })).users
  assert.deepEqual(lastTwo.edges.map((e) => e.node.externalUserId), ['p-6', 'p-7'])
  assert.equal(lastTwo.pageInfo.hasPreviousPage, true)
  assert.equal(lastTwo.pageInfo.hasNextPage, true)
  const both = (await ok(M, PAGE, { first: 5, last: 2 })).users
  assert.deepEqual(both.edges.map((e) => e.node.externalUserId), ['p-4', 'p-5'])
})

test('pagination: limits and bad cursors', async () => {
  fresh()
  gql.seedUsers(3)
  await fails(M, PAGE, { first: 101 }, 'BAD_USER_INPUT', /"first" must be between 0 and 100/)
  await fails(M, PAGE, { last: 101 }, 'BAD_USER_INPUT', /"last"/)
  await fails(M, PAGE, { first: -1 }, 'BAD_USER_INPUT')
  await fails(M, PAGE, { after: 'not a cursor' }, 'BAD_USER_INPUT', /Invalid cursor/)
  await fails(M, PAGE, { after: Buffer.from('user:999').toString('base64') }, 'BAD_USER_INPUT')
  await fails(M, PAGE, { before: 'MTNiM2FiOWMtZTIyMi00NzM5LWE2OWItYzRkZDA3ZmJiZmE0' }, 'BAD_USER_INPUT')
  const sol = (await ok(M, '{ viewer { solutions(first: 1) { edges { cursor } } } }')).viewer.solutions.edges[0].cursor
  await fails(M, PAGE, { after: sol }, 'BAD_USER_INPUT', /Invalid cursor/)
})

test('pagination: cursors stay valid across inserts and removals', async () => {
  fresh()
  gql.seedUsers(5, { prefix: 's-' })
  const p = (await ok(M, PAGE, { first: 2 })).users
  const cursor = p.pageInfo.endCursor // after s-2
  gql.seedUsers(2, { prefix: 's-' }) // s-6, s-7 at the end
  const id3 = (await ok(M, PAGE, { first: 1, after: cursor })).users.edges[0].node
  assert.equal(id3.externalUserId, 's-3')
  // remove s-2 (the cursor's own user) and s-3: the cursor still marks the place
  await ok(M, 'mutation($u: ID!) { removeExternalUser(input: {userId: $u}) { clientMutationId } }', { u: p.edges[1].node.id })
  await ok(M, 'mutation($u: ID!) { removeExternalUser(input: {userId: $u}) { clientMutationId } }', { u: id3.id })
  const rest = (await ok(M, PAGE, { first: 100, after: cursor })).users
  assert.deepEqual(rest.edges.map((e) => e.node.externalUserId), ['s-4', 's-5', 's-6', 's-7'])
  assert.equal(rest.pageInfo.hasPreviousPage, true)
  assert.equal((await ok(M, PAGE, { last: 100, before: cursor })).users.edges.length, 1)
})

test('seedUsers: 100000 users fast, pages cheap anywhere', async () => {
  fresh()
  let t = Date.now()
  const r = gql.seedUsers(100000, { prefix: 'bulk-' })
  const seedMs = Date.now() - t
  assert.equal(r.created, 100000)
  assert.ok(seedMs < 3000, `seedUsers took ${seedMs} ms`)
  assert.equal(gql.stats().users, 100000)
  t = Date.now()
  let after = null
  let seen = 0
  for (let i = 0; i < 50; i++) {
    const c = (await ok(M, PAGE, { first: 100, after })).users
    seen += c.edges.length
    after = c.pageInfo.endCursor
  }
  const near = Buffer.from('user:99950').toString('base64')
  const tail = (await ok(M, PAGE, { first: 100, after: near })).users
  assert.equal(tail.edges.length, 50)
  assert.equal(tail.pageInfo.hasNextPage, false)
  assert.equal(seen, 5000)
  assert.ok(Date.now() - t < 3000, `paging took ${Date.now() - t} ms`)
  // a second call with the same prefix counts on
  const r2 = gql.seedUsers(1, { prefix: 'bulk-' })
  assert.equal(gql.getUser(r2.firstUserId).externalUserId, 'bulk-100001')
  const lookup = (await ok(M, '{ users(criteria: {externalUserId: "bulk-77777"}) { edges { node { name } } } }')).users.edges
  assert.deepEqual(lookup.map((e) => e.node.name), ['bulk-77777'])
  const byName = (await ok(M, '{ users(criteria: {name: "bulk-99999"}) { edges { node { externalUserId } } pageInfo { hasNextPage hasPreviousPage } } }')).users
  assert.deepEqual(byName.edges.map((e) => e.node.externalUserId), ['bulk-99999'])
  assert.deepEqual(byName.pageInfo, { hasNextPage: false, hasPreviousPage: false })
})

// === clientMutationId ==============================================================================

test('clientMutationId is echoed unchanged by every mutation', async () => {
  fresh()
  const CM = 'cm-Ü-123 ✓'
  const uid = await createUser('Echo', 'echo')
  const ut = await tokenFor(uid)
  const inst = await createInstance(ut, SOL_SLACK, 'i')
  const auth = await createAuth(ut, 'a', SLACK_SERVICE, SLACK_ENV)
  const wf = 'ea3c20f5-xxxx-xxxx-xxxx-0ce2b7bb9f29'
  const exported = (await ok(M, `mutation { exportWorkflows(input: {workflowIds: ["${wf}"]}) { exportedWorkflowsJson } }`)).exportWorkflows.exportedWorkflowsJson
  const calls = [
    [M, 'createExternalUser', '{name: "n", externalUserId: "cm-user", clientMutationId: $cm}', 'userId'],
    [M, 'authorize', `{userId: "${uid}", clientMutationId: $cm}`, 'accessToken'],
    [M, 'generateAuthorizationCode', `{userId: "${uid}", clientMutationId: $cm}`, 'authorizationCode'],
    [M, 'updateExternalUser', `{userId: "${uid}", isTestUser: true, clientMutationId: $cm}`, 'user { id }'],
    [ut, 'createUserAuthentication', `{name: "x", serviceId: "${SLACK_SERVICE}", serviceEnvironmentId: "${SLACK_ENV}", data: {a: 1}, scopes: [], clientMutationId: $cm}`, 'authenticationId'],
    [ut, 'removeAuthentication', `{authenticationId: "${auth}", clientMutationId: $cm}`, null],
    [ut, 'createSolutionInstance', `{solutionId: "${SOL_SLACK}", instanceName: "x", clientMutationId: $cm}`, 'solutionInstance { id }'],
    [ut, 'updateSolutionInstance', `{solutionInstanceId: "${inst.id}", enabled: true, clientMutationId: $cm}`, 'solutionInstance { id }'],
    [ut, 'upgradeSolutionInstance', `{solutionInstanceId: "${inst.id}", clientMutationId: $cm}`, 'solutionInstance { id }'],
    [ut, 'removeSolutionInstance', `{solutionInstanceId: "${inst.id}", clientMutationId: $cm}`, null],
    [M, 'importProject', `{exportedProjectJson: "{}", targetProjectId: "${PRODUCTION}", clientMutationId: $cm}`, null],
    [M, 'exportProject', `{projectId: "${STAGING}", exportSolution: false, clientMutationId: $cm}`, 'exportedProjectJson'],
    [M, 'importWorkflows', `{exportedWorkflowsJson: ${JSON.stringify(exported)}, targetWorkflowIds: ["e5dc0748-xxxx-xxxx-xxxx-dfcc33795f12"], clientMutationId: $cm}`, null],
    [M, 'exportWorkflows', `{workflowIds: ["${wf}"], clientMutationId: $cm}`, 'exportedWorkflowsJson'],
    [ut, 'callConnector', '{connector: "text-helpers", version: "1", operation: "change_case", input: "{\\"text\\":\\"x\\"}", clientMutationId: $cm}', 'output'],
    [M, 'removeExternalUser', `{userId: "${uid}", clientMutationId: $cm}`, null]
  ]
  const done = new Set()
  for (const [token, m, input, sel] of calls) {
    const d = await ok(token, `mutation($cm: String) { ${m}(input: ${input}) { clientMutationId ${sel || ''} } }`, { cm: CM })
    assert.equal(d[m].clientMutationId, CM, m)
    done.add(m)
  }
  assert.equal(done.size, 16, 'all 16 mutations')
})

// === authorization codes ===========================================================================

test('authorization codes: 40 hex, single use, 5 minutes', async () => {
  fresh()
  const uid = await createUser('C', 'c')
  const gen = async () => (await ok(M, 'mutation($u: ID!) { generateAuthorizationCode(input: {userId: $u}) { authorizationCode } }', { u: uid })).generateAuthorizationCode.authorizationCode
  const c1 = await gen()
  assert.match(c1, /^[0-9a-f]{40}$/)
  assert.equal(gql.stats().codes, 1)
  assert.equal(gql.consumeAuthorizationCode(c1), uid)
  assert.equal(gql.consumeAuthorizationCode(c1), null, 'single use')
  assert.equal(gql.consumeAuthorizationCode('nope'), null)
  const c2 = await gen()
  ctx.clock.advance(5 * 60 * 1000 - 1)
  const c3 = await gen()
  assert.equal(gql.consumeAuthorizationCode(c3), uid)
  ctx.clock.advance(1)
  assert.equal(gql.stats().codes, 0)
  assert.equal(gql.consumeAuthorizationCode(c2), null, 'expired after 5 minutes')
})

// === authentications ===============================================================================

test('authentications: ownership, visibility, data never returned', async () => {
  fresh()
  const u1 = await createUser('One', 'one')
  const u2 = await createUser('Two', 'two')
  const t1 = await tokenFor(u1)
  const t2 = await tokenFor(u2)
  const a1 = await createAuth(t1, 'one slack', SLACK_SERVICE, SLACK_ENV, '{"token":"s1"}')
  const a1b = await createAuth(t1, 'one sf', SF_SERVICE, SF_ENV, { access_token: 'x', instance_url: 'https://example.my.salesforce.com' })
  const a2 = await createAuth(t2, 'two slack', SLACK_SERVICE, SLACK_ENV)
  const org = await createAuth(M, 'org slack', SLACK_SERVICE, SLACK_ENV)
  const Q = '{ viewer { authentications { edges { node { id name customFields service { id name icon title version } serviceEnvironment { id title } } } pageInfo { hasNextPage hasPreviousPage } } } }'
  const list = async (t) => (await ok(t, Q)).viewer.authentications.edges.map((e) => e.node)
  const l1 = await list(t1)
  assert.deepEqual(l1.map((n) => n.id), [a1, a1b])
  assert.deepEqual(l1[0].service, { id: SLACK_SERVICE, name: 'slack', icon: 'https://s3.amazonaws.com/images.tray.io/artisan/icons/slack.png', title: 'Slack', version: '1' })
  assert.deepEqual(l1[1].serviceEnvironment, { id: SF_ENV, title: 'Salesforce (production)' })
  assert.deepEqual((await list(t2)).map((n) => n.id), [a2])
  const lm = await list(M)
  assert.equal(lm.length, 4)
  assert.equal(lm[3].id, org)
  assert.ok(!lm.some((n) => [a1, a1b, a2].includes(n.id)), 'master does not see end users\' auths')
  assert.ok(!JSON.stringify(await gq(t1, Q)).includes('s1'), 'no auth data in any answer')
  // bad inputs
  await fails(t1, `mutation { createUserAuthentication(input: {name: "x", serviceId: "nope", serviceEnvironmentId: "${SLACK_ENV}", data: "{}", scopes: []}) { authenticationId } }`, {}, 'NOT_FOUND')
  await fails(t1, `mutation { createUserAuthentication(input: {name: "x", serviceId: "${SF_SERVICE}", serviceEnvironmentId: "${SLACK_ENV}", data: "{}", scopes: []}) { authenticationId } }`, {}, 'NOT_FOUND')
  await fails(t1, `mutation { createUserAuthentication(input: {name: "x", serviceId: "${SLACK_SERVICE}", serviceEnvironmentId: "${SLACK_ENV}", data: "{not json", scopes: []}) { authenticationId } }`, {}, 'BAD_USER_INPUT', /data is not valid JSON/)
  const r = await raw(t1, `mutation { createUserAuthentication(input: {name: "x", serviceId: "${SLACK_SERVICE}", serviceEnvironmentId: "${SLACK_ENV}", data: "{}"}) { authenticationId } }`)
  const noScopes = r.body.data.createUserAuthentication.authenticationId
  assert.ok(noScopes, 'scopes is optional')
  // removal: own only; master only the org's
  const rm = 'mutation($a: ID!) { removeAuthentication(input: {authenticationId: $a}) { clientMutationId } }'
  await fails(t2, rm, { a: a1 }, 'NOT_FOUND')
  await fails(M, rm, { a: a1 }, 'NOT_FOUND')
  await fails(t1, rm, { a: org }, 'NOT_FOUND')
  assert.deepEqual(await ok(t1, rm, { a: a1 }), { removeAuthentication: { clientMutationId: null } })
  assert.deepEqual((await list(t1)).map((n) => n.id), [a1b, noScopes])
  await ok(M, rm, { a: org })
  assert.equal((await list(M)).length, 3)
})

// === solutions =====================================================================================

test('solutions: fields, tags (all must match), pagination', async () => {
  fresh()
  const Q = 'query($c: SolutionSearchCriteria, $f: Int, $a: String) { viewer { solutions(criteria: $c, first: $f, after: $a) { edges { node { id title description tags customFields { key value } configSlots { externalId title defaultValue } authSlots { externalId title } } cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }'
  const get = async (v) => (await ok(M, Q, v)).viewer.solutions
  const all = await get({})
  assert.equal(all.edges.length, 4)
  const m = all.edges[0].node
  assert.deepEqual(m.configSlots, [{ externalId: 'external_campaignId', title: 'campaign ID', defaultValue: '1234' }])
  assert.deepEqual(m.customFields, [{ key: 'my_custom_field', value: 'myCustomFieldValue' }])
  assert.equal(m.authSlots.length, 2)
  const ids = async (tags) => (await get({ c: { tags } })).edges.map((e) => e.node.id)
  assert.deepEqual(await ids(['marketing']), [SOL_MARKETO, '52342dffd-XXXX-XXXX-XXXX-dfasdhkfh235lC'])
  assert.deepEqual(await ids(['marketing', 'sales']), ['52342dffd-XXXX-XXXX-XXXX-dfasdhkfh235lC'])
  assert.deepEqual(await ids(['onboarding']), [SOL_SF_SLACK, SOL_SLACK])
  assert.deepEqual(await ids(['marketing', 'nothing']), [])
  assert.equal((await ids([])).length, 4)
  const p1 = await get({ f: 1 })
  assert.equal(p1.pageInfo.hasNextPage, true)
  const p2 = await get({ f: 1, a: p1.pageInfo.endCursor })
  assert.equal(p2.edges[0].node.id, SOL_SF_SLACK)
  assert.equal(p2.pageInfo.hasPreviousPage, true)
})

// === solution instances ============================================================================

test('solution instances: create, update, upgrade, remove, queries, totalCount', async () => {
  fresh()
  const u1 = await createUser('One', 'one')
  const u2 = await createUser('Two', 'two')
  const t1 = await tokenFor(u1)
  const t2 = await tokenFor(u2)
  const before = ctx.clock.now()
  const i1 = await createInstance(t1, SOL_SLACK, 'slack one', { a: [{ externalId: 'external_slack_authentication', authId: 'auth-1' }] })
  assert.equal(i1.name, 'slack one')
  assert.equal(i1.enabled, false)
  assert.equal(i1.owner, u1)
  assert.equal(i1.created, new Date(before).toISOString())
  assert.equal(i1.solution.id, SOL_SLACK)
  assert.deepEqual(i1.solutionVersionFlags, { hasNewerVersion: true, requiresUserInputToUpdateVersion: true, requiresSystemInputToUpdateVersion: false })
  assert.equal(i1.workflows.edges.length, 1)
  const w = i1.workflows.edges[0].node
  assert.equal(w.sourceWorkflowId, '3af6461f-XXXX-XXXX-XXXX-91ada5769f90')
  assert.equal(w.sourceWorkflowName, 'Slack webhook')
  assert.match(w.triggerUrl, /^https:\/\/[0-9a-f-]{36}\.trayapp\.io$/)
  assert.deepEqual(i1.authValues, [{ externalId: 'external_slack_authentication', authId: 'auth-1' }])
  assert.deepEqual(i1.configValues, [])

  const i2 = await createInstance(t1, SOL_SF_SLACK, 'sf one', { c: [{ externalId: 'external_limit', value: '5' }] })
  assert.deepEqual(i2.solutionVersionFlags, { hasNewerVersion: false, requiresUserInputToUpdateVersion: false, requiresSystemInputToUpdateVersion: false })
  assert.equal(i2.workflows.edges.length, 2)
  assert.ok(i2.workflows.edges[0].node.triggerUrl)
  assert.equal(i2.workflows.edges[1].node.triggerUrl, null, 'scheduled workflow: no trigger URL')
  assert.notEqual(i2.workflows.edges[0].node.triggerUrl, (await createInstance(t2, SOL_SF_SLACK, 'sf two')).workflows.edges[0].node.triggerUrl, 'per instance')
  const wfPage = (await ok(t1, `{ viewer { solutionInstances(criteria: {solutionId: "${SOL_SF_SLACK}"}) { edges { node { workflows { edges { node { sourceWorkflowName } } pageInfo { hasNextPage } } } } } } }`))
  assert.equal(wfPage.viewer.solutionInstances.edges[0].node.workflows.edges.length, 2)
  await createInstance(t2, SOL_SLACK, 'slack two')
  await fails(t1, CREATE_INSTANCE, { s: 'nope', n: 'x' }, 'NOT_FOUND', /Solution/)

  // queries
  const Q = 'query($c: SolutionInstanceSearchCriteria, $f: Int) { viewer { solutionInstances(criteria: $c, first: $f) { totalCount edges { node { id name owner solution { id } } cursor } pageInfo { hasNextPage hasPreviousPage } } } }'
  const q = async (t, v) => (await ok(t, Q, v)).viewer.solutionInstances
  let r = await q(t1, {})
  assert.equal(r.totalCount, 2)
  assert.deepEqual(r.edges.map((e) => e.node.name), ['slack one', 'sf one'])
  r = await q(t1, { c: { solutionId: SOL_SLACK } })
  assert.equal(r.totalCount, 1)
  r = await q(M, {})
  assert.equal(r.totalCount, 4)
  r = await q(M, { c: { owner: u2 } })
  assert.equal(r.totalCount, 2)
  assert.ok(r.edges.every((e) => e.node.owner === u2))
  r = await q(M, { c: { owner: u2, solutionId: SOL_SLACK } })
  assert.equal(r.totalCount, 1)
  assert.equal(r.edges[0].node.name, 'slack two')
  r = await q(M, { c: { solutionId: SOL_SLACK }, f: 1 })
  assert.equal(r.totalCount, 2, 'totalCount counts all pages')
  assert.equal(r.edges.length, 1)
  assert.equal(r.pageInfo.hasNextPage, true)
  r = await q(M, { c: { owner: 'nobody' } })
  assert.equal(r.totalCount, 0)

  // update: name, enabled, values replaced per externalId
  const U = 'mutation($i: ID!, $n: String, $e: Boolean, $a: [AuthValue!], $c: [ConfigValue!]) { updateSolutionInstance(input: {solutionInstanceId: $i, instanceName: $n, enabled: $e, authValues: $a, configValues: $c}) { solutionInstance { id name enabled created authValues { externalId authId } configValues { externalId value } } } }'
  let s = (await ok(t1, U, { i: i2.id, n: 'renamed', e: true, c: [{ externalId: 'external_limit', value: '10' }, { externalId: 'external_channel', value: '#x' }] })).updateSolutionInstance.solutionInstance
  assert.equal(s.name, 'renamed')
  assert.equal(s.enabled, true)
  assert.equal(s.created, i2.created)
  assert.deepEqual(s.configValues, [{ externalId: 'external_limit', value: '10' }, { externalId: 'external_channel', value: '#x' }])
  s = (await ok(t1, U, { i: i2.id, a: [{ externalId: 'external_slack_authentication', authId: 'z' }] })).updateSolutionInstance.solutionInstance
  assert.equal(s.name, 'renamed')
  assert.equal(s.enabled, true)
  assert.equal(s.configValues.length, 2)
  assert.deepEqual(s.authValues, [{ externalId: 'external_slack_authentication', authId: 'z' }])
  s = (await ok(t1, U, { i: i2.id, e: false })).updateSolutionInstance.solutionInstance
  assert.equal(s.enabled, false)
  await fails(t2, U, { i: i2.id, e: true }, 'NOT_FOUND', /Solution instance/)
  await fails(t1, U, { i: 'nope', e: true }, 'NOT_FOUND')

  // upgrade: values merged, flags cleared, enabled untouched
  const G = 'mutation($i: ID!, $c: [ConfigValue!], $a: [AuthValue!]) { upgradeSolutionInstance(input: {solutionInstanceId: $i, configValues: $c, authValues: $a}) { solutionInstance { id enabled configValues { externalId value } authValues { externalId authId } solutionVersionFlags { hasNewerVersion requiresUserInputToUpdateVersion } } } }'
  s = (await ok(t1, G, { i: i1.id, c: [{ externalId: 'external_channel', value: '#new' }] })).upgradeSolutionInstance.solutionInstance
  assert.deepEqual(s.solutionVersionFlags, { hasNewerVersion: false, requiresUserInputToUpdateVersion: false })
  assert.deepEqual(s.configValues, [{ externalId: 'external_channel', value: '#new' }])
  assert.equal(s.authValues.length, 1)
  assert.equal(s.enabled, false)
  const bad = await raw(t1, 'mutation { upgradeSolutionInstance(input: {solutionInstanceId: "x", enabled: true}) { clientMutationId } }')
  assert.equal(bad.body.data, undefined, 'upgrade takes no enabled')

  // remove
  const R = 'mutation($i: ID!) { removeSolutionInstance(input: {solutionInstanceId: $i}) { clientMutationId } }'
  await fails(t2, R, { i: i1.id }, 'NOT_FOUND')
  assert.deepEqual(await ok(t1, R, { i: i1.id }), { removeSolutionInstance: { clientMutationId: null } })
  await fails(t1, R, { i: i1.id }, 'NOT_FOUND')
  assert.equal((await q(t1, {})).totalCount, 1)
  assert.equal(gql.stats().instances, 3)
  assert.equal(gql.getSolutionInstance(i2.id).owner, u1)
})

// === cascade =======================================================================================

test('removeExternalUser: instances, auths, codes and tokens go too', async () => {
  fresh()
  const u1 = await createUser('One', 'one')
  const u2 = await createUser('Two', 'two')
  const t1 = await tokenFor(u1)
  const t2 = await tokenFor(u2)
  await createInstance(t1, SOL_SLACK, 'a')
  await createInstance(t1, SOL_MARKETO, 'b')
  await createInstance(t2, SOL_SLACK, 'c')
  await createAuth(t1, 'x', SLACK_SERVICE, SLACK_ENV)
  await createAuth(t2, 'y', SLACK_SERVICE, SLACK_ENV)
  const code = (await ok(M, `mutation { generateAuthorizationCode(input: {userId: "${u1}"}) { authorizationCode } }`)).generateAuthorizationCode.authorizationCode
  assert.deepEqual(gql.stats(), { users: 2, instances: 3, auths: 5, codes: 1 })
  const d = await ok(M, 'mutation($u: ID!) { removeExternalUser(input: {userId: $u, clientMutationId: "bye"}) { clientMutationId } }', { u: u1 })
  assert.deepEqual(d, { removeExternalUser: { clientMutationId: 'bye' } })
  assert.deepEqual(gql.stats(), { users: 1, instances: 1, auths: 4, codes: 0 })
  assert.equal(ctx.auth.identify(t1), null)
  assert.ok(ctx.auth.identify(t2))
  assert.equal(gql.consumeAuthorizationCode(code), null)
  assert.equal(gql.getUser(u1), null)
  assert.deepEqual((await ok(M, '{ users(criteria: {name: "One"}) { edges { cursor } } }')).users.edges, [])
  // the externalUserId is free again
  await createUser('One again', 'one')
  // the master's view no longer lists the instances
  const all = (await ok(M, '{ viewer { solutionInstances { totalCount } } }')).viewer.solutionInstances.totalCount
  assert.equal(all, 1)
})

// === projects and workflows ========================================================================

test('projects: export (with and without solution), import round trip', async () => {
  fresh()
  const E = 'mutation($p: ID!, $s: Boolean!) { exportProject(input: {projectId: $p, exportSolution: $s}) { exportedProjectJson } }'
  const exp = async (p, s) => (await ok(M, E, { p, s })).exportProject.exportedProjectJson
  const withSol = JSON.parse(await exp(STAGING, true))
  assert.equal(withSol.export_type, 'project')
  assert.equal(withSol.projects[0].id, STAGING)
  assert.deepEqual(withSol.workflows.map((w) => w.id), ['ea3c20f5-xxxx-xxxx-xxxx-0ce2b7bb9f29', 'a6af4264-xxxx-xxxx-xxxx-70a1e59d72b2', '3af6461f-XXXX-XXXX-XXXX-91ada5769f90'])
  assert.equal(withSol.solution.id, SOL_SLACK)
  const noSol = JSON.parse(await exp(STAGING, false))
  assert.equal(noSol.solution, undefined)
  await fails(M, E, { p: 'nope', s: true }, 'NOT_FOUND', /Project/)

  const I = 'mutation($j: String!, $t: ID!) { importProject(input: {exportedProjectJson: $j, targetProjectId: $t}) { clientMutationId } }'
  const json = JSON.stringify(withSol) + ' ' // byte for byte, whitespace included
  await ok(M, I, { j: json, t: PRODUCTION })
  assert.equal(await exp(PRODUCTION, true), json)
  assert.equal(JSON.parse(await exp(PRODUCTION, false)).solution, undefined)
  assert.deepEqual(JSON.parse(await exp(PRODUCTION, false)).workflows, withSol.workflows)
  await fails(M, I, { j: '{not json', t: PRODUCTION }, 'BAD_USER_INPUT', /not valid JSON/)
  await fails(M, I, { j: '[1]', t: PRODUCTION }, 'BAD_USER_INPUT')
  await fails(M, I, { j: '{}', t: 'nope' }, 'NOT_FOUND')
  // reset restores the seed
  gql.reset()
  assert.notEqual(await exp(PRODUCTION, true), json)
})

test('workflows: export, import into targets, round trip, target count', async () => {
  fresh()
  const E = 'mutation($w: [ID!]!) { exportWorkflows(input: {workflowIds: $w}) { exportedWorkflowsJson } }'
  const exp = async (w) => JSON.parse((await ok(M, E, { w })).exportWorkflows.exportedWorkflowsJson)
  const src = await exp(['a6af4264-xxxx-xxxx-xxxx-70a1e59d72b2'])
  assert.deepEqual(Object.keys(src), ['tray_export_version', 'export_type', 'workflows', 'projects'])
  assert.equal(src.export_type, 'workflow')
  assert.equal(src.workflows[0].title, 'Sheetsratelimitingtest')
  await fails(M, E, { w: ['nope'] }, 'NOT_FOUND', /Workflow/)
  await fails(M, E, { w: [] }, 'BAD_USER_INPUT')

  const I = 'mutation($j: String!, $t: [ID!]!) { importWorkflows(input: {exportedWorkflowsJson: $j, targetWorkflowIds: $t}) { clientMutationId } }'
  const target = 'e5dc0748-xxxx-xxxx-xxxx-dfcc33795f12'
  await fails(M, I, { j: JSON.stringify(src), t: [target, 'ea3c20f5-xxxx-xxxx-xxxx-0ce2b7bb9f29'] }, 'BAD_USER_INPUT', /one target per workflow/)
  await fails(M, I, { j: JSON.stringify(src), t: [] }, 'BAD_USER_INPUT')
  await fails(M, I, { j: 'nope', t: [target] }, 'BAD_USER_INPUT', /not valid JSON/)
  await fails(M, I, { j: JSON.stringify(src), t: ['nope'] }, 'NOT_FOUND')
  await ok(M, I, { j: JSON.stringify(src), t: [target] })
  const back = await exp([target])
  assert.equal(back.workflows[0].id, target)
  assert.deepEqual({ ...back.workflows[0], id: null }, { ...src.workflows[0], id: null })
  // two at once, in order
  const two = await exp(['ea3c20f5-xxxx-xxxx-xxxx-0ce2b7bb9f29', 'a6af4264-xxxx-xxxx-xxxx-70a1e59d72b2'])
  await ok(M, I, { j: JSON.stringify(two), t: [target, '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e01'] })
  const after = await exp([target, '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e01'])
  assert.deepEqual(after.workflows.map((w) => w.title), ['webhookslack', 'Sheetsratelimitingtest'])
})

// === call connector ================================================================================

const LIST_ALL_LEADS = '{"total":10,"next_page_offset":null,"records":[{"Id":"00Q8d000005HrKQEA0","Name":"Mike Braund"},{"Id":"00Q8d000005HrKNEA0","Name":"Bertha Boxer"},{"Id":"00Q8d000005HrKOEA0","Name":"Phyllis Cotton"},{"Id":"00Q8d000005HrKPEA0","Name":"Jeff Glimpse"},{"Id":"00Q8d000005HrKREA0","Name":"Patricia Feager"},{"Id":"00Q8d000005HrKVEA0","Name":"Tom James"},{"Id":"00Q8d000005HrKSEA0","Name":"Brenda Mcclure"},{"Id":"00Q8d000005HrKTEA0","Name":"Violet Maccleod"},{"Id":"00Q8d000005HrKUEA0","Name":"Kathy Snyder"},{"Id":"00Q8d000005HrKWEA0","Name":"Shelly Brownell"}]}'
const LIST_WARM_LEADS = '{"total":1,"next_page_offset":null,"records":[{"Id":"00Q8d000005HrKeEAK","Name":"Jack Rogers"}]}'

test('callConnector: the reference\'s aliased Salesforce calls, Twilio, errors', async () => {
  fresh()
  const uid = await createUser('C', 'c')
  const ut = await tokenFor(uid)
  const sf = await createAuth(ut, 'sf', SF_SERVICE, SF_ENV)
  const other = await createAuth(M, 'org sf', SF_SERVICE, SF_ENV)
  // "Multiple connector calls in one", with the user's own auth
  const multi = samples.samples.find((s) => s.name.endsWith('Multiple connector calls in one'))
  const d = await ok(ut, multi.query.split('########-####-####-####-############').join(sf))
  assert.equal(d.listAllLeads.output, LIST_ALL_LEADS)
  assert.equal(d.listWarmLeads.output, LIST_WARM_LEADS)
  // the curl sample (variables, nullable authId) with the master token and an org auth
  const curl = samples.samples.find((s) => s.name === 'curl: Call Connector / Call a Tray connector')
  const c = await ok(M, curl.query, { ...curl.variables, authId: other })
  assert.equal(c.listAllLeads.output, LIST_ALL_LEADS)

  const CC = 'mutation($c: String!, $v: String!, $o: String!, $a: String, $i: Json!) { callConnector(input: {connector: $c, version: $v, operation: $o, authId: $a, input: $i}) { output clientMutationId } }'
  const tw = await ok(ut, CC, { c: 'twilio-output', v: '2.1', o: 'send_sms', a: sf, i: JSON.stringify({ to: '+15555550100', from: '+15555550111', body: 'hi' }) })
  const out = JSON.parse(tw.callConnector.output)
  assert.match(out.sid, /^SM[0-9a-f]{32}$/)
  assert.equal(out.status, 'queued')
  assert.equal(out.body, 'hi')
  const e = await fails(ut, CC, { c: 'salesforce', v: '8.1', o: 'no_such_op', a: sf, i: '{}' }, 'NOT_FOUND')
  assert.equal(e.message, 'The connector operation no_such_op was not found')
  await fails(ut, CC, { c: 'nope', v: '1', o: 'x', a: sf, i: '{}' }, 'NOT_FOUND', /The connector operation x was not found/)
  await fails(ut, CC, { c: 'salesforce', v: '8.1', o: 'find_records', a: sf, i: '{not json' }, 'BAD_USER_INPUT', /input is not valid JSON/)
  await fails(ut, CC, { c: 'salesforce', v: '8.1', o: 'find_records', a: null, i: '{}' }, 'BAD_USER_INPUT', /authId/)
  await fails(ut, CC, { c: 'salesforce', v: '8.1', o: 'find_records', a: other, i: '{}' }, 'NOT_FOUND', /Authentication/)
  const ce = await fails(ut, CC, { c: 'twilio-output', v: '2.1', o: 'send_sms', a: sf, i: '{"body":"x"}' }, 'CONNECTOR_ERROR', /'to'/)
  assert.equal(ce.extensions.output.code, 21604)
  const nt = await ok(ut, CC, { c: 'text-helpers', v: '1.0', o: 'change_case', a: null, i: '{"text":"Hello"}' })
  assert.deepEqual(JSON.parse(nt.callConnector.output), { result: 'HELLO' })
})

test('callConnector: the ctx / opts hook', async () => {
  const seen = []
  fresh({
    callConnector (call) {
      seen.push(call)
      if (call.connector === 'fallback') return null
      if (call.operation === 'boom') return { outcome: 'error', output: { message: 'Upstream said no', status: 502 } }
      return { outcome: 'success', output: { echoed: call.input, auth: call.authId } }
    }
  })
  const CC = 'mutation($c: String!, $o: String!, $i: Json!) { callConnector(input: {connector: $c, version: "1.0", operation: $o, authId: "any", input: $i}) { output } }'
  const d = await ok(M, CC, { c: 'anything', o: 'op', i: '{"a":[1,2]}' })
  assert.deepEqual(JSON.parse(d.callConnector.output), { echoed: { a: [1, 2] }, auth: 'any' })
  assert.deepEqual(seen[0].identity, { kind: 'master' })
  assert.equal(seen[0].version, '1.0')
  const e = await fails(M, CC, { c: 'anything', o: 'boom', i: '{}' }, 'CONNECTOR_ERROR', /Upstream said no/)
  assert.deepEqual(e.extensions.output, { message: 'Upstream said no', status: 502 })
  await fails(M, CC, { c: 'fallback', o: 'op', i: '{}' }, 'NOT_FOUND', /The connector operation op was not found/)
  // ctx.callConnector is used when set later (opts wins when both are given)
  fresh()
  ctx.callConnector = async () => ({ outcome: 'success', output: [1] })
  assert.equal((await ok(M, CC, { c: 'x', o: 'y', i: '{}' })).callConnector.output, '[1]')
})

test('reset() returns to the seed; stats()', async () => {
  fresh()
  const uid = await createUser('R', 'r')
  const ut = await tokenFor(uid)
  await createInstance(ut, SOL_SLACK, 'x')
  assert.deepEqual(gql.stats(), { users: 1, instances: 1, auths: 3, codes: 0 })
  gql.reset()
  assert.deepEqual(gql.stats(), { users: 0, instances: 0, auths: 3, codes: 0 })
  assert.equal((await ok(M, '{ users { edges { cursor } } }')).users.edges.length, 0)
})

// === run ===========================================================================================

;(async () => {
  let failed = 0
  for (const t of tests) {
    try {
      await t.fn()
      console.log(`ok - ${t.name}`)
    } catch (e) {
      failed++
      console.log(`not ok - ${t.name}\n  ${(e && e.stack ? e.stack : String(e)).split('\n').join('\n  ')}`)
    }
  }
  console.log(`\n${tests.length - failed}/${tests.length} passed (${path.basename(__filename)})`)
  process.exit(failed ? 1 : 0)
})()
