#!/usr/bin/env node
'use strict'
// tray-emulator: a local stand-in for Tray's REST (/core/v1) and Embedded GraphQL (/graphql) APIs.
// See README.md. First stdout line: "tray-emulator listening on http://HOST:PORT".

const { createEmulator } = require('./lib/app')

const USAGE = `usage: node server.js [--port N] [--host H] [--alt-host H] [--tls]
                      [--rate R --burst B] [--retry-after S] [--latency MS]
                      [--error-style openapi|published] [--verbose] [--parent-pid PID]
                      [--no-introspection] [--schema FILE.graphql]`

function parseArgs (argv) {
  const opts = {
    port: Number(process.env.TRAY_EMULATOR_PORT || 8729),
    host: '127.0.0.1',
    masterToken: process.env.TRAY_EMULATOR_MASTER_TOKEN || 'emulator-master-token'
  }
  let rate, burst
  const num = (name, v) => {
    const n = Number(v)
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${name} needs a number >= 0`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => argv[++i]
    switch (a) {
      case '--port': opts.port = num(a, next()); break
      case '--host': opts.host = next(); break
      case '--alt-host': opts.altHost = next(); break
      case '--tls': opts.tls = true; break
      case '--rate': rate = num(a, next()); break
      case '--burst': burst = num(a, next()); break
      case '--retry-after': opts.retryAfter = num(a, next()); break
      case '--latency': opts.latencyMs = num(a, next()); break
      case '--error-style': opts.restErrorStyle = next(); break
      case '--verbose': opts.verbose = true; break
      case '--no-introspection': opts.introspection = false; break
      case '--schema': opts.schemaPath = require('node:path').resolve(next()); break
      case '--parent-pid': opts.parentPid = num(a, next()); break
      case '--help': case '-h': process.stdout.write(USAGE + '\n'); process.exit(0); break
      default: throw new Error(`unknown argument ${a}`)
    }
  }
  if (rate !== undefined) opts.rateLimit = { rate, burst: burst === undefined ? rate : burst }
  if (opts.restErrorStyle && !['openapi', 'published'].includes(opts.restErrorStyle)) throw new Error('--error-style is openapi or published')
  return opts
}

async function main () {
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (e) {
    process.stderr.write(`tray-emulator: ${e.message}\n${USAGE}\n`)
    process.exit(2)
  }
  const em = createEmulator(opts)
  const { url } = await em.start()
  process.stdout.write(`tray-emulator listening on ${url}\n`)

  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    em.stop().then(() => process.exit(0))
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  if (opts.parentPid) {
    // exit with the process that started us (a spec run without `make test`)
    setInterval(() => {
      try { process.kill(opts.parentPid, 0) } catch (e) { stop() }
    }, 500).unref()
  }
}

main().catch((e) => {
  process.stderr.write(`tray-emulator: ${e.message}\n`)
  process.exit(1)
})
