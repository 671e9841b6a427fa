'use strict'
// The emulator's Embedded GraphQL API (POST /graphql): schema.graphql executed by graphql-js
// against an in-memory, seeded store.
//
//   const gql = require('./graphql')(ctx[, opts])
//   await gql.handle({ token, identity, body })  -> { status, body }
//   gql.reset()                                  state back to the seed (seed.js)
//   gql.seedUsers(n, { prefix, isTestUser })     bulk-creates n end users -> { created, firstUserId, lastUserId }
//   gql.stats()                                  { users, instances, auths, codes }
//   gql.consumeAuthorizationCode(code)           userId, or null (unknown, used or expired); single use
//   gql.getUser(id), gql.getSolutionInstance(id) plain copies, or null (for the config wizard pages)
//
// ctx: clock.now(), auth.identify/issueUserToken/revokeUser, uuid(), and optionally
// callConnector (see below). opts.callConnector overrides ctx.callConnector; opts.schemaPath
// serves another SDL file (the resolvers stay: a spec fixture with a deliberately wrong type);
// opts.introspection === false refuses __schema/__type as a production server may.
//
// Errors a resolver raises are GraphQL errors (HTTP 200, the field's data null) whose
// extensions.code is one of:
//   UNAUTHORIZED     wrong kind of token for the call ("This operation requires a master token")
//   NOT_FOUND        unknown (or not visible) user, solution, instance, auth, project, workflow,
//                    service or connector operation
//   CONFLICT         createExternalUser with an externalUserId already used
//   BAD_USER_INPUT   bad cursor or page size, a JSON string that does not parse, ...
//   CONNECTOR_ERROR  callConnector answered outcome "error" (extensions.output holds the output)
// ("access_not_allowed" is left to the rate limiter, as in the reference.)

const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { buildSchema, parse, validate, specifiedRules, NoSchemaIntrospectionCustomRule, execute, valueFromASTUntyped, GraphQLError } = require('graphql')
const { Collection, paginate, fail } = require('./pagination')
const { seedData, WORKSPACE_ID } = require('./seed')
const connectors = require('./connectors')

const CODE_TTL_MS = 5 * 60 * 1000 // authorization codes: single use, 5 minutes

const SCHEMA_PATH = path.join(__dirname, 'schema.graphql')
const schemaCache = new Map() // SDL path -> schema

/** The executable schema (built once per file; resolvers live in the root value, so it holds no state). */
function getSchema (file = SCHEMA_PATH) {
  if (schemaCache.has(file)) return schemaCache.get(file)
  const schema = buildSchema(fs.readFileSync(file, 'utf8'))
  // Json: any JSON value; a string stays a string (resolvers decide whether to parse it).
  Object.assign(schema.getType('Json'), {
    serialize: (v) => v,
    parseValue: (v) => v,
    parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables)
  })
  schemaCache.set(file, schema)
  return schema
}

const err = {
  master: () => fail('UNAUTHORIZED', 'This operation requires a master token'),
  user: () => fail('UNAUTHORIZED', 'This operation requires a user token'),
  notFound: (what, id) => fail('NOT_FOUND', `${what} ${JSON.stringify(String(id))} was not found`),
  input: (message) => fail('BAD_USER_INPUT', message)
}

/** A JSON value given as a JSON string or as a value; objects only when objectOnly. */
function jsonInput (name, v, objectOnly) {
  let value = v
  if (typeof v === 'string') {
    try { value = JSON.parse(v) } catch (e) { throw err.input(`${name} is not valid JSON: ${e.message}`) }
  }
  if (objectOnly && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw err.input(`${name} must be a JSON object`)
  }
  return value
}

/** Copies of {externalId, value|authId} entries, later entries replacing earlier ones. */
function mergeValues (current, updates, key) {
  const out = current.map((e) => ({ ...e }))
  for (const u of updates || []) {
    const entry = { externalId: u.externalId, [key]: u[key] == null ? null : u[key] }
    const i = out.findIndex((e) => e.externalId === u.externalId)
    if (i >= 0) out[i] = entry
    else out.push(entry)
  }
  return out
}

const cmid = (input) => (input.clientMutationId == null ? null : input.clientMutationId)

module.exports = function createGraphQL (ctx, opts = {}) {
  const schema = getSchema(opts.schemaPath || SCHEMA_PATH)
  const rules = opts.introspection === false ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules
  let S = null // the state

  function reset () {
    const seed = seedData()
    S = {
      users: new Collection('user'),
      byExternalId: new Map(),
      byName: new Map(), // name -> users of that name, in creation order
      seedCounters: new Map(),
      auths: new Collection('authentication'),
      instances: new Collection('solutionInstance'),
      solutions: new Collection('solution'),
      services: new Map(),
      environments: new Map(), // envId -> { env, service }
      projects: new Map(),
      workflows: new Map(),
      codes: new Map() // code -> { userId, expiresAt }
    }
    for (const s of seed.services) {
      S.services.set(s.id, s)
      for (const env of s.environments) S.environments.set(env.id, { env, service: s })
    }
    const created = new Date(ctx.clock.now()).toISOString()
    for (const a of seed.orgAuths) {
      S.auths.add({ ...a, owner: null, data: {}, formData: null, scopes: [], hidden: false, created })
    }
    for (const s of seed.solutions) S.solutions.add(s)
    for (const p of seed.projects) S.projects.set(p.id, { ...p, imported: null })
    for (const w of seed.workflows) S.workflows.set(w.id, w)
  }
  reset()

  // --- identity -----------------------------------------------------------------------------

  function requireMaster (c) {
    if (!c.identity || c.identity.kind !== 'master') throw err.master()
  }

  /** The calling end user's record (user tokens only). */
  function requireUser (c) {
    if (!c.identity || c.identity.kind !== 'user') throw err.user()
    return callingUser(c)
  }

  /** For calls open to both: the calling user's record, or null for the master token. */
  function callerOrOrg (c) {
    if (c.identity && c.identity.kind === 'master') return null
    if (!c.identity || c.identity.kind !== 'user') throw err.user()
    return callingUser(c)
  }

  function callingUser (c) {
    const u = S.users.get(c.identity.userId)
    if (!u) throw fail('UNAUTHORIZED', 'The user of this token no longer exists')
    return u
  }

  function getUserOr404 (id) {
    const u = S.users.get(id)
    if (!u) throw err.notFound('User', id)
    return u
  }

  // --- views (what the schema sees; never an authentication's data) --------------------------

  const userView = (u) => ({ id: u.id, name: u.name, externalUserId: u.externalUserId, isTestUser: u.isTestUser })

  function authView (a) {
    const s = S.services.get(a.serviceId)
    const e = S.environments.get(a.serviceEnvironmentId)
    return {
      id: a.id,
      name: a.name,
      customFields: a.customFields,
      service: s ? { id: s.id, name: s.name, icon: s.icon, title: s.title, version: s.version } : null,
      serviceEnvironment: e ? { id: e.env.id, title: e.env.title } : null
    }
  }

  const solutionView = (s) => s && ({
    id: s.id,
    title: s.title,
    description: s.description,
    tags: s.tags.slice(),
    customFields: s.customFields.map((f) => ({ ...f })),
    configSlots: s.configSlots.map((f) => ({ ...f })),
    authSlots: s.authSlots.map((f) => ({ ...f }))
  })

  function instanceView (i) {
    return {
      id: i.id,
      name: i.name,
      enabled: i.enabled,
      owner: i.owner,
      created: i.created,
      solutionVersionFlags: { ...i.versionFlags },
      solution: () => solutionView(S.solutions.get(i.solutionId) || null),
      workflows: (args) => paginate(i.workflows, 'solutionInstanceWorkflow', i.workflows.length, args, null, (w) => ({
        id: w.id, triggerUrl: w.triggerUrl, sourceWorkflowId: w.sourceWorkflowId, sourceWorkflowName: w.sourceWorkflowName
      })),
      authValues: i.authValues.map((v) => ({ ...v })),
      configValues: i.configValues.map((v) => ({ ...v }))
    }
  }

  function getOwnInstance (user, id) {
    const inst = S.instances.get(id)
    if (!inst || inst.owner !== user.id) throw err.notFound('Solution instance', id)
    return inst
  }

  // --- queries ------------------------------------------------------------------------------

  function users (args, c) {
    requireMaster(c)
    const crit = args.criteria || {}
    // Indexed criteria narrow the list first (to at most one user, or to the users of a name);
    // the narrowed lists keep the _seq order, so cursors work the same on them.
    let items = S.users.items
    if (crit.userId != null || crit.externalUserId != null) {
      const u = crit.userId != null ? S.users.get(crit.userId) : S.byExternalId.get(crit.externalUserId)
      items = u ? [u] : []
    } else if (crit.name != null) {
      items = S.byName.get(crit.name) || []
    }
    const preds = []
    if (crit.userId != null) preds.push((u) => u.id === String(crit.userId))
    if (crit.externalUserId != null) preds.push((u) => u.externalUserId === crit.externalUserId)
    if (crit.name != null) preds.push((u) => u.name === crit.name)
    if (crit.isTestUser != null) preds.push((u) => u.isTestUser === crit.isTestUser)
    const ok = preds.length ? (u) => preds.every((p) => p(u)) : null
    return paginate(items, 'user', S.users.seq, args, ok, userView)
  }

  function viewer (args, c) {
    return {
      authentications () {
        // no arguments: one page of every auth the token sees
        const me = callerOrOrg(c)
        const owner = me ? me.id : null
        return paginate(S.auths.items, 'authentication', S.auths.seq, {}, (x) => x.owner === owner, authView)
      },
      details () {
        const me = callerOrOrg(c)
        if (!me) return { username: 'emulator-partner', email: 'partner@emulator.invalid', name: 'Emulator partner' }
        return { username: me.externalUserId, email: null, name: me.name }
      },
      solutions (a) {
        requireMaster(c)
        // criteria.tags: solutions carrying ALL the given tags (an empty list filters nothing).
        const tags = (a.criteria && a.criteria.tags) || []
        const ok = tags.length ? (s) => tags.every((t) => s.tags.includes(t)) : null
        return paginate(S.solutions.items, 'solution', S.solutions.seq, a, ok, solutionView)
      },
      solutionInstances (a) {
        const me = callerOrOrg(c)
        const crit = a.criteria || {}
        if (me && crit.owner != null) throw fail('UNAUTHORIZED', 'The owner criteria requires a master token')
        const owner = me ? me.id : crit.owner
        const preds = []
        if (owner != null) preds.push((i) => i.owner === owner)
        if (crit.solutionId != null) preds.push((i) => i.solutionId === crit.solutionId)
        if (crit.id != null) preds.push((i) => i.id === crit.id)
        if (crit.name != null) preds.push((i) => i.name === crit.name)
        const ok = preds.length ? (i) => preds.every((p) => p(i)) : null
        const page = paginate(S.instances.items, 'solutionInstance', S.instances.seq, a, ok, instanceView)
        let totalCount = S.instances.size
        if (ok) { totalCount = 0; for (const i of S.instances.items) if (ok(i)) totalCount++ }
        return { totalCount, ...page }
      }
    }
  }

  // --- mutations: users -----------------------------------------------------------------------

  function addUser (name, externalUserId, isTestUser) {
    const u = S.users.add({ id: ctx.uuid(), name, externalUserId, isTestUser: !!isTestUser })
    S.byExternalId.set(externalUserId, u)
    const same = S.byName.get(name)
    if (same) same.push(u)
    else S.byName.set(name, [u])
    return u
  }

  function createExternalUser ({ input }, c) {
    requireMaster(c)
    if (input.externalUserId === '') throw err.input('externalUserId must not be empty')
    if (S.byExternalId.has(input.externalUserId)) {
      throw fail('CONFLICT', `A user with externalUserId ${JSON.stringify(input.externalUserId)} already exists`)
    }
    // isTestUser: the reference says it "defaults to true (billable user)"; a billable user is
    // isTestUser false, so the emulator defaults to false (billable).
    const u = addUser(input.name, input.externalUserId, input.isTestUser === true)
    return { userId: u.id, isTestUser: u.isTestUser, clientMutationId: cmid(input) }
  }

  async function authorize ({ input }, c) {
    requireMaster(c)
    const u = getUserOr404(input.userId)
    const accessToken = await ctx.auth.issueUserToken(u.id)
    return { accessToken, clientMutationId: cmid(input) }
  }

  function purgeCodes (now) {
    for (const [code, e] of S.codes) if (e.expiresAt <= now) S.codes.delete(code)
  }

  function generateAuthorizationCode ({ input }, c) {
    requireMaster(c)
    const u = getUserOr404(input.userId)
    const now = ctx.clock.now()
    if (S.codes.size >= 1000) purgeCodes(now)
    const code = crypto.randomBytes(20).toString('hex')
    S.codes.set(code, { userId: u.id, expiresAt: now + CODE_TTL_MS })
    return { authorizationCode: code, clientMutationId: cmid(input) }
  }

  function updateExternalUser ({ input }, c) {
    requireMaster(c)
    const u = getUserOr404(input.userId)
    if (input.isTestUser != null) u.isTestUser = input.isTestUser
    return { user: userView(u), clientMutationId: cmid(input) }
  }

  async function removeExternalUser ({ input }, c) {
    requireMaster(c)
    const u = getUserOr404(input.userId)
    S.users.remove(u.id)
    S.byExternalId.delete(u.externalUserId)
    const same = S.byName.get(u.name).filter((x) => x !== u)
    if (same.length) S.byName.set(u.name, same)
    else S.byName.delete(u.name)
    // Deleting a user disables and deletes their solution instances, and goes with their
    // authentications, authorization codes and tokens.
    S.instances.removeWhere((i) => i.owner === u.id)
    S.auths.removeWhere((a) => a.owner === u.id)
    for (const [code, e] of S.codes) if (e.userId === u.id) S.codes.delete(code)
    await ctx.auth.revokeUser(u.id)
    return { clientMutationId: cmid(input) }
  }

  // --- mutations: authentications ---------------------------------------------------------------

  function createUserAuthentication ({ input }, c) {
    const me = callerOrOrg(c)
    const service = S.services.get(input.serviceId)
    if (!service) throw err.notFound('Service', input.serviceId)
    const env = S.environments.get(input.serviceEnvironmentId)
    if (!env || env.service !== service) throw err.notFound(`Service environment of service ${service.name}`, input.serviceEnvironmentId)
    const data = jsonInput('data', input.data, true)
    const formData = input.formData == null ? null : jsonInput('formData', input.formData, true)
    const a = S.auths.add({
      id: ctx.uuid(),
      name: input.name,
      owner: me ? me.id : null,
      serviceId: service.id,
      serviceEnvironmentId: env.env.id,
      data,
      formData,
      scopes: (input.scopes || []).slice(),
      hidden: input.hidden === true,
      customFields: {},
      created: new Date(ctx.clock.now()).toISOString()
    })
    return { authenticationId: a.id, clientMutationId: cmid(input) }
  }

  function removeAuthentication ({ input }, c) {
    const me = callerOrOrg(c)
    const a = S.auths.get(input.authenticationId)
    // A user removes only their own auths; the master token only the organization's.
    if (!a || a.owner !== (me ? me.id : null)) throw err.notFound('Authentication', input.authenticationId)
    S.auths.remove(a.id)
    return { clientMutationId: cmid(input) }
  }

  // --- mutations: solution instances ----------------------------------------------------------

  function createSolutionInstance ({ input }, c) {
    const me = requireUser(c)
    const sol = S.solutions.get(input.solutionId)
    if (!sol) throw err.notFound('Solution', input.solutionId)
    if (input.instanceName === '') throw err.input('instanceName must not be empty')
    const workflows = sol.workflowIds.map((wid, n) => {
      const src = S.workflows.get(wid)
      return {
        _seq: n + 1,
        id: ctx.uuid(),
        sourceWorkflowId: wid,
        sourceWorkflowName: src ? src.title : null,
        // Webhook-triggered workflows get a per-instance URL; others have none (null, as in
        // Tray's examples).
        triggerUrl: src && src.trigger === 'webhook' ? `https://${ctx.uuid()}.trayapp.io` : null
      }
    })
    const inst = S.instances.add({
      id: ctx.uuid(),
      name: input.instanceName,
      enabled: false,
      owner: me.id,
      created: new Date(ctx.clock.now()).toISOString(),
      solutionId: sol.id,
      versionFlags: { ...sol.newerVersion },
      workflows,
      authValues: mergeValues([], input.authValues, 'authId'),
      configValues: mergeValues([], input.configValues, 'value')
    })
    return { solutionInstance: instanceView(inst), clientMutationId: cmid(input) }
  }

  // What updateSolutionInstance and upgradeSolutionInstance both take: a name, and auth and
  // config values replaced per externalId.
  function applyInstanceInput (inst, input) {
    if (input.instanceName != null) {
      if (input.instanceName === '') throw err.input('instanceName must not be empty')
      inst.name = input.instanceName
    }
    if (input.authValues) inst.authValues = mergeValues(inst.authValues, input.authValues, 'authId')
    if (input.configValues) inst.configValues = mergeValues(inst.configValues, input.configValues, 'value')
  }

  function updateSolutionInstance ({ input }, c) {
    const me = requireUser(c)
    const inst = getOwnInstance(me, input.solutionInstanceId)
    applyInstanceInput(inst, input)
    if (input.enabled != null) inst.enabled = input.enabled
    return { solutionInstance: instanceView(inst), clientMutationId: cmid(input) }
  }

  function upgradeSolutionInstance ({ input }, c) {
    const me = requireUser(c)
    const inst = getOwnInstance(me, input.solutionInstanceId)
    applyInstanceInput(inst, input)
    // The instance is now on the solution's newest version.
    inst.versionFlags = { hasNewerVersion: false, requiresUserInputToUpdateVersion: false, requiresSystemInputToUpdateVersion: false }
    return { solutionInstance: instanceView(inst), clientMutationId: cmid(input) }
  }

  function removeSolutionInstance ({ input }, c) {
    const me = requireUser(c)
    const inst = getOwnInstance(me, input.solutionInstanceId)
    S.instances.remove(inst.id)
    return { clientMutationId: cmid(input) }
  }

  // --- mutations: projects and workflows ------------------------------------------------------

  function getProject (id) {
    const p = S.projects.get(String(id))
    if (!p) throw err.notFound('Project', id)
    return p
  }

  function getWorkflow (id) {
    const w = S.workflows.get(String(id))
    if (!w) throw err.notFound('Workflow', id)
    return w
  }

  function importProject ({ input }, c) {
    requireMaster(c)
    jsonInput('exportedProjectJson', input.exportedProjectJson, true)
    const p = getProject(input.targetProjectId)
    // The import overwrites the target project: a later export answers what was imported.
    p.imported = input.exportedProjectJson
    return { clientMutationId: cmid(input) }
  }

  function exportProject ({ input }, c) {
    requireMaster(c)
    const p = getProject(input.projectId)
    if (p.imported != null) {
      // The imported JSON, byte for byte; without its solution section when exportSolution is false.
      const parsed = JSON.parse(p.imported)
      if (input.exportSolution || !('solution' in parsed)) return { exportedProjectJson: p.imported, clientMutationId: cmid(input) }
      delete parsed.solution
      return { exportedProjectJson: JSON.stringify(parsed), clientMutationId: cmid(input) }
    }
    const workflows = [...S.workflows.values()].filter((w) => w.projectId === p.id)
    const out = {
      tray_export_version: 4,
      export_type: 'project',
      projects: [{ id: p.id, name: p.name, workspace_id: WORKSPACE_ID, workflows: workflows.map((w) => w.id) }],
      workflows: workflows.map((w) => w.export)
    }
    if (input.exportSolution && p.solutionId) {
      const sol = S.solutions.get(p.solutionId)
      if (sol) out.solution = { ...solutionView(sol), project_id: p.id, workflows: sol.workflowIds.slice() }
    }
    return { exportedProjectJson: JSON.stringify(out), clientMutationId: cmid(input) }
  }

  function importWorkflows ({ input }, c) {
    requireMaster(c)
    const exp = jsonInput('exportedWorkflowsJson', input.exportedWorkflowsJson, true)
    if (!Array.isArray(exp.workflows)) throw err.input('exportedWorkflowsJson must hold a "workflows" array')
    const targets = input.targetWorkflowIds
    if (exp.workflows.length !== targets.length) {
      throw err.input(`targetWorkflowIds must list one target per workflow of exportedWorkflowsJson, in the same order (${targets.length} targets for ${exp.workflows.length} workflows)`)
    }
    const ws = targets.map(getWorkflow)
    exp.workflows.forEach((src, n) => {
      if (!src || typeof src !== 'object' || Array.isArray(src)) throw err.input(`workflow ${n + 1} of exportedWorkflowsJson is not an object`)
    })
    exp.workflows.forEach((src, n) => {
      const w = ws[n]
      w.export = { ...JSON.parse(JSON.stringify(src)), id: w.id }
      if (typeof src.title === 'string') w.title = src.title
    })
    return { clientMutationId: cmid(input) }
  }

  function exportWorkflows ({ input }, c) {
    requireMaster(c)
    if (input.workflowIds.length === 0) throw err.input('workflowIds must not be empty')
    const ws = input.workflowIds.map(getWorkflow)
    const out = { tray_export_version: 4, export_type: 'workflow', workflows: ws.map((w) => w.export), projects: [] }
    return { exportedWorkflowsJson: JSON.stringify(out), clientMutationId: cmid(input) }
  }

  // --- mutations: call connector ----------------------------------------------------------------

  async function callConnector ({ input }, c) {
    const me = callerOrOrg(c)
    // Json!: the docs' stringified JSON, or a JSON value given as it is
    const parsed = jsonInput('input', input.input, false)
    const call = { connector: input.connector, version: input.version, operation: input.operation, authId: input.authId == null ? null : input.authId, input: parsed }

    let res = null
    const hook = opts.callConnector || ctx.callConnector
    if (typeof hook === 'function') res = await hook({ ...call, identity: c.identity })
    if (res == null) {
      const op = connectors.lookup(call.connector, call.operation)
      if (!op) throw fail('NOT_FOUND', `The connector operation ${call.operation} was not found`)
      if (call.authId != null) {
        const a = S.auths.get(call.authId)
        // A user token may use the user's own auths; the master token any auth of the org.
        if (!a || (me && a.owner !== me.id)) throw err.notFound('Authentication', call.authId)
      } else if (op.needsAuth) {
        throw err.input(`The connector ${call.connector} needs an authentication: authId is required`)
      }
      res = op.run(parsed, { now: ctx.clock.now, uuid: ctx.uuid })
    }
    if (res.outcome === 'error') {
      const out = res.output
      const message = out && typeof out.message === 'string' ? out.message : 'The connector call failed'
      throw fail('CONNECTOR_ERROR', message, { output: out === undefined ? null : out })
    }
    const output = res.output === undefined ? null : res.output
    return { output: ctx.config && ctx.config.connectorOutput === 'value' ? output : JSON.stringify(output), clientMutationId: cmid(input) }
  }

  const rootValue = {
    users,
    viewer,
    createExternalUser,
    authorize,
    generateAuthorizationCode,
    updateExternalUser,
    removeExternalUser,
    createUserAuthentication,
    removeAuthentication,
    createSolutionInstance,
    updateSolutionInstance,
    upgradeSolutionInstance,
    removeSolutionInstance,
    importProject,
    exportProject,
    importWorkflows,
    exportWorkflows,
    callConnector
  }

  // --- the HTTP-facing entry point --------------------------------------------------------------

  const bad = (message) => ({ status: 400, body: { errors: [{ message }] } })
  const errorsOnly = (errors) => ({ status: 200, body: { errors: errors.map((e) => (e instanceof GraphQLError ? e.toJSON() : { message: String(e && e.message) })) } })

  async function handle ({ token, identity, body }) {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return bad('The request body must be a JSON object')
    const { query, operationName } = body
    let { variables } = body
    if (typeof query !== 'string' || query.trim() === '') return bad('Must provide query string.')
    if (typeof variables === 'string' && variables !== '') {
      try { variables = JSON.parse(variables) } catch (e) { return bad('Variables are invalid JSON.') }
    }
    if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return bad('Variables must be an object.')
    if (operationName != null && typeof operationName !== 'string') return bad('operationName must be a string.')

    let document
    try { document = parse(query) } catch (e) { return errorsOnly([e]) }
    const validationErrors = validate(schema, document, rules)
    if (validationErrors.length) return errorsOnly(validationErrors)

    const result = await execute({
      schema,
      document,
      rootValue,
      contextValue: { identity, token },
      variableValues: variables || {},
      operationName: operationName || undefined
    })
    const out = {}
    if (result.errors && result.errors.length) out.errors = result.errors.map((e) => e.toJSON())
    if ('data' in result) out.data = result.data
    return { status: 200, body: out }
  }

  // --- controls -----------------------------------------------------------------------------------

  /**
   * Creates n end users at once: externalUserId and name "<prefix><k>" with k counting on from
   * the last seedUsers call with that prefix (skipping ids already taken).
   */
  function seedUsers (n, o = {}) {
    const prefix = o.prefix == null ? 'seed-user-' : String(o.prefix)
    const count = Math.max(0, Math.floor(Number(n) || 0))
    let k = S.seedCounters.get(prefix) || 0
    let first = null
    let last = null
    for (let made = 0; made < count; made++) {
      let ext
      do { ext = prefix + (++k) } while (S.byExternalId.has(ext))
      last = addUser(ext, ext, o.isTestUser === true)
      if (!first) first = last
    }
    S.seedCounters.set(prefix, k)
    return { created: count, firstUserId: first && first.id, lastUserId: last && last.id }
  }

  function stats () {
    const now = ctx.clock.now()
    let codes = 0
    for (const e of S.codes.values()) if (e.expiresAt > now) codes++
    return { users: S.users.size, instances: S.instances.size, auths: S.auths.size, codes }
  }

  function consumeAuthorizationCode (code) {
    if (typeof code !== 'string') return null
    const e = S.codes.get(code)
    if (!e) return null
    S.codes.delete(code)
    if (e.expiresAt <= ctx.clock.now() || !S.users.get(e.userId)) return null
    return e.userId
  }

  function getUser (id) {
    const u = S.users.get(id)
    return u ? userView(u) : null
  }

  function getSolutionInstance (id) {
    const i = S.instances.get(id)
    if (!i) return null
    return {
      id: i.id,
      name: i.name,
      enabled: i.enabled,
      owner: i.owner,
      created: i.created,
      solutionId: i.solutionId,
      workflows: i.workflows.map(({ _seq, ...w }) => w),
      authValues: i.authValues.map((v) => ({ ...v })),
      configValues: i.configValues.map((v) => ({ ...v }))
    }
  }

  return { handle, reset, seedUsers, stats, consumeAuthorizationCode, getUser, getSolutionInstance, schema }
}

module.exports.getSchema = getSchema
