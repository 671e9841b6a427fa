-- The SDK's GraphQL agrees with emulator/graphql/schema.graphql (the project's statement of
-- Tray's API) by construction: its types come from the generated lua/tray/embedded/types.lua,
-- which must be current, and every document it can build validates with graphql-js.

local json = require "tray.json"
local documents = require "tray.embedded.documents"
local proc = require "spec.helpers.proc"

local read = proc.read

local SCHEMA = "emulator/graphql/schema.graphql"

local function write(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end

-- Validates the SDK's documents against an SDL file; returns graphql-js's output and success.
local function validate_all(schema_file)
  local list = {}
  for i, d in ipairs(documents.enumerate()) do
    list[i] = { name = d.name .. " (" .. d.label .. ")", document = d.document,
      variables = next(d.variables) and d.variables or json.object() }
  end
  local file = os.tmpname()
  write(file, assert(json.encode(list)))
  local ok, out = proc.sh(string.format("node tools/validate-documents.js %s %s", schema_file, file))
  os.remove(file)
  return out, ok, #list
end

describe("the GraphQL schema and the SDK's documents", function()
  it("lua/tray/embedded/types.lua is generated from the current schema.graphql (make types)", function()
    local ok, out = proc.sh("node tools/gen-types.js " .. SCHEMA)
    assert.is_true(ok, out)
    assert.equal(out, read("lua/tray/embedded/types.lua"), "lua/tray/embedded/types.lua is stale: run make types")
  end)

  it("every document the SDK can build validates against schema.graphql, variables coerced", function()
    local out, ok, n = validate_all(SCHEMA)
    assert.is_true(ok, out)
    assert.matches(n .. " documents, 0 invalid", out, 1, true)
    assert.is_true(n > 80, "only " .. n .. " documents")
    print(string.format("\n%d GraphQL documents of tray.embedded validate against %s", n, SCHEMA))
  end)

  it("covers every operation, each optional argument and criteria field", function()
    local seen = {}
    for _, d in ipairs(documents.enumerate()) do seen[d.name .. "/" .. d.label] = d end
    local ops = require "tray.embedded.operations"
    for name, q in pairs(ops.QUERIES) do
      for k in pairs(q.criteria or {}) do assert.truthy(seen[name .. "/criteria " .. k], name .. " " .. k) end
      for k in pairs(q.paging) do assert.truthy(seen[name .. "/with " .. k], name .. " " .. k) end
    end
    for name, m in pairs(ops.MUTATIONS) do
      assert.truthy(seen[name .. "/required only"], name)
      for k, t in pairs(m.input) do
        if t:sub(-1) ~= "!" then assert.truthy(seen[name .. "/with " .. k], name .. " " .. k) end
      end
    end
  end)

  it("a schema with one type changed makes documents invalid (the check can fail)", function()
    local sdl = read(SCHEMA)
    local wrong, n = sdl:gsub("(input ConnectorCallInput {.-input: )Json!", "%1String!")
    assert.equal(1, n)
    local file = os.tmpname()
    write(file, wrong)
    local out, ok = validate_all(file)
    os.remove(file)
    assert.is_false(ok)
    assert.matches('invalid call_connector (required only): Variable "$input" of type "Json!" used in position ' ..
      'expecting type "String!"', out, 1, true)
    assert.matches("invalid call_connectors", out, 1, true)
  end)
end)
