--- Checking the caller's argument values against the GraphQL types of the Embedded API and
-- converting them to what is sent (an internal module of `tray.embedded`).
--
-- Types are GraphQL type text ("String!", "[ID!]!", "[ConfigValue!]"); input objects and their
-- fields come from the generated `tray.embedded.types`, so the checks follow the schema.
-- @internal tray.embedded.values

local native = require "tray.native"
local json = require "tray.json"
local gql = require "tray.graphql"
local T = require "tray.embedded.types"

local _M = {}

local function describe(v)
  if v == json.null then return "null" end
  return type(v)
end

--- The keys of a table as sorted strings (`tray.graphql.sorted_keys`).
_M.sorted_keys = gql.sorted_keys
local sorted_keys = _M.sorted_keys

local convert -- forward

-- A non-string config value is sent as its JSON text: the docs say a config value "is always a
-- string", and the schema's description of ConfigValue.value says "a JSON value wrapped in a string".
local STRINGIFIED = { ConfigValue = { value = true } }

local function convert_scalar(v, base, where)
  if base == "String" or base == "ID" then
    if type(v) ~= "string" then return nil, where .. " must be a string, got " .. describe(v) end
    if base == "ID" and not native.header_safe(v) then
      return nil, where .. " holds a control character (CR, LF, NUL ...)"
    end
    return v
  elseif base == "Boolean" then
    if type(v) ~= "boolean" then return nil, where .. " must be a boolean, got " .. describe(v) end
    return v
  elseif base == "Int" then
    if type(v) ~= "number" or v ~= math.floor(v) or v < -2147483648 or v > 2147483647 then
      return nil, where .. " must be an integer, got " .. describe(v)
    end
    return v
  elseif base == "Json" then
    -- sent as the docs do: JSON text (a table is encoded; a string is taken as JSON text)
    if type(v) == "string" then return v end
    if type(v) ~= "table" then return nil, where .. " must be a table or a JSON string, got " .. describe(v) end
    local text, why = json.encode(v)
    if not text then return nil, where .. " cannot be encoded as JSON: " .. why end
    return text
  end
  local shape = T.inputs[base]
  if not shape then return nil, where .. ": unknown type " .. base end
  if type(v) ~= "table" then return nil, where .. " must be a table, got " .. describe(v) end
  local out = {}
  local stringified = STRINGIFIED[base]
  for k, x in pairs(v) do
    if type(k) ~= "string" or not shape[k] then return nil, where .. " does not take " .. tostring(k) end
    if stringified and stringified[k] and type(x) ~= "string" and x ~= json.null then
      local text, why = json.encode(x)
      if not text then return nil, where .. "." .. k .. " cannot be encoded as JSON: " .. why end
      x = text
    end
    local c, err = convert(x, shape[k], where .. "." .. k)
    if c == nil then return nil, err end
    out[k] = c
  end
  for k, t in pairs(shape) do
    if t:sub(-1) == "!" and v[k] == nil then return nil, where .. " needs " .. k end
  end
  return out
end

-- A declared type without its trailing "!", and the element type of a list type
-- (false for others), parsed once per type.
local BARE, INNER = {}, {}
local function parse_type(t)
  local bare = t:sub(-1) == "!" and t:sub(1, -2) or t
  BARE[t], INNER[t] = bare, bare:match("^%[(.*)%]$") or false
end

--- Converts `v` to the GraphQL type `t` ("String!", "[ID!]!", "[ConfigValue!]" ...).
-- @param v the caller's value
-- @tparam string t the type
-- @tparam string where the argument's name, for messages
-- @return the value to send, or nil
-- @treturn ?string why not
function _M.convert(v, t, where)
  if BARE[t] == nil then parse_type(t) end
  local inner = INNER[t]
  t = BARE[t]
  if v == nil or v == json.null then return nil, where .. " must not be null" end
  if not inner then return convert_scalar(v, t, where) end
  if type(v) ~= "table" then return nil, where .. " must be an array, got " .. describe(v) end
  local n = #v
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= math.floor(k) then
      return nil, where .. " must be an array (keys 1..n)"
    end
  end
  local out = json.array()
  for i = 1, n do
    local c, err = convert(v[i], inner, where .. "[" .. i .. "]")
    if c == nil then return nil, err end
    out[i] = c
  end
  return out
end
convert = _M.convert

--- The type a variable is declared with: a value that is sent is never null, so the
-- variable is non-null (which fits a nullable position too).
-- @tparam string t the position's type
-- @treturn string
local VARIABLE_TYPE = {} -- bounded by the types of the rows
function _M.variable_type(t)
  local v = VARIABLE_TYPE[t]
  if not v then
    v = t:sub(-1) == "!" and t or t .. "!"
    VARIABLE_TYPE[t] = v
  end
  return v
end

-- The required fields of a fields table, sorted, listed once per table.
local REQUIRED = setmetatable({}, { __mode = "k" })
--- The required (non-null) fields of a fields table, sorted.
-- @tparam table fields name -> type
-- @treturn table
function _M.required_keys(fields)
  local r = REQUIRED[fields]
  if not r then
    r = {}
    for _, k in ipairs(sorted_keys(fields)) do
      if fields[k]:sub(-1) == "!" then r[#r + 1] = k end
    end
    REQUIRED[fields] = r
  end
  return r
end

--- Turns the caller's arguments into an input object of `graphql.value()`s.
-- @tparam string name the operation, for messages
-- @tparam table fields name -> GraphQL type
-- @param args the caller's table
-- @treturn ?table the input object
-- @treturn ?string why not
function _M.input_values(name, fields, args)
  if type(args) ~= "table" then return nil, name .. " takes a table of arguments" end
  local out = {}
  local keys = sorted_keys(args)
  for i = 1, #keys do
    local k = keys[i]
    local t = fields[k]
    if not t then
      return nil, string.format("%s does not take %q (it takes: %s)", name, k,
        table.concat(sorted_keys(fields), ", "))
    end
    local c, err = convert(args[k], t, k)
    if c == nil then return nil, err end
    out[k] = gql.value(c, _M.variable_type(t))
  end
  local required = _M.required_keys(fields)
  for i = 1, #required do
    if args[required[i]] == nil then
      return nil, string.format("%s needs %s", name, required[i])
    end
  end
  return out
end

return _M
