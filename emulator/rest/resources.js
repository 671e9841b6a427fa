'use strict'
// Authentications, triggers and subscriptions, users, workspaces, projects, service environments.
// Each handler takes r = { ctx, state, params, body, query, identity, count } and returns the
// value to answer with 200, or a response object; errors are thrown as HttpError.

const { HttpError, empty } = require('../lib/http')
const { findConnector, validateOrThrow } = require('./connectors')

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

const now = (r) => new Date(r.ctx.clock.now()).toISOString()

function getOr404 (map, id, what) {
  const v = map.get(id)
  if (!v) throw new HttpError(404, `${what} ${id} not found`)
  return v
}

/**
 * Plain `{ elements }`, or a page `{ elements, pageInfo }` when the query asks for one
 * (`first` up to 100, then the `endCursor` as `cursor` or `after`), as Tray's newer spec does.
 */
function page (query, items) {
  const cursor = query.cursor != null ? query.cursor : query.after
  if (query.first == null && cursor == null) return { elements: items }
  const first = query.first == null ? 100 : Number(query.first)
  if (!Number.isInteger(first) || first < 1 || first > 100) throw new HttpError(400, "Query parameter 'first' must be an integer from 1 to 100")
  let start = 0
  if (cursor != null && cursor !== '') {
    start = Number(Buffer.from(String(cursor), 'base64url').toString())
    if (!Number.isInteger(start) || start < 0) throw new HttpError(400, `Invalid cursor ${cursor}`)
  }
  const elements = items.slice(start, start + first)
  const end = start + elements.length
  const hasNextPage = end < items.length
  return { elements, pageInfo: { hasNextPage, endCursor: hasNextPage ? Buffer.from(String(end)).toString('base64url') : null } }
}

// Authentication schema: credentials and data are kept but never answered.
const publicAuth = ({ id, name, serviceEnvironmentId, scopes, createdAt }) => ({ id, name, serviceEnvironmentId, scopes, createdAt })

const authentications = {
  list: (r) => page(r.query, [...r.state.authentications.values()].map(publicAuth)),
  get: (r) => publicAuth(getOr404(r.state.authentications, r.params.authenticationId, 'Authentication')),
  create (r) {
    const b = r.body
    const auth = {
      id: r.ctx.uuid(),
      name: b.name,
      serviceEnvironmentId: b.serviceEnvironmentId,
      scopes: b.scopes || [],
      createdAt: now(r),
      secret: { userData: b.userData, credentials: b.credentials, data: b.data, formData: b.formData }
    }
    r.state.authentications.set(auth.id, auth)
    return publicAuth(auth)
  },
  remove (r) {
    getOr404(r.state.authentications, r.params.authenticationId, 'Authentication')
    r.state.authentications.delete(r.params.authenticationId)
    return empty(204)
  }
}

const triggers = {
  list: (r) => page(r.query, r.state.triggers)
}

const subscriptions = {
  create (r) {
    const b = r.body
    const trigger = r.state.triggers.find((t) => t.name === b.triggerName && t.connectorName === b.connectorName)
    if (!trigger) throw new HttpError(404, `Trigger ${b.triggerName} not found for connector ${b.connectorName}`)
    findConnector(b.connectorName, b.connectorVersion)
    getOr404(r.state.authentications, b.authId, 'Authentication')
    validateOrThrow(trigger.inputSchema, b.input, 'The input')
    const sub = { id: r.ctx.uuid(), triggerName: b.triggerName, connectorName: b.connectorName, status: 'active', createdAt: now(r) }
    r.state.subscriptions.set(sub.id, sub)
    return sub
  },
  remove (r) {
    getOr404(r.state.subscriptions, r.params.subscriptionId, 'Subscription')
    r.state.subscriptions.delete(r.params.subscriptionId)
    return empty(204)
  }
}

const users = {
  list: (r) => page(r.query, r.state.users),
  invite (r) {
    const { email, role, workspaceId } = r.body
    if (!EMAIL.test(email)) throw new HttpError(400, `Field 'email' is not a valid email address: ${email}`)
    if (workspaceId != null) getOr404(r.state.workspaces, workspaceId, 'Workspace')
    const user = { id: r.ctx.uuid(), name: email.split('@')[0], email, role: role || 'contributor', status: 'invited' }
    r.state.users.push(user)
    return user
  }
}

const workspaces = {
  list: (r) => page(r.query, [...r.state.workspaces.values()]),
  get: (r) => getOr404(r.state.workspaces, r.params.workspaceId, 'Workspace')
}

const projects = {
  export: (r) => ({ exportedData: getOr404(r.state.projects, r.params.projectId, 'Project').exportedData }),
  import (r) {
    const { exportedData, workspaceId } = r.body
    try {
      JSON.parse(exportedData)
    } catch {
      throw new HttpError(400, "Field 'exportedData' is not valid exported project JSON")
    }
    if (workspaceId != null) getOr404(r.state.workspaces, workspaceId, 'Workspace')
    const project = { id: r.ctx.uuid(), workspaceId: workspaceId || null, exportedData }
    r.state.projects.set(project.id, project)
    return { projectId: project.id }
  }
}

const services = {
  environments (r) {
    const { serviceName, serviceVersion } = r.params
    const s = r.state.services[serviceName]
    if (!s || !s.versions.includes(serviceVersion)) throw new HttpError(404, `Service ${serviceName} version ${serviceVersion} not found`)
    return page(r.query, ['production', 'sandbox'].map((env) => ({
      id: `${serviceName}-${serviceVersion}-${env}`,
      title: env === 'production' ? 'Production' : 'Sandbox',
      serviceName,
      serviceVersion,
      scopes: s.scopes
    })))
  }
}

module.exports = { authentications, triggers, subscriptions, users, workspaces, projects, services, page }
