local cjson = require "cjson"
local schema = require "tray.schema"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"

local function fixture(name)
  local f = assert(io.open(here .. "fixtures/schemas/" .. name .. ".json", "rb"))
  local text = f:read("*a")
  f:close()
  return cjson.decode(text)
end

local twilio, clearbit, trello = fixture("twilio"), fixture("clearbit"), fixture("trello")

--- The errors of a validation as "path: message" strings; checks that `ok` agrees with them.
local function errors(s, value, opts)
  local ok, errs = schema.validate(s, value, opts)
  assert.are.equal(#errs == 0, ok)
  local lines = {}
  for i, e in ipairs(errs) do lines[i] = e.path .. ": " .. e.message end
  return lines
end

local function valid(s, value, opts)
  assert.are.same({}, errors(s, value, opts))
end

describe("tray.schema", function()

  describe("validate", function()
    it("returns true and an empty list for a valid value", function()
      local ok, errs = schema.validate({ type = "string" }, "x")
      assert.is_true(ok)
      assert.are.same({}, errs)
    end)

    it("returns false and every violation as { path, message }", function()
      local ok, errs = schema.validate(twilio.send_sms, { media_url = 5 })
      assert.is_false(ok)
      assert.are.same({
        { path = "/to", message = "required" },
        { path = "/from", message = "required" },
        { path = "/body", message = "required" },
        { path = "/media_url", message = "expected string, got number" },
      }, errs)
    end)

    it("joins errors into one line with format_errors", function()
      local _, errs = schema.validate(twilio.send_sms, { to = "1", from = "2" })
      assert.are.equal("/body: required", schema.format_errors(errs))
      _, errs = schema.validate(twilio.send_sms, {})
      assert.are.equal("/to: required; /from: required; /body: required", schema.format_errors(errs))
      assert.are.equal("", schema.format_errors({}))
    end)

    it("gives the root path as the empty string", function()
      assert.are.same({ ": expected object, got string" }, errors(twilio.send_sms, "hello"))
    end)
  end)

  describe("the Lua value model", function()
    it("takes cjson.null as JSON null", function()
      valid({ type = "null" }, cjson.null)
      assert.are.equal(cjson.null, schema.null)
      assert.are.same({ ": expected string, got null" }, errors({ type = "string" }, cjson.null))
      assert.are.same({ "/a: expected string, got null" },
        errors({ properties = { a = { type = "string" } } }, { a = cjson.null }))
    end)

    it("takes nil as absent: a nil property is missing, not null", function()
      local s = { type = "object", properties = { a = { type = "null" } }, required = { "a" } }
      assert.are.same({ "/a: required" }, errors(s, { a = nil }))
      valid(s, { a = cjson.null })
    end)

    it("refuses a nil root", function()
      assert.are.same({ ": not a JSON value (nil)" }, errors({}, nil))
    end)

    it("counts integral floats as integers, as JSON Schema and ajv do", function()
      valid({ type = "integer" }, 1.0)
      valid({ type = "integer" }, 3)
      valid({ type = "integer" }, -0.0)
      valid({ type = "integer" }, 2 ^ 60)
      valid({ type = "integer" }, cjson.decode("[12]")[1])
      assert.are.same({ ": expected integer, got number" }, errors({ type = "integer" }, 1.5))
    end)

    it("accepts integers where a number is expected", function()
      valid({ type = "number" }, 7)
      valid({ type = "number" }, 7.25)
    end)

    it("refuses NaN and infinities, which are not JSON numbers", function()
      assert.are.same({ ": not a finite number" }, errors({ type = "number" }, 0 / 0))
      assert.are.same({ ": not a finite number" }, errors({}, math.huge))
      assert.are.same({ "/x: not a finite number" }, errors({}, { x = -math.huge }))
    end)

    it("refuses functions, userdata and coroutines", function()
      assert.are.same({ ": not a JSON value (function)" }, errors({}, print))
      assert.are.same({ "/f: not a JSON value (userdata)" }, errors({}, { f = io.stdout }))
      assert.are.same({ "/0: not a JSON value (thread)" }, errors({}, { coroutine.create(print) }))
    end)

    it("takes a table with keys 1..n as an array and one with string keys as an object", function()
      valid({ type = "array" }, { "a", "b" })
      valid({ type = "object" }, { a = 1 })
      assert.are.same({ ": expected object, got array" }, errors({ type = "object" }, { 1, 2 }))
      assert.are.same({ ": expected array, got object" }, errors({ type = "array" }, { a = 1 }))
    end)

    it("refuses mixed tables, arrays with holes and other keys", function()
      assert.are.same({ ": mixed table" }, errors({}, { 1, a = 2 }))
      assert.are.same({ "/a: array with holes" }, errors({}, { a = { 1, nil, 3 } }))
      assert.are.same({ ": table with non-string keys" }, errors({}, { [0] = "x" }))
      assert.are.same({ ": table with non-string keys" }, errors({}, { [true] = "x" }))
      assert.are.same({ ": table with non-string keys" }, errors({}, { [1.5] = "x" }))
    end)

    it("finds non-JSON values deep inside parts no keyword constrains", function()
      assert.are.same({ "/a/b/1: not a JSON value (function)" },
        errors({ type = "object" }, { a = { b = { 1, print } } }))
    end)

    it("refuses cyclic tables instead of recursing forever", function()
      local t = { name = "loop" }
      t.self = t
      assert.are.same({ "/self: cyclic table" }, errors({}, t))
      local list = {}
      list[1] = list
      assert.are.same({ "/0: cyclic table" }, errors({ items = { type = "array" } }, list))
    end)

    it("accepts a table that appears twice without a cycle", function()
      local shared = { "x" }
      valid({ additionalProperties = { type = "array", items = { type = "string" } } }, { a = shared, b = shared })
    end)
  end)

  describe("empty tables", function()
    it("accept an empty table as an object or as an array, whichever the schema asks for", function()
      valid({ type = "object" }, {})
      valid({ type = "array" }, {})
      valid({ type = "array", items = { type = "string" } }, cjson.decode("[]"))
      valid({ type = "object", additionalProperties = false }, cjson.decode("{}"))
    end)

    it("treat an empty table as an object when the type names both kinds or none", function()
      assert.are.same({ ": fewer than 1 property" }, errors({ type = { "array", "object" }, minProperties = 1 }, {}))
      valid({ type = { "array", "object" }, minItems = 1 }, {})
      assert.are.same({ ": fewer than 1 property" }, errors({ minProperties = 1 }, {}))
      valid({ minItems = 1 }, {})
      assert.are.same({ ": expected string, got object" }, errors({ type = "string" }, {}))
      assert.are.same({ ": fewer than 2 items" }, errors({ type = { "array", "null" }, minItems = 2 }, {}))
    end)

    it("match both an array branch and an object branch of oneOf", function()
      assert.are.same({ ": must match exactly one schema in oneOf (matched 2)" },
        errors({ oneOf = { { type = "array" }, { type = "object" } } }, {}))
    end)

    it("are resolved by schema.array and schema.object markers", function()
      local a, o = schema.array(), schema.object()
      assert.are.same({ ": expected object, got array" }, errors({ type = "object" }, a))
      assert.are.same({ ": expected array, got object" }, errors({ type = "array" }, o))
      valid({ oneOf = { { type = "array" }, { type = "object" } } }, a)
      valid({ oneOf = { { type = "array" }, { type = "object" } } }, o)
      assert.are.same({ ": fewer than 1 item" }, errors({ type = { "array", "object" }, minItems = 1 }, a))
    end)

    it("marks and returns the same table", function()
      local t = { 1, 2 }
      assert.are.equal(t, schema.array(t))
      local u = { a = 1 }
      assert.are.equal(u, schema.object(u))
      valid({ type = "array" }, t)
      valid({ type = "object" }, u)
    end)

    it("refuses a marked table whose keys contradict its marker", function()
      assert.are.same({ ": array with non-index keys" }, errors({}, schema.array({ a = 1 })))
      assert.are.same({ ": object with non-string keys" }, errors({}, schema.object({ 1 })))
    end)

    it("honours markers registered in array_mts and object_mts", function()
      local mt = {}
      schema.array_mts[mt] = true
      assert.are.same({ ": expected object, got array" }, errors({ type = "object" }, setmetatable({}, mt)))
      schema.array_mts[mt] = nil
      valid({ type = "object" }, setmetatable({}, mt))
    end)
  end)

  describe("type", function()
    it("checks each JSON type by name", function()
      valid({ type = "string" }, "")
      valid({ type = "boolean" }, false)
      valid({ type = "null" }, cjson.null)
      assert.are.same({ ": expected boolean, got string" }, errors({ type = "boolean" }, "true"))
      assert.are.same({ ": expected null, got boolean" }, errors({ type = "null" }, false))
      assert.are.same({ ": expected number, got string" }, errors({ type = "number" }, "1"))
    end)

    it("accepts any of a list of types and names them all when none matches", function()
      local s = { type = { "string", "integer" } }
      valid(s, "2024-01-01")
      valid(s, 1700000000)
      assert.are.same({ ": expected string or integer, got number" }, errors(s, 1.5))
      assert.are.same({ ": expected string, number or null, got boolean" },
        errors({ type = { "string", "number", "null" } }, true))
    end)

    it("stops checking a value whose type is wrong", function()
      assert.are.same({ ": expected string, got number" },
        errors({ type = "string", enum = { "a" }, minLength = 3 }, 5))
    end)

    it("applies each kind's keywords only to values of that kind", function()
      valid({ minLength = 3, minimum = 5, minItems = 2, required = { "a" } }, true)
      valid({ minLength = 3, required = { "a" } }, 1)
      valid({ minimum = 5 }, "ab")
    end)
  end)

  describe("properties, required and additionalProperties", function()
    it("reports each missing required property at its own path, in the order of required", function()
      local s = { type = "object", required = { "z", "a", "m" } }
      assert.are.same({ "/z: required", "/a: required", "/m: required" }, errors(s, {}))
    end)

    it("counts a null property as present", function()
      valid({ type = "object", required = { "a" } }, { a = cjson.null })
    end)

    it("reports an extra property at its own path when additionalProperties is false", function()
      local s = { type = "object", properties = { a = { type = "string" } }, additionalProperties = false }
      assert.are.same({ "/b: unexpected property", "/c: unexpected property" }, errors(s, { a = "x", c = 1, b = 2 }))
    end)

    it("allows extra properties when additionalProperties is true or absent", function()
      valid({ type = "object", properties = {}, additionalProperties = true }, { x = 1 })
      valid({ type = "object", properties = {} }, { x = 1 })
    end)

    it("checks extra properties against an additionalProperties schema", function()
      local s = { properties = { a = { type = "string" } }, additionalProperties = { type = "integer" } }
      valid(s, { a = "x", b = 2 })
      assert.are.same({ "/b: expected integer, got string" }, errors(s, { a = "x", b = "2" }))
    end)

    it("builds nested paths and escapes ~ and / in names as JSON Pointer does", function()
      local s = { properties = { outer = {
        properties = { ["a/b"] = { type = "string" }, ["m~n"] = { type = "string" } } } } }
      assert.are.same({ "/outer/a~1b: expected string, got number", "/outer/m~0n: expected string, got boolean" },
        errors(s, { outer = { ["a/b"] = 1, ["m~n"] = true } }))
      assert.are.same({ "/~01~1: unexpected property" }, errors({ additionalProperties = false }, { ["~1/"] = 1 }))
    end)

    it("checks minProperties and maxProperties", function()
      assert.are.same({ ": fewer than 2 properties" }, errors({ minProperties = 2 }, { a = 1 }))
      assert.are.same({ ": more than 1 property" }, errors({ maxProperties = 1 }, { a = 1, b = 2 }))
      valid({ minProperties = 1, maxProperties = 1 }, { a = 1 })
    end)
  end)

  describe("items", function()
    it("checks every item against a single items schema, with 0-based paths", function()
      local s = { type = "array", items = { type = "string" } }
      valid(s, { "a", "b" })
      assert.are.same({ "/0: expected string, got number", "/2: expected string, got boolean" },
        errors(s, { 1, "b", true }))
      assert.are.same({ "/a/1: expected string, got number" },
        errors({ properties = { a = s } }, { a = { "x", 2 } }))
    end)

    it("checks a tuple position by position, then additionalItems", function()
      local s = { items = { { type = "string" }, { type = "integer" } } }
      valid(s, { "a", 1, "anything", true })
      assert.are.same({ "/1: expected integer, got string" }, errors(s, { "a", "b" }))
      s.additionalItems = false
      valid(s, { "a", 1 })
      assert.are.same({ "/2: unexpected item", "/3: unexpected item" }, errors(s, { "a", 1, "x", "y" }))
      s.additionalItems = { type = "boolean" }
      assert.are.same({ "/3: expected boolean, got string" }, errors(s, { "a", 1, true, "y" }))
    end)

    it("ignores additionalItems when items is a single schema", function()
      valid({ items = { type = "string" }, additionalItems = false }, { "a", "b", "c" })
    end)

    it("treats an empty items table as the empty schema unless marked as an array", function()
      valid({ items = {}, additionalItems = false }, { 1, 2 })
      assert.are.same({ "/0: unexpected item" }, errors({ items = schema.array(), additionalItems = false }, { 1 }))
    end)

    it("checks minItems and maxItems", function()
      assert.are.same({ ": fewer than 2 items" }, errors({ minItems = 2 }, { 1 }))
      assert.are.same({ ": fewer than 1 item" }, errors({ type = "array", minItems = 1 }, {}))
      assert.are.same({ ": more than 1 item" }, errors({ maxItems = 1 }, { 1, 2 }))
      valid({ minItems = 1, maxItems = 2 }, { 1, 2 })
    end)

    it("checks uniqueItems with JSON equality", function()
      assert.are.same({ ": items 0 and 2 are identical" }, errors({ uniqueItems = true }, { 1, 2, 1.0 }))
      assert.are.same({ ": items 1 and 2 are identical" },
        errors({ uniqueItems = true }, { { a = 1 }, { b = { 1 } }, { b = { 1 } } }))
      valid({ uniqueItems = true }, { 1, "1", true, cjson.null, { 1 }, { 2 } })
      valid({ uniqueItems = false }, { 1, 1 })
    end)
  end)

  describe("enum and const", function()
    it("accepts only the listed values and lists them in the message", function()
      local s = { type = "string", enum = { "a", "b" } }
      valid(s, "b")
      assert.are.same({ ': must be one of "a", "b"' }, errors(s, "c"))
    end)

    it("compares with JSON equality and shows any JSON value", function()
      local s = { enum = { 1, "x\"y", cjson.null, { 1, 2 }, { k = true }, 0.5 } }
      valid(s, 1.0)
      valid(s, cjson.null)
      valid(s, { 1, 2 })
      valid(s, { k = true })
      assert.are.same({ ': must be one of 1, "x\\"y", null, [1,2], {"k":true}, 0.5' }, errors(s, { 1 }))
      assert.are.same({ ': must be one of 1, "x\\"y", null, [1,2], {"k":true}, 0.5' }, errors(s, "1"))
    end)

    it("checks const", function()
      valid({ const = "on" }, "on")
      assert.are.same({ ': must equal "on"' }, errors({ const = "on" }, "off"))
      assert.are.same({ ": must equal 3" }, errors({ const = 3.0 }, 4))
    end)

    it("ignores an empty enum (an empty table cannot say whether it was [] or {})", function()
      valid({ enum = {} }, 1)
    end)
  end)

  describe("numbers", function()
    it("checks minimum and maximum, inclusive", function()
      local s = { type = "integer", minimum = 1, maximum = 10.0 }
      valid(s, 1)
      valid(s, 10)
      assert.are.same({ ": less than minimum 1" }, errors(s, 0))
      assert.are.same({ ": greater than maximum 10" }, errors(s, 11))
    end)

    it("reads exclusiveMinimum and exclusiveMaximum in the draft-04 boolean form", function()
      local s = { minimum = 1, exclusiveMinimum = true, maximum = 2, exclusiveMaximum = true }
      valid(s, 1.5)
      assert.are.same({ ": less than or equal to exclusive minimum 1" }, errors(s, 1))
      assert.are.same({ ": greater than or equal to exclusive maximum 2" }, errors(s, 2))
      valid({ minimum = 1, exclusiveMinimum = false }, 1)
    end)

    it("applies minimum and a number-form exclusiveMinimum side by side", function()
      local s = { minimum = 1, exclusiveMinimum = 0, maximum = 5, exclusiveMaximum = 9 }
      valid(s, 1)
      valid(s, 5)
      assert.are.same({ ": less than minimum 1" }, errors(s, 0.5))
      assert.are.same({ ": less than minimum 1", ": less than or equal to exclusive minimum 0" }, errors(s, 0))
    end)

    it("reads exclusiveMinimum and exclusiveMaximum in the number form", function()
      local s = { exclusiveMinimum = 0, exclusiveMaximum = 0.5 }
      valid(s, 0.25)
      assert.are.same({ ": less than or equal to exclusive minimum 0" }, errors(s, 0))
      assert.are.same({ ": greater than or equal to exclusive maximum 0.5" }, errors(s, 0.5))
    end)

    it("checks multipleOf", function()
      valid({ multipleOf = 3 }, 9)
      valid({ multipleOf = 0.5 }, 2.5)
      assert.are.same({ ": not a multiple of 3" }, errors({ multipleOf = 3 }, 10))
    end)

    it("reports every broken bound", function()
      assert.are.same({ ": less than minimum 5", ": not a multiple of 2" },
        errors({ minimum = 5, multipleOf = 2 }, 3))
    end)
  end)

  describe("strings", function()
    it("checks minLength and maxLength", function()
      assert.are.same({ ": shorter than 3 characters" }, errors({ minLength = 3 }, "ab"))
      assert.are.same({ ": longer than 2 characters" }, errors({ maxLength = 2 }, "abc"))
      assert.are.same({ ": shorter than 1 character" }, errors({ minLength = 1 }, ""))
      assert.are.same({ "/name: shorter than 3 characters" },
        errors({ properties = { name = { type = "string", minLength = 3.0 } } }, { name = "Al" }))
      valid({ minLength = 2, maxLength = 2 }, "ab")
    end)

    it("counts Unicode code points of UTF-8, not bytes", function()
      local s = { minLength = 5, maxLength = 5 }
      valid(s, "h\195\169llo")                    -- héllo: 6 bytes
      valid({ maxLength = 2 }, "\230\151\165\230\156\172") -- 日本: 6 bytes
      valid({ maxLength = 1 }, "\240\159\152\128")         -- U+1F600: 4 bytes
      assert.are.same({ ": shorter than 3 characters" }, errors({ minLength = 3 }, "\230\151\165\230\156\172"))
      assert.are.same({ ": longer than 1 character" }, errors({ maxLength = 1 }, "\240\159\152\128!"))
    end)

    it("reports invalid UTF-8 where a length is checked", function()
      local s = { maxLength = 10 }
      assert.are.same({ ": invalid UTF-8" }, errors(s, "\255"))
      assert.are.same({ ": invalid UTF-8" }, errors(s, "\192\128"))         -- overlong NUL
      assert.are.same({ ": invalid UTF-8" }, errors(s, "\224\128\128"))     -- overlong 3-byte
      assert.are.same({ ": invalid UTF-8" }, errors(s, "\237\160\128"))     -- surrogate U+D800
      assert.are.same({ ": invalid UTF-8" }, errors(s, "\244\144\128\128")) -- above U+10FFFF
      assert.are.same({ ": invalid UTF-8" }, errors(s, "ab\226\130"))       -- truncated
      assert.are.same({ ": invalid UTF-8" }, errors(s, "\128"))             -- lone continuation
      valid(s, "\244\143\191\191")                                           -- U+10FFFF
      valid({ type = "string" }, "\255")                                     -- no length check
    end)
  end)

  describe("pattern", function()
    it("is ignored without a pattern function, since Lua has no ECMAScript regex engine", function()
      valid({ type = "string", pattern = "^a+$" }, "bbb")
      valid({ patternProperties = { ["^x"] = { type = "string" } }, additionalProperties = false }, { xy = 1, z = 2 })
    end)

    it("is enforced through opts.pattern(str, regex)", function()
      local calls = {}
      local opts = { pattern = function(str, regex)
        calls[#calls + 1] = str .. " " .. regex
        return str:find((regex:gsub("%+", "+"))) ~= nil
      end }
      valid({ pattern = "^a+$" }, "aaa", opts)
      assert.are.same({ ': does not match pattern "^a+$"' }, errors({ pattern = "^a+$" }, "ab", opts))
      assert.are.same({ "aaa ^a+$", "ab ^a+$" }, calls)
    end)

    it("drives patternProperties through opts.pattern", function()
      local opts = { pattern = function(str, regex) return str:find(regex) ~= nil end }
      local s = { patternProperties = { ["^x"] = { type = "string" } }, additionalProperties = false }
      valid(s, { xa = "1" }, opts)
      assert.are.same({ "/xa: expected string, got number", "/y: unexpected property" },
        errors(s, { xa = 1, y = "2" }, opts))
    end)
  end)

  describe("allOf, anyOf, oneOf and not", function()
    it("reports the errors of every allOf branch", function()
      local s = { allOf = { { required = { "a" } }, { required = { "b" } }, { type = "object" } } }
      valid(s, { a = 1, b = 2 })
      assert.are.same({ "/a: required", "/b: required" }, errors(s, {}))
    end)

    it("reports one message when no anyOf branch matches", function()
      local s = { anyOf = { { type = "string" }, { type = "integer", minimum = 10 } } }
      valid(s, "x")
      valid(s, 12)
      assert.are.same({ ": must match at least one schema in anyOf" }, errors(s, 5))
    end)

    it("reports how many oneOf branches matched when it is not exactly one", function()
      local s = { oneOf = { { type = "integer" }, { type = "number", minimum = 2 } } }
      valid(s, 1)
      valid(s, 2.5)
      assert.are.same({ ": must match exactly one schema in oneOf (matched 2)" }, errors(s, 3))
      assert.are.same({ ": must match exactly one schema in oneOf (matched 0)" }, errors(s, "x"))
      assert.are.same({ ": must match exactly one schema in oneOf (matched 0)" }, errors(s, 1.5))
    end)

    it("accepts any matching oneOf branch with opts.one_of = \"any\"", function()
      local s = { oneOf = { { type = "integer" }, { type = "number" } } }
      valid(s, 3, { one_of = "any" })
      assert.are.same({ ": must match at least one schema in oneOf" }, errors(s, "x", { one_of = "any" }))
    end)

    it("does not leak branch errors into the result", function()
      local s = { properties = { v = { oneOf = { { type = "string" }, { type = "integer" } } } }, required = { "w" } }
      assert.are.same({ "/w: required" }, errors(s, { v = 1 }))
      local ok, errs = schema.validate({ anyOf = { { type = "string" }, { minimum = 0 } } }, 1)
      assert.is_true(ok)
      assert.are.same({}, errs)
    end)

    it("checks not", function()
      local s = { ["not"] = { type = "string" } }
      valid(s, 1)
      assert.are.same({ ": must not match the schema in not" }, errors(s, "x"))
    end)
  end)

  describe("$ref", function()
    it("resolves #/definitions/x and #/$defs/x", function()
      local s = {
        definitions = { id = { type = "string", minLength = 2 } },
        ["$defs"] = { n = { type = "integer" } },
        properties = { id = { ["$ref"] = "#/definitions/id" }, n = { ["$ref"] = "#/$defs/n" } },
      }
      valid(s, { id = "ab", n = 1 })
      assert.are.same({ "/id: shorter than 2 characters", "/n: expected integer, got string" },
        errors(s, { id = "a", n = "1" }))
    end)

    it("unescapes ~0, ~1 and %XX in pointer tokens, and indexes arrays from 0", function()
      local s = {
        definitions = { ["a/b"] = { type = "string" }, ["m~n"] = { type = "integer" },
                        ["sp ace"] = { type = "boolean" } },
        anyOf = { { type = "null" }, { type = "object" } },
        properties = {
          p = { ["$ref"] = "#/definitions/a~1b" },
          q = { ["$ref"] = "#/definitions/m~0n" },
          r = { ["$ref"] = "#/definitions/sp%20ace" },
          s = { ["$ref"] = "#/anyOf/0" },
        },
      }
      assert.are.same({ "/p: expected string, got number", "/q: expected integer, got string",
                        "/r: expected boolean, got number", "/s: expected null, got number" },
        errors(s, { p = 1, q = "x", r = 0, s = 1 }))
      valid(s, { p = "x", q = 1, r = true, s = cjson.null })
      -- "~01" is "~1" (not "/"): ~1 is unescaped before ~0
      local t = { definitions = { ["~1"] = { type = "string" }, ["/"] = { type = "integer" } },
                  ["$ref"] = "#/definitions/~01" }
      valid(t, "x")
      assert.are.same({ ": expected string, got number" }, errors(t, 1))
    end)

    it("resolves # to the root, so recursive schemas validate trees", function()
      local tree = {
        type = "object", additionalProperties = false, required = { "name" },
        properties = { name = { type = "string" }, children = { type = "array", items = { ["$ref"] = "#" } } },
      }
      valid(tree, { name = "a", children = { { name = "b", children = { { name = "c" } } } } })
      assert.are.same({ "/children/0/children/0/name: required", "/children/0/children/0/x: unexpected property" },
        errors(tree, { name = "a", children = { { name = "b", children = { { x = 1 } } } } }))
    end)

    it("applies the keywords beside $ref too", function()
      local s = { definitions = { s = { type = "string" } }, ["$ref"] = "#/definitions/s", minLength = 2 }
      assert.are.same({ ": shorter than 2 characters" }, errors(s, "a"))
      assert.are.same({ ": expected string, got number" }, errors(s, 1))
    end)

    it("reports a $ref cycle instead of recursing forever", function()
      assert.are.same({ ': $ref cycle "#"' }, errors({ ["$ref"] = "#" }, 1))
      local s = { definitions = { a = { ["$ref"] = "#/definitions/b" }, b = { ["$ref"] = "#/definitions/a" } },
                  properties = { x = { ["$ref"] = "#/definitions/a" } } }
      assert.are.same({ '/x: $ref cycle "#/definitions/a"' }, errors(s, { x = 1 }))
      local through_allof = { definitions = { a = { allOf = { { ["$ref"] = "#/definitions/a" } } } },
                              ["$ref"] = "#/definitions/a" }
      assert.are.same({ ': $ref cycle "#/definitions/a"' }, errors(through_allof, "v"))
    end)

    it("reports unresolvable and non-local references", function()
      assert.are.same({ '/a: cannot resolve $ref "#/definitions/nope"' },
        errors({ properties = { a = { ["$ref"] = "#/definitions/nope" } } }, { a = 1 }))
      assert.are.same({ ': unsupported $ref "http://example.com/s.json"' },
        errors({ ["$ref"] = "http://example.com/s.json" }, 1))
      assert.are.same({ ': unsupported $ref "#anchor"' }, errors({ ["$ref"] = "#anchor" }, 1))
    end)

    it("resolves against opts.root when given", function()
      local root = { definitions = { n = { type = "integer" } } }
      assert.are.same({ ": expected integer, got string" },
        errors({ ["$ref"] = "#/definitions/n" }, "x", { root = root }))
    end)
  end)

  describe("boolean schemas", function()
    it("accept everything with true and nothing with false", function()
      valid(true, { a = 1 })
      assert.are.same({ ": not allowed" }, errors(false, 1))
      assert.are.same({ "/x: not allowed" }, errors({ properties = { x = false } }, { x = 1 }))
      valid({ properties = { x = true } }, { x = { 1 } })
    end)
  end)

  describe("Tray's own keys", function()
    it("are annotations that never fail validation", function()
      local s = {
        ["$schema"] = "https://api.tray.io/core/v1/connectors/operations/input-schema#",
        type = "object", advanced = { "b" }, title = "T", description = "D",
        properties = {
          a = { type = "string", format = "datetime", date_mask = "YYYY", lookup = { operation = "x", input = {} } },
          b = { type = "string", enum = { "x" }, enumLabels = { "X" }, default = "x" },
        },
      }
      valid(s, { a = "not a date", b = "x" })
    end)

    it("never fill in a default", function()
      local s = { type = "object", required = { "a" }, properties = { a = { type = "string", default = "d" } } }
      local value = {}
      assert.are.same({ "/a: required" }, errors(s, value))
      assert.is_nil(value.a)
    end)
  end)

  describe("error order", function()
    it("lists required properties first, then members by sorted name, at every level", function()
      local s = { type = "object", required = { "r2", "r1" }, additionalProperties = { type = "string" } }
      local value = {}
      for _, k in ipairs({ "q", "c", "zz", "a", "m", "b", "x" }) do value[k] = 1 end
      assert.are.same({ "/r2: required", "/r1: required", "/a: expected string, got number",
                        "/b: expected string, got number", "/c: expected string, got number",
                        "/m: expected string, got number", "/q: expected string, got number",
                        "/x: expected string, got number", "/zz: expected string, got number" },
        errors(s, value))
    end)

    it("gives the same result every time", function()
      local value = { media_url = 1, status_callback = 2, y = 3, x = 4, to = 5 }
      local first = errors(twilio.send_sms, value)
      for _ = 1, 20 do assert.are.same(first, errors(twilio.send_sms, value)) end
      assert.are.same({ "/from: required", "/body: required", "/media_url: expected string, got number",
                        "/status_callback: expected string, got number", "/to: expected string, got number",
                        "/x: unexpected property", "/y: unexpected property" }, first)
    end)
  end)

  describe("Twilio send_sms", function()
    local s = twilio.send_sms

    it("accepts the required fields, with or without the optional ones", function()
      valid(s, { to = "+441234567890", from = "+15005550006", body = "Hello" })
      valid(s, { to = "+441234567890", from = "+15005550006", body = "Hello",
                 media_url = "https://example.com/cat.png", status_callback = "https://example.com/cb" })
    end)

    it("rejects a wrong type, an unknown property and missing fields", function()
      assert.are.same({ "/body: required", "/media_url: expected string, got number", "/too: unexpected property" },
        errors(s, { to = "1", from = "2", media_url = 5, too = "3" }))
    end)
  end)

  describe("Clearbit operations", function()
    it("reveal_api needs an ip string", function()
      valid(clearbit.reveal_api, { ip = "8.8.8.8" })
      assert.are.same({ "/ip: required" }, errors(clearbit.reveal_api, {}))
      assert.are.same({ "/ip: expected string, got array" }, errors(clearbit.reveal_api, { ip = { 8 } }))
    end)

    it("discovery_api takes integers for paging and refuses fractions", function()
      local s = clearbit.discovery_api
      valid(s, { query = "domain:stripe.com", page = 2, page_size = 10.0, limit = 100, sort = "alexa_asc" })
      assert.are.same({ "/page: expected integer, got number", "/page_size: expected integer, got string" },
        errors(s, { query = "x", page = 1.5, page_size = "10" }))
      assert.are.same({ "/query: required", "/unknown: unexpected property" }, errors(s, { unknown = true }))
    end)

    it("company_by_domain needs a domain", function()
      valid(clearbit.company_by_domain, { domain = "stripe.com" })
      assert.are.same({ "/domain: expected string, got null" },
        errors(clearbit.company_by_domain, { domain = cjson.null }))
    end)

    it("combined_by_email and person_by_email need an email", function()
      for _, name in ipairs({ "combined_by_email", "person_by_email" }) do
        valid(clearbit[name], { email = "alex@clearbit.com" })
        assert.are.same({ "/email: required", "/name: unexpected property" }, errors(clearbit[name], { name = "Alex" }))
      end
    end)

    it("prospector_api checks arrays of enums and its own enum", function()
      local s = clearbit.prospector_api
      valid(s, { domain = "stripe.com", page_size = 5, roles = { "ceo", "sales" }, seniorities = {},
                 titles = { "CTO" }, suppression = "eu_strict", api_version = "2019-12-19" })
      assert.are.same({
        "/page_size: required",
        '/roles/1: must be one of "ceo", "communications", "consulting", "customer_service", "education", '
          .. '"engineering", "finance", "founder", "health_professional", "human_resources", '
          .. '"information_technology", "legal", "marketing", "operations", "owner", "president", "product", '
          .. '"public_relations", "real_estate", "recruiting", "research", "sales"',
        '/seniorities/0: must be one of "executive", "director", "manager"',
        '/suppression: must be one of "eu", "eu_strict"',
        "/titles/0: expected string, got number",
      }, errors(s, { domain = "stripe.com", roles = { "ceo", "janitor" }, seniorities = { "intern" },
                     suppression = "EU", titles = { 1 } }))
      assert.are.same({ "/cities: expected array, got string" },
        errors(s, { domain = "d", page_size = 5, cities = "London" }))
    end)
  end)

  describe("Trello operations", function()
    local base = { card_id = "c1", custom_field_id = "f1", board_id = "b1" }
    local function with_value(v)
      local t = { custom_field_value = v }
      for k, x in pairs(base) do t[k] = x end
      return t
    end

    it("update_card_custom_field accepts a value that matches exactly one oneOf branch", function()
      valid(trello.update_card_custom_field, with_value({ value = 4.5 })) -- only "Number"
    end)

    it("update_card_custom_field's overlapping branches fail strict oneOf", function()
      local s = trello.update_card_custom_field
      -- a string matches Dropdown, Text and Date; "true" also Checkbox; an integer Date and Number
      assert.are.same({ "/custom_field_value: must match exactly one schema in oneOf (matched 3)" },
        errors(s, with_value({ value = "hello" })))
      assert.are.same({ "/custom_field_value: must match exactly one schema in oneOf (matched 4)" },
        errors(s, with_value({ value = "true" })))
      assert.are.same({ "/custom_field_value: must match exactly one schema in oneOf (matched 2)" },
        errors(s, with_value({ value = 5 })))
      assert.are.same({ "/custom_field_value: must match exactly one schema in oneOf (matched 0)" },
        errors(s, with_value({ value = true })))
      assert.are.same({ "/custom_field_value: must match exactly one schema in oneOf (matched 0)" },
        errors(s, with_value({ value = "x", extra = 1 })))
    end)

    it("update_card_custom_field accepts any matching branch with one_of = \"any\"", function()
      local s, opts = trello.update_card_custom_field, { one_of = "any" }
      valid(s, with_value({ value = "hello" }), opts)
      valid(s, with_value({ value = 5 }), opts)
      assert.are.same({ "/custom_field_value: must match at least one schema in oneOf" },
        errors(s, with_value({ value = true }), opts))
      assert.are.same({ "/card_id: required", "/custom_field_id: required", "/custom_field_value: required",
                        "/board_id: required" }, errors(s, {}, opts))
    end)

    it("add_checklist_item checks its enum of strings", function()
      local s = trello.add_checklist_item
      valid(s, { checklist_id = "cl", name = "Buy milk", position = "top", is_checked = "false" })
      assert.are.same({ '/is_checked: must be one of "true", "false"' },
        errors(s, { checklist_id = "cl", name = "n", position = "top", is_checked = "no" }))
      assert.are.same({ "/is_checked: expected string, got boolean" },
        errors(s, { checklist_id = "cl", name = "n", position = "top", is_checked = true }))
    end)

    it("create_new_card takes arrays of strings and a string-or-integer due date", function()
      local s = trello.create_new_card
      valid(s, { list_id = "l", position = "top", board = "b", labels = { "red", "blue" },
                 due_date = "2024-05-01T10:00:00Z", members = cjson.decode("[]") })
      valid(s, { list_id = "l", position = "top", board = "b", due_date = 1714557600 })
      assert.are.same({ "/due_date: expected string or integer, got number", "/labels/1: expected string, got boolean",
                        "/members: expected array, got object" },
        errors(s, { list_id = "l", position = "top", board = "b", due_date = 1.5, labels = { "a", true },
                    members = { id = "m" } }))
    end)

    it("list_boards takes an optional array of enums, empty arrays included", function()
      local s = trello.list_boards
      valid(s, {})
      valid(s, cjson.decode('{"filter": []}'))
      valid(s, { filter = { "open", "starred" } })
      assert.are.same({ '/filter/0: must be one of "all", "closed", "members", "open", "organization", "public", '
                        .. '"starred"' },
        errors(s, { filter = { "Open" } }))
    end)

    it("get_board_by_id reports all six missing required fields in order", function()
      assert.are.same({ "/board_id: required", "/include_cards: required", "/fields: required",
                        "/include_labels: required", "/include_members: required", "/include_lists: required" },
        errors(trello.get_board_by_id, {}))
    end)

    it("search takes a number for items_limit", function()
      local s = trello.search
      valid(s, { query = "q", data_type = "cards", items_limit = 10 })
      valid(s, { query = "q", data_type = "cards", items_limit = 2.5 })
      assert.are.same({ "/items_limit: expected number, got string" },
        errors(s, { query = "q", data_type = "cards", items_limit = "10" }))
    end)

    it("round-trips decoded JSON input", function()
      valid(trello.update_checklist_item,
        cjson.decode('{"card_id":"c","checklist_item_id":"i","checked":"complete","position":"bottom"}'))
    end)
  end)

  describe("every real operation", function()
    --- A valid value for a property schema (the first enum value, else one per type).
    local function sample(p)
      if p.enum then return p.enum[1] end
      local t = type(p.type) == "table" and p.type[1] or p.type
      if t == "string" then return "x" elseif t == "integer" then return 1
      elseif t == "number" then return 0.5 elseif t == "array" then return {}
      elseif p.oneOf then return { value = 0.5 } end
      error("no sample for " .. tostring(t))
    end

    local operations = {}
    for _, set in ipairs({ twilio, clearbit, trello }) do
      local names = {}
      for name in pairs(set) do names[#names + 1] = name end
      table.sort(names)
      for _, name in ipairs(names) do operations[#operations + 1] = { name, set[name] } end
    end

    it("covers the 27 fixture operations", function()
      assert.are.equal(27, #operations)
    end)

    for _, op in ipairs(operations) do
      local name, s = op[1], op[2]
      it(name .. " accepts its required fields and refuses {} naming each of them", function()
        local value, expected = {}, {}
        for i, prop in ipairs(s.required) do
          value[prop] = sample(s.properties[prop])
          expected[i] = "/" .. prop .. ": required"
        end
        valid(s, value)
        assert.are.same(expected, errors(s, {}))
        value.__unknown = 1
        assert.are.same({ "/__unknown: unexpected property" }, errors(s, value))
      end)
    end
  end)

  describe("fields", function()
    it("flattens send_sms: required fields in the order of required, then the rest by name", function()
      local fields = schema.fields(twilio.send_sms)
      local p = twilio.send_sms.properties
      assert.are.same({
        { path = "/to", name = "to", type = "string", title = "To", description = p.to.description,
          required = true, advanced = false },
        { path = "/from", name = "from", type = "string", title = "From", description = p.from.description,
          required = true, advanced = false },
        { path = "/body", name = "body", type = "string", title = "Body", description = "The body of the SMS to send.",
          required = true, advanced = false },
        { path = "/media_url", name = "media_url", type = "string", title = "Media URL",
          description = p.media_url.description, required = false, advanced = false },
        { path = "/status_callback", name = "status_callback", type = "string", title = "Status callback URL",
          description = p.status_callback.description, required = false, advanced = false },
      }, fields)
    end)

    it("marks advanced fields, passes defaults, enums and their labels, and describes array items", function()
      local s = clearbit.prospector_api
      local by_name, order = {}, {}
      for i, f in ipairs(schema.fields(s)) do by_name[f.name] = f; order[i] = f.name end
      assert.are.same({ "domain", "page_size", "api_version", "cities", "countries", "name", "page", "query",
                        "roles", "seniorities", "states", "suppression", "titles" }, order)
      assert.is_true(by_name.api_version.advanced)
      assert.are.equal("2019-12-19", by_name.api_version.default)
      assert.is_false(by_name.page.advanced)
      assert.are.equal(1, by_name.page.default)
      assert.are.same({ "eu", "eu_strict" }, by_name.suppression.enum)
      assert.are.same({ "EU", "EU strict" }, by_name.suppression.enum_labels)
      assert.are.same({ { path = "", type = "string", title = "Seniority", required = false, advanced = false,
                          enum = { "executive", "director", "manager" } } }, by_name.seniorities.items)
      assert.are.equal("array", by_name.seniorities.type)
    end)

    it("gives a oneOf property its branches, with absolute paths and lookups passed through", function()
      local s = trello.update_card_custom_field
      local fields = schema.fields(s)
      local names = {}
      for i, f in ipairs(fields) do names[i] = f.name end
      assert.are.same({ "card_id", "custom_field_id", "custom_field_value", "board_id" }, names)
      assert.are.equal(s.properties.board_id.lookup, fields[4].lookup)
      assert.are.same({ operation = "list_custom_fields_ddl", input = { board_id = "{{board_id}}" } }, fields[2].lookup)
      local cfv = fields[3]
      assert.is_nil(cfv.type)
      assert.are.equal("Custom field value", cfv.title)
      local titles = {}
      for i, branch in ipairs(cfv.one_of) do titles[i] = branch.title end
      assert.are.same({ "Dropdown", "Text", "Date", "Checkbox", "Number" }, titles)
      assert.are.same({ { path = "/custom_field_value/value", name = "value", type = "string", title = "Value",
                          required = true, advanced = false,
                          enum = { "true", "false" }, enum_labels = { "True", "False" } } },
        cfv.one_of[4].fields)
      assert.are.same({ "string", "integer" }, cfv.one_of[3].fields[1].type)
      assert.are.equal("datetime", cfv.one_of[3].fields[1].format)
      assert.are.equal("list_custom_field_options_ddl", cfv.one_of[1].fields[1].lookup.operation)
    end)

    it("keeps lookups on array items and list types on create_new_card", function()
      local by_name = {}
      for _, f in ipairs(schema.fields(trello.create_new_card)) do by_name[f.name] = f end
      assert.are.same({ { path = "", type = "string", title = "Label ID", required = false, advanced = false,
                          lookup = { operation = "list_board_labels_ddl", input = { board_id = "{{board}}" } } } },
        by_name.labels.items)
      assert.are.same({ "string", "integer" }, by_name.due_date.type)
      assert.are.equal("text", by_name.description.format)
    end)

    it("lists nested object fields after their parent and array-of-object items relative to the item", function()
      local s = {
        type = "object", required = { "to" },
        definitions = { address = { type = "object", required = { "email" },
                                    properties = { email = { type = "string" }, name = { type = "string" } } } },
        properties = {
          to = { type = "array", items = { ["$ref"] = "#/definitions/address" } },
          meta = { type = "object", advanced = { "tag" },
                   properties = { ["a/b"] = { type = "integer" }, tag = { type = "string" } } },
        },
      }
      local got = {}
      for i, f in ipairs(schema.fields(s)) do got[i] = { f.path, f.type, f.required, f.advanced } end
      assert.are.same({
        { "/to", "array", true, false },
        { "/meta", "object", false, false },
        { "/meta/a~1b", "integer", false, false },
        { "/meta/tag", "string", false, true },
      }, got)
      local items = schema.fields(s)[1].items
      assert.are.same({ { path = "/email", name = "email", type = "string", required = true, advanced = false },
                        { path = "/name", name = "name", type = "string", required = false, advanced = false } },
        items)
    end)

    it("stops at a schema that contains itself", function()
      local tree = { type = "object", properties = { name = { type = "string" },
                                                     child = { ["$ref"] = "#" },
                                                     kids = { type = "array", items = { ["$ref"] = "#" } } } }
      local got = {}
      for i, f in ipairs(schema.fields(tree)) do got[i] = { f.path, f.type, f.recursive } end
      assert.are.same({ { "/child", "object", true }, { "/kids", "array", true }, { "/name", "string" } }, got)
    end)

    it("lists a property named twice in required once", function()
      local fields = schema.fields({ required = { "a", "a" }, properties = { a = { type = "string" } } })
      assert.are.same({ { path = "/a", name = "a", type = "string", required = true, advanced = false } }, fields)
    end)

    it("returns no fields for a schema without properties", function()
      assert.are.same({}, schema.fields({ type = "string" }))
      assert.are.same({}, schema.fields(cjson.decode('{"type":"object","properties":{}}')))
    end)
  end)
end)
