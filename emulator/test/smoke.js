'use strict'
// Self-check of the emulator: `node emulator/test/smoke.js`. Starts the server on port 0 (and once
// more with --tls), exercises every REST route, the GraphQL front, every control, every fault
// mode, rate limiting and latency. Prints "N passed, M failed"; exits non-zero on failure.

const { spawn } = require('node:child_process')
const http = require('node:http')
const https = require('node:https')
const path = require('node:path')
const assert = require('node:assert/strict')
const readline = require('node:readline')

const SERVER = path.join(__dirname, '..', 'server.js')
const MASTER = 'emulator-master-token'
const C = '/core/v1'

let passed = 0
let failed = 0

async function check (name, fn) {
  try {
    await fn()
    passed++
    process.stdout.write(`ok   ${name}\n`)
  } catch (e) {
    failed++
    process.stdout.write(`FAIL ${name}\n     ${String(e && e.stack).split('\n').slice(0, 6).join('\n     ')}\n`)
  }
}

/** Starts the server; resolves { url, proc, firstLine }. */
function startServer (args = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [SERVER, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    const rl = readline.createInterface({ input: proc.stdout })
    rl.once('line', (line) => {
      const m = /^tray-emulator listening on (https?:\/\/\S+)$/.exec(line)
      if (!m) return reject(new Error(`unexpected first line: ${line}`))
      resolve({ url: m[1], proc, firstLine: line })
    })
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
}

function stopServer (proc) {
  return new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }))
    proc.kill('SIGTERM')
  })
}

/**
 * One HTTP request on a fresh connection. Resolves { status, headers, body, json, ms } or
 * rejects with the socket error (or 'timeout').
 */
function request (base, method, p, opts = {}) {
  const u = new URL(base + p)
  const headers = { ...opts.headers }
  const token = opts.token === undefined ? MASTER : opts.token
  if (token) headers.authorization = `Bearer ${token}`
  let body = opts.body
  if (body !== undefined && typeof body !== 'string') body = JSON.stringify(body)
  if (body !== undefined) headers['content-type'] = headers['content-type'] || 'application/json'
  const mod = u.protocol === 'https:' ? https : http
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers, agent: false, ca: opts.ca }, (res) => {
      const chunks = []
      let size = 0
      res.on('data', (c) => { size += c.length; if (!opts.countOnly) chunks.push(c) })
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json
        try { json = JSON.parse(text) } catch { json = undefined }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json, size, ms: performance.now() - started })
      })
      res.on('error', reject)
      res.on('aborted', () => reject(new Error('aborted')))
    })
    req.on('error', reject)
    if (opts.timeout) req.setTimeout(opts.timeout, () => req.destroy(new Error('timeout')))
    if (body !== undefined) req.write(body)
    req.end()
  })
}

async function main () {
  const { url, proc, firstLine } = await startServer()
  const get = (p, o) => request(url, 'GET', p, o)
  const post = (p, body, o) => request(url, 'POST', p, { ...o, body })
  const del = (p, o) => request(url, 'DELETE', p, o)
  const control = async (method, p, body) => {
    const r = await request(url, method, '/_emulator' + p, { token: null, body })
    assert.ok(r.status < 300, `${method} ${p} -> ${r.status} ${r.body}`)
    return r.json
  }
  const reset = () => control('POST', '/reset', {})
  const fault = (spec) => control('POST', '/faults', spec)
  const info = await control('GET', '/info')
  const hasGraphql = (await post('/graphql', { query: '{ __typename }' })).status !== 501
  const call = (connector, version, body, o) => post(`${C}/connectors/${connector}/versions/${version}/call`, body, o)

  await check('first stdout line and /_emulator/info', async () => {
    assert.match(firstLine, /^tray-emulator listening on http:\/\/127\.0\.0\.1:\d+$/)
    assert.equal(info.url, url)
    assert.equal(info.masterToken, MASTER)
    assert.equal(info.tls, false)
    assert.match(info.altUrl, /^http:\/\/127\.0\.0\.\d:\d+$/)
  })

  // ---- connectors
  await check('GET /connectors lists every catalogue connector version', async () => {
    const r = await get(`${C}/connectors`)
    assert.equal(r.status, 200)
    assert.equal(r.json.elements.length, 36)
    assert.deepEqual(r.json.elements.find((e) => e.name === 'twilio-output'),
      { name: 'twilio-output', version: '2.1', title: 'Twilio', description: 'Cloud communication platform for developers' })
  })
  await check('GET /connectors/{n}/versions/{v} answers ConnectorVersion, 404 when unknown', async () => {
    const r = await get(`${C}/connectors/twilio-output/versions/2.1`)
    assert.equal(r.status, 200)
    assert.equal(r.json.name, 'twilio-output')
    assert.equal(r.json.version, '2.1')
    assert.equal(r.json.title, 'Twilio')
    assert.equal(r.json.operations[0].name, 'send_sms')
    assert.equal((await get(`${C}/connectors/nope/versions/1.0`)).status, 404)
    assert.equal((await get(`${C}/connectors/twilio-output/versions/9.9`)).status, 404)
  })
  await check('GET .../operations: twilio, clearbit 2.0/2.1, trello, outreach, empty others', async () => {
    const ops = async (n, v) => (await get(`${C}/connectors/${n}/versions/${v}/operations`)).json.elements
    const twilio = await ops('twilio-output', '2.1')
    assert.deepEqual(twilio[0].inputSchema.required, ['to', 'from', 'body'])
    assert.equal(twilio[0].inputSchema.$schema, 'https://api.tray.io/core/v1/connectors/operations/input-schema#')
    assert.equal((await ops('clearbit', '2.0')).length, 6)
    assert.equal((await ops('clearbit', '2.1')).length, 6)
    assert.equal((await ops('trello', '2.0')).length, 20)
    assert.ok((await ops('outreach', '3.2')).length >= 2)
    assert.deepEqual(await ops('shopify', '4.0'), [])
    assert.equal((await get(`${C}/connectors/nope/versions/1/operations`)).status, 404)
  })
  await check('call connector: success, returnOutputSchema, counted in stats', async () => {
    const r = await call('twilio-output', '2.1', { operation: 'send_sms', authId: info.seed.authentication, input: { to: '+15550001', from: '+15550002', body: 'hi' }, returnOutputSchema: true })
    assert.equal(r.status, 200)
    assert.equal(r.json.outcome, 'success')
    assert.equal(r.json.output.status, 'queued')
    assert.equal(r.json.output.to, '+15550001')
    assert.match(r.json.output.sid, /^SM[0-9a-f]{32}$/)
    assert.equal(r.json.outputSchema.type, 'object')
    const r2 = await call('twilio-output', '2.1', { operation: 'send_sms', input: { to: '+1', from: '+2', body: 'x' } })
    assert.equal(r2.json.outputSchema, undefined)
    const stats = await control('GET', '/stats')
    assert.equal(stats.connectorCalls['twilio-output/2.1/send_sms'], 2)
  })
  await check('call connector: invalid input -> 400 listing each violation', async () => {
    const r = await call('twilio-output', '2.1', { operation: 'send_sms', input: { to: 5, extra: true } })
    assert.equal(r.status, 400)
    assert.equal(r.json.error, 'Bad Request')
    for (const bit of ['/to', '/from', '/body', '/extra']) assert.ok(r.json.message.includes(bit), r.json.message)
    assert.ok(r.json.errors.some((e) => e.path === '/from' && /required/.test(e.message)))
    const t = await call('trello', '2.0', { operation: 'get_board_by_id', input: { board_id: 'b1', include_cards: 'all', include_lists: 'all', include_members: 'none', include_labels: 'none', fields: 'all', include_actions: [] } })
    assert.equal(t.status, 200, t.body)
    assert.equal(t.json.output.id, 'b1')
    const c = await call('clearbit', '2.1', { operation: 'person_by_email', input: {} })
    assert.equal(c.status, 400)
    assert.match(c.json.message, /\/email/)
  })
  await check('POST /_emulator/validate: ajv verdict on a schema or a catalogue operation; 400/404 on bad asks', async () => {
    const v = await control('POST', '/validate', { schema: { type: 'object', required: ['a/b'], properties: { x: { type: 'string' } } }, value: { x: 1 } })
    assert.equal(v.ok, false)
    assert.deepEqual(v.errors.map((e) => [e.path, e.keyword]), [['/a~1b', 'required'], ['/x', 'type']])
    assert.deepEqual(await control('POST', '/validate', { schema: true, value: [] }), { ok: true, errors: [] })
    assert.equal((await control('POST', '/validate', { schema: false, value: 1 })).ok, false)
    const op = await control('POST', '/validate', { connector: 'twilio-output', version: '2.1', operation: 'send_sms', value: { to: '+1', from: '+2', body: 'x' } })
    assert.equal(op.ok, true)
    const ask = (body) => request(url, 'POST', '/_emulator/validate', { token: null, body })
    assert.equal((await ask({ schema: { exclusiveMinimum: true }, value: 1 })).status, 400)
    assert.equal((await ask({ schema: {} })).status, 400)
    assert.equal((await ask({ schema: 'x', value: 1 })).status, 400)
    assert.equal((await ask({ connector: 'twilio-output', version: '2.1', operation: 'nope', value: {} })).status, 404)
  })
  await check('GraphQL callConnector: catalogue operations validated with ajv, counted, answered', async () => {
    if (!hasGraphql) return
    await reset()
    const cc = (connector, version, operation, input) => post('/graphql', { query: 'mutation($i: Json!) { callConnector(input: {connector: "' + connector + '", version: "' + version + '", operation: "' + operation + '", input: $i}) { output } }', variables: { i: JSON.stringify(input) } })
    const bad = await cc('clearbit', '2.0', 'reveal_api', { ip: 5 })
    assert.equal(bad.json.errors[0].extensions.code, 'BAD_USER_INPUT')
    assert.deepEqual(bad.json.errors[0].extensions.errors, [{ path: '/ip', message: 'must be string' }])
    const good = await cc('clearbit', '2.0', 'company_by_domain', { domain: 'example.com' })
    assert.equal(JSON.parse(good.json.data.callConnector.output).domain, 'example.com')
    const helper = await cc('text-helpers', '1.0', 'change_case', { text: 'a' })
    assert.equal(helper.json.data.callConnector.output, '{"result":"A"}')
    assert.deepEqual((await control('GET', '/stats')).connectorCalls, { 'clearbit/2.0/company_by_domain': 1 })
  })
  await check('call connector: outcome error (bad number, unknown authId), unknown operation, bad bodies', async () => {
    const bad = await call('twilio-output', '2.1', { operation: 'send_sms', input: { to: '5550001', from: '+1', body: 'x' } })
    assert.equal(bad.status, 200)
    assert.equal(bad.json.outcome, 'error')
    assert.equal(bad.json.output.code, 21211)
    assert.match(bad.json.output.message, /not a valid phone number/)
    const noAuth = await call('twilio-output', '2.1', { operation: 'send_sms', authId: 'no-such-auth', input: { to: '+1', from: '+2', body: 'x' } })
    assert.equal(noAuth.status, 200)
    assert.deepEqual(noAuth.json, { outcome: 'error', output: { message: 'Authentication not found' } })
    const unknown = await call('twilio-output', '2.1', { operation: 'fly' })
    assert.equal(unknown.status, 400)
    assert.equal(unknown.json.message, 'The connector operation fly was not found')
    const missing = await call('twilio-output', '2.1', { input: {} })
    assert.equal(missing.status, 400)
    assert.match(missing.json.message, /operation/)
    assert.equal((await call('twilio-output', '2.1', '{not json')).status, 400)
    assert.equal((await call('twilio-output', '2.1', { operation: 'send_sms', input: [] })).status, 400)
    assert.equal((await call('nope', '1', { operation: 'x' })).status, 404)
  })

  // ---- authentications
  await check('authentications: list, create (no secrets echoed), get, delete 204, 404s, 400s', async () => {
    const list = await get(`${C}/authentications`)
    assert.equal(list.json.elements.length, 1)
    const created = await post(`${C}/authentications`, { name: 'Slack authentication', data: { access_token: 'test' }, formData: { signing_secret: 'test' }, serviceEnvironmentId: 'slack-4-production', scopes: ['channels:read', 'channels:write'] })
    assert.equal(created.status, 200)
    assert.deepEqual(Object.keys(created.json).sort(), ['createdAt', 'id', 'name', 'scopes', 'serviceEnvironmentId'])
    assert.deepEqual(created.json.scopes, ['channels:read', 'channels:write'])
    assert.ok(!created.body.includes('access_token'))
    const id = created.json.id
    assert.deepEqual((await get(`${C}/authentications/${id}`)).json, created.json)
    assert.equal((await get(`${C}/authentications`)).json.elements.length, 2)
    const missing = await post(`${C}/authentications`, { serviceEnvironmentId: 'x' })
    assert.equal(missing.status, 400)
    assert.match(missing.json.message, /'name'/)
    assert.equal((await post(`${C}/authentications`, { name: 'a', serviceEnvironmentId: 'x', scopes: 'no' })).status, 400)
    const gone = await del(`${C}/authentications/${id}`)
    assert.equal(gone.status, 204)
    assert.equal(gone.body, '')
    assert.equal((await get(`${C}/authentications/${id}`)).status, 404)
    assert.equal((await del(`${C}/authentications/${id}`)).status, 404)
  })

  // ---- triggers and subscriptions
  await check('triggers and subscriptions', async () => {
    const triggers = (await get(`${C}/triggers`)).json.elements
    const t = triggers.find((x) => x.connectorName === 'twilio-output')
    assert.ok(t)
    const sub = { triggerName: t.name, connectorName: 'twilio-output', connectorVersion: '2.1', authId: info.seed.authentication, input: { phone_number: '+15550001' } }
    const created = await post(`${C}/subscriptions`, sub)
    assert.equal(created.status, 200, created.body)
    assert.equal(created.json.status, 'active')
    assert.equal(created.json.triggerName, t.name)
    for (const f of ['triggerName', 'connectorName', 'connectorVersion', 'authId', 'input']) {
      const r = await post(`${C}/subscriptions`, { ...sub, [f]: undefined })
      assert.equal(r.status, 400)
      assert.ok(r.json.message.includes(f), r.json.message)
    }
    assert.equal((await post(`${C}/subscriptions`, { ...sub, triggerName: 'nope' })).status, 404)
    assert.equal((await post(`${C}/subscriptions`, { ...sub, authId: 'nope' })).status, 404)
    assert.equal((await post(`${C}/subscriptions`, { ...sub, input: {} })).status, 400)
    assert.equal((await del(`${C}/subscriptions/${created.json.id}`)).status, 204)
    assert.equal((await del(`${C}/subscriptions/${created.json.id}`)).status, 404)
  })

  // ---- users, workspaces, projects, services
  await check('users: list, invite, bad email, paging', async () => {
    const users = (await get(`${C}/users`)).json.elements
    assert.ok(users.length >= 3)
    const inv = await post(`${C}/users/invite`, { email: 'new@example.com', role: 'viewer', workspaceId: info.seed.workspaces[0] })
    assert.equal(inv.status, 200)
    assert.equal(inv.json.status, 'invited')
    assert.equal(inv.json.email, 'new@example.com')
    const bad = await post(`${C}/users/invite`, { email: 'not-an-email' })
    assert.equal(bad.status, 400)
    assert.match(bad.json.message, /email/)
    assert.equal((await post(`${C}/users/invite`, {})).status, 400)
    const p1 = (await get(`${C}/users?first=2`)).json
    assert.equal(p1.elements.length, 2)
    assert.equal(p1.pageInfo.hasNextPage, true)
    const p2 = (await get(`${C}/users?first=2&cursor=${p1.pageInfo.endCursor}`)).json
    assert.equal(p2.elements[0].id, users[2].id)
    assert.equal((await get(`${C}/users?first=101`)).status, 400)
  })
  await check('workspaces: list two, get, 404', async () => {
    const list = (await get(`${C}/workspaces`)).json.elements
    assert.equal(list.length, 2)
    const w = await get(`${C}/workspaces/${list[1].id}`)
    assert.deepEqual(w.json, list[1])
    assert.equal((await get(`${C}/workspaces/nope`)).status, 404)
  })
  await check('projects: export seeded, import round trip, non-JSON 400, unknown 404', async () => {
    const exp = await post(`${C}/projects/${info.seed.project}/export`)
    assert.equal(exp.status, 200)
    assert.equal(typeof exp.json.exportedData, 'string')
    JSON.parse(exp.json.exportedData)
    const imp = await post(`${C}/projects/import`, { exportedData: exp.json.exportedData, workspaceId: info.seed.workspaces[1] })
    assert.equal(imp.status, 200)
    assert.notEqual(imp.json.projectId, info.seed.project)
    const again = await post(`${C}/projects/${imp.json.projectId}/export`)
    assert.equal(again.json.exportedData, exp.json.exportedData)
    const custom = '{ "any": ["json", 1] }'
    const id2 = (await post(`${C}/projects/import`, { exportedData: custom })).json.projectId
    assert.equal((await post(`${C}/projects/${id2}/export`)).json.exportedData, custom)
    assert.equal((await post(`${C}/projects/import`, { exportedData: 'not json' })).status, 400)
    assert.equal((await post(`${C}/projects/import`, {})).status, 400)
    assert.equal((await post(`${C}/projects/import`, { exportedData: '{}', workspaceId: 'nope' })).status, 404)
    assert.equal((await post(`${C}/projects/nope/export`)).status, 404)
  })
  await check('service environments (Postman route)', async () => {
    const r = await get(`${C}/services/slack/versions/4/environments`)
    assert.equal(r.status, 200)
    assert.ok(r.json.elements.length > 0 && r.json.elements[0].id)
    assert.equal((await get(`${C}/services/nope/versions/1/environments`)).status, 404)
  })
  await check('unknown route 404, wrong method 405, percent-encoded segments logged', async () => {
    assert.equal((await get(`${C}/nothing`)).status, 404)
    assert.equal((await get('/elsewhere')).status, 404)
    const r = await request(url, 'PUT', `${C}/workspaces`, { body: {} })
    assert.equal(r.status, 405)
    assert.equal(r.headers.allow, 'GET')
    await control('DELETE', '/requests')
    const enc = await get(`${C}/authentications/a%2Fb%3Fc%20d?x=1&x=2`)
    assert.equal(enc.status, 404)
    assert.match(enc.json.message, /a\/b\?c d/)
    const [entry] = await control('GET', '/requests')
    assert.equal(entry.path, `${C}/authentications/a%2Fb%3Fc%20d`)
    assert.deepEqual(entry.segments, ['core', 'v1', 'authentications', 'a/b?c d'])
    assert.deepEqual(entry.query, { x: ['1', '2'] })
    assert.equal(entry.headers.authorization, `Bearer ${MASTER}`)
    assert.equal(entry.status, 404)
  })

  // ---- auth
  await check('auth: missing, unknown, user token valid then expired after 2 days', async () => {
    const none = await get(`${C}/workspaces`, { token: null })
    assert.equal(none.status, 401)
    assert.deepEqual(none.json, { error: 'Unauthorized', message: 'The request is unauthorized' })
    assert.equal((await get(`${C}/workspaces`, { token: 'wrong' })).status, 401)
    assert.equal((await request(url, 'GET', `${C}/workspaces`, { token: null, headers: { authorization: 'Basic abc' } })).status, 401)
    const { accessToken } = await control('POST', '/token', { userId: 'user-1' })
    assert.match(accessToken, /^[0-9a-f]{64}$/)
    assert.equal((await get(`${C}/workspaces`, { token: accessToken })).status, 200)
    await control('POST', '/clock', { advanceSeconds: 2 * 24 * 3600 - 60 })
    assert.equal((await get(`${C}/workspaces`, { token: accessToken })).status, 200)
    await control('POST', '/clock', { advanceSeconds: 61 })
    assert.equal((await get(`${C}/workspaces`, { token: accessToken })).status, 401)
  })
  await check('error styles: openapi by default, published on config', async () => {
    assert.deepEqual(Object.keys((await get(`${C}/workspaces/nope`)).json).sort(), ['error', 'message'])
    await control('POST', '/config', { restErrorStyle: 'published' })
    const r = await get(`${C}/workspaces/nope`)
    assert.deepEqual(r.json, { message: 'Workspace nope not found', code: 'NOT_FOUND' })
    assert.equal((await get(`${C}/workspaces`, { token: null })).json.code, 'UNAUTHORIZED')
    await control('POST', '/config', { restErrorStyle: 'openapi' })
    assert.equal((await request(url, 'POST', '/_emulator/config', { token: null, body: { restErrorStyle: 'x' } })).status, 400)
    assert.equal((await request(url, 'POST', '/_emulator/config', { token: null, body: { nope: 1 } })).status, 400)
  })

  // ---- GraphQL front
  await check('GraphQL front: 401 exact body, 400 on non-JSON, 405 on GET, delegation', async () => {
    const none = await post('/graphql', { query: '{ users { totalCount } }' }, { token: null })
    assert.equal(none.status, 401)
    assert.equal(none.body, '{"message":"Unauthorized"}')
    assert.equal((await post('/graphql', { query: '{ users { totalCount } }' }, { token: 'bad' })).status, 401)
    const bad = await post('/graphql', '{nope')
    assert.equal(bad.status, 400)
    assert.ok(Array.isArray(bad.json.errors) && bad.json.errors[0].message)
    assert.equal((await get('/graphql')).status, 405)
    const ok = await post('/graphql', { query: '{ __typename }' })
    assert.equal(ok.status, hasGraphql ? 200 : 501)
  })

  // ---- faults
  const expectFail = async (promise, re) => {
    await assert.rejects(promise, (e) => { assert.match(String(e.message || e.code), re); return true })
  }
  await check('fault refuse: socket closed without an answer, then normal', async () => {
    await reset()
    await fault({ match: { path: `${C}/workspaces` }, mode: 'refuse' })
    await expectFail(get(`${C}/workspaces`), /socket hang up|ECONNRESET/)
    assert.equal((await get(`${C}/workspaces`)).status, 200)
  })
  await check('fault reset: headers and part of the body, then the socket dies', async () => {
    await fault({ match: { method: 'GET' }, mode: 'reset' })
    await expectFail(get(`${C}/connectors`), /aborted|ECONNRESET|socket hang up|terminated/)
    assert.equal((await get(`${C}/connectors`)).status, 200)
  })
  await check('fault stall: no answer until the client gives up; server keeps serving', async () => {
    await fault({ match: { path: `${C}/users` }, mode: 'stall' })
    const t0 = performance.now()
    await expectFail(get(`${C}/users`, { timeout: 300 }), /timeout/)
    assert.ok(performance.now() - t0 >= 290)
    assert.equal((await get(`${C}/users`)).status, 200)
  })
  await check('fault status: 500.json body, 503 text, Retry-After', async () => {
    await fault({ match: { path: C }, mode: 'status' })
    const r = await get(`${C}/users`)
    assert.equal(r.status, 500)
    assert.equal(r.body, '{"message":"Internal server error"}')
    await fault({ match: { path: C }, mode: 'status', status: 503, retryAfter: 7 })
    const r2 = await get(`${C}/users`)
    assert.equal(r2.status, 503)
    assert.deepEqual(r2.json, { message: 'Service Unavailable' })
    assert.equal(r2.headers['retry-after'], '7')
  })
  await check('fault 429: REST body, Retry-After only when given; count 2', async () => {
    await fault({ match: { path: C }, mode: '429', count: 2 })
    const a = await get(`${C}/users`)
    const b = await get(`${C}/users`)
    assert.equal(a.status, 429)
    assert.deepEqual(a.json, { error: 'Too Many Requests', message: 'Rate limit exceeded' })
    assert.equal(a.headers['retry-after'], undefined)
    assert.equal(b.status, 429)
    assert.equal((await get(`${C}/users`)).status, 200)
    await fault({ match: { path: C }, mode: '429', retryAfter: 2 })
    assert.equal((await get(`${C}/users`)).headers['retry-after'], '2')
  })
  await check('fault graphql_rate_limit: documented body, matched by operation', async () => {
    await fault({ match: { operation: 'users' }, mode: 'graphql_rate_limit' })
    const other = await post('/graphql', { query: '{ __typename }' })
    assert.notEqual(other.json && other.json.errors && other.json.errors[0].message, 'Rate limit exceeded')
    const r = await post('/graphql', { query: 'query {\n  users { totalCount }\n}' }, { token: null })
    assert.equal(r.status, 200)
    assert.equal(r.json.data, null)
    const e = r.json.errors[0]
    assert.equal(e.message, 'Rate limit exceeded')
    assert.deepEqual(e.path, ['users'])
    assert.deepEqual(e.locations, [{ line: 2, column: 3 }])
    assert.equal(e.extensions.name, 'PreconditionError')
    assert.equal(e.extensions.code, 'access_not_allowed')
    assert.ok(!Number.isNaN(Date.parse(e.extensions.time_thrown)))
  })
  await check('fault malformed_json, html, empty', async () => {
    await fault({ match: { path: C }, mode: 'malformed_json' })
    const m = await get(`${C}/users`)
    assert.equal(m.status, 200)
    assert.match(m.headers['content-type'], /application\/json/)
    assert.equal(m.json, undefined)
    assert.ok(m.body.length > 0)
    await fault({ match: { path: C }, mode: 'html' })
    const h = await get(`${C}/users`)
    assert.equal(h.status, 502)
    assert.match(h.headers['content-type'], /text\/html/)
    assert.match(h.body, /<html>/)
    await fault({ match: { path: C }, mode: 'html', status: 504 })
    assert.equal((await get(`${C}/users`)).status, 504)
    await fault({ match: { path: C }, mode: 'empty' })
    const e = await get(`${C}/users`)
    assert.equal(e.status, 200)
    assert.equal(e.body, '')
  })
  await check('fault huge: exact size, valid JSON, default 50 MB streamed', async () => {
    await fault({ match: { path: C }, mode: 'huge', bytes: 1000000 })
    const r = await get(`${C}/users`)
    assert.equal(Buffer.byteLength(r.body), 1000000)
    assert.equal(r.json.data.length, 1000000 - 11)
    await fault({ match: { path: C }, mode: 'huge' })
    const big = await get(`${C}/users`, { countOnly: true })
    assert.equal(big.size, 50 * 1024 * 1024)
    assert.equal(Number(big.headers['content-length']), 50 * 1024 * 1024)
    await fault({ match: { path: C }, mode: 'huge', bytes: 200000, chunked: true })
    const chunked = await get(`${C}/users`)
    assert.equal(chunked.headers['content-length'], undefined)
    assert.equal(chunked.headers['transfer-encoding'], 'chunked')
    assert.equal(Buffer.byteLength(chunked.body), 200000)
  })
  await check('fault redirect: 307 to the alt host; the alt listener logs what it gets', async () => {
    await fault({ match: { path: `${C}/workspaces` }, mode: 'redirect' })
    const r = await get(`${C}/workspaces?a=1`)
    assert.equal(r.status, 307)
    assert.equal(r.headers.location, `${info.altUrl}${C}/workspaces?a=1`)
    await control('DELETE', '/requests')
    const followed = await request(info.altUrl, 'GET', `${C}/workspaces?a=1`, { token: null })
    assert.equal(followed.status, 401)
    const log = await control('GET', '/requests')
    assert.equal(log.length, 1)
    assert.equal(log[0].listener, 'alt')
    assert.equal(log[0].headers.authorization, undefined)
    assert.equal(log[0].host, new URL(info.altUrl).host)
  })
  await check('fault trickle and delay', async () => {
    await fault({ match: { path: `${C}/workspaces/` }, mode: 'trickle', delayMs: 2 })
    const t = await get(`${C}/workspaces/${info.seed.workspaces[0]}`)
    assert.equal(t.status, 200)
    assert.equal(t.json.id, info.seed.workspaces[0])
    assert.ok(t.ms >= t.body.length * 2 * 0.8, `trickled in ${t.ms} ms`)
    await fault({ match: { path: C }, mode: 'delay', delayMs: 300 })
    const d = await get(`${C}/users`)
    assert.equal(d.status, 200)
    assert.ok(d.ms >= 290, `delayed ${d.ms} ms`)
  })
  await check('faults: count -1 until cleared, probability 0 never, method filter, list', async () => {
    await fault({ match: { path: `${C}/triggers` }, mode: 'status', count: -1 })
    await fault({ match: { path: `${C}/users` }, mode: 'status', probability: 0, count: -1 })
    await fault({ match: { method: 'POST', path: `${C}/workspaces` }, mode: 'status' })
    for (let i = 0; i < 3; i++) assert.equal((await get(`${C}/triggers`)).status, 500)
    assert.equal((await get(`${C}/users`)).status, 200)
    assert.equal((await get(`${C}/workspaces`)).status, 200)
    assert.equal((await control('GET', '/faults')).length, 3)
    await control('DELETE', '/faults')
    assert.equal((await get(`${C}/triggers`)).status, 200)
    assert.equal((await request(url, 'POST', '/_emulator/faults', { token: null, body: { mode: 'nope' } })).status, 400)
  })
  await check('faults are checked before auth', async () => {
    await fault({ match: { path: C }, mode: 'status', status: 502 })
    assert.equal((await get(`${C}/users`, { token: null })).status, 502)
  })

  // ---- rate limiting
  await check('rate limit: REST 429 (Retry-After only when configured), GraphQL body, refill, stats', async () => {
    await reset()
    await control('POST', '/config', { rateLimit: { rate: 5, burst: 3 } })
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await get(`${C}/users`)).status)
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200])
    const limited = await get(`${C}/users`)
    assert.equal(limited.status, 429)
    assert.deepEqual(limited.json, { error: 'Too Many Requests', message: 'Rate limit exceeded' })
    assert.equal(limited.headers['retry-after'], undefined)
    const g = await post('/graphql', { query: '{ users { totalCount } }' })
    assert.equal(g.status, 200)
    assert.deepEqual(g.json.errors[0].path, ['users'])
    assert.deepEqual(g.json.errors[0].locations, [{ line: 1, column: 3 }])
    assert.equal(g.json.data, null)
    const u = await control('POST', '/token', { userId: 'other-user' })
    assert.equal((await get(`${C}/users`, { token: u.accessToken })).status, 429, 'all tokens share the account bucket')
    await control('POST', '/config', { retryAfter: 1 })
    assert.equal((await get(`${C}/users`)).headers['retry-after'], '1')
    await new Promise((resolve) => setTimeout(resolve, 450))
    assert.equal((await get(`${C}/users`)).status, 200, 'refilled')
    const stats = await control('GET', '/stats')
    assert.ok(stats.rateLimited >= 4)
    await control('POST', '/config', { rateLimit: null })
    for (let i = 0; i < 10; i++) assert.equal((await get(`${C}/users`)).status, 200)
  })

  // ---- latency
  await check('latency: 300 concurrent slow requests are served concurrently', async () => {
    await reset()
    await control('POST', '/config', { latencyMs: 400 })
    const t0 = performance.now()
    const all = await Promise.all(Array.from({ length: 300 }, () => get(`${C}/workspaces`)))
    const took = performance.now() - t0
    assert.ok(all.every((r) => r.status === 200))
    assert.ok(all.every((r) => r.ms >= 390))
    assert.ok(took < 3000, `took ${took} ms`)
    await control('POST', '/config', { latencyMs: 0 })
  })

  // ---- log, stats, reset, seeding
  await check('request log: since, cap on bodies, delete', async () => {
    await control('DELETE', '/requests')
    await post(`${C}/projects/import`, { exportedData: JSON.stringify({ pad: 'x'.repeat(100 * 1024) }) })
    await get(`${C}/users`, { headers: { 'user-agent': 'smoke/1.0' } })
    const log = await control('GET', '/requests')
    assert.equal(log.length, 2)
    assert.equal(log[0].body.length, 64 * 1024)
    assert.equal(log[0].headers['content-type'], 'application/json')
    assert.equal(log[1].headers['user-agent'], 'smoke/1.0')
    const since = await control('GET', `/requests?since=${log[0].seq}`)
    assert.deepEqual(since.map((e) => e.seq), [log[1].seq])
  })
  await check('stats byRoute and reset back to seed', async () => {
    await reset()
    await get(`${C}/connectors`)
    await get(`${C}/workspaces/${info.seed.workspaces[0]}`)
    await post('/graphql', { query: '{ users { totalCount } }' })
    await post(`${C}/authentications`, { name: 'n', serviceEnvironmentId: 's' })
    const s = await control('GET', '/stats')
    assert.equal(s.requests, 4)
    assert.equal(s.byRoute[`GET ${C}/connectors`], 1)
    assert.equal(s.byRoute[`GET ${C}/workspaces/{workspaceId}`], 1)
    assert.equal(s.byRoute['POST /graphql users'], 1)
    await reset()
    assert.equal((await get(`${C}/authentications`)).json.elements.length, 1)
    const s2 = await control('GET', '/stats')
    assert.equal(s2.requests, 1)
    assert.equal((await control('GET', '/requests')).length, 1)
  })
  await check('seed users (delegated to GraphQL)', async () => {
    const r = await request(url, 'POST', '/_emulator/seed/users', { token: null, body: { count: 1000, prefix: 'smoke' } })
    assert.equal(r.status, hasGraphql ? 200 : 501, r.body)
    assert.equal((await request(url, 'POST', '/_emulator/seed/users', { token: null, body: { count: 0 } })).status, 400)
  })
  await check('GET /_emulator/tokens: master and every issued user token, kept across reset', async () => {
    const { accessToken } = await control('POST', '/token', { userId: 'tokens-check' })
    await reset()
    const t = await control('GET', '/tokens')
    assert.equal(t.master, MASTER)
    assert.ok(t.issued.includes(accessToken))
  })
  await check('unknown control 404, SIGTERM exits 0', async () => {
    assert.equal((await request(url, 'GET', '/_emulator/nope', { token: null })).status, 404)
    assert.equal((await request(url, 'GET', '/_emulator/reset', { token: null })).status, 405)
    const { code } = await stopServer(proc)
    assert.equal(code, 0)
  })

  // ---- TLS
  await check('--tls: https listener, CA at /_emulator/ca.pem', async () => {
    const tls = await startServer(['--tls'])
    try {
      assert.match(tls.firstLine, /^tray-emulator listening on https:\/\/127\.0\.0\.1:\d+$/)
      await assert.rejects(request(tls.url, 'GET', `${C}/users`), /self-signed|certificate/)
      const pem = await new Promise((resolve, reject) => {
        https.get(tls.url + '/_emulator/ca.pem', { rejectUnauthorized: false }, (res) => {
          let s = ''
          res.on('data', (c) => { s += c })
          res.on('end', () => resolve(s))
        }).on('error', reject)
      })
      assert.match(pem, /BEGIN CERTIFICATE/)
      const r = await request(tls.url, 'GET', `${C}/users`, { ca: pem })
      assert.equal(r.status, 200)
      const local = await request(tls.url.replace('127.0.0.1', 'localhost'), 'GET', `${C}/users`, { ca: pem })
      assert.equal(local.status, 200)
      const i = JSON.parse((await request(tls.url, 'GET', '/_emulator/info', { ca: pem, token: null })).body)
      assert.equal(i.tls, true)
      assert.match(i.altUrl, /^https:/)
    } finally {
      await stopServer(tls.proc)
    }
  })

  process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
  process.exit(failed ? 1 : 0)
}

main().catch((e) => {
  process.stdout.write(`smoke: ${e.stack}\n`)
  process.exit(1)
})
