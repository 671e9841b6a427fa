'use strict'
// Test controls under /_emulator/ (no auth, loopback only): JSON in, JSON out.

const { STATUS_CODES } = require('node:http')
const { HttpError, json, text, isResponse } = require('./http')
const { controlValidate } = require('../rest/connectors')

const STYLES = ['openapi', 'published']
const isNum = (v) => typeof v === 'number' && Number.isFinite(v)

function checkConfig (c) {
  const known = ['rateLimit', 'latencyMs', 'restErrorStyle', 'maxConnections', 'retryAfter', 'connectorOutput']
  for (const k of Object.keys(c)) if (!known.includes(k)) throw new HttpError(400, `Unknown config field '${k}' (known: ${known.join(', ')})`)
  if (c.rateLimit != null && !(isNum(c.rateLimit.rate) && c.rateLimit.rate > 0 && isNum(c.rateLimit.burst) && c.rateLimit.burst >= 1)) {
    throw new HttpError(400, 'rateLimit must be null or { rate > 0, burst >= 1 }')
  }
  if (c.latencyMs != null && !(isNum(c.latencyMs) && c.latencyMs >= 0)) throw new HttpError(400, 'latencyMs must be a number >= 0')
  if (c.restErrorStyle != null && !STYLES.includes(c.restErrorStyle)) throw new HttpError(400, `restErrorStyle must be one of ${STYLES.join(', ')}`)
  if (c.maxConnections != null && !(Number.isInteger(c.maxConnections) && c.maxConnections > 0)) throw new HttpError(400, 'maxConnections must be null or an integer > 0')
  if (c.connectorOutput != null && !['string', 'value'].includes(c.connectorOutput)) throw new HttpError(400, 'connectorOutput must be "string" or "value"')
  if (c.retryAfter != null && !(isNum(c.retryAfter) && c.retryAfter >= 0)) throw new HttpError(400, 'retryAfter must be null or a number >= 0')
}

/** em: the emulator (lib/app.js): ctx, recorder, faults, limiter, plugin, reset(), info(), applyConfig() */
function createControls (em) {
  const { ctx, recorder, faults } = em
  const needPlugin = () => {
    if (!em.plugin) throw new HttpError(501, 'GraphQL is not available: emulator/graphql/index.js is missing')
    return em.plugin
  }

  const routes = {
    'POST /_emulator/reset': () => { em.reset(); return { ok: true } },
    'GET /_emulator/info': () => em.info(),
    'GET /_emulator/requests': (b, q) => recorder.since(Number(q.since) || 0),
    'DELETE /_emulator/requests': () => { recorder.clearLog(); return { ok: true } },
    'GET /_emulator/stats': () => ({ ...recorder.stats(), graphql: em.plugin ? em.plugin.stats() : null }),
    'GET /_emulator/config': () => ctx.config,
    'POST /_emulator/config': (b) => {
      checkConfig(b)
      Object.assign(ctx.config, b)
      em.applyConfig()
      return ctx.config
    },
    'POST /_emulator/clock': (b) => {
      if (!isNum(b.advanceSeconds)) throw new HttpError(400, 'advanceSeconds must be a number')
      ctx.clock.advance(b.advanceSeconds * 1000)
      return { now: new Date(ctx.clock.now()).toISOString(), offsetSeconds: ctx.clock.offset() / 1000 }
    },
    'GET /_emulator/faults': () => faults.list(),
    'POST /_emulator/faults': (b) => {
      const f = faults.add(b)
      if (typeof f === 'string') throw new HttpError(400, f)
      return f
    },
    'DELETE /_emulator/faults': () => { faults.clear(); return { ok: true } },
    'POST /_emulator/seed/users': async (b) => {
      if (!(Number.isInteger(b.count) && b.count > 0 && b.count <= 1e6)) throw new HttpError(400, 'count must be an integer from 1 to 1000000')
      if (b.prefix != null && typeof b.prefix !== 'string') throw new HttpError(400, 'prefix must be a string')
      const result = await needPlugin().seedUsers(b.count, { prefix: b.prefix })
      return { count: b.count, result: result === undefined ? null : result }
    },
    'POST /_emulator/token': (b) => {
      if (typeof b.userId !== 'string' || b.userId === '') throw new HttpError(400, 'userId must be a non-empty string')
      return { accessToken: ctx.auth.issueUserToken(b.userId) }
    },
    'GET /_emulator/tokens': () => ({ master: ctx.config.masterToken, issued: ctx.auth.issued() }),
    'POST /_emulator/validate': (b) => controlValidate(b),
    'GET /_emulator/ca.pem': () => {
      if (!em.certificate) throw new HttpError(404, 'The emulator is not running with --tls')
      return text(200, 'application/x-pem-file', em.certificate.cert)
    }
  }

  /** @returns {Promise<response>} */
  return async function control (req, target, bodyText) {
    const handler = routes[`${req.method} ${target.path}`]
    const known = Object.keys(routes).some((k) => k.endsWith(' ' + target.path))
    try {
      if (!handler) throw new HttpError(known ? 405 : 404, `No control ${req.method} ${target.path}`)
      let body = {}
      if (bodyText.trim() !== '') {
        try {
          body = JSON.parse(bodyText)
        } catch {
          throw new HttpError(400, 'Request body is not valid JSON')
        }
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'Request body must be a JSON object')
      const out = await handler(body, target.query)
      return isResponse(out) ? out : json(200, out)
    } catch (e) {
      if (e instanceof HttpError) return json(e.status, { error: STATUS_CODES[e.status], message: e.message })
      throw e
    }
  }
}

module.exports = { createControls }
