--- JSON for the SDK: lua-cjson, plus an explicit marker for empty arrays.
--
-- A Lua table cannot say whether `{}` is `[]` or `{}`; cjson encodes it as `{}`.
-- Mark the tables that must be arrays: `json.array{}` encodes as `[]`.
-- Non-empty arrays (keys 1..n) need no marker. `json.null` is JSON null.
-- This module uses its own cjson instance, so it never changes the settings
-- of a `cjson` the application uses.
-- @module tray.json

local cjson_base = require "cjson"

-- cjson.safe returns nil, err instead of raising: no pcall on the hot path
local cjson = require("cjson.safe").new()
cjson.encode_invalid_numbers(false)
cjson.decode_invalid_numbers(false)

local _M = {}

--- JSON null (the same value as `cjson.null`).
_M.null = cjson_base.null

local ARRAY_MT = { __jsontype = "array" }
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

--- Decodes JSON text.
-- @tparam string text
-- @return the value
-- @treturn ?string why it is not JSON
function _M.decode(text)
  if type(text) ~= "string" then return nil, "expected a string" end
  local value, err = cjson.decode(text)
  if value == nil and err then return nil, err end
  return value
end

return _M
