'use strict'
// Relay connections over in-memory collections.
//
// Every stored item gets a sequence number (_seq) when it is added; a collection's array stays
// ordered by _seq (insertion order), so a cursor -- base64 of "<kind>:<seq>" -- is a position
// that stays valid across inserts and removals (a cursor of a removed item still marks its
// place). Finding a cursor's position is a binary search: a page of an unfiltered list costs
// O(log n + page), whatever the list's size.
//
// Rules (the reference only says "Relay"):
// - `first` and `last` must be integers between 0 and 100 (MAX_PAGE); anything else is a
//   GraphQL error with extensions.code BAD_USER_INPUT.
// - With neither `first` nor `last`, a page holds the first 100 nodes (DEFAULT_PAGE).
// - `after`/`before` must be cursors this emulator issued for the same kind of list;
//   anything else is a BAD_USER_INPUT error.
// - pageInfo follows the Relay spec: with `first`, hasNextPage says whether more nodes follow
//   within the cursors' range, hasPreviousPage whether nodes precede `after`; with `last`,
//   symmetrically.

const { GraphQLError } = require('graphql')

const MAX_PAGE = 100
const DEFAULT_PAGE = 100

function fail (code, message, extra) {
  return new GraphQLError(message, { extensions: { code, ...extra } })
}

function encodeCursor (kind, seq) {
  return Buffer.from(`${kind}:${seq}`, 'utf8').toString('base64')
}

function decodeCursor (cursor, kind, maxSeq, argName) {
  const bad = () => fail('BAD_USER_INPUT', `Invalid cursor in "${argName}": ${JSON.stringify(cursor)}`)
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(cursor)) throw bad()
  const m = /^([A-Za-z]+):([1-9][0-9]{0,14})$/.exec(Buffer.from(cursor, 'base64').toString('utf8'))
  if (!m || m[1] !== kind) throw bad()
  const seq = Number(m[2])
  if (seq > maxSeq) throw bad()
  return seq
}

/** First index whose _seq is >= seq (items ordered by _seq). */
function lowerBound (items, seq) {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (items[mid]._seq < seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** An insertion-ordered store with an id index. */
class Collection {
  constructor (kind) {
    this.kind = kind
    this.items = []
    this.byId = new Map()
    this.seq = 0
  }

  get size () { return this.items.length }

  get (id) { return id == null ? undefined : this.byId.get(String(id)) }

  add (item) {
    item._seq = ++this.seq
    this.items.push(item)
    this.byId.set(item.id, item)
    return item
  }

  remove (id) {
    const item = this.get(id)
    if (!item) return null
    this.byId.delete(item.id)
    this.items.splice(lowerBound(this.items, item._seq), 1)
    return item
  }

  /** Removes every item matching pred in one pass; returns the removed items. */
  removeWhere (pred) {
    const removed = []
    this.items = this.items.filter((it) => {
      if (!pred(it)) return true
      removed.push(it)
      this.byId.delete(it.id)
      return false
    })
    return removed
  }
}

function checkCount (name, n) {
  if (n == null) return
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE) {
    throw fail('BAD_USER_INPUT', `"${name}" must be between 0 and ${MAX_PAGE}, got ${n}`)
  }
}

function anyForward (items, from, to, ok) {
  if (!ok) return from < to
  for (let i = from; i < to; i++) if (ok(items[i])) return true
  return false
}

function anyBackward (items, from, downTo, ok) {
  if (!ok) return from >= downTo
  for (let i = from; i >= downTo; i--) if (ok(items[i])) return true
  return false
}

/**
 * One page of a connection.
 * @param items array ordered by _seq
 * @param kind cursor kind (one per list type)
 * @param maxSeq highest _seq ever issued for this list (cursors beyond it are invalid)
 * @param args { first, after, last, before }
 * @param ok predicate (criteria), or null for all
 * @param toNode item -> node
 * @returns { edges, pageInfo }
 */
function paginate (items, kind, maxSeq, args, ok, toNode) {
  let { first, last } = args || {}
  const { after, before } = args || {}
  checkCount('first', first)
  checkCount('last', last)
  if (first == null && last == null) first = DEFAULT_PAGE
  let lo = 0
  let hi = items.length
  if (after != null) lo = lowerBound(items, decodeCursor(after, kind, maxSeq, 'after') + 1)
  if (before != null) hi = lowerBound(items, decodeCursor(before, kind, maxSeq, 'before'))
  if (hi < lo) hi = lo
  ok = ok || null

  let sel = []
  let hasNextPage = false
  let hasPreviousPage = false
  if (first != null) {
    let i = lo
    for (; i < hi && sel.length < first; i++) if (!ok || ok(items[i])) sel.push(items[i])
    hasNextPage = anyForward(items, i, hi, ok)
    hasPreviousPage = after != null && anyBackward(items, lo - 1, 0, ok)
    if (last != null && sel.length > last) {
      sel = sel.slice(sel.length - last)
      hasPreviousPage = true
    }
  } else {
    let j = hi - 1
    for (; j >= lo && sel.length < last; j--) if (!ok || ok(items[j])) sel.push(items[j])
    sel.reverse()
    hasPreviousPage = anyBackward(items, j, lo, ok)
    hasNextPage = before != null && anyForward(items, hi, items.length, ok)
  }

  const edges = sel.map((it) => ({ node: toNode(it), cursor: encodeCursor(kind, it._seq) }))
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: edges.length ? edges[0].cursor : null,
      endCursor: edges.length ? edges[edges.length - 1].cursor : null
    }
  }
}

module.exports = { Collection, paginate, encodeCursor, decodeCursor, lowerBound, fail, MAX_PAGE, DEFAULT_PAGE }
