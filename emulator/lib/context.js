'use strict'
// The context shared by every part of the emulator (REST, GraphQL, controls):
// configuration, the emulator clock, bearer tokens and ids.

const crypto = require('node:crypto')

const USER_TOKEN_TTL_MS = 2 * 24 * 3600 * 1000 // user tokens last 2 days of emulator time

/**
 * @param {object} opts startup options: masterToken, restErrorStyle, rateLimit, latencyMs, ...
 *   They are also what ctx.reset() restores ctx.config to.
 */
function createContext (opts = {}) {
  const defaults = {
    masterToken: opts.masterToken || process.env.TRAY_EMULATOR_MASTER_TOKEN || 'emulator-master-token',
    restErrorStyle: opts.restErrorStyle || 'openapi', // 'openapi' { error, message } | 'published' { message, code }
    rateLimit: opts.rateLimit || null, // { rate, burst } or null (off)
    retryAfter: opts.retryAfter == null ? null : opts.retryAfter, // seconds for Retry-After on rate-limited REST answers
    latencyMs: opts.latencyMs || 0,
    maxConnections: opts.maxConnections == null ? null : opts.maxConnections,
    // GraphQL callConnector output (a Json! field): 'string' the stringified JSON the docs show,
    // 'value' the JSON value itself (both are valid Json)
    connectorOutput: 'string'
  }

  let offsetMs = 0
  const tokens = new Map() // token -> { userId, expiresAt }
  const issued = [] // every user token ever issued, kept across resets (GET /_emulator/tokens)
  const ISSUED_CAP = 100000

  const ctx = {
    config: { ...defaults },

    clock: {
      now: () => Date.now() + offsetMs,
      advance (ms) { offsetMs += ms },
      offset: () => offsetMs
    },

    auth: {
      /** @returns {{kind:'master'}|{kind:'user',userId:string}|null} */
      identify (token) {
        if (typeof token !== 'string' || token === '') return null
        if (token === ctx.config.masterToken) return { kind: 'master' }
        const t = tokens.get(token)
        if (!t) return null
        if (t.expiresAt <= ctx.clock.now()) { tokens.delete(token); return null }
        return { kind: 'user', userId: t.userId }
      },
      issueUserToken (userId) {
        const token = crypto.randomBytes(32).toString('hex')
        tokens.set(token, { userId: String(userId), expiresAt: ctx.clock.now() + USER_TOKEN_TTL_MS })
        if (issued.length < ISSUED_CAP) issued.push(token)
        return token
      },
      /** Every user token issued since start (reset does not clear it): specs scan errors for them. */
      issued: () => issued.slice(),
      revokeUser (userId) {
        for (const [token, t] of tokens) if (t.userId === String(userId)) tokens.delete(token)
      }
    },

    uuid: () => crypto.randomUUID(),

    reset () {
      tokens.clear()
      offsetMs = 0
      for (const k of Object.keys(ctx.config)) delete ctx.config[k] // same object: holders keep a live view
      Object.assign(ctx.config, defaults)
    }
  }
  return ctx
}

module.exports = { createContext, USER_TOKEN_TTL_MS }
