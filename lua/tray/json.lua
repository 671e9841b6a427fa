--- JSON for the SDK: lua-cjson, plus an explicit marker for empty arrays.
--
-- A Lua table cannot say whether `{}` is `[]` or `{}`; cjson encodes it as `{}`.
-- Mark the tables that must be arrays: `json.array{}` encodes as `[]`.
-- Non-empty arrays (keys 1..n) need no marker.
--
-- JSON `null` decodes to `json.null` (cjson's null, a userdata: it is *truthy*
-- in Lua), not to `nil`; test for it with `json.is_null(v)`, and send a null
-- with `json.null`.
--
-- Arrays that survive a round trip: when the cjson in use can mark the arrays
-- it decodes (OpenResty's lua-cjson, `decode_array_with_array_mt`), it is
-- turned on, so a decoded `[]` is `json.is_array` and encodes as `[]` again.
-- Debian's lua-cjson cannot; a program that must print JSON as the server sent
-- it (the `tray` command) calls `json.keep_arrays(true)`, which marks decoded
-- arrays with dkjson (lua-dkjson) instead (slower: for tools, not servers).
--
-- This module uses its own cjson instance, so it never changes the settings
-- of a `cjson` the application uses.
-- @module tray.json

local cjson_base = require "cjson"

-- cjson.safe returns nil, err instead of raising: no pcall on the hot path
local cjson = require("cjson.safe").new()
cjson.encode_invalid_numbers(false)
cjson.decode_invalid_numbers(false)

local _M = {}

--- JSON null (the same value as `cjson.null`): what a decoded `null` is, and
-- what to put in a table to send `null`. It is a userdata, so it is truthy:
-- test with `json.is_null`.
_M.null = cjson_base.null

--- Is `v` JSON null (`json.null`), as decoded?
-- @param v any value
-- @treturn boolean
function _M.is_null(v)
  return v == cjson_base.null
end

-- OpenResty's cjson marks decoded arrays with its own `array_mt` (and encodes
-- tables carrying it as arrays, even empty ones): the same marker is ours then.
local ARRAY_MT = cjson_base.array_mt or { __jsontype = "array" }
local CJSON_MARKS_ARRAYS = type(cjson.decode_array_with_array_mt) == "function"
if CJSON_MARKS_ARRAYS then cjson.decode_array_with_array_mt(true) end
local OBJECT_MT = { __jsontype = "object" }

--- Marks a table as a JSON array (so an empty one encodes as `[]`).
-- @tparam[opt] table t the table (a new one when nil)
-- @treturn table t
function _M.array(t)
  return setmetatable(t or {}, ARRAY_MT)
end

--- Marks a table as a JSON object (documentation only: unmarked empty tables are objects).
-- @tparam[opt] table t
-- @treturn table t
function _M.object(t)
  return setmetatable(t or {}, OBJECT_MT)
end

--- Is `t` a table marked with `json.array`?
-- @param t any value
-- @treturn boolean
function _M.is_array(t)
  return type(t) == "table" and getmetatable(t) == ARRAY_MT
end

--- Is `t` a table marked with `json.object`?
-- @param t any value
-- @treturn boolean
function _M.is_object(t)
  return type(t) == "table" and getmetatable(t) == OBJECT_MT
end

-- Empty marked arrays travel through cjson as this string and are swapped for
-- [] afterwards. The \1 bytes come out as \u0001, which no caller's text
-- produces by accident.
local PLACEHOLDER = "\1trayemptyarray\1"
local PLACEHOLDER_JSON = "\"\\u0001trayemptyarray\\u0001\""  -- no pattern magic characters

-- Bounds on what `encode` walks: cjson's own nesting limit, and the size of
-- the JSON tree a table stands for (a table reached by two paths is written
-- twice: twenty levels of `t = { a = u, b = u }` stand for a million nodes).
local MAX_DEPTH = 1000
local MAX_NODES = 2 ^ 24

-- One walk over every table reachable from t, each table once (linear time):
-- special[x] is true when x holds a marked empty array at some depth; a cycle,
-- too deep a nesting or too large a tree is an error. Raw access only: a
-- caller's metamethods are never run.
local function scan(t, special, size, path, depth)
  if depth > MAX_DEPTH then return nil, "the value is nested deeper than " .. MAX_DEPTH .. " levels" end
  path[t] = true
  local has, n = false, 1
  for _, x in next, t do
    if type(x) == "table" then
      if path[x] then return nil, "a table refers to itself (a cycle)" end
      if next(x) == nil then
        has = has or getmetatable(x) == ARRAY_MT
        n = n + 1
      else
        if size[x] == nil then
          local ok, why = scan(x, special, size, path, depth + 1)
          if not ok then return nil, why end
        end
        has = has or special[x]
        n = n + size[x]
      end
    else
      n = n + 1
    end
  end
  path[t] = nil
  if n > MAX_NODES then return nil, "the value stands for more than 2^24 JSON values (a table reached many times?)" end
  special[t], size[t] = has, n
  return true
end

-- A copy of v with every marked empty array replaced by the placeholder (only
-- the tables that hold one are copied, each once).
local function substitute(v, special, copies)
  if type(v) ~= "table" then return v end
  if next(v) == nil then
    return getmetatable(v) == ARRAY_MT and PLACEHOLDER or v
  end
  if not special[v] then return v end
  local copy = copies[v]
  if copy then return copy end
  copy = {}
  copies[v] = copy
  for k, x in next, v do copy[k] = substitute(x, special, copies) end
  return copy
end

--- Encodes a Lua value as JSON text. A table that refers to itself, or that
-- stands for more than 2^24 JSON values, is refused (linear time, whatever the
-- shape of the value).
-- @param value any JSON-able value
-- @treturn ?string the JSON text
-- @treturn ?string why it could not be encoded
function _M.encode(value)
  local special = false
  if type(value) == "table" then
    if next(value) == nil then
      if getmetatable(value) == ARRAY_MT then return "[]" end
    else
      local marks, sizes = {}, {}
      local ok, why = scan(value, marks, sizes, {}, 0)
      if not ok then return nil, why end
      special = marks[value]
      if special then value = substitute(value, marks, {}) end
    end
  end
  local ok, text, err = pcall(cjson.encode, value)
  if not ok then return nil, tostring(text) end
  if not text then return nil, err end
  if special then
    text = text:gsub(PLACEHOLDER_JSON, "[]")
  end
  return text
end

-- Decoding that marks arrays when cjson cannot (see keep_arrays): dkjson, or nil.
local marking_decoder

local function dk_decode(text)
  -- cjson first: it is fast, and its errors and nesting limit stay the rules
  local value, err = cjson.decode(text)
  if value == nil and err then return nil, err end
  if type(value) ~= "table" then return value end
  local ok, v, _, why = pcall(marking_decoder.decode, text, 1, cjson_base.null, nil, ARRAY_MT)
  if not ok or v == nil then return nil, tostring(ok and why or v) end
  return v
end

--- Decodes JSON text. `null` is `json.null`; arrays are `json.is_array` when
-- the cjson in use marks them, or after `json.keep_arrays(true)`.
-- @tparam string text
-- @return the value
-- @treturn ?string why it is not JSON
function _M.decode(text)
  if type(text) ~= "string" then return nil, "expected a string" end
  if marking_decoder then return dk_decode(text) end
  local value, err = cjson.decode(text)
  if value == nil and err then return nil, err end
  return value
end

--- Makes `decode` mark every decoded array (`json.is_array`), so that `[]`
-- goes out again as `[]`. Process-wide, for tools that print what a server
-- sent; a no-op when cjson already marks arrays. Needs lua-dkjson otherwise.
-- @tparam boolean on
-- @treturn boolean whether decoded arrays are marked now
-- @treturn ?string why not (dkjson is missing)
function _M.keep_arrays(on)
  if CJSON_MARKS_ARRAYS then return true end
  if not on then
    marking_decoder = nil
    return false
  end
  local ok, dk = pcall(require, "dkjson")
  if not ok then return false, "lua-dkjson is not installed" end
  marking_decoder = dk
  return true
end

--- Whether decoded arrays are marked (see `keep_arrays`).
-- @treturn boolean
function _M.keeps_arrays()
  return CJSON_MARKS_ARRAYS or marking_decoder ~= nil
end

return _M
