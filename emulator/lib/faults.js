'use strict'
// Injected faults: a list of { match, mode, count, ... } set through POST /_emulator/faults.
// take() finds (and consumes one count of) the first fault matching a request; plan() says
// how the fault answers it.

const { STATUS_CODES } = require('node:http')
const { json, text, restError, gatewayError, graphqlRateLimited, JSON_TYPE } = require('./http')

const DEFAULT_HUGE_BYTES = 50 * 1024 * 1024
const DEFAULT_STALL_MS = 10 * 60 * 1000 // a stalled request is dropped after this, so nothing leaks
const MODES = ['refuse', 'reset', 'stall', 'status', '429', 'graphql_rate_limit', 'malformed_json',
  'html', 'empty', 'huge', 'redirect', 'trickle', 'delay', 'echo_token', 'continue_garbage', 'same_cursor']
const ECHO_FORMS = ['plain', 'json', 'url']
const ECHO_SHAPES = ['rest', 'graphql', 'text']

function createFaults () {
  let faults = []
  let nextId = 1
  const stalled = new Set() // responses held by `stall`

  function validate (spec) {
    if (!spec || typeof spec !== 'object') return 'body must be a JSON object'
    if (!MODES.includes(String(spec.mode))) return `mode must be one of: ${MODES.join(', ')}`
    const m = spec.match == null ? {} : spec.match
    if (typeof m !== 'object') return 'match must be an object'
    for (const k of ['method', 'path', 'operation']) {
      if (m[k] != null && typeof m[k] !== 'string') return `match.${k} must be a string`
    }
    if (spec.form != null && !ECHO_FORMS.includes(spec.form)) return `form must be one of: ${ECHO_FORMS.join(', ')}`
    if (spec.shape != null && !ECHO_SHAPES.includes(spec.shape)) return `shape must be one of: ${ECHO_SHAPES.join(', ')}`
    if (spec.cursor != null && typeof spec.cursor !== 'string') return 'cursor must be a string'
    for (const k of ['count', 'probability', 'status', 'retryAfter', 'delayMs', 'bytes', 'offset', 'cut']) {
      if (spec[k] != null && typeof spec[k] !== 'number') return `${k} must be a number`
    }
    if (spec.count != null && !(spec.count === -1 || (Number.isInteger(spec.count) && spec.count > 0))) return 'count must be a positive integer or -1'
    if (spec.probability != null && (spec.probability < 0 || spec.probability > 1)) return 'probability must be between 0 and 1'
    return null
  }

  return {
    MODES,

    /** @returns {object|string} the stored fault, or an error message */
    add (spec) {
      const problem = validate(spec)
      if (problem) return problem
      const m = spec.match || {}
      const fault = {
        id: nextId++,
        match: { method: m.method && m.method.toUpperCase(), path: m.path, operation: m.operation },
        mode: String(spec.mode),
        count: spec.count == null ? 1 : spec.count,
        probability: spec.probability == null ? 1 : spec.probability,
        status: spec.status,
        retryAfter: spec.retryAfter,
        delayMs: spec.delayMs,
        bytes: spec.bytes,
        chunked: spec.chunked === true,
        form: spec.form,
        shape: spec.shape,
        offset: spec.offset,
        cut: spec.cut,
        cursor: spec.cursor,
        fired: 0
      }
      faults.push(fault)
      return fault
    },

    list: () => faults,

    clear () { faults = [] },

    /** Drops held (stalled) responses: on reset and shutdown. */
    releaseStalled () {
      for (const res of stalled) res.destroy()
      stalled.clear()
    },

    /** The first fault matching the request, consuming one of its counts; or null. */
    take ({ method, path, operation }) {
      for (const f of faults) {
        const m = f.match
        if (m.method && m.method !== method) continue
        if (m.path && !path.startsWith(m.path)) continue
        if (m.operation && m.operation !== operation) continue
        if (f.probability < 1 && Math.random() >= f.probability) continue
        f.fired++
        if (f.count !== -1 && --f.count === 0) faults = faults.filter((x) => x !== f)
        return f
      }
      return null
    },

    /**
     * How fault f answers. Returns one of:
     *   { response }  a fixed answer, sent like any other (latency applies)
     *   { sendOpts }  answer normally, sent with these options (delay, trickle)
     *   { run(res), status? }  the fault writes (or refuses to write) the answer itself
     * env = { ctx, req, root (GraphQL root field or null), altUrl }
     */
    plan (f, env) {
      const { ctx, req } = env
      const retry = f.retryAfter != null ? { 'retry-after': String(f.retryAfter) } : undefined
      switch (f.mode) {
        case 'delay': return { sendOpts: { delayMs: f.delayMs == null ? 1000 : f.delayMs } }
        case 'trickle': return { sendOpts: { trickleMs: f.delayMs == null ? 50 : f.delayMs } }
        case 'status': return { response: gatewayError(f.status || 500, retry) }
        case '429': return { response: restError(ctx, 429, 'Rate limit exceeded', null, retry) }
        case 'graphql_rate_limit': return { response: graphqlRateLimited(env.root, ctx.clock.now()) }
        case 'malformed_json':
          return { response: text(f.status || 200, JSON_TYPE, '{"elements":[{"name":"outreach","version":"3.') }
        case 'empty': return { response: text(f.status || 200, JSON_TYPE, '') }
        case 'html': {
          const status = f.status || 502
          const title = `${status} ${STATUS_CODES[status] || 'Error'}`
          const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
          return { response: text(status, 'text/html', body, retry) }
        }
        case 'redirect':
          return { response: text(f.status || 307, JSON_TYPE, '', { location: env.altUrl + req.url }) }
        case 'echo_token': return { response: echoToken(f, env) }
        case 'same_cursor': return { response: sameCursor(f, env.root) }
        case 'continue_garbage': return { run: (res) => res.socket.end('HTTP/1.1 100 Continue\r\n\r\nthis is not HTTP at all\r\n\r\n') }
        case 'refuse': return { run: (res) => res.socket.destroy() }
        case 'reset': return { run: (res) => resetMidBody(res) }
        case 'huge': return { status: 200, run: (res) => streamHuge(res, f.bytes == null ? DEFAULT_HUGE_BYTES : f.bytes, f.chunked) }
        case 'stall': return {
          run: (res) => {
            stalled.add(res)
            const timer = setTimeout(() => res.destroy(), f.delayMs || DEFAULT_STALL_MS)
            res.once('close', () => { clearTimeout(timer); stalled.delete(res) })
          }
        }
      }
      return { response: json(500, { message: 'unknown fault mode' }) }
    }
  }
}

/** The request's bearer token as a hostile server echoes it: as is, JSON-escaped
 *  (every '/' as '\\/'), or URL-encoded. */
function echoForm (token, form) {
  if (form === 'json') return token.replace(/\//g, '\\/')
  if (form === 'url') return encodeURIComponent(token)
  return token
}

/** echo_token: an error answer that echoes the request's token (in the `form` given)
 *  in the message, the errors, the data, the headers and the body; in the body its
 *  last copy starts `offset` bytes before byte `cut` (default 4096: the part of a
 *  body an error keeps), so that a cut can fall anywhere inside it. shape: `rest`
 *  (a REST error body), `graphql` (errors and data, with a fresh user token as
 *  `authorize.accessToken`), `text` (not JSON). */
function echoToken (f, env) {
  const auth = String(env.req.headers.authorization || '')
  const t = echoForm(auth.replace(/^Bearer\s+/i, ''), f.form)
  const shape = f.shape || 'rest'
  let head
  if (shape === 'graphql') {
    const user = env.ctx.auth.issueUserToken('echo-user')
    head = `{"errors":[{"message":"bad token ${t}","extensions":{"echo":"${t}","${t}":"as a key"}}],` +
      `"data":{"authorize":{"accessToken":"${user}","authorizationCode":"${user}"},"echo":"${t}"},"pad":"`
  } else if (shape === 'rest') {
    head = `{"error":"Bad","message":"you sent ${t}","errors":[{"message":"${t}"}],"data":{"echo":"${t}"},"pad":"`
  } else {
    head = `not json ${t} `
  }
  const cut = f.cut == null ? 4096 : f.cut
  const at = Math.max(head.length, cut - (f.offset || 0))
  const body = head + 'x'.repeat(at - head.length) + t + (shape === 'text' ? ` ${t}` : `"}`)
  const status = f.status || (shape === 'graphql' ? 200 : 400)
  return text(status, shape === 'text' ? 'text/plain' : JSON_TYPE, body, {
    'x-echo': t, 'www-authenticate': `Bearer error="invalid_token", token="${t}"`, location: `https://${t}.example/?t=${t}`
  })
}

/** same_cursor: a page that always says there is a next page, at the same cursor
 *  (`cursor`, default "same"; "" for none at all): REST `{ elements, pageInfo }`, or the
 *  GraphQL connection of the root field. */
function sameCursor (f, root) {
  const pageInfo = { hasNextPage: true }
  const cursor = f.cursor == null ? 'same' : f.cursor
  if (cursor !== '') pageInfo.endCursor = cursor
  if (!root) return json(200, { elements: [{ id: 'e1', name: 'e1' }], pageInfo })
  const conn = { edges: [{ node: { id: 'n1', name: 'n1' }, cursor: cursor || 'c' }], pageInfo }
  const data = root.name === 'viewer' ? { viewer: { authentications: conn, solutions: conn, solutionInstances: conn } } : { [root.name]: conn }
  return json(200, { data })
}

/** Headers and the start of a JSON body, then the connection is destroyed. */
function resetMidBody (res) {
  const body = '{"elements":[{"name":"outreach","version":"3.2","title":"Outreach","description":""}]}'
  res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': body.length })
  res.write(body.slice(0, 20), () => res.destroy())
}

/** A valid JSON body of exactly `bytes` bytes (at least 12), streamed with backpressure;
 *  chunked: no Content-Length, so the client learns the size only as the body arrives. */
function streamHuge (res, bytes, chunked) {
  const head = '{"data":"'
  const tail = '"}'
  let left = Math.max(0, bytes - head.length - tail.length)
  const chunk = Buffer.alloc(64 * 1024, 'x')
  const length = chunked ? {} : { 'content-length': head.length + left + tail.length }
  res.writeHead(200, { 'content-type': JSON_TYPE, ...length })
  res.write(head)
  const pump = () => {
    while (left > 0) {
      if (res.destroyed) return
      const n = Math.min(left, chunk.length)
      left -= n
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once('drain', pump)
    }
    res.end(tail)
  }
  pump()
}

module.exports = { createFaults, MODES }
