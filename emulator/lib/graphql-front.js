'use strict'
// The front of POST /graphql: bearer check, JSON body, rate limit; then the GraphQL plug-in
// (emulator/graphql/index.js: require('./graphql')(ctx) -> { handle, reset, seedUsers, stats }).

const fs = require('node:fs')
const path = require('node:path')
const { parse, getLocation } = require('graphql')
const { json, text, graphqlRateLimited, JSON_TYPE } = require('./http')

function loadPlugin (ctx, opts) {
  const dir = path.join(__dirname, '..', 'graphql')
  if (!fs.existsSync(path.join(dir, 'index.js'))) return null
  return require(dir)(ctx, opts)
}

const rootCache = new Map() // document text -> root field; small, for repeated documents

/**
 * The first root field of the operation a request runs: { name, line, column }, or null when
 * the body is not a GraphQL request or the document does not parse.
 */
function rootField (body) {
  if (!body || typeof body.query !== 'string') return null
  const key = (body.operationName || '') + '\n' + body.query
  if (rootCache.has(key)) return rootCache.get(key)
  let root = null
  try {
    const doc = parse(body.query)
    const ops = doc.definitions.filter((d) => d.kind === 'OperationDefinition')
    const op = ops.find((d) => body.operationName && d.name && d.name.value === body.operationName) || ops[0]
    const field = op && op.selectionSet.selections.find((s) => s.kind === 'Field')
    if (field) root = { name: field.name.value, ...getLocation(doc.loc.source, field.loc.start) }
  } catch {
    root = null
  }
  if (rootCache.size >= 1000) rootCache.clear()
  rootCache.set(key, root)
  return root
}

function tryParseJson (text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * @param {object} deps { ctx, limiter, recorder, plugin }
 * @returns {function(req, {token, identity, body, root}): Promise<response>}
 */
function createGraphqlFront ({ ctx, limiter, recorder, plugin }) {
  return async function graphql (req, { token, identity, body, root }) {
    if (req.method !== 'POST') return json(405, { errors: [{ message: 'GraphQL requests must use POST' }] }, { allow: 'POST' })
    recorder.count('byRoute', root ? `POST /graphql ${root.name}` : 'POST /graphql')
    if (!identity) return json(401, { message: 'Unauthorized' })
    if (body === undefined) return json(400, { errors: [{ message: 'Request body is not valid JSON' }] })
    if (!limiter.take()) {
      recorder.rateLimited()
      return graphqlRateLimited(root, ctx.clock.now())
    }
    if (!plugin) return json(501, { errors: [{ message: 'GraphQL is not available: emulator/graphql/index.js is missing' }] })
    const out = await plugin.handle({ token, identity, body })
    return typeof out.body === 'string' ? text(out.status, JSON_TYPE, out.body) : json(out.status, out.body)
  }
}

module.exports = { loadPlugin, rootField, tryParseJson, createGraphqlFront }
