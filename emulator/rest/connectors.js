'use strict'
// Connectors: the catalogue, operations, and POST .../call (input validated with ajv against the
// operation's input schema, answered with a fake output).

const crypto = require('node:crypto')
const Ajv = require('ajv')
const { HttpError } = require('../lib/http')

const CATALOGUE = require('../catalogue/connectors.json').elements

// connector "name/version" -> file in catalogue/operations/ (others have no operations)
const OPERATION_FILES = {
  'twilio-output/2.1': 'twilio-output',
  'clearbit/2.0': 'clearbit',
  'clearbit/2.1': 'clearbit',
  'trello/2.0': 'trello',
  'outreach/3.2': 'outreach'
}

const operationsCache = new Map()
function operationsOf (name, version) {
  const file = OPERATION_FILES[`${name}/${version}`]
  if (!file) return []
  if (!operationsCache.has(file)) operationsCache.set(file, require(`../catalogue/operations/${file}.json`).elements)
  return operationsCache.get(file)
}

function findConnector (name, version) {
  const c = CATALOGUE.find((e) => e.name === name && e.version === version)
  if (!c) throw new HttpError(404, `Connector ${name} version ${version} not found`)
  return c
}

// Tray's input schemas are a JSON Schema draft-04 subset with UI keywords (advanced, lookup,
// enumLabels, ...) and a $schema URI of their own: ajv ignores unknown keywords (strict: false)
// and the $schema is dropped before compiling.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false })
const validators = new WeakMap()
const pointerSegment = (name) => '/' + String(name).replace(/~/g, '~0').replace(/\//g, '~1')

/** ajv's verdict: { ok, errors: [{ path (JSON pointer, '' = root), keyword, message, schemaPath }] } */
function ajvCheck (schema, value) {
  let validate = validators.get(schema)
  if (!validate) {
    let compiled = schema
    if (schema && typeof schema === 'object' && !Array.isArray(schema)) {
      const { $schema, ...rest } = schema
      compiled = rest
    }
    validate = ajv.compile(compiled)
    if (schema && typeof schema === 'object') validators.set(schema, validate)
  }
  if (validate(value)) return { ok: true, errors: [] }
  return {
    ok: false,
    errors: validate.errors.map((e) => {
      let path = e.instancePath
      if (e.keyword === 'required') path += pointerSegment(e.params.missingProperty)
      if (e.keyword === 'additionalProperties') path += pointerSegment(e.params.additionalProperty)
      return { path, keyword: e.keyword, message: e.message, schemaPath: e.schemaPath }
    })
  }
}

/** @returns {Array<{path:string,message:string}>} the violations of value against schema */
function violations (schema, value) {
  return ajvCheck(schema, value).errors.map((e) => ({ path: e.path || '/', message: e.message }))
}

// POST /_emulator/validate: schemas arrive as new objects each time; compile each distinct text
// once, and forget them all (ajv's cache too) past a bound.
const controlSchemas = new Map() // JSON text -> schema object
const CONTROL_SCHEMAS_MAX = 2000

/**
 * POST /_emulator/validate: ajv's verdict with the same instance and options as call connector, on
 * body.schema, or on the catalogue's inputSchema of { connector, version, operation } (the very
 * schema object, and so the compiled validator, that call connector uses).
 */
function controlValidate (body) {
  const { value } = body
  if (body.connector != null) {
    if (value === undefined) throw new HttpError(400, 'value is required')
    const op = operationsOf(String(body.connector), String(body.version)).find((o) => o.name === body.operation)
    if (!op) throw new HttpError(404, `No operation ${body.operation} of ${body.connector} ${body.version} in the catalogue`)
    return ajvCheck(op.inputSchema, value)
  }
  const { schema } = body
  if (schema === null || (typeof schema !== 'object' && typeof schema !== 'boolean') || Array.isArray(schema)) {
    throw new HttpError(400, 'schema must be a JSON object or a boolean')
  }
  if (value === undefined) throw new HttpError(400, 'value is required')
  if (typeof schema === 'boolean') return ajvCheck(schema, value)
  const key = JSON.stringify(schema)
  let s = controlSchemas.get(key)
  if (!s) {
    if (controlSchemas.size >= CONTROL_SCHEMAS_MAX) {
      for (const old of controlSchemas.values()) ajv.removeSchema(old)
      controlSchemas.clear()
    }
    s = schema
    controlSchemas.set(key, s)
  }
  try {
    return ajvCheck(s, value)
  } catch (e) {
    controlSchemas.delete(key)
    throw new HttpError(400, `ajv cannot compile the schema: ${e.message}`)
  }
}

/** Throws a 400 listing every violation. */
function validateOrThrow (schema, value, what) {
  const errs = violations(schema, value)
  if (errs.length) {
    const list = errs.map((e) => `${e.path} ${e.message}`).join('; ')
    throw new HttpError(400, `${what} does not match the input schema: ${list}`, { errors: errs })
  }
}

const hex = (n) => crypto.randomBytes(n).toString('hex')
const connectorError = (output) => ({ outcome: 'error', output })

// Fake outputs, per "connector/operation". A function returns the output, or
// connectorError(...) for an `outcome: "error"` answer. Operations not listed answer {}.
const FAKES = {
  'twilio-output/send_sms': (i, r) => i.to.startsWith('+')
    ? { sid: 'SM' + hex(16), status: 'queued', to: i.to, from: i.from, body: i.body, num_segments: '1', date_created: new Date(r.ctx.clock.now()).toUTCString() }
    : connectorError({ code: 21211, message: `The 'To' number ${i.to} is not a valid phone number.`, status: 400 }),
  'clearbit/reveal_api': (i) => ({ found: true, result: { ip: i.ip, domain: 'example.com', fuzzy: false, company: { name: 'Example Inc', domain: 'example.com' } } }),
  'clearbit/discovery_api': (i) => ({ total: 1, page: i.page || 1, results: [{ id: hex(8), name: 'Example Inc', domain: 'example.com' }] }),
  'clearbit/company_by_domain': (i) => ({ id: hex(8), name: 'Example Inc', legalName: 'Example Incorporated', domain: i.domain, url: `https://${i.domain}`, foundedYear: 2009, tags: ['Technology'] }),
  'clearbit/person_by_email': (i) => ({ id: hex(8), name: { fullName: 'Alex Example', givenName: 'Alex', familyName: 'Example' }, email: i.email, fuzzy: false }),
  'clearbit/combined_by_email': (i) => ({ person: { id: hex(8), email: i.email, name: { fullName: 'Alex Example' } }, company: { id: hex(8), name: 'Example Inc', domain: i.email.split('@')[1] || 'example.com' } }),
  'clearbit/prospector_api': (i) => ({ page: i.page || 1, page_size: i.page_size, total: 0, results: [] }),
  'trello/get_board_by_id': (i) => ({ id: i.board_id, name: 'Emulated board', desc: '', closed: false, url: `https://trello.example/b/${i.board_id}`, cards: [], lists: [] }),
  'trello/list_boards': () => [{ id: hex(12), name: 'Emulated board', closed: false }],
  'trello/create_new_card': (i) => ({ id: hex(12), name: i.name || '', idList: i.list_id, closed: false }),
  'trello/create_new_list': (i) => ({ id: hex(12), name: i.name, idBoard: i.board_id, closed: false }),
  'trello/create_new_board': (i) => ({ id: hex(12), name: i.name, closed: false }),
  'outreach/create_prospect': (i) => ({ id: 1001, type: 'prospect', attributes: { emails: [i.email], firstName: i.first_name || null, lastName: i.last_name || null } }),
  'outreach/get_prospect': (i) => ({ id: i.prospect_id, type: 'prospect', attributes: { emails: ['prospect@example.com'] } })
}

function list () {
  return { elements: CATALOGUE.map(({ name, version, title, description }) => ({ name, version, title, description })) }
}

function getVersion (r) {
  const { connectorName: name, connectorVersion: version } = r.params
  const c = findConnector(name, version)
  return { name, version, title: c.title, description: c.description, operations: operationsOf(name, version) }
}

function listOperations (r) {
  const { connectorName: name, connectorVersion: version } = r.params
  findConnector(name, version)
  return { elements: operationsOf(name, version) }
}

function call (r) {
  const { connectorName: name, connectorVersion: version } = r.params
  findConnector(name, version)
  const { operation, authId, returnOutputSchema } = r.body
  const op = operationsOf(name, version).find((o) => o.name === operation)
  if (!op) throw new HttpError(400, `The connector operation ${operation} was not found`)
  const input = r.body.input || {}
  validateOrThrow(op.inputSchema, input, 'The input')
  r.count('connectorCalls', `${name}/${version}/${operation}`)

  const fake = FAKES[`${name}/${operation}`]
  let result
  if (authId != null && !r.state.authentications.has(authId)) result = connectorError({ message: 'Authentication not found' })
  else {
    const out = fake ? fake(input, r) : {}
    result = out && out.outcome === 'error' ? out : { outcome: 'success', output: out }
  }
  if (returnOutputSchema === true) result.outputSchema = op.outputSchema || {}
  return result
}

// The GraphQL plug-in's own connectors (graphql/connectors.js), when it is there.
let builtIn = () => null
try { builtIn = require('../graphql/connectors').lookup } catch { /* no GraphQL plug-in */ }

/**
 * The GraphQL callConnector hook (lib/app.js sets ctx.callConnector to it). A call to an operation
 * of the catalogue (connector, version and operation listed) is validated with ajv like a REST call:
 * invalid -> a GraphQL error with extensions { code: 'BAD_USER_INPUT', errors: [{ path, message }] };
 * valid -> counted in connectorCalls, then answered by the plug-in's built-in connector when it has
 * one (null is returned), else with the REST fake output (authId is not checked). Other calls: null,
 * so the plug-in answers them itself.
 * @param {object} call { connector, version, operation, authId, input (parsed), identity }
 * @param {object} env { ctx, count(table, key) }
 */
function graphqlCall (call, env) {
  const { connector: name, version, operation } = call
  if (!OPERATION_FILES[`${name}/${version}`]) return null
  const op = operationsOf(name, version).find((o) => o.name === operation)
  if (!op) return null
  const input = call.input === undefined ? {} : call.input
  const errs = violations(op.inputSchema, input)
  if (errs.length) {
    const e = new Error(`The input does not match the input schema: ${errs.map((x) => `${x.path} ${x.message}`).join('; ')}`)
    e.extensions = { code: 'BAD_USER_INPUT', errors: errs }
    throw e
  }
  env.count('connectorCalls', `${name}/${version}/${operation}`)
  if (builtIn(name, operation)) return null
  const fake = FAKES[`${name}/${operation}`]
  const out = fake ? fake(input, { ctx: env.ctx }) : {}
  return out && out.outcome === 'error' ? out : { outcome: 'success', output: out }
}

module.exports = { list, getVersion, listOperations, call, findConnector, validateOrThrow, controlValidate, graphqlCall, OPERATION_FILES }
