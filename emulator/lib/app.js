'use strict'
// The emulator: listeners (main + alt), and the path every request takes:
//   /_emulator/*  -> controls (main listener only, loopback only, never logged)
//   otherwise     -> log -> fault? -> /core/v1 (REST) | /graphql | 404 -> send (+ latency)
// Faults are checked before auth and rate limiting; the alt listener (the redirect target)
// logs what it gets and answers like the main one, without faults.

const http = require('node:http')
const https = require('node:https')
const { createContext } = require('./context')
const { createRecorder } = require('./recorder')
const { createFaults } = require('./faults')
const { createLimiter } = require('./limiter')
const { createControls } = require('./controls')
const { loadPlugin, rootField, tryParseJson, createGraphqlFront } = require('./graphql-front')
const { makeCertificate } = require('./tls')
const { readBody, parseTarget, bearerToken, restError, json, send } = require('./http')
const { createRest, PREFIX } = require('../rest')
const connectors = require('../rest/connectors')
const { IDS } = require('../rest/state')

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/

/**
 * @param {object} opts { host, port, altHost, altPort, tls, verbose, masterToken, restErrorStyle,
 *   rateLimit: {rate, burst}, latencyMs, retryAfter, schemaPath, introspection }
 */
function createEmulator (opts = {}) {
  const ctx = createContext(opts)
  const recorder = createRecorder()
  const faults = createFaults()
  const limiter = createLimiter()
  const rest = createRest(ctx, recorder)
  // GraphQL callConnector: operations of the REST catalogue are validated (ajv) and answered as REST calls are
  ctx.callConnector = (call) => connectors.graphqlCall(call, { ctx, count: recorder.count })
  const plugin = loadPlugin(ctx, { schemaPath: opts.schemaPath, introspection: opts.introspection })
  const graphql = createGraphqlFront({ ctx, limiter, recorder, plugin })
  const servers = { main: null, alt: null }
  const urls = { url: null, altUrl: null }
  const certificate = opts.tls ? makeCertificate([opts.host || '127.0.0.1', opts.altHost || '127.0.0.2']) : null

  const em = {
    ctx,
    recorder,
    faults,
    plugin,
    certificate,
    info: () => ({ ...urls, masterToken: ctx.config.masterToken, tls: !!certificate, seed: IDS }),
    applyConfig () {
      limiter.configure(ctx.config.rateLimit)
      if (servers.main) servers.main.maxConnections = ctx.config.maxConnections || Infinity
    },
    reset () {
      rest.reset()
      if (plugin) plugin.reset()
      ctx.reset()
      faults.clear()
      faults.releaseStalled()
      recorder.reset()
      limiter.reset()
      em.applyConfig()
    }
  }
  const control = createControls(em)
  em.applyConfig()

  function answerRest (req, target, bodyText) {
    if (!target.segments) return restError(ctx, 400, 'Malformed percent-encoding in the request path')
    const m = rest.match(req.method, target.segments.slice(2))
    recorder.count('byRoute', m.key || `${req.method} ${target.path}`)
    const identity = ctx.auth.identify(bearerToken(req.headers))
    if (!identity) return restError(ctx, 401, 'The request is unauthorized')
    if (!limiter.take()) {
      recorder.rateLimited()
      const retry = ctx.config.retryAfter != null ? { 'retry-after': String(ctx.config.retryAfter) } : undefined
      return restError(ctx, 429, 'Rate limit exceeded', null, retry)
    }
    return rest.handle(m, { method: req.method, path: target.path, body: bodyText, query: target.query, identity })
  }

  async function onRequest (req, res, listener) {
    const started = performance.now()
    const target = parseTarget(req.url)
    let bodyText
    try {
      bodyText = await readBody(req)
    } catch (e) {
      return send(res, restError(ctx, e.status || 400, e.message))
    }

    if (target.path.startsWith('/_emulator/') && listener === 'main') {
      if (!LOOPBACK.test(req.socket.remoteAddress || '')) return send(res, json(403, { error: 'Forbidden', message: 'Test controls answer loopback clients only' }))
      return send(res, await control(req, target, bodyText))
    }

    const log = recorder.log({ req, target, body: bodyText, listener })
    res.on('finish', () => { log.answered = performance.timeOrigin + performance.now() })
    const isGraphql = target.path === '/graphql'
    const gqlBody = isGraphql ? tryParseJson(bodyText) : undefined
    const root = isGraphql ? rootField(gqlBody) : null
    let sendOpts = { delayMs: ctx.config.latencyMs }

    const fault = listener === 'main' ? faults.take({ method: req.method, path: target.path, operation: root && root.name }) : null
    let response
    if (fault) {
      log.fault = fault.mode
      const plan = faults.plan(fault, { ctx, req, root, altUrl: urls.altUrl || urls.url })
      if (plan.run) {
        log.status = plan.status || null
        return plan.run(res)
      }
      if (plan.sendOpts) sendOpts = { delayMs: sendOpts.delayMs + (plan.sendOpts.delayMs || 0), trickleMs: plan.sendOpts.trickleMs }
      response = plan.response
    }

    if (!response) {
      if (isGraphql) {
        const token = bearerToken(req.headers)
        response = await graphql(req, { token, identity: ctx.auth.identify(token), body: gqlBody, root })
      } else if (target.path === PREFIX || target.path.startsWith(PREFIX + '/')) {
        response = answerRest(req, target, bodyText)
      } else {
        response = restError(ctx, 404, `No route for ${req.method} ${target.path}`)
      }
    }
    log.status = response.status
    if (opts.verbose) process.stderr.write(`${listener} ${req.method} ${target.path} ${response.status} ${(performance.now() - started).toFixed(1)}ms${fault ? ' fault=' + fault.mode : ''}\n`)
    send(res, response, sendOpts)
  }

  function handlerFor (listener) {
    return (req, res) => {
      onRequest(req, res, listener).catch((e) => {
        process.stderr.write(`tray-emulator: internal error: ${e && e.stack}\n`)
        if (!res.headersSent) send(res, json(500, { message: 'Internal server error' }))
        else res.destroy()
      })
    }
  }

  function listen (listener, host, port) {
    const handler = handlerFor(listener)
    const server = certificate ? https.createServer({ key: certificate.key, cert: certificate.cert }, handler) : http.createServer(handler)
    server.keepAliveTimeout = 5000
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.removeListener('error', reject)
        servers[listener] = server
        const h = host.includes(':') ? `[${host}]` : host
        resolve(`${certificate ? 'https' : 'http'}://${h}:${server.address().port}`)
      })
    })
  }

  em.start = async function start () {
    const host = opts.host || '127.0.0.1'
    urls.url = await listen('main', host, opts.port == null ? 8729 : opts.port)
    em.applyConfig()
    // The redirect target: another address (127.0.0.2 by default), best effort.
    const altHost = opts.altHost || '127.0.0.2'
    try {
      urls.altUrl = await listen('alt', altHost, opts.altPort || 0)
    } catch {
      try {
        urls.altUrl = await listen('alt', host, 0)
      } catch {
        urls.altUrl = null
      }
    }
    return { ...urls }
  }

  em.stop = async function stop () {
    faults.releaseStalled()
    await Promise.all(Object.values(servers).filter(Boolean).map((s) => new Promise((resolve) => {
      s.close(() => resolve())
      s.closeAllConnections()
    })))
  }

  return em
}

module.exports = { createEmulator }
