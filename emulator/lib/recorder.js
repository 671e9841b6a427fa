'use strict'
// What the emulator saw: the request log (GET /_emulator/requests) and counters
// (GET /_emulator/stats).

const LOG_CAP = 20000
const BODY_CAP = 64 * 1024

function createRecorder () {
  let entries = []
  let seq = 0
  let stats

  function clearStats () {
    stats = { requests: 0, rateLimited: 0, byRoute: {}, connectorCalls: {} }
  }
  clearStats()

  return {
    /** Records one request (REST, GraphQL, unknown routes, the alt listener); returns its entry. */
    log ({ req, target, body, listener }) {
      const entry = {
        seq: ++seq,
        time: performance.timeOrigin + performance.now(), // real ms since the epoch, sub-ms precision
        listener, // 'main' | 'alt' (the redirect target)
        host: req.headers.host || null,
        remotePort: req.socket.remotePort, // one value per connection: shows keep-alive reuse
        method: req.method,
        url: req.url,
        path: target.path,
        segments: target.segments,
        query: target.query,
        headers: { ...req.headers },
        body: body.length > BODY_CAP ? body.slice(0, BODY_CAP) : body,
        bodyBytes: Buffer.byteLength(body),
        status: null, // filled in when answered
        answered: null, // time the answer's last byte was handed to the socket (ms, as `time`)
        fault: null // the fault mode applied, if any
      }
      entries.push(entry)
      if (entries.length > LOG_CAP) entries.shift()
      stats.requests++
      return entry
    },

    since: (n) => (n > 0 ? entries.filter((e) => e.seq > n) : entries),

    clearLog () { entries = [] },

    count (table, key) {
      stats[table][key] = (stats[table][key] || 0) + 1
    },

    rateLimited () { stats.rateLimited++ },

    stats: () => stats,

    reset () {
      entries = []
      seq = 0
      clearStats()
    }
  }
}

module.exports = { createRecorder, LOG_CAP, BODY_CAP }
