'use strict'
// The built-in connector operations behind the GraphQL callConnector mutation, used when no
// hook (opts.callConnector / ctx.callConnector) answers the call. Any version of a listed
// connector is accepted. Each operation: (input, env) -> { outcome: 'success'|'error', output }.
//   salesforce   find_records / get_records   Leads, as in Tray's listAllLeads / listWarmLeads
//                                              examples (needs authId)
//   twilio-output send_sms                    { sid, status: "queued", ... } (needs authId)
//   slack        send_message                 { ok, channel, ts, message } (needs authId)
//   text-helpers change_case                  { result } (no auth)

const crypto = require('node:crypto')

// Tray's listAllLeads example (in order), then the warm lead of listWarmLeads.
const LEADS = [
  ['00Q8d000005HrKQEA0', 'Mike Braund', 'Cold'],
  ['00Q8d000005HrKNEA0', 'Bertha Boxer', 'Hot'],
  ['00Q8d000005HrKOEA0', 'Phyllis Cotton', 'Cold'],
  ['00Q8d000005HrKPEA0', 'Jeff Glimpse', 'Hot'],
  ['00Q8d000005HrKREA0', 'Patricia Feager', 'Cold'],
  ['00Q8d000005HrKVEA0', 'Tom James', 'Cold'],
  ['00Q8d000005HrKSEA0', 'Brenda Mcclure', 'Hot'],
  ['00Q8d000005HrKTEA0', 'Violet Maccleod', 'Cold'],
  ['00Q8d000005HrKUEA0', 'Kathy Snyder', 'Cold'],
  ['00Q8d000005HrKWEA0', 'Shelly Brownell', 'Hot'],
  ['00Q8d000005HrKeEAK', 'Jack Rogers', 'Warm']
].map(([Id, Name, Rating]) => ({ Id, Name, Rating, Email: Name.toLowerCase().replace(/ /g, '.') + '@example.com', Status: 'Open - Not Contacted' }))

const OBJECTS = { Lead: LEADS }

function error (message, extra) {
  return { outcome: 'error', output: { message, ...extra } }
}

function matches (record, cond) {
  const v = record[cond.field]
  switch (cond.operator) {
    case 'Equal to': return String(v) === String(cond.value)
    case 'Not equal to': return String(v) !== String(cond.value)
    case 'Contains': return v != null && String(v).includes(String(cond.value))
    default: return null
  }
}

function findRecords (input) {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return error('The input must be an object')
  const records = OBJECTS[input.object]
  if (!records) return error(`sObject type '${input.object}' is not supported.`, { code: 'INVALID_TYPE' })
  const conditions = Array.isArray(input.conditions) ? input.conditions : []
  for (const c of conditions) {
    if (!c || matches({}, c) === null) return error(`Unsupported condition operator: ${c && c.operator}`)
  }
  const any = input.conditions_type === 'Match any condition'
  const hits = records.filter((r) => conditions.length === 0 ||
    (any ? conditions.some((c) => matches(r, c)) : conditions.every((c) => matches(r, c))))
  const limit = Number.isInteger(input.limit) && input.limit > 0 ? input.limit : 100
  const offset = Number.isInteger(Number(input.page_offset)) && Number(input.page_offset) > 0 ? Number(input.page_offset) : 0
  const fields = Array.isArray(input.fields) && input.fields.length ? input.fields : ['Id', 'Name']
  const page = hits.slice(offset, offset + limit).map((r) => {
    const o = {}
    for (const f of fields) if (f in r) o[f] = r[f]
    return o
  })
  // Tray's examples answer next_page_offset null; so does the emulator.
  return { outcome: 'success', output: { total: page.length, next_page_offset: null, records: page } }
}

const CONNECTORS = {
  salesforce: {
    needsAuth: true,
    operations: { find_records: findRecords, get_records: findRecords }
  },
  'twilio-output': {
    needsAuth: true,
    operations: {
      send_sms (input, env) {
        if (!input || typeof input.to !== 'string' || input.to === '') return error("The 'to' property is required", { code: 21604 })
        if (typeof input.body !== 'string') return error("The 'body' property is required", { code: 21602 })
        const created = new Date(env.now()).toUTCString()
        return {
          outcome: 'success',
          output: {
            sid: 'SM' + crypto.randomBytes(16).toString('hex'),
            status: 'queued',
            to: input.to,
            from: input.from == null ? null : input.from,
            body: input.body,
            direction: 'outbound-api',
            num_segments: '1',
            price: null,
            date_created: created,
            date_updated: created
          }
        }
      }
    }
  },
  slack: {
    needsAuth: true,
    operations: {
      send_message (input, env) {
        if (!input || typeof input.channel !== 'string') return error('channel_not_found')
        const ts = (env.now() / 1000).toFixed(6)
        return { outcome: 'success', output: { ok: true, channel: input.channel, ts, message: { type: 'message', text: input.text == null ? '' : String(input.text), ts } } }
      }
    }
  },
  'text-helpers': {
    needsAuth: false,
    operations: {
      change_case (input) {
        if (!input || typeof input.text !== 'string') return error("The 'text' property is required")
        const c = input.case || 'upper'
        if (c !== 'upper' && c !== 'lower') return error("'case' must be 'upper' or 'lower'")
        return { outcome: 'success', output: { result: c === 'upper' ? input.text.toUpperCase() : input.text.toLowerCase() } }
      }
    }
  }
}

/** The built-in operation, or null. */
function lookup (connector, operation) {
  const c = Object.prototype.hasOwnProperty.call(CONNECTORS, connector) ? CONNECTORS[connector] : null
  if (!c || !Object.prototype.hasOwnProperty.call(c.operations, operation)) return null
  return { needsAuth: c.needsAuth, run: c.operations[operation] }
}

module.exports = { lookup, LEADS }
