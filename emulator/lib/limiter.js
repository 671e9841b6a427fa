'use strict'
// Token buckets, refilled continuously, one per account. The emulator has one organisation, so
// every bearer token (master or user) counts against the same account.

function createLimiter () {
  const buckets = new Map() // account -> { tokens, last }
  let limit = null // { rate, burst } or null (off)

  return {
    /** Sets the limit; the buckets start full again only when it changes. */
    configure (rateLimit) {
      const next = rateLimit ? { rate: rateLimit.rate, burst: rateLimit.burst } : null
      if (JSON.stringify(next) === JSON.stringify(limit)) return
      limit = next
      buckets.clear()
    },

    /** Every bucket full again. */
    reset () { buckets.clear() },

    /** Takes one token for the account; false when it is over the limit. */
    take (account = 'org') {
      if (!limit) return true
      const now = performance.now()
      let b = buckets.get(account)
      if (!b) buckets.set(account, (b = { tokens: limit.burst, last: now }))
      b.tokens = Math.min(limit.burst, b.tokens + ((now - b.last) / 1000) * limit.rate)
      b.last = now
      if (b.tokens < 1) return false
      b.tokens -= 1
      return true
    }
  }
}

module.exports = { createLimiter }
