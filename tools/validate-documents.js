#!/usr/bin/env node
'use strict'
// Validates GraphQL documents against an SDL file with graphql-js (the emulator's copy):
// the documents of tray.embedded, for spec/graphql_schema_spec.lua.
//
//   node tools/validate-documents.js SCHEMA.graphql DOCUMENTS.json
//
// DOCUMENTS.json: [{ "name": "...", "document": "...", "variables": {...} }, ...]. Each document
// is parsed and validated, and its variables are coerced to their declared types, as a server
// does before it runs anything. Prints one line per invalid document ("invalid <name>: <message>")
// and then "<n> documents, <m> invalid"; exits 1 when any is invalid.

const fs = require('node:fs')
const path = require('node:path')
const { buildSchema, parse, validate, getVariableValues, valueFromASTUntyped } = require(path.join(__dirname, '..', 'emulator', 'node_modules', 'graphql'))

const [schemaFile, docsFile] = process.argv.slice(2)
const schema = buildSchema(fs.readFileSync(schemaFile, 'utf8'))
const json = schema.getType('Json')
if (json) Object.assign(json, { serialize: (v) => v, parseValue: (v) => v, parseLiteral: (ast, v) => valueFromASTUntyped(ast, v) })
const docs = JSON.parse(fs.readFileSync(docsFile, 'utf8'))
let invalid = 0
for (const d of docs) {
  let errors
  try {
    const doc = parse(d.document)
    errors = validate(schema, doc)
    if (!errors.length) {
      const op = doc.definitions.find((x) => x.kind === 'OperationDefinition')
      const coerced = getVariableValues(schema, op.variableDefinitions || [], d.variables || {})
      errors = coerced.errors || []
    }
  } catch (e) {
    errors = [e]
  }
  if (errors.length) {
    invalid++
    process.stdout.write(`invalid ${d.name}: ${errors.map((e) => e.message).join('; ')}\n`)
  }
}
process.stdout.write(`${docs.length} documents, ${invalid} invalid\n`)
process.exit(invalid ? 1 : 0)
