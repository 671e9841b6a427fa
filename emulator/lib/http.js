'use strict'
// The one place for HTTP helpers: request parsing, bearer tokens, response objects, error
// bodies and writing a response (with latency / trickle).
//
// Handlers never touch `res`: they return a response object { status, headers, body } and
// send() writes it. That lets latency, the `delay` and `trickle` faults wrap any answer.

const { STATUS_CODES } = require('node:http')

const MAX_REQUEST_BODY = 32 * 1024 * 1024

class HttpError extends Error {
  constructor (status, message, extra) {
    super(message)
    this.status = status
    this.extra = extra // extra fields for the error body (e.g. validation errors)
  }
}

const JSON_TYPE = 'application/json; charset=utf-8'

// Marks response objects, so a handler may return either one or a plain value to answer with 200.
const RESPONSE = Symbol('response')
const isResponse = (x) => x != null && x[RESPONSE] === true

function json (status, value, headers) {
  return { [RESPONSE]: true, status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(value) }
}

function text (status, contentType, body, headers) {
  return { [RESPONSE]: true, status, headers: { 'content-type': contentType, ...headers }, body }
}

function empty (status, headers) {
  return { [RESPONSE]: true, status, headers: { ...headers }, body: '' }
}

/** "Not Found" -> "NOT_FOUND" */
function statusCode (status) {
  return String(STATUS_CODES[status] || 'Error').toUpperCase().replace(/[^A-Z0-9]+/g, '_')
}

/**
 * A REST error in the configured style:
 *  'openapi'   -> { "error": "Not Found", "message": "..." }   (the OpenAPI text)
 *  'published' -> { "message": "...", "code": "NOT_FOUND" }    (Tray's published spec)
 */
function restError (ctx, status, message, extra, headers) {
  const body = ctx.config.restErrorStyle === 'published'
    ? { message, code: statusCode(status) }
    : { error: STATUS_CODES[status] || 'Error', message }
  return json(status, { ...body, ...extra }, headers)
}

/** The bodies of the `status` fault: 500.json, or the matching text for other statuses. */
function gatewayError (status, headers) {
  const message = status === 500 ? 'Internal server error' : (STATUS_CODES[status] || 'Error')
  return json(status, { message }, headers)
}

/** The documented GraphQL rate-limit answer (HTTP 200). `root` = { name, line, column } or null. */
function graphqlRateLimited (root, now) {
  return json(200, {
    data: null,
    errors: [{
      message: 'Rate limit exceeded',
      path: [root ? root.name : 'graphql'],
      locations: [{ line: root ? root.line : 1, column: root ? root.column : 1 }],
      extensions: { name: 'PreconditionError', time_thrown: new Date(now).toISOString(), code: 'access_not_allowed' }
    }]
  })
}

function readBody (req, limit = MAX_REQUEST_BODY) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (c) => {
      size += c.length
      if (size > limit) {
        reject(new HttpError(413, `Request body larger than ${limit} bytes`))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/**
 * Splits a request target. `segments` are the path segments, each percent-decoded once
 * (so "a%2Fb" stays one segment "a/b"); `segments` is null when a segment is badly encoded.
 */
function parseTarget (target) {
  const q = target.indexOf('?')
  const path = q < 0 ? target : target.slice(0, q)
  const rawQuery = q < 0 ? '' : target.slice(q + 1)
  let segments
  try {
    segments = path.split('/').slice(1).map(decodeURIComponent)
  } catch {
    segments = null
  }
  const query = {}
  for (const [k, v] of new URLSearchParams(rawQuery)) {
    if (!(k in query)) query[k] = v
    else if (Array.isArray(query[k])) query[k].push(v)
    else query[k] = [query[k], v]
  }
  return { path, rawQuery, query, segments }
}

function bearerToken (headers) {
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(headers.authorization || '')
  return m ? m[1] : null
}

/** Runs fn after ms unless the response closes first. */
function later (res, ms, fn) {
  const timer = setTimeout(fn, ms)
  res.once('close', () => clearTimeout(timer))
}

/**
 * Writes a response object. opts.delayMs delays the whole answer; opts.trickleMs sends the
 * body one byte every trickleMs.
 */
function send (res, r, opts = {}) {
  const go = () => {
    if (res.destroyed || res.writableEnded) return
    const body = Buffer.from(r.body || '')
    const length = r.status === 204 || r.status === 304 ? {} : { 'content-length': body.length }
    res.writeHead(r.status, { ...r.headers, ...length })
    if (!(opts.trickleMs > 0) || body.length === 0) return res.end(body)
    let i = 0
    const tick = setInterval(() => {
      if (res.destroyed) return clearInterval(tick)
      res.write(body.subarray(i, i + 1))
      if (++i >= body.length) { clearInterval(tick); res.end() }
    }, opts.trickleMs)
    res.once('close', () => clearInterval(tick))
  }
  if (opts.delayMs > 0) later(res, opts.delayMs, go)
  else go()
}

module.exports = {
  HttpError, json, text, empty, isResponse, restError, gatewayError, graphqlRateLimited, statusCode,
  readBody, parseTarget, bearerToken, later, send, JSON_TYPE
}
