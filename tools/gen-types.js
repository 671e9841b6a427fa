#!/usr/bin/env node
'use strict'
// Generates lua/tray/embedded/types.lua from emulator/graphql/schema.graphql (`make types`):
// every object type's fields (with their arguments) and every input object's fields, with their
// GraphQL types as text ("String", "ID!", "[AuthValue!]"). tray.embedded takes its argument and
// input types from that table, so its documents agree with the schema by construction;
// spec/graphql_schema_spec.lua fails when the file is stale.
//
//   node tools/gen-types.js [schema.graphql] > lua/tray/embedded/types.lua

const fs = require('node:fs')
const path = require('node:path')
const root = path.join(__dirname, '..')
const { buildSchema, isObjectType, isInputObjectType, isScalarType } = require(path.join(root, 'emulator', 'node_modules', 'graphql'))

const file = process.argv[2] || path.join(root, 'emulator', 'graphql', 'schema.graphql')
const schema = buildSchema(fs.readFileSync(file, 'utf8'))

const q = (s) => JSON.stringify(s) // a Lua string literal for the names and types used here
const key = (s) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : `[${q(s)}]`)
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0)

const types = Object.values(schema.getTypeMap()).filter((t) => !t.name.startsWith('__')).sort((a, b) => byName(a.name, b.name))
const out = []
const w = (s) => out.push(s)
w('-- Generated from emulator/graphql/schema.graphql by tools/gen-types.js (`make types`): do not edit.')
w('--- The GraphQL types of the Embedded API: `objects[Type][field] = { type =, args = { name = type } }`,')
w('-- `inputs[Input][field] = type`, `scalars[Name] = true`; types as GraphQL text ("ID!", "[AuthValue!]").')
w('-- @internal tray.embedded.types')
w('-- luacheck: no max line length')
w('')
w('return {')
w('  objects = {')
for (const t of types.filter(isObjectType)) {
  w(`    ${key(t.name)} = {`)
  for (const f of Object.values(t.getFields()).sort((a, b) => byName(a.name, b.name))) {
    const args = f.args.slice().sort((a, b) => byName(a.name, b.name)).map((a) => `${key(a.name)} = ${q(String(a.type))}`)
    w(`      ${key(f.name)} = { type = ${q(String(f.type))}${args.length ? `, args = { ${args.join(', ')} }` : ''} },`)
  }
  w('    },')
}
w('  },')
w('  inputs = {')
for (const t of types.filter(isInputObjectType)) {
  w(`    ${key(t.name)} = {`)
  for (const f of Object.values(t.getFields()).sort((a, b) => byName(a.name, b.name))) w(`      ${key(f.name)} = ${q(String(f.type))},`)
  w('    },')
}
w('  },')
w(`  scalars = { ${types.filter(isScalarType).map((t) => `${key(t.name)} = true`).join(', ')} },`)
w('  roots = { query = ' + q(schema.getQueryType().name) + ', mutation = ' + q(schema.getMutationType().name) + ' },')
w('}')
process.stdout.write(out.join('\n') + '\n')
