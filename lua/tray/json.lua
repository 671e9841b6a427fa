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

local function has_empty_array(v, depth)
  if depth > 1000 then return false end
  for _, x in pairs(v) do
    if type(x) == "table" then
      if next(x) == nil then
        if getmetatable(x) == ARRAY_MT then return true end
      elseif has_empty_array(x, depth + 1) then
        return true
      end
    end
  end
  return false
end

local function substitute(v, depth)
  if type(v) ~= "table" or depth > 1000 then return v end
  if next(v) == nil then
    return getmetatable(v) == ARRAY_MT and PLACEHOLDER or v
  end
  local copy = {}
  for k, x in pairs(v) do copy[k] = substitute(x, depth + 1) end
  return copy
end

--- Encodes a Lua value as JSON text.
-- @param value any JSON-able value
-- @treturn ?string the JSON text
-- @treturn ?string why it could not be encoded
function _M.encode(value)
  local special = type(value) == "table" and
    ((next(value) == nil and getmetatable(value) == ARRAY_MT) or has_empty_array(value, 0))
  if special then value = substitute(value, 0) end
  local text, err = cjson.encode(value)
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
