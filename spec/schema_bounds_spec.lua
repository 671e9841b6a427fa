-- The bounds of tray.schema.validate (issue 14, item 9): a hostile schema or input makes a
-- check end with an answer, never a raise, a stack overflow or hours of work. The work a
-- check does is measured in Lua VM instructions (a count hook, with the JIT off so that the
-- hook sees every instruction), not in time.

local emu = require "spec.helpers.emulator"
local schema = require "tray.schema"
local json = require "tray.json"

local REF = "$ref"
local unpack = table.unpack or unpack -- luacheck: ignore 143

local function pack(...) return { n = select("#", ...), ... } end

--- Runs fn(...) and counts the VM instructions it takes, up to `limit`: its results, or
-- nil, "more than N instructions" when it needs more (the run is cut off there).
local function within(limit, fn, ...)
  local jit_on = jit and jit.status()
  if jit then jit.off() jit.flush() end
  local used, STEP = 0, 1000
  debug.sethook(function()
    used = used + STEP
    if used > limit then error("more than " .. limit .. " instructions", 0) end
  end, "", STEP)
  local res = pack(pcall(fn, ...))
  debug.sethook()
  if jit_on then jit.on() end
  if not res[1] then return nil, res[2] end
  return unpack(res, 2, res.n)
end

--- definitions d0 .. d(n-1): each an anyOf of two $refs to the next; d(n) wants a string.
-- A value that fails d(n) makes a naive check try 2^n paths.
local function any_of_chain(n)
  local defs = {}
  for i = 0, n - 1 do
    local nxt = "#/definitions/d" .. (i + 1)
    defs["d" .. i] = { anyOf = { { [REF] = nxt }, { [REF] = nxt, type = "number" } } }
  end
  defs["d" .. n] = { type = "string" }
  return { definitions = defs, [REF] = "#/definitions/d0" }
end

--- The same with allOf: every path is taken, valid or not.
local function all_of_chain(n, leaf)
  local defs = {}
  for i = 0, n - 1 do
    local nxt = "#/definitions/d" .. (i + 1)
    defs["d" .. i] = { allOf = { { [REF] = nxt }, { [REF] = nxt } } }
  end
  defs["d" .. n] = leaf
  return { definitions = defs, [REF] = "#/definitions/d0" }
end

--- `{ a = { a = ... "x" } }`, `levels` tables deep (built in a loop: no recursion).
local function nested(levels)
  local v = "x"
  for _ = 1, levels do v = { a = v } end
  return v
end

--- A table whose two members are the same table, `levels` deep: 2^levels paths, no cycle.
local function diamond(levels, leaf)
  local v = leaf
  for _ = 1, levels do v = { a = v, b = v } end
  return v
end

local function deep_pointer(levels)
  return ("/a"):rep(levels)
end

describe("tray.schema bounds", function()
  describe("the work of a hostile schema", function()
    -- Before the bounds: 22 levels took 16 s on Lua 5.4 (2^22 checks); 200 would never end.
    it("checks 200 nested anyOf/$ref levels in linear work, with the same verdicts", function()
      local s = any_of_chain(200)
      local ok, errs, limit = within(2e6, schema.validate, s, 1)
      assert.is_false(ok)
      assert.are.same({ { path = "", message = "must match at least one schema in anyOf" } }, errs)
      assert.is_nil(limit)
      assert.is_true((within(2e6, schema.validate, s, "x")))
      assert.is_false((within(2e6, schema.validate, any_of_chain(22), 5.5)))
    end)

    it("checks nested oneOf and not chains in linear work", function()
      local defs = {}
      for i = 0, 99 do
        local nxt = "#/definitions/d" .. (i + 1)
        defs["d" .. i] = { oneOf = { { [REF] = nxt }, { ["not"] = { ["not"] = { [REF] = nxt } } } } }
      end
      defs.d100 = { type = "string" }
      local s = { definitions = defs, [REF] = "#/definitions/d0" }
      -- both branches match (or fail) alike, so exactly one never matches
      local ok, errs = within(2e6, schema.validate, s, "x")
      assert.is_false(ok)
      assert.are.same({ { path = "", message = "must match exactly one schema in oneOf (matched 0)" } }, errs)
      assert.is_true((within(2e6, schema.validate, s, "x", { one_of = "any" })))
    end)

    it("checks a valid value against 200 nested allOf/$ref levels in linear work", function()
      assert.is_true((within(2e6, schema.validate, all_of_chain(200, { type = "string" }), "x")))
    end)

    it("stops an invalid value against nested allOf at the step budget, with one error", function()
      -- every one of the 2^40 paths reports its own error: the check gives up
      local ok, errs, limit = within(5e7, schema.validate, all_of_chain(40, { type = "string" }), 1,
        { max_steps = 10000 })
      assert.is_false(ok)
      assert.are.equal("steps", limit)
      assert.are.same({ { path = "", message = "too complex to check: more than 10000 steps" } }, errs)
    end)

    it("stops a schema that contains itself, or nests 200,000 levels, at MAX_NESTING", function()
      local s = {}
      s.allOf = { s }
      local ok, errs, limit = schema.validate(s, 1)
      assert.is_false(ok)
      assert.are.equal("nesting", limit)
      assert.are.same({ { path = "", message = "the schema nests deeper than " .. schema.MAX_NESTING ..
        " levels here" } }, errs)
      local deep = { type = "string" }
      for _ = 1, 200000 do deep = { ["not"] = { ["not"] = deep } } end
      ok, errs, limit = schema.validate(deep, "x")
      assert.is_false(ok)
      assert.are.equal("nesting", limit)
      assert.are.equal(1, #errs)
    end)

    it("compares uniqueItems scalars through a set, and table items within the step budget", function()
      local items = json.array()
      for i = 1, 200000 do items[i] = "item" .. i end
      items[#items + 1] = "item7"
      local ok, errs = within(5e7, schema.validate, { uniqueItems = true }, items)
      assert.is_false(ok)
      assert.are.same({ { path = "", message = "items 6 and 200000 are identical" } }, errs)
      local tables = json.array()
      for i = 1, 3000 do tables[i] = { n = i } end
      local _, errs2, limit = schema.validate({ uniqueItems = true }, tables, { max_steps = 100000 })
      assert.are.equal("steps", limit)
      assert.are.equal(1, #errs2)
    end)
  end)

  describe("the depth of a hostile input", function()
    -- Before the bounds: `stack overflow` raised from schema.validate (and validate_input).
    it("refuses an input nested 200,000 levels with one error where it goes too deep", function()
      local ok, errs, limit = schema.validate({ type = "object" }, nested(200000))
      assert.is_false(ok)
      assert.are.equal("depth", limit)
      assert.are.same({ { path = deep_pointer(schema.MAX_DEPTH),
        message = "nested deeper than " .. schema.MAX_DEPTH .. " levels" } }, errs)
    end)

    it("checks an input of MAX_DEPTH levels against a recursive schema, and refuses one more", function()
      local s = { anyOf = { { type = "string" }, { type = "object", required = { "a" },
                                                   properties = { a = { [REF] = "#" } } } } }
      assert.is_true((schema.validate(s, nested(schema.MAX_DEPTH))))
      local ok, errs, limit = schema.validate(s, nested(schema.MAX_DEPTH + 1))
      assert.is_false(ok)
      assert.are.equal("depth", limit)
      assert.are.equal(deep_pointer(schema.MAX_DEPTH), errs[1].path)
    end)

    it("checks a table reached by 2^200 paths (no cycle) in linear work", function()
      local s = { type = "object", properties = { a = { [REF] = "#" }, b = { [REF] = "#" } } }
      assert.is_true((within(2e6, schema.validate, s, diamond(200, json.object()))))
      local ok, _, limit = within(5e7, schema.validate, { additionalProperties = { [REF] = "#" },
        type = "object" }, diamond(200, 1), { max_steps = 20000 })
      assert.is_false(ok)
      assert.are.equal("steps", limit)
    end)

    it("still reports cyclic tables and $ref cycles", function()
      local t = {}
      t.a = t
      assert.are.same({ { path = "/a", message = "cyclic table" } }, select(2, schema.validate({}, t)))
      assert.are.same({ { path = "", message = '$ref cycle "#"' } }, select(2, schema.validate({ [REF] = "#" }, 1)))
    end)
  end)

  describe("through validate_input", function()
    local deep_schema = { type = "object" }
    local self_schema = {}
    self_schema.allOf = { self_schema }
    local core

    setup(function()
      core = emu.core{ validator = { schemas = { ["deep@1.0/op"] = deep_schema, ["self@1.0/op"] = self_schema,
                                                  ["chain@1.0/op"] = all_of_chain(40, { type = "string" }) } },
                       schema_options = { max_steps = 10000 } }
    end)

    teardown(function()
      if core then core:close() end
    end)

    it("answers an input nested too deep with a validation error, not a raise", function()
      local ok, err = core:validate_input{ connector = "deep", version = "1.0", operation = "op",
        input = nested(200000) }
      assert.is_nil(ok)
      assert.are.equal("validation", err.kind)
      assert.are.equal("depth", err.limit)
      assert.matches("nested deeper than " .. schema.MAX_DEPTH .. " levels", err.message, 1, true)
    end)

    it("answers a schema too complex to check with a validation error naming the bound", function()
      local ok, err = core:validate_input{ connector = "self", version = "1.0", operation = "op", input = {} }
      assert.is_nil(ok)
      assert.are.equal("validation", err.kind)
      assert.are.equal("nesting", err.limit)
      assert.matches("^cannot check the input against the input schema of op: ", err.message)
      ok, err = core:validate_input{ connector = "chain", version = "1.0", operation = "op", input = 1 }
      assert.is_nil(ok)
      assert.are.equal("steps", err.limit)
      assert.matches("more than 10000 steps", err.message, 1, true)
    end)
  end)
end)
