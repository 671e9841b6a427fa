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

/** @returns {Array<{path:string,message:string}>} the violations of value against schema */
function violations (schema, value) {
  let validate = validators.get(schema)
  if (!validate) {
    const { $schema, ...rest } = schema
    validate = ajv.compile(rest)
    validators.set(schema, validate)
  }
  if (validate(value)) return []
  return validate.errors.map((e) => {
    let path = e.instancePath
    if (e.keyword === 'required') path += '/' + e.params.missingProperty
    if (e.keyword === 'additionalProperties') path += '/' + e.params.additionalProperty
    return { path: path || '/', message: e.message }
  })
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

module.exports = { list, getVersion, listOperations, call, findConnector, validateOrThrow, OPERATION_FILES }
