--- A small GraphQL query builder: documents from Lua tables.
--
--    local gql = require "tray.graphql"
--    local doc, vars = gql.build{
--      operation = "mutation", name = "CreateUser",
--      select = {
--        { "createExternalUser",
--          args = { input = { name = gql.value("Dwight", "String!"),
--                             externalUserId = gql.value("dwight-1", "String!") } },
--          select = { "userId", "clientMutationId" } },
--      },
--    }
--
-- A selection is a table: its array part lists fields (a name, or a field table
-- `{ "name", alias =, args =, select = }`), its hash part maps a field name to
-- that field's own selection (`{ "id", service = { "id", "name" } }`).
--
-- Values never become document text. An argument is a `value(v, type)` (the
-- builder declares a variable for it and returns its value in `vars`), a
-- `var(name, type)` (a variable the caller fills in), or a table of those (an
-- input object). The same input always gives the same text: arguments and hash
-- keys are sorted.
-- @module tray.graphql

local json = require "tray.json"

local _M = {}

local VALUE_MT = {}
local VAR_MT = {}

local NAME = "^[_A-Za-z][_0-9A-Za-z]*$"
local TYPE = "^[%[%]_0-9A-Za-z!]+$"

--- An argument bound to a value, sent as a variable of the given type.
-- @param v the value (any JSON-able value)
-- @tparam string type its GraphQL type, e.g. "String!" or "[ID!]!"
-- @treturn table
function _M.value(v, type)
  return setmetatable({ value = v, type = type }, VALUE_MT)
end

--- An argument that refers to a variable the caller supplies.
-- @tparam string name the variable name (without `$`)
-- @tparam string type its GraphQL type
-- @treturn table
function _M.var(name, type)
  return setmetatable({ name = name, type = type }, VAR_MT)
end

--- Is `s` a valid GraphQL name?
-- @param s any value
-- @treturn boolean
function _M.is_name(s)
  return type(s) == "string" and s:find(NAME) ~= nil
end

--- The string keys of a table, sorted (other keys, such as a selection's
-- array part, are left out).
-- @tparam table t
-- @treturn {string,...}
function _M.sorted_string_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end
local sorted_string_keys = _M.sorted_string_keys

--- The keys of a table as sorted strings (every key, `tostring`'d).
-- @tparam table t
-- @treturn {string,...}
function _M.sorted_keys(t)
  local keys, n = {}, 0
  for k in pairs(t) do
    n = n + 1
    keys[n] = type(k) == "string" and k or tostring(k)
  end
  if n > 1 then table.sort(keys) end
  return keys
end

local Builder = {}
Builder.__index = Builder

function Builder.fail(_, message)
  error({ graphql_build = message }, 0)
end

function Builder:declare(name, typ, value, bound)
  if not _M.is_name(name) then self:fail("invalid variable name " .. tostring(name)) end
  if type(typ) ~= "string" or not typ:find(TYPE) then
    self:fail("invalid GraphQL type for $" .. name .. ": " .. tostring(typ))
  end
  local prev = self.declared[name]
  if prev then
    if prev.type ~= typ then self:fail("variable $" .. name .. " declared with two types") end
    if bound then self:fail("variable $" .. name .. " bound twice") end
    return name
  end
  self.declared[name] = { type = typ }
  self.order[#self.order + 1] = name
  if bound then self.vars[name] = value end
  return name
end

-- A name for a bound value: the argument's own key, else qualified by the
-- field (alias) it belongs to, else numbered.
function Builder:bind_name(key, owner)
  if not self.declared[key] then return key end
  local name = owner .. "_" .. key
  local n = 2
  while self.declared[name] do
    name = owner .. "_" .. key .. "_" .. n
    n = n + 1
  end
  return name
end

function Builder:arg_text(v, key, owner)
  local mt = getmetatable(v)
  if mt == VAR_MT then
    return "$" .. self:declare(v.name, v.type, nil, false)
  elseif mt == VALUE_MT then
    return "$" .. self:declare(self:bind_name(key, owner), v.type, v.value, true)
  elseif type(v) == "table" and not json.is_array(v) then
    local parts = {}
    for _, k in ipairs(sorted_string_keys(v)) do
      if not _M.is_name(k) then self:fail("invalid argument name " .. k) end
      parts[#parts + 1] = k .. ": " .. self:arg_text(v[k], k, owner)
    end
    return "{ " .. table.concat(parts, ", ") .. " }"
  end
  self:fail("argument " .. tostring(key) .. " must be graphql.value(...) or graphql.var(...): " ..
    "values travel as variables, never as document text")
end

function Builder:field(spec, depth, out)
  local name = spec[1]
  if not _M.is_name(name) then self:fail("invalid field name " .. tostring(name)) end
  local head = name
  if spec.alias ~= nil then
    if not _M.is_name(spec.alias) then self:fail("invalid alias " .. tostring(spec.alias)) end
    head = spec.alias .. ": " .. name
  end
  if spec.args ~= nil then
    if type(spec.args) ~= "table" then self:fail("args of " .. name .. " must be a table") end
    local parts = {}
    for _, k in ipairs(sorted_string_keys(spec.args)) do
      if not _M.is_name(k) then self:fail("invalid argument name " .. k) end
      parts[#parts + 1] = k .. ": " .. self:arg_text(spec.args[k], k, spec.alias or name)
    end
    if #parts > 0 then head = head .. "(" .. table.concat(parts, ", ") .. ")" end
  end
  self:selection_field(head, spec.select, depth, out)
end

function Builder:selection_field(head, sel, depth, out)
  local indent = string.rep("  ", depth)
  if sel == nil then
    out[#out + 1] = indent .. head
    return
  end
  if type(sel) ~= "table" then self:fail("the selection of " .. head .. " must be a table") end
  out[#out + 1] = indent .. head .. " {"
  self:selection(sel, depth + 1, out)
  out[#out + 1] = indent .. "}"
end

function Builder:selection(sel, depth, out)
  local before = #out
  for i = 1, #sel do
    local item = sel[i]
    if type(item) == "string" then
      if not _M.is_name(item) then self:fail("invalid field name " .. item) end
      out[#out + 1] = string.rep("  ", depth) .. item
    elseif type(item) == "table" then
      self:field(item, depth, out)
    else
      self:fail("a selection holds names or field tables, not " .. type(item))
    end
  end
  for _, k in ipairs(sorted_string_keys(sel)) do
    if not _M.is_name(k) then self:fail("invalid field name " .. k) end
    self:selection_field(k, sel[k], depth, out)
  end
  if #out == before then self:fail("empty selection") end
end

--- Builds a document.
-- @tparam table spec `{ operation = "query"|"mutation", name = "OpName" (optional), select = selection }`
-- @treturn ?string the document text
-- @treturn ?table|string the variables (name -> value), or why the spec is not valid
function _M.build(spec)
  local b = setmetatable({ declared = {}, order = {}, vars = {} }, Builder)
  local ok, err = pcall(function()
    local op = spec.operation or "query"
    if op ~= "query" and op ~= "mutation" then b:fail("operation must be query or mutation") end
    if spec.name ~= nil and not _M.is_name(spec.name) then b:fail("invalid operation name") end
    if type(spec.select) ~= "table" then b:fail("select must be a table") end
    local body = {}
    b:selection(spec.select, 1, body)
    local head = op
    if spec.name then head = head .. " " .. spec.name end
    if #b.order > 0 then
      local defs = {}
      for i, name in ipairs(b.order) do defs[i] = "$" .. name .. ": " .. b.declared[name].type end
      head = head .. "(" .. table.concat(defs, ", ") .. ")"
    end
    b.text = head .. " {\n" .. table.concat(body, "\n") .. "\n}"
  end)
  if not ok then
    if type(err) == "table" and err.graphql_build then return nil, err.graphql_build end
    error(err, 0)
  end
  return b.text, b.vars
end

return _M
