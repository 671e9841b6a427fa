--- JSON Schema validation for Tray connector input schemas, and form fields.
--
-- Tray describes each connector operation's input with an `inputSchema`: a subset of JSON
-- Schema draft-04 plus three keys for rendering forms (`advanced`, `lookup`, `enumLabels`).
-- `validate` checks a Lua value against such a schema before it is sent; `fields` flattens
-- the schema into an ordered list of form fields.
--
-- **Keywords.** `type` (a name or a list of names: object, array, string, number, integer,
-- boolean, null), `properties`, `required`, `additionalProperties` (boolean or schema),
-- `patternProperties` (only with `opts.pattern`), `minProperties`/`maxProperties`, `items`
-- (a schema, or a list of schemas with `additionalItems` boolean or schema),
-- `minItems`/`maxItems`, `uniqueItems`, `enum`, `const`, `minimum`/`maximum`,
-- `exclusiveMinimum`/`exclusiveMaximum` (the draft-04 boolean form and the number form),
-- `multipleOf`, `minLength`/`maxLength` (Unicode code points), `pattern` (only with
-- `opts.pattern`), `allOf`/`anyOf`/`oneOf`/`not`, boolean schemas, and local `$ref`
-- (`#`, `#/definitions/x`, `#/$defs/x`, any JSON pointer with `~0`/`~1` and `%XX` escapes).
-- `$ref` is applied together with its sibling keywords (as in draft 2019-09 and ajv 8).
-- Every other key (`title`, `description`, `default`, `format`, `$schema`, `advanced`,
-- `lookup`, `enumLabels`, ...) is an annotation and never fails validation.
--
-- **Patterns.** JSON Schema patterns are ECMAScript regular expressions; Lua has no faithful
-- engine for them, so `pattern` and `patternProperties` are ignored unless the caller passes
-- `opts.pattern = function(str, regex) -> boolean` (e.g. backed by a PCRE binding).
-- Without it, `additionalProperties` is not enforced on a schema that has `patternProperties`
-- (it cannot know which names the patterns would have matched).
--
-- **How Lua values map to JSON.**
--
-- * `nil` is "absent": a property whose value is `nil` does not exist. A `nil` root is an error.
-- * `cjson.null` (also `schema.null`) is JSON `null`.
-- * A number is an `integer` when it is finite and `math.floor(v) == v`, whatever its Lua
--   subtype (cjson decodes `1` as `1.0` on Lua 5.4; JSON Schema and ajv call it an integer).
--   NaN and infinities are not JSON: they are reported as errors.
-- * A table marked with `schema.array` is an array, one marked with `schema.object` is an
--   object (so are `tray.json.array` / `tray.json.object` tables; other markers can be
--   registered in `schema.array_mts` / `schema.object_mts`; lua-cjson's `array_mt`,
--   `empty_array_mt` and `empty_array` are recognised when the installed cjson has them).
--   Otherwise a table whose keys are exactly `1..n` is an array, one whose keys are all
--   strings is an object; mixed keys, holes and other key types are errors ("mixed table",
--   "array with holes", "table with non-string keys").
-- * A plain **empty** table is ambiguous in Lua (cjson decodes both `[]` and `{}` to it), so it
--   is accepted as whichever the schema asks for: an array when `type` names `array` but not
--   `object`, an object otherwise (when `type` names both, neither, or is absent). The same
--   goes for schema keywords: an empty `items` is the empty schema, not an empty tuple, unless
--   marked with `schema.array`.
-- * A cyclic table is an error ("cyclic table"); strings must be valid UTF-8 where a length
--   is checked ("invalid UTF-8").
--
-- **Bounds.** A hostile schema or input cannot make `validate` raise, overflow the stack or run
-- for long: an input nested deeper than `MAX_DEPTH` levels is refused before it is checked (one
-- error at the path where it goes too deep); a check that nests schemas deeper than
-- `MAX_NESTING` (a `$ref`, an `allOf`/`anyOf`/`oneOf`/`not` branch, a property or an item each
-- count one level) or takes more than `MAX_STEPS` steps (a schema applied to a value, a member
-- of a table, an `enum` candidate or a comparison) stops with a single error, and the third
-- result names the bound (`"nesting"` or `"steps"`). The result of a schema on a value is
-- remembered for the rest of the check, so `anyOf`/`oneOf`/`$ref` that lead to the same schema
-- many times cost it once.
--
-- **Errors.** `validate` returns every violation, each `{ path = "/a/0/b", message = "..." }`,
-- where `path` is a JSON Pointer into the value (`""` for the root, 0-based array indices,
-- `~` and `/` in names escaped as `~0` and `~1`). Messages are plain and stable, e.g.
-- `required`, `expected string, got number`, `must be one of "a", "b"`,
-- `unexpected property`, `shorter than 3 characters`, `less than minimum 1`,
-- `must match exactly one schema in oneOf (matched 0)`. A type mismatch stops the other checks
-- at that value; `oneOf`/`anyOf`/`not` failures give one message at the value's path, never
-- the branches' own errors. Order is deterministic: at an object, missing `required`
-- properties first (in the order of `required`), then its members by sorted name.
--
-- @module tray.schema

local _M = {}

--- Inputs nested deeper than this many levels are refused (`nested deeper than 256 levels`).
_M.MAX_DEPTH = 256
--- A check stops when schemas nest deeper than this (the Lua stack stays well inside LuaJIT's).
_M.MAX_NESTING = 1000
--- A check stops after this many steps (`opts.max_steps` changes it for one call).
_M.MAX_STEPS = 2 ^ 22

local type, next, ipairs, tostring, tonumber = type, next, ipairs, tostring, tonumber
local getmetatable, setmetatable = getmetatable, setmetatable
local floor, huge = math.floor, math.huge
local mtype = math.type -- nil on LuaJIT / 5.1
local sbyte, sfind, sformat, sgsub, ssub, schar = string.byte, string.find, string.format, string.gsub,
    string.sub, string.char
local concat, sort = table.concat, table.sort

local has_cjson, cjson = pcall(require, "cjson")
if not has_cjson then cjson = {} end

--- JSON null: `cjson.null` when lua-cjson is installed.
_M.null = cjson.null or setmetatable({}, { __tostring = function() return "null" end })
local NULL = _M.null
local EMPTY_ARRAY = cjson.empty_array -- lightuserdata in openresty's lua-cjson, else nil

-- The SDK's own markers: `tray.json.array{}` / `tray.json.object{}` (schema.array and
-- schema.object below are the same functions).
local tray_json = require "tray.json"
local ARRAY_MT = getmetatable(tray_json.array())
local OBJECT_MT = getmetatable(tray_json.object())

--- Metatables that mark a table as a JSON array (keys: metatables, values: true).
_M.array_mts = { [ARRAY_MT] = true }
--- Metatables that mark a table as a JSON object (keys: metatables, values: true).
_M.object_mts = { [OBJECT_MT] = true }
if cjson.array_mt then _M.array_mts[cjson.array_mt] = true end
if cjson.empty_array_mt then _M.array_mts[cjson.empty_array_mt] = true end
local array_mts, object_mts = _M.array_mts, _M.object_mts

--- Mark a table as a JSON array (needed only for an empty one): `tray.json.array`.
-- @function array
_M.array = tray_json.array

--- Mark a table as a JSON object (needed only for an empty one): `tray.json.object`.
-- @function object
_M.object = tray_json.object

-- ---------------------------------------------------------------------------------------
-- Values

--- The JSON kind of a table: "array", n | "object", n | "empty", 0 | nil, message.
local function classify_table(t)
  local ns, ni, max, other = 0, 0, 0, false
  for k in next, t do
    local tk = type(k)
    if tk == "string" then
      ns = ns + 1
    elseif tk == "number" and k >= 1 and floor(k) == k then
      ni = ni + 1
      if k > max then max = k end
    else
      other = true
    end
  end
  local mt = getmetatable(t)
  if ns > 0 and (ni > 0 or other) then return nil, "mixed table" end
  if other then return nil, "table with non-string keys" end
  if ni > 0 then
    if max ~= ni then return nil, "array with holes" end
    if mt ~= nil and object_mts[mt] then return nil, "object with non-string keys" end
    return "array", ni
  end
  if ns > 0 then
    if mt ~= nil and array_mts[mt] then return nil, "array with non-index keys" end
    return "object", ns
  end
  if mt ~= nil then
    if array_mts[mt] then return "array", 0 end
    if object_mts[mt] then return "object", 0 end
  end
  return "empty", 0
end

--- The JSON kind of a value: kind, count | nil, message. Kinds: null boolean integer number
-- string array object empty (a plain empty table).
local function classify(v)
  if v == NULL then return "null" end
  local t = type(v)
  if t == "string" then return "string" end
  if t == "number" then
    if v ~= v or v == huge or v == -huge then return nil, "not a finite number" end
    if (mtype and mtype(v) == "integer") or floor(v) == v then return "integer" end
    return "number"
  end
  if t == "table" then return classify_table(v) end
  if t == "boolean" then return "boolean" end
  if EMPTY_ARRAY ~= nil and v == EMPTY_ARRAY then return "array", 0 end
  return nil, "not a JSON value (" .. t .. ")"
end

--- Number of code points in a UTF-8 string, nil when it is not valid UTF-8.
local function utf8_length(s)
  if not sfind(s, "[\128-\255]") then return #s end
  local n, i, len = 0, 1, #s
  while i <= len do
    local c = sbyte(s, i)
    if c < 0x80 then
      i = i + 1
    elseif c >= 0xC2 and c <= 0xDF then
      local c2 = sbyte(s, i + 1)
      if not c2 or c2 < 0x80 or c2 > 0xBF then return nil end
      i = i + 2
    elseif c >= 0xE0 and c <= 0xEF then
      local c2, c3 = sbyte(s, i + 1, i + 2)
      local lo, hi = 0x80, 0xBF
      if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end -- overlong, surrogates
      if not c3 or c2 < lo or c2 > hi or c3 < 0x80 or c3 > 0xBF then return nil end
      i = i + 3
    elseif c >= 0xF0 and c <= 0xF4 then
      local c2, c3, c4 = sbyte(s, i + 1, i + 3)
      local lo, hi = 0x80, 0xBF
      if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end -- overlong, > U+10FFFF
      if not c4 or c2 < lo or c2 > hi or c3 < 0x80 or c3 > 0xBF or c4 < 0x80 or c4 > 0xBF then
        return nil
      end
      i = i + 4
    else
      return nil
    end
    n = n + 1
  end
  return n
end

local spend -- function(ctx, n): counts steps, stops the check past its budget

--- JSON equality (1 == 1.0; tables compared deeply; a marked array never equals a marked
-- object, `[]` ~= `{}`; a plain empty table is either, so it equals both). Each comparison is a
-- step of `ctx`; past `MAX_DEPTH` levels (only two cyclic tables get there) the answer is no.
local function equal(ctx, a, b, depth)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  depth = (depth or 0) + 1
  if depth > _M.MAX_DEPTH then return false end
  spend(ctx, 1)
  local ka, kb = classify_table(a), classify_table(b)
  if ka ~= kb and ka ~= "empty" and kb ~= "empty" then return false end
  local n = 0
  for k, va in next, a do
    local vb = b[k]
    if vb == nil or not equal(ctx, va, vb, depth) then return false end
    n = n + 1
  end
  for _ in next, b do n = n - 1 end
  return n == 0
end

local function num(v)
  if floor(v) == v and v > -1e15 and v < 1e15 then return sformat("%d", v) end
  local s = sformat("%.14g", v)
  if tonumber(s) ~= v then s = sformat("%.17g", v) end
  return s
end

local function quote(s)
  return '"' .. sgsub(s, '[%c"\\]', function(c)
    return c == '"' and '\\"' or c == "\\" and "\\\\" or sformat("\\u%04x", sbyte(c))
  end) .. '"'
end

local SHOW_DEPTH = 16 -- deeper tables (and cycles) are shown as [...] / {...}

--- A short JSON-like rendering of a value, for messages.
local function show(v, depth)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" then return num(v) end
  if v == NULL then return "null" end
  if t == "table" then
    local kind = classify(v)
    depth = (depth or 0) + 1
    if depth > SHOW_DEPTH then return kind == "array" and "[...]" or "{...}" end
    local parts = {}
    if kind == "array" then
      for i = 1, #v do parts[i] = show(v[i], depth) end
      return "[" .. concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in next, v do keys[#keys + 1] = tostring(k) end
    sort(keys)
    for i, k in ipairs(keys) do parts[i] = quote(k) .. ":" .. show(v[k], depth) end
    return "{" .. concat(parts, ",") .. "}"
  end
  return tostring(v)
end

local function plural(n, one, many)
  return num(n) .. " " .. (n == 1 and one or many)
end

-- ---------------------------------------------------------------------------------------
-- Paths and errors

local function escape_segment(seg)
  if type(seg) == "number" then return sformat("%d", seg) end
  return (sgsub(sgsub(seg, "~", "~0"), "/", "~1"))
end

--- A JSON pointer from a list of segments.
local function pointer(segments, n, extra)
  local parts = {}
  for i = 1, n do parts[i] = escape_segment(segments[i]) end
  if extra ~= nil then parts[#parts + 1] = escape_segment(extra) end
  return #parts == 0 and "" or "/" .. concat(parts, "/")
end

--- Record a failure at the current path (plus `extra`, a member name or index, if given).
-- While probing a branch (oneOf/anyOf/not) only the count changes: no path is built.
local function fail(ctx, message, extra)
  ctx.failures = ctx.failures + 1
  if ctx.probing > 0 then return end
  local errors = ctx.errors
  errors[#errors + 1] = { path = pointer(ctx.path, ctx.depth, extra), message = message }
end

--- Stop the check at a bound: the single error it returns, then unwind to `validate`.
local function stop(ctx, limit, message, path)
  ctx.stopped = { limit = limit, error = { path = path or pointer(ctx.path, ctx.depth), message = message } }
  error(ctx, 0)
end

function spend(ctx, n)
  local steps = ctx.steps + n
  ctx.steps = steps
  if steps > ctx.max_steps then
    stop(ctx, "steps", "too complex to check: more than " .. num(ctx.max_steps) .. " steps", "")
  end
end

--- Where `v` nests tables deeper than `max` levels: the path to the first table too deep (as
-- segments, and their count), else nil. Linear: a table reached twice is measured once.
local function too_deep(v, max)
  if type(v) ~= "table" then return nil end
  local heights, path = {}, {}
  local function height(t, level) -- the tables below t, or nil when the path goes past max
    local h = heights[t]
    if h and level + h <= max then return h end
    if level > max then return nil end
    heights[t] = h or 0 -- a cycle counts 0 here; check reports it
    local best = 0
    for k, x in next, t do
      if type(x) == "table" then
        if type(k) == "number" and floor(k) == k then k = k - 1 elseif type(k) ~= "string" then k = tostring(k) end
        path[level] = k
        local hx = height(x, level + 1)
        if hx == nil then return nil end
        if hx + 1 > best then best = hx + 1 end
      end
    end
    path[level] = nil
    heights[t] = best
    return best
  end
  if height(v, 1) == nil then return path, #path end
  return nil
end

-- ---------------------------------------------------------------------------------------
-- $ref

local function unescape_token(token)
  token = sgsub(token, "%%(%x%x)", function(h) return schar(tonumber(h, 16)) end)
  return (sgsub(sgsub(token, "~1", "/"), "~0", "~"))
end

local ref_cache = setmetatable({}, { __mode = "k" }) -- root schema -> { ref -> target }

--- Resolve a local `$ref` against `root`: target | nil, message.
local function resolve(root, ref)
  if ref == "#" then return root end -- not cached: a weak-keyed cache must not hold its key
  local cache = ref_cache[root]
  if cache and cache[ref] ~= nil then return cache[ref] end
  if type(ref) ~= "string" or sbyte(ref, 1) ~= 35 or (#ref > 1 and sbyte(ref, 2) ~= 47) then
    return nil, "unsupported $ref " .. show(ref)
  end
  local node = root
  for token in ssub(ref .. "/", 3):gmatch("([^/]*)/") do
    if type(node) ~= "table" then node = nil break end
    token = unescape_token(token)
    local nxt = node[token]
    if nxt == nil and sfind(token, "^%d+$") then nxt = node[tonumber(token) + 1] end
    node = nxt
  end
  if type(node) ~= "table" and type(node) ~= "boolean" then
    return nil, "cannot resolve $ref " .. show(ref)
  end
  if not cache then cache = {}; ref_cache[root] = cache end
  cache[ref] = node
  return node
end

-- ---------------------------------------------------------------------------------------
-- Validation

local EMPTY = {}
local check -- function(ctx, s, v)

local function descend(ctx, s, v, segment)
  local d = ctx.depth + 1
  ctx.depth = d
  ctx.path[d] = segment
  check(ctx, s, v, type(v) == "table") -- a member: remembered when it may be reached again
  ctx.depth = d - 1
end

--- Does `s` accept `v`? Runs `s` without recording errors.
local function probe(ctx, s, v)
  local before = ctx.failures
  ctx.probing = ctx.probing + 1
  check(ctx, s, v)
  ctx.probing = ctx.probing - 1
  local ok = ctx.failures == before
  ctx.failures = before
  return ok
end

local function follow_ref(ctx, ref, v)
  local target, err = resolve(ctx.root, ref)
  if target == nil then return fail(ctx, err) end
  local active = ctx.refs[target]
  if not active then
    active = {}
    ctx.refs[target] = active
  end
  if active[v] then
    -- the same target on the same value, nested in itself: it would never end
    ctx.cycles = ctx.cycles + 1
    return fail(ctx, "$ref cycle " .. show(ref))
  end
  active[v] = true
  check(ctx, target, v)
  active[v] = nil
end

local function type_matches(name, kind)
  return name == kind or (name == "number" and kind == "integer")
end

local function type_ok(want, kind)
  if type(want) == "string" then return type_matches(want, kind) end
  for _, name in ipairs(want) do
    if type_matches(name, kind) then return true end
  end
  return false
end

local function type_names(want)
  if type(want) == "string" then return want end
  local n = #want
  if n <= 1 then return tostring(want[1]) end
  return concat(want, ", ", 1, n - 1) .. " or " .. want[n]
end

--- What a plain empty table should be for a schema's `type`.
local function empty_kind(want)
  if want == "array" then return "array" end
  if type(want) == "table" then
    local array, object = false, false
    for _, name in ipairs(want) do
      if name == "array" then array = true elseif name == "object" then object = true end
    end
    if array and not object then return "array" end
  end
  return "object"
end

-- Keywords that apply to every kind of value, in the order they are checked.
local any_keywords = {
  { "enum", function(ctx, e, v)
    if e[1] == nil then return end -- an empty enum is ignored
    for _, candidate in ipairs(e) do
      spend(ctx, 1)
      if equal(ctx, v, candidate) then return end
    end
    local shown = {}
    for i, candidate in ipairs(e) do shown[i] = show(candidate) end
    fail(ctx, "must be one of " .. concat(shown, ", "))
  end },
  { "const", function(ctx, c, v)
    if not equal(ctx, v, c) then fail(ctx, "must equal " .. show(c)) end
  end },
  { "allOf", function(ctx, list, v)
    for _, sub in ipairs(list) do check(ctx, sub, v) end
  end },
  { "anyOf", function(ctx, list, v)
    for _, sub in ipairs(list) do
      if probe(ctx, sub, v) then return end
    end
    fail(ctx, "must match at least one schema in anyOf")
  end },
  { "oneOf", function(ctx, list, v)
    local matched = 0
    for _, sub in ipairs(list) do
      if probe(ctx, sub, v) then
        matched = matched + 1
        if ctx.one_of_any then return end
      end
    end
    if ctx.one_of_any then return fail(ctx, "must match at least one schema in oneOf") end
    if matched ~= 1 then
      fail(ctx, "must match exactly one schema in oneOf (matched " .. matched .. ")")
    end
  end },
  { "not", function(ctx, sub, v)
    if probe(ctx, sub, v) then fail(ctx, "must not match the schema in not") end
  end },
}

local function check_string(ctx, s, v)
  local min, max = s.minLength, s.maxLength
  if min ~= nil or max ~= nil then
    local len = utf8_length(v)
    if not len then
      fail(ctx, "invalid UTF-8")
    elseif min ~= nil and len < min then
      fail(ctx, "shorter than " .. plural(min, "character", "characters"))
    elseif max ~= nil and len > max then
      fail(ctx, "longer than " .. plural(max, "character", "characters"))
    end
  end
  local pattern = s.pattern
  if pattern ~= nil and ctx.pattern and not ctx.pattern(v, pattern) then
    fail(ctx, "does not match pattern " .. show(pattern))
  end
end

local function check_number(ctx, s, v)
  local min, xmin, max, xmax = s.minimum, s.exclusiveMinimum, s.maximum, s.exclusiveMaximum
  if min ~= nil then
    if xmin == true then
      if v <= min then fail(ctx, "less than or equal to exclusive minimum " .. num(min)) end
    elseif v < min then
      fail(ctx, "less than minimum " .. num(min))
    end
  end
  if type(xmin) == "number" and v <= xmin then
    fail(ctx, "less than or equal to exclusive minimum " .. num(xmin))
  end
  if max ~= nil then
    if xmax == true then
      if v >= max then fail(ctx, "greater than or equal to exclusive maximum " .. num(max)) end
    elseif v > max then
      fail(ctx, "greater than maximum " .. num(max))
    end
  end
  if type(xmax) == "number" and v >= xmax then
    fail(ctx, "greater than or equal to exclusive maximum " .. num(xmax))
  end
  local m = s.multipleOf
  if m ~= nil then
    local q = v / m
    if q ~= floor(q) then fail(ctx, "not a multiple of " .. num(m)) end
  end
end

local function check_object(ctx, s, v, count)
  local required = s.required
  if type(required) == "table" then
    for _, name in ipairs(required) do
      if v[name] == nil then fail(ctx, "required", name) end
    end
  end
  if s.minProperties ~= nil and count < s.minProperties then
    fail(ctx, "fewer than " .. plural(s.minProperties, "property", "properties"))
  end
  if s.maxProperties ~= nil and count > s.maxProperties then
    fail(ctx, "more than " .. plural(s.maxProperties, "property", "properties"))
  end
  if count == 0 then return end
  local keys = {}
  for k in next, v do keys[#keys + 1] = k end
  sort(keys)
  local props, additional, patterns = s.properties, s.additionalProperties, s.patternProperties
  if patterns ~= nil and not ctx.pattern then additional, patterns = nil, nil end
  ctx.open[v] = true
  for _, k in ipairs(keys) do
    local sub = props and props[k]
    local matched = sub ~= nil
    if matched then descend(ctx, sub, v[k], k) end
    if patterns ~= nil then
      for regex, psub in next, patterns do
        if ctx.pattern(k, regex) then
          matched = true
          descend(ctx, psub, v[k], k)
        end
      end
    end
    if not matched then
      if additional == false then
        fail(ctx, "unexpected property", k)
      else
        descend(ctx, additional, v[k], k)
      end
    end
  end
  ctx.open[v] = nil
end

--- `uniqueItems`: the first item equal to an earlier one, with the first such earlier one.
-- Scalars are looked up in a set (a scalar equals only the same scalar); tables are compared
-- with every earlier table, a step each.
local function unique_items(ctx, v, n)
  local first, tables = {}, {}
  for j = 1, n do
    local x, i = v[j], nil
    if type(x) == "table" then
      for t = 1, #tables do
        local k = tables[t]
        spend(ctx, 1)
        if equal(ctx, v[k], x) then i = k break end
      end
      tables[#tables + 1] = j
    elseif x == x then -- NaN is reported as an item, and is no key
      i = first[x]
      if i == nil then first[x] = j end
    end
    if i ~= nil then return fail(ctx, "items " .. (i - 1) .. " and " .. (j - 1) .. " are identical") end
  end
end

local function check_array(ctx, s, v, n)
  if s.minItems ~= nil and n < s.minItems then
    fail(ctx, "fewer than " .. plural(s.minItems, "item", "items"))
  end
  if s.maxItems ~= nil and n > s.maxItems then
    fail(ctx, "more than " .. plural(s.maxItems, "item", "items"))
  end
  if n == 0 then return end
  local items, additional = s.items, s.additionalItems
  local tuple = type(items) == "table" and (items[1] ~= nil or array_mts[getmetatable(items) or EMPTY])
  ctx.open[v] = true
  for i = 1, n do
    if not tuple then
      descend(ctx, items, v[i], i - 1)
    elseif items[i] ~= nil then
      descend(ctx, items[i], v[i], i - 1)
    elseif additional == false then
      fail(ctx, "unexpected item", i - 1)
    else
      descend(ctx, additional, v[i], i - 1)
    end
  end
  ctx.open[v] = nil
  if s.uniqueItems == true then unique_items(ctx, v, n) end
end

local kind_checks = {
  string = check_string, number = check_number, integer = check_number,
  object = check_object, array = check_array,
}

--- The kind of `v` as `classify` says, once per table in a check (its members count as steps).
local function kind_of(ctx, v)
  if type(v) ~= "table" then return classify(v) end
  local kind = ctx.kinds[v]
  if kind ~= nil then return kind or nil, ctx.counts[v] end
  local n
  kind, n = classify_table(v)
  spend(ctx, kind and n or 1)
  ctx.kinds[v], ctx.counts[v] = kind or false, n
  return kind, n
end

--- `s` on `v`, every keyword.
local function apply(ctx, s, v)
  local kind, n = kind_of(ctx, v)
  if not kind then return fail(ctx, n) end
  local ref = s["$ref"]
  if ref ~= nil then follow_ref(ctx, ref, v) end
  local want = s.type
  if kind == "empty" then kind = empty_kind(want) end
  if want ~= nil and not type_ok(want, kind) then
    return fail(ctx, "expected " .. type_names(want) .. ", got " .. (kind == "integer" and "number" or kind))
  end
  for i = 1, #any_keywords do
    local keyword = any_keywords[i]
    local value = s[keyword[1]]
    if value ~= nil then keyword[2](ctx, value, v) end
  end
  local kind_check = kind_checks[kind]
  if kind_check then kind_check(ctx, s, v, n) end
end

--- `s` on `v`: a step, one level of nesting; the verdict is remembered for the rest of the
-- check (it does not depend on where `v` is, nor on the branch that got there, unless a `$ref`
-- cycle was met), so a schema reached again on the same value costs nothing when the value
-- passed it, or when it failed and only the verdict is wanted (a branch being probed).
function check(ctx, s, v, member)
  if s == nil or s == true then s = EMPTY end
  if s == false then return fail(ctx, "not allowed") end
  if type(s) ~= "table" then return fail(ctx, "invalid schema (" .. type(s) .. ")") end
  if type(v) == "table" and ctx.open[v] then return fail(ctx, "cyclic table") end
  local remember = member ~= false -- a scalar member is reached once: not worth remembering
  local memo, known = remember and ctx.memo[s], nil
  if memo then known = memo[v] end
  if known ~= nil and (known or ctx.probing > 0) then
    if not known then ctx.failures = ctx.failures + 1 end
    return
  end
  local nesting = ctx.nesting + 1
  if nesting > _M.MAX_NESTING then
    stop(ctx, "nesting", "the schema nests deeper than " .. _M.MAX_NESTING .. " levels here")
  end
  local steps = ctx.steps + 1
  ctx.steps = steps
  if steps > ctx.max_steps then spend(ctx, 0) end
  ctx.nesting = nesting
  local failures, cycles = ctx.failures, ctx.cycles
  apply(ctx, s, v)
  ctx.nesting = nesting - 1
  if remember and ctx.cycles == cycles and v == v then -- never NaN as a key
    if not memo then
      memo = {}
      ctx.memo[s] = memo
    end
    memo[v] = ctx.failures == failures
  end
end

--- Validate a Lua value against a JSON schema.
-- @tparam table|boolean s the schema (e.g. an operation's decoded `inputSchema`)
-- @tparam any value the value (see the value model above); `nil` is not a value
-- @tparam[opt] table opts `one_of = "any"`: accept a value that matches at least one `oneOf`
--   branch (Tray's own schemas have overlapping branches; strict JSON Schema wants exactly
--   one); `pattern = function(str, regex) -> boolean` to enforce `pattern` and
--   `patternProperties`; `root`: the document that `$ref`s resolve against (default `s`)
--   `max_steps`: the step budget of this call (default `MAX_STEPS`)
-- @treturn boolean true when the value is valid
-- @treturn table every violation as `{ path =, message = }`, in a deterministic order;
--   empty when valid
-- @treturn ?string the bound that stopped the check, with a single error: `"depth"` (the value
--   nests deeper than `MAX_DEPTH`), `"nesting"` (the schema nests deeper than `MAX_NESTING`) or
--   `"steps"` (more than `MAX_STEPS` steps); nil when the check ran to its end
function _M.validate(s, value, opts)
  opts = opts or EMPTY
  local ctx = {
    root = opts.root or s, errors = {}, failures = 0, probing = 0, path = {}, depth = 0,
    refs = {}, cycles = 0, open = {}, pattern = opts.pattern, one_of_any = opts.one_of == "any",
    memo = {}, kinds = {}, counts = {}, nesting = 0, steps = 0,
    max_steps = type(opts.max_steps) == "number" and opts.max_steps or _M.MAX_STEPS,
  }
  if value == nil then
    fail(ctx, "not a JSON value (nil)")
    return false, ctx.errors
  end
  local deep, n = too_deep(value, _M.MAX_DEPTH)
  if deep then
    return false, { { path = pointer(deep, n), message = "nested deeper than " .. _M.MAX_DEPTH .. " levels" } },
      "depth"
  end
  local ok, err = pcall(check, ctx, s, value)
  if not ok then
    if err ~= ctx then error(err, 0) end -- not a bound: a raise of opts.pattern, passed on
    return false, { ctx.stopped.error }, ctx.stopped.limit
  end
  return ctx.failures == 0, ctx.errors
end

--- Join errors into one line: `"/to: required; /body: required"`.
-- @tparam table errors the list returned by `validate`
-- @treturn string the errors as `path: message`, separated by `"; "`
function _M.format_errors(errors)
  local lines = {}
  for i, e in ipairs(errors) do lines[i] = e.path .. ": " .. e.message end
  return concat(lines, "; ")
end

-- ---------------------------------------------------------------------------------------
-- Form fields

--- Follow `$ref`s (and their chains) to a schema table; the schema itself when unresolvable.
local function deref(root, s)
  for _ = 1, 32 do
    if type(s) ~= "table" or s["$ref"] == nil then return s end
    local target = resolve(root, s["$ref"])
    if target == nil then return s end
    s = target
  end
  return s
end

local function is_object_schema(s)
  return type(s) == "table" and (s.type == "object" or (s.type == nil and s.properties ~= nil))
end

local flatten -- function(root, s, prefix, out, open)

local function make_field(root, s, path, name, required, advanced, open)
  if type(s) ~= "table" then s = EMPTY end
  local f = {
    path = path, name = name, type = s.type, title = s.title, description = s.description,
    required = required, advanced = advanced, enum = s.enum, enum_labels = s.enumLabels,
    default = s.default, lookup = s.lookup, format = s.format,
  }
  if type(s.oneOf) == "table" then
    f.one_of = {}
    for i, branch in ipairs(s.oneOf) do
      branch = deref(root, branch)
      local fields = {}
      if is_object_schema(branch) then
        flatten(root, branch, path, fields, open)
      else
        fields[1] = make_field(root, branch, path, name, required, advanced, open)
      end
      f.one_of[i] = { title = type(branch) == "table" and branch.title or nil,
                      description = type(branch) == "table" and branch.description or nil,
                      fields = fields }
    end
  end
  return f
end

function flatten(root, s, prefix, out, open)
  local props = s.properties
  if type(props) ~= "table" then return out end
  open[s] = true
  local required, advanced, names, seen = {}, {}, {}, {}
  if type(s.advanced) == "table" then
    for _, name in ipairs(s.advanced) do advanced[name] = true end
  end
  if type(s.required) == "table" then
    for _, name in ipairs(s.required) do
      if props[name] ~= nil and not seen[name] then
        required[name], seen[name] = true, true
        names[#names + 1] = name
      end
    end
  end
  local rest = {}
  for name in next, props do
    if not seen[name] then rest[#rest + 1] = name end
  end
  sort(rest)
  for _, name in ipairs(rest) do names[#names + 1] = name end

  for _, name in ipairs(names) do
    local ps = deref(root, props[name])
    local path = prefix .. "/" .. escape_segment(name)
    local f = make_field(root, ps, path, name, required[name] == true, advanced[name] == true, open)
    out[#out + 1] = f
    if is_object_schema(ps) then
      f.type = f.type or "object"
      if open[ps] then
        f.recursive = true
      else
        flatten(root, ps, path, out, open)
      end
    elseif type(ps) == "table" and (ps.type == "array" or (ps.type == nil and ps.items ~= nil)) then
      f.type = f.type or "array"
      local items = deref(root, ps.items)
      if type(items) == "table" and items[1] == nil then
        if is_object_schema(items) then
          if open[items] then f.recursive = true else f.items = flatten(root, items, "", {}, open) end
        else
          f.items = { make_field(root, items, "", nil, false, false, open) }
        end
      end
    end
  end
  open[s] = nil
  return out
end

--- Flatten an object input schema into form fields.
--
-- Order: the `required` properties first, in the order of `required`, then the others sorted
-- by name (a Lua table does not keep the schema's property order). An object property is a
-- field of type "object" followed by its own fields (paths `/parent/child`). An array property
-- is a field of type "array" whose `items` lists the fields of one item, with paths relative
-- to the item (`""` for an item that is not an object; `items` is nil for tuple `items`).
-- A `oneOf` property has `one_of = { { title =, description =, fields = {...} }, ... }`, whose
-- fields have absolute paths. Local `$ref`s are followed; a schema that contains itself gets
-- `recursive = true` instead of its children. `allOf`/`anyOf` are not merged into fields.
-- @tparam table s an object schema (e.g. an operation's `inputSchema`)
-- @treturn table a list of `{ path =, name =, type =, title =, description =, required =,
--   advanced =, enum =, enum_labels =, default =, lookup =, format =, one_of =, items = }`;
--   `type` is the schema's (a string or a list of names), `enum`, `enum_labels` (from
--   `enumLabels`) and `lookup` are the schema's own tables (do not modify them), `required`
--   and `advanced` (from the parent's `advanced` list) are booleans
function _M.fields(s)
  local root = s
  s = deref(root, s)
  if type(s) ~= "table" then return {} end
  return flatten(root, s, "", {}, {})
end

return _M
