'use strict'
// The REST API (/core/v1) as a table: method, path pattern, request body fields, handler.
// Body fields come from the OpenAPI schemas ("!" = in its `required` list) plus the fields
// Tray's Postman collection sends. Auth and rate limiting happen before (lib/app.js).

const { HttpError, json, isResponse, restError } = require('../lib/http')
const connectors = require('./connectors')
const { authentications, triggers, subscriptions, users, workspaces, projects, services } = require('./resources')
const { seed } = require('./state')

const ROUTES = [
  ['GET', '/connectors', connectors.list],
  ['GET', '/connectors/{connectorName}/versions/{connectorVersion}', connectors.getVersion],
  ['GET', '/connectors/{connectorName}/versions/{connectorVersion}/operations', connectors.listOperations],
  ['POST', '/connectors/{connectorName}/versions/{connectorVersion}/call', connectors.call,
    { operation: 'string!', authId: 'string', input: 'object', returnOutputSchema: 'boolean' }],
  ['GET', '/authentications', authentications.list],
  ['POST', '/authentications', authentications.create,
    { name: 'string!', serviceEnvironmentId: 'string!', userData: 'object', credentials: 'object', data: 'object', formData: 'object', scopes: 'array' }],
  ['GET', '/authentications/{authenticationId}', authentications.get],
  ['DELETE', '/authentications/{authenticationId}', authentications.remove],
  ['GET', '/triggers', triggers.list],
  ['POST', '/subscriptions', subscriptions.create,
    { triggerName: 'string!', connectorName: 'string!', connectorVersion: 'string!', authId: 'string!', input: 'object!' }],
  ['DELETE', '/subscriptions/{subscriptionId}', subscriptions.remove],
  ['GET', '/users', users.list],
  ['POST', '/users/invite', users.invite, { email: 'string!', role: 'string', workspaceId: 'string' }],
  ['GET', '/workspaces', workspaces.list],
  ['GET', '/workspaces/{workspaceId}', workspaces.get],
  ['POST', '/projects/{projectId}/export', projects.export],
  ['POST', '/projects/import', projects.import, { exportedData: 'string!', workspaceId: 'string' }],
  ['GET', '/services/{serviceName}/versions/{serviceVersion}/environments', services.environments]
].map(([method, path, handler, body]) => ({ method, path, handler, body, parts: path.split('/').slice(1) }))

const PREFIX = '/core/v1'

function typeOf (v) {
  if (Array.isArray(v)) return 'array'
  return v === null ? 'null' : typeof v
}

/** Parses and checks a JSON body against a route's field list. */
function parseBody (text, fields) {
  let body = {}
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      throw new HttpError(400, 'Request body is not valid JSON')
    }
  }
  if (typeOf(body) !== 'object') throw new HttpError(400, 'Request body must be a JSON object')
  for (const [field, spec] of Object.entries(fields)) {
    const type = spec.replace('!', '')
    const v = body[field]
    if (v == null) {
      if (spec.endsWith('!')) throw new HttpError(400, `Missing required field '${field}'`)
    } else if (typeOf(v) !== type) {
      throw new HttpError(400, `Field '${field}' must be ${type === 'array' || type === 'object' ? 'an' : 'a'} ${type}`)
    }
  }
  return body
}

function createRest (ctx, recorder) {
  let state = seed()

  return {
    /**
     * Finds the route for a request under /core/v1 (segments after "core", "v1").
     * @returns {{route, params}|{status:404}|{status:405, allow:string}}
     */
    match (method, segments) {
      const allowed = []
      for (const route of ROUTES) {
        if (route.parts.length !== segments.length) continue
        const params = {}
        const ok = route.parts.every((p, i) => {
          if (p.startsWith('{')) { params[p.slice(1, -1)] = segments[i]; return segments[i] !== '' }
          return p === segments[i]
        })
        if (!ok) continue
        if (route.method === method) return { route, params, key: `${method} ${PREFIX}${route.path}` }
        allowed.push(route.method)
      }
      return allowed.length ? { status: 405, allow: allowed.join(', ') } : { status: 404 }
    },

    /** Answers a matched request. req = { method, path, body (text), query, identity } */
    handle (m, req) {
      if (m.status === 404) return restError(ctx, 404, `No route for ${req.method} ${req.path}`)
      if (m.status === 405) return restError(ctx, 405, `Method ${req.method} not allowed for ${req.path}`, null, { allow: m.allow })
      try {
        const r = {
          ctx,
          state,
          params: m.params,
          query: req.query,
          identity: req.identity,
          body: m.route.body ? parseBody(req.body, m.route.body) : {},
          count: recorder.count
        }
        const out = m.route.handler(r)
        return isResponse(out) ? out : json(200, out)
      } catch (e) {
        if (e instanceof HttpError) return restError(ctx, e.status, e.message, e.extra)
        throw e
      }
    },

    reset () { state = seed() },

    routes: ROUTES,
    PREFIX
  }
}

module.exports = { createRest, ROUTES, PREFIX }
