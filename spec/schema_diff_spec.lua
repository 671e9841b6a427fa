-- Differential check of tray.schema against the emulator's ajv (the validator behind call
-- connector, reached through POST /_emulator/validate): a deterministic corpus of generated
-- inputs, valid and broken, over schemas for every keyword and the real catalogue schemas.
-- The verdicts must agree input by input, and so must the places (JSON pointers) of the
-- violations.
--
-- Values are generated with explicit markers (tray.json.array / tray.json.object) so that an
-- empty table is never ambiguous, and travel to the emulator encoded with tray.json.encode.
-- Numbers are small integers and binary fractions (exact in JSON text); `pattern` is not
-- used (tray.schema enforces it only with opts.pattern); ajv's schemas are draft-07, so
-- exclusiveMinimum/Maximum use the number form.

local emu = require "spec.helpers.emulator"
local json = require "tray.json"
local schema = require "tray.schema"

local A, O, NULL = json.array, json.object, json.null

-- ---------------------------------------------------------------------------------------
-- A deterministic generator (Park-Miller; the same sequence on Lua 5.4 and LuaJIT).

local function rng(seed)
  local state = seed
  local r = {}
  function r.next()
    state = (state * 16807) % 2147483647
    return state
  end
  function r.int(a, b) return a + r.next() % (b - a + 1) end
  function r.chance(p) return r.next() / 2147483647 < p end
  function r.pick(list) return list[r.int(1, #list)] end
  return r
end

local KEYS = { "a", "b/c", "~d", "x", "id", "value", "extra", "n" }
local CHARS = { "a", "b", "z", "Q", " ", "/", "~", "\195\169", "\228\184\173", "\240\159\152\128", "0" }

local function rand_string(r, lo, hi)
  local parts = {}
  for i = 1, r.int(lo, hi) do parts[i] = r.pick(CHARS) end
  return table.concat(parts)
end

local rand_json
function rand_json(r, depth)
  local kind = r.int(1, depth < 3 and 9 or 6)
  if kind == 1 then return NULL end
  if kind == 2 then return r.chance(0.5) end
  if kind == 3 then return r.int(-20, 120) end
  if kind == 4 then return r.int(-400, 400) / 4 end
  if kind == 5 or kind == 6 then return rand_string(r, 0, 6) end
  if kind == 7 then
    local t = A()
    for i = 1, r.int(0, 3) do t[i] = rand_json(r, depth + 1) end
    return t
  end
  local t = O()
  for _ = 1, r.int(0, 3) do t[r.pick(KEYS)] = rand_json(r, depth + 1) end
  return t
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local mt = getmetatable(v)
  local out = mt and setmetatable({}, mt) or (v[1] ~= nil and A() or O())
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

local function resolve(root, ref)
  if ref == "#" then return root end
  local node = root
  for token in ref:sub(3):gmatch("[^/]+") do node = node and node[token] end
  return node
end

local gen
function gen(r, root, s, depth)
  if s == nil or type(s) == "boolean" then return rand_json(r, depth) end
  if depth > 5 then return rand_json(r, 3) end
  if s["$ref"] then return gen(r, root, resolve(root, s["$ref"]), depth + 1) end
  if s.enum then return copy(r.pick(s.enum)) end
  if s.const ~= nil then return copy(s.const) end
  if s.oneOf then return gen(r, root, r.pick(s.oneOf), depth + 1) end
  if s.anyOf then return gen(r, root, r.pick(s.anyOf), depth + 1) end
  if s.allOf then
    local out = O()
    for _, branch in ipairs(s.allOf) do
      local v = gen(r, root, branch, depth + 1)
      if type(v) ~= "table" or json.is_array(v) or v == NULL then return v end
      for k, x in pairs(v) do out[k] = x end
    end
    return out
  end
  local t = s.type
  if type(t) == "table" then t = r.pick(t) end
  if t == nil then
    if s.properties or s.required then t = "object"
    elseif s.items then t = "array"
    elseif s.minLength or s.maxLength then t = "string"
    elseif s.minimum or s.maximum then t = "number"
    else return rand_json(r, depth) end
  end
  if t == "object" then
    local out, props = O(), s.properties or {}
    for _, name in ipairs(s.required or {}) do out[name] = gen(r, root, props[name], depth + 1) end
    local names = {}
    for name in pairs(props) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      if out[name] == nil and r.chance(0.5) then out[name] = gen(r, root, props[name], depth + 1) end
    end
    if s.additionalProperties ~= false and r.chance(0.3) then
      local extra = s.additionalProperties
      out[r.pick(KEYS)] = gen(r, root, type(extra) == "table" and extra or nil, depth + 1)
    end
    return out
  elseif t == "array" then
    local out, items = A(), s.items
    if type(items) == "table" and items[1] ~= nil then
      for i, sub in ipairs(items) do out[i] = gen(r, root, sub, depth + 1) end
      if s.additionalItems ~= false and r.chance(0.4) then
        local extra = s.additionalItems
        out[#out + 1] = gen(r, root, type(extra) == "table" and extra or nil, depth + 1)
      end
    else
      local lo = s.minItems or 0
      for i = 1, r.int(lo, s.maxItems or lo + 3) do out[i] = gen(r, root, items, depth + 1) end
    end
    return out
  elseif t == "string" then
    local lo = s.minLength or 0
    return rand_string(r, lo, s.maxLength or lo + 5)
  elseif t == "integer" or t == "number" then
    local lo = s.minimum or s.exclusiveMinimum or -20
    local hi = s.maximum or s.exclusiveMaximum or lo + 100
    if s.multipleOf then
      local m = s.multipleOf
      return r.int(math.ceil(lo / m), math.floor(hi / m)) * m
    end
    if t == "integer" or r.chance(0.5) then return r.int(math.ceil(lo), math.floor(hi)) end
    return r.int(lo * 4, hi * 4) / 4
  elseif t == "boolean" then
    return r.chance(0.5)
  end
  return NULL
end

--- Every (container, key) of a value, and the root as (nil, nil).
local function nodes(v, out, parent, key)
  out[#out + 1] = { parent = parent, key = key, value = v }
  if type(v) == "table" and v ~= NULL then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do nodes(v[k], out, v, k) end
  end
  return out
end

--- Breaks a value at a random place: another type, a key removed or added, an item added or
-- repeated, a number or string pushed past a bound.
local function mutate(r, v)
  local all = nodes(v, {})
  local node = r.pick(all)
  local x = node.value
  local new
  local op = r.int(1, 6)
  if type(x) == "table" and x ~= NULL and json.is_array(x) and op <= 3 then
    if op == 1 or #x == 0 then x[#x + 1] = rand_json(r, 2) else x[#x + 1] = copy(x[1]) end
    return v
  elseif type(x) == "table" and x ~= NULL and op <= 3 then
    local keys = {}
    for k in pairs(x) do keys[#keys + 1] = k end
    table.sort(keys)
    if op == 1 and #keys > 0 then
      x[keys[r.int(1, #keys)]] = nil
    else
      x[r.pick(KEYS)] = rand_json(r, 2)
    end
    return v
  elseif type(x) == "number" and op <= 3 then
    new = op == 1 and x + 0.5 or op == 2 and x * 100 or -x - 1
  elseif type(x) == "string" and op <= 3 then
    new = op == 1 and x .. "xxxxxxxx" or ""
  else
    new = rand_json(r, 1)
  end
  if node.parent == nil then return new end
  node.parent[node.key] = new
  return v
end

-- ---------------------------------------------------------------------------------------
-- The schemas: every keyword of the subset, and the real ones (from the catalogue).

local KEYWORDS = {
  { "type list", { type = { "string", "null" } } },
  { "type list with integer", { type = { "integer", "boolean" } } },
  { "type-specific keywords apply to their type only",
    { type = { "number", "string" }, minimum = 2, minLength = 2 } },
  { "integer and bounds", { type = "integer", minimum = -3, maximum = 50 } },
  { "number, exclusive bounds, multipleOf", { type = "number", exclusiveMinimum = 0, exclusiveMaximum = 10,
    multipleOf = 0.5 } },
  { "minLength / maxLength in code points", { type = "string", minLength = 2, maxLength = 4 } },
  { "enum and const", { type = "object", additionalProperties = false,
    properties = { color = { enum = { "red", "green", 3, NULL, A{ 1, 2 } } }, fixed = { const = "v1" } } } },
  { "enum of numbers (1 equals 1.0)", { enum = { 1, 2.5, "1" } } },
  { "properties, required, additionalProperties schema, min/maxProperties",
    { type = "object", properties = { a = { type = "string" }, ["b/c"] = { type = "integer" },
      ["~d"] = { type = "boolean" } }, required = { "a", "b/c" }, additionalProperties = { type = "number" },
      minProperties = 2, maxProperties = 4 } },
  { "additionalProperties false", { type = "object", properties = { x = {}, id = { type = "string" } },
    additionalProperties = false } },
  { "items schema, min/maxItems, uniqueItems", { type = "array", items = { type = "integer", minimum = 0 },
    minItems = 1, maxItems = 3, uniqueItems = true } },
  { "uniqueItems of any values", { type = "array", uniqueItems = true, maxItems = 4 } },
  { "[] and {} are different values (uniqueItems, enum, const)", { type = "array", uniqueItems = true, maxItems = 3,
    items = { enum = { A(), O(), 1, "1", A{ 1 } } } } },
  { "const {}", { type = "object", properties = { c = { const = O() } } } },
  { "tuple items, additionalItems false", { type = "array", items = { { type = "string" }, { type = "number" } },
    additionalItems = false } },
  { "tuple items, additionalItems schema", { type = "array", items = { { type = "string" } },
    additionalItems = { type = "boolean" } } },
  { "oneOf (overlapping branches)", { oneOf = { { type = "integer" }, { type = "number", minimum = 10 } } } },
  { "anyOf", { anyOf = { { type = "string", maxLength = 2 }, { type = "array", maxItems = 1 } } } },
  { "allOf", { allOf = { { type = "object", required = { "id" } },
    { properties = { id = { type = "string", minLength = 3 } } } } } },
  { "not", { type = { "string", "integer" }, ["not"] = { type = "string" } } },
  { "local $ref to definitions and $defs", { definitions = { pos = { type = "integer", minimum = 1 } },
    ["$defs"] = { name = { type = "string", maxLength = 5 } }, type = "object",
    properties = { p = { ["$ref"] = "#/definitions/pos" }, n = { ["$ref"] = "#/$defs/name" },
      list = { type = "array", items = { ["$ref"] = "#/definitions/pos" } } } } },
  { "recursive $ref to the root", { type = "object", required = { "value" }, additionalProperties = false,
    properties = { value = { type = "integer" }, children = { type = "array", items = { ["$ref"] = "#" } } } } },
  { "$ref with sibling keywords", { definitions = { s = { type = "string" } }, ["$ref"] = "#/definitions/s",
    minLength = 2 } },
  { "boolean schemas", { type = "object", properties = { yes = true, no = false }, additionalProperties = true } },
  { "empty arrays and objects", { type = "object", properties = { tags = { type = "array", maxItems = 0 },
    meta = { type = "object", maxProperties = 0 }, any = { type = { "array", "object" } } } } },
  { "Tray's own keys are annotations", {
    ["$schema"] = "https://api.tray.io/core/v1/connectors/operations/input-schema#", advanced = { "b" },
    type = "object", additionalProperties = false, required = { "a" },
    properties = {
      a = { type = "string", title = "A", description = "the a", format = "datetime", default = 5,
            lookup = { operation = "list_as", input = { q = "{{b}}" } } },
      b = { type = "string", enum = { "x", "y" }, enumLabels = { "X", "Y" }, default = "x" } } } },
}

local REAL = {
  { "twilio-output", "2.1", "send_sms" },
  { "clearbit", "2.0", "reveal_api" }, { "clearbit", "2.0", "discovery_api" },
  { "clearbit", "2.0", "company_by_domain" }, { "clearbit", "2.0", "combined_by_email" },
  { "clearbit", "2.0", "person_by_email" }, { "clearbit", "2.0", "prospector_api" },
  { "trello", "2.0", "get_board_by_id" }, { "trello", "2.0", "create_new_card" },
  { "trello", "2.0", "update_card_custom_field" }, { "trello", "2.0", "search" },
  { "trello", "2.0", "list_boards" }, { "trello", "2.0", "add_checklist_item" },
  { "trello", "2.0", "create_new_board" }, { "trello", "2.0", "update_card_by_id" },
  { "trello", "2.0", "update_checklist_item" },
}

-- ---------------------------------------------------------------------------------------

-- Where the violations are, as a set of JSON pointers. ajv reports the errors of the failed
-- branches of oneOf/anyOf as well as the oneOf/anyOf error itself (tray.schema gives only the
-- latter), and an extra tuple item at the array (tray.schema: at the item): both are set aside.
local function our_places(errs)
  local set = {}
  for _, e in ipairs(errs) do
    set[e.message == "unexpected item" and (e.path:gsub("/[^/]*$", "")) or e.path] = true
  end
  return set
end

local function ajv_places(errs)
  local set = {}
  for _, e in ipairs(errs) do
    if not e.schemaPath:find("/oneOf/%d+/") and not e.schemaPath:find("/anyOf/%d+/") then set[e.path] = true end
  end
  return set
end

local function same_set(a, b)
  for k in pairs(a) do if not b[k] then return false end end
  for k in pairs(b) do if not a[k] then return false end end
  return true
end

--- Runs the corpus of one schema: `per` inputs, half generated to fit, half broken.
-- `ajv(value)` asks the emulator. Counts the verdicts and the places that agree.
local function run(r, s, per, ajv, tally)
  for i = 1, per do
    local v = gen(r, s, s, 0)
    if i % 2 == 0 then v = mutate(r, v) end
    local ours, errs = schema.validate(s, v)
    local theirs = ajv(v)
    tally.total = tally.total + 1
    if theirs.ok then tally.valid = tally.valid + 1 else tally.invalid = tally.invalid + 1 end
    local places = same_set(our_places(errs), ajv_places(theirs.errors))
    if ours == theirs.ok then tally.agree = tally.agree + 1 end
    if places then tally.places = tally.places + 1 end
    if ours ~= theirs.ok or not places then
      tally.disagreements[#tally.disagreements + 1] = string.format("%s\n    value %s\n    tray.schema %s\n    ajv %s",
        tally.name, assert(json.encode(v)), schema.format_errors(errs), assert(json.encode(theirs.errors)))
    end
  end
end

local function report(label, tally)
  print(string.format("# schema_diff %s: %d/%d inputs agree with ajv (%d valid, %d invalid per ajv), " ..
    "%d/%d with the violations at the same places", label, tally.agree, tally.total, tally.valid, tally.invalid,
    tally.places, tally.total))
  assert(#tally.disagreements == 0, #tally.disagreements .. " disagreements:\n  " ..
    table.concat(tally.disagreements, "\n  ", 1, math.min(#tally.disagreements, 10)))
  assert.equal(tally.total, tally.agree)
  assert.equal(tally.total, tally.places)
end

local function new_tally()
  return { total = 0, agree = 0, places = 0, valid = 0, invalid = 0, disagreements = {} }
end

describe("tray.schema agrees with the emulator's ajv", function()
  before_each(function()
    emu.reset()
  end)

  it("on 260 inputs over a schema for every keyword", function()
    local r = rng(20240611)
    local tally = new_tally()
    for _, entry in ipairs(KEYWORDS) do
      local name, s = entry[1], entry[2]
      local before = { valid = tally.valid, invalid = tally.invalid }
      tally.name = name
      run(r, s, 10, function(v) return emu.control("POST", "/validate", { schema = s, value = v }) end, tally)
      -- every schema meets both verdicts
      assert(tally.valid > before.valid, name .. ": no valid input in the corpus")
      assert(tally.invalid > before.invalid, name .. ": no invalid input in the corpus")
    end
    assert.equal(260, tally.total)
    report("keywords", tally)
  end)

  it("on 96 inputs over the real Twilio, Clearbit and Trello schemas", function()
    local r = rng(424242)
    local tally = new_tally()
    local core = emu.core()
    local lists = {}
    for _, op in ipairs(REAL) do
      local key = op[1] .. "@" .. op[2]
      if not lists[key] then
        lists[key] = {}
        for _, e in ipairs(assert(core:list_connector_operations(op[1], op[2])).elements) do lists[key][e.name] = e end
      end
      local s = assert(lists[key][op[3]], op[3]).inputSchema
      tally.name = key .. "/" .. op[3]
      local before = { valid = tally.valid, invalid = tally.invalid }
      run(r, s, 6, function(v)
        return emu.control("POST", "/validate", { connector = op[1], version = op[2], operation = op[3], value = v })
      end, tally)
      assert(tally.invalid > before.invalid, tally.name .. ": no invalid input in the corpus")
      if op[3] ~= "update_card_custom_field" then -- strict oneOf: its string values match several branches
        assert(tally.valid > before.valid, tally.name .. ": no valid input in the corpus")
      end
    end
    assert.equal(96, tally.total)
    report("real schemas", tally)
  end)
end)
