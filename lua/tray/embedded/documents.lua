--- The GraphQL documents of `tray.embedded` (an internal module): building them from the
-- operation rows, caching them by argument shape, telling which operation of a caller's
-- document runs, and listing every document the SDK can send (for the specs and `tray.doctor`).
-- @internal tray.embedded.documents

local json = require "tray.json"
local gql = require "tray.graphql"
local ops = require "tray.embedded.operations"
local values = require "tray.embedded.values"

local sorted_keys = values.sorted_keys

local _M = {}

local function camel(name)
  return (name:gsub("_(%l)", function(c) return c:upper() end):gsub("^%l", string.upper))
end

-- ---------------------------------------------------------------------------
-- Builder specs (used on a cache miss only).

--- The builder spec of a connection query.
-- @tparam table q the row
-- @tparam table args the field's arguments (graphql.value()s and input objects of them)
-- @tparam string name the operation
-- @treturn table
function _M.connection_spec(q, args, name)
  local edges = { node = q.node }
  if q.edge_cursor then edges[1] = "cursor" end
  local selection = { edges = edges, pageInfo = q.page_info }
  if q.total_count then selection[1] = "totalCount" end
  local field = { q.path[#q.path], args = args, select = selection }
  local select = { field }
  for i = #q.path - 1, 1, -1 do select = { { q.path[i], select = select } } end
  return { operation = "query", name = "Tray" .. camel(name), select = select }
end

--- The payload selection of a mutation: the row's, plus `clientMutationId` when the caller
-- passed one or when the payload has no other field.
-- @tparam table m the row
-- @tparam boolean with_cmid the caller passed a clientMutationId
-- @treturn table
function _M.payload_selection(m, with_cmid)
  if not with_cmid and next(m.payload) ~= nil then return m.payload end
  local sel = {}
  for k, v in pairs(m.payload) do sel[k] = v end
  sel[#sel + 1] = "clientMutationId"
  return sel
end

--- The builder spec of a mutation.
-- @tparam table m the row
-- @tparam table args `{ input = input object }`
-- @tparam string name the operation
-- @treturn table
function _M.mutation_spec(m, args, name)
  return { operation = "mutation", name = "Tray" .. camel(name),
    select = { { m.field, args = args, select = _M.payload_selection(m, args.input.clientMutationId ~= nil) } } }
end

-- ---------------------------------------------------------------------------
-- Built documents, cached by operation and argument shape. Values travel as
-- variables, so a document's text depends only on which arguments are given and
-- their types: it is built once per shape (gql.build was most of a call's Lua
-- time). Unknown arguments are refused before this point, so the operation
-- tables bound the number of shapes and the cache needs no eviction.
--
-- The cache is a tree: from the operation's node, one step per argument (in
-- key order) by its key and then its type, and for an input object by its key,
-- its own arguments and a closing "}". A leaf holds the document text, or false
-- for a shape that is built every time.

local VALUE_MT = getmetatable(gql.value(0, "Int"))
local DOCS = {}     -- kind -> name -> the tree above; `[DOC]` at a node is its document
local DOC = {}      -- the key of a node's document (a table, so no argument name can clash)

--- Document text (of the cache) -> the text encoded as a JSON string.
_M.DOC_JSON = {}

local function child(node, k)
  local c = node[k]
  if c == nil then
    c = {}
    node[k] = c
  end
  return c
end

-- Walks the tree along the shape of `args` (graphql.value()s and input objects of
-- them), putting each value in `vars` under its key. Returns the node reached.
-- `keys`: the sorted keys of `args` when the caller has them (a key may be absent
-- from `args`: it is skipped).
local function walk(node, args, vars, keys)
  keys = keys or sorted_keys(args)
  for i = 1, #keys do
    local k = keys[i]
    local v = args[k]
    if getmetatable(v) == VALUE_MT then
      node = child(child(node, k), v.type)
      vars[k] = v.value
    elseif v ~= nil then -- (a key the caller listed may hold no argument)
      node = child(walk(child(node, k), v, vars), "}")
    end
  end
  return node
end

--- The document for `args` (built from `spec(spec_arg, args, name)` on the first call of a
-- shape) and its variables.
-- @tparam string kind "query" or "mutation"
-- @tparam string name the operation
-- @tparam table args the field's arguments
-- @tparam function spec the builder spec function
-- @param spec_arg its first argument (the row)
-- @tparam[opt] table keys the sorted keys of `args`, when the caller has them (keys
--   absent from `args` are skipped)
-- @treturn ?string the document
-- @treturn table|string the variables, or why the document cannot be built
function _M.cached(kind, name, args, spec, spec_arg, keys)
  local vars = {}
  local node = walk(child(child(DOCS, kind), name), args, vars, keys)
  local doc = node[DOC]
  if doc then return doc, vars end
  local built
  doc, built = gql.build(spec(spec_arg, args, name))
  if doc and node[DOC] == nil then
    -- cache only when the builder named every variable after its key, as `walk` does
    local same = true
    for k, v in pairs(built) do if vars[k] ~= v then same = false end end
    for k in pairs(vars) do if built[k] == nil then same = false end end
    node[DOC] = same and doc
    if same then _M.DOC_JSON[doc] = json.encode(doc) end
  end
  return doc, built
end

-- ---------------------------------------------------------------------------
-- Requests of the rows.

--- The document and variables of a connection query.
-- @tparam string name the operation
-- @tparam table q the row
-- @param opts the caller's `{ criteria =, first =, after =, last =, before = }`
-- @treturn ?string the document
-- @treturn table|string the variables, or why the arguments are not valid
function _M.connection_request(name, q, opts)
  opts = opts or {}
  if type(opts) ~= "table" then return nil, name .. " takes a table of options" end
  local args = {}
  local keys = sorted_keys(opts)
  for i = 1, #keys do
    local k = keys[i]
    if k == "criteria" and q.criteria then
      local criteria = opts.criteria
      if type(criteria) ~= "table" then return nil, "criteria must be a table" end
      if q.aliases then
        local c = {}
        for ck, cv in pairs(criteria) do
          local to = q.aliases[ck]
          if to then
            if criteria[to] ~= nil then return nil, string.format("criteria: give %s or %s, not both", ck, to) end
            ck = to
          end
          c[ck] = cv
        end
        criteria = c
      end
      local crit, err = values.input_values(name .. " criteria", q.criteria, criteria)
      if not crit then return nil, err end
      if next(crit) then args.criteria = crit end
    elseif q.paging[k] then
      local c, err = values.convert(opts[k], q.paging[k], k)
      if c == nil then return nil, err end
      args[k] = gql.value(c, values.variable_type(q.paging[k]))
    else
      local takes = {}
      if q.criteria then takes[1] = "criteria" end
      for _, p in ipairs(ops.PAGING) do if q.paging[p] then takes[#takes + 1] = p end end
      return nil, string.format("%s does not take %q (%s)", name, k,
        #takes > 0 and ("it takes: " .. table.concat(takes, ", ")) or "it takes no arguments")
    end
  end
  return _M.cached("query", name, args, _M.connection_spec, q, keys)
end

--- The document and variables of a mutation.
-- @tparam string name the operation
-- @tparam table m the row
-- @param args the caller's input fields
-- @treturn ?string the document
-- @treturn table|string the variables, or why the arguments are not valid
function _M.mutation_request(name, m, args)
  local input, why = values.input_values(name, m.input, args)
  if not input then return nil, why end
  return _M.cached("mutation", name, { input = input }, _M.mutation_spec, m)
end

--- The document and variables of several connector calls in one request (aliases).
-- @tparam table calls `{ alias = args, ... }` (the `validate` flags already taken)
-- @treturn ?string the document
-- @treturn table|string the variables, or why not
function _M.call_connectors_request(calls)
  local m = ops.MUTATIONS.call_connector
  local select = {}
  for _, alias in ipairs(sorted_keys(calls)) do
    if not gql.is_name(alias) then return nil, "invalid alias " .. alias end
    local input, why = values.input_values("call_connectors." .. alias, m.input, calls[alias])
    if not input then return nil, why end
    select[#select + 1] = { m.field, alias = alias, args = { input = input },
      select = _M.payload_selection(m, input.clientMutationId ~= nil) }
  end
  return gql.build{ operation = "mutation", name = "TrayCallConnectors", select = select }
end

-- ---------------------------------------------------------------------------
-- Which operation of a caller's document runs.

-- Skips ignored tokens (white space, commas, comments, a BOM) from `i`.
local function skip(s, i)
  while true do
    local j = s:match("^[%s,]+()", i) or i
    if s:sub(j, j + 2) == "\239\187\191" then
      j = j + 3
    elseif s:sub(j, j) == "#" then
      j = (s:find("\n", j, true) or #s) + 1
    end
    if j == i then return i end
    i = j
  end
end

--- The kind ("query", "mutation", "subscription") of the operation a document runs: the one
-- named `operation_name`, or the only one. Nil when that cannot be told (no such operation,
-- several without a name to choose, text that does not scan): treat it as a mutation.
-- @tparam string document
-- @tparam[opt] string operation_name
-- @treturn ?string
function _M.operation_kind(document, operation_name)
  local s, i, depth = document, 1, 0
  local found, n = nil, 0
  local n_ops = 0
  while true do
    i = skip(s, i)
    if i > #s then break end
    local c = s:sub(i, i)
    if c == '"' then
      if s:sub(i, i + 2) == '"""' then
        local j = i + 3
        while true do
          local e = s:find('"""', j, true)
          if not e then return nil end
          if s:sub(e - 1, e - 1) ~= "\\" then i = e + 3 break end
          j = e + 3
        end
      else
        local j = i + 1
        while true do
          local ch = s:sub(j, j)
          if ch == "" or ch == "\n" then return nil end
          if ch == "\\" then j = j + 2
          elseif ch == '"' then break
          else j = j + 1 end
        end
        i = j + 1
      end
    elseif c == "{" then
      if depth == 0 and n == 0 then
        -- a definition starting with "{": the query shorthand
        n_ops = n_ops + 1
        if operation_name == nil then found = found == nil and "query" or false end
      end
      n = 0
      depth = depth + 1
      i = i + 1
    elseif c == "}" then
      depth = depth - 1
      if depth < 0 then return nil end
      if depth == 0 then n = 0 end
      i = i + 1
    elseif c:match("[_%a]") then
      local word = s:match("^[_%w]+", i)
      if depth == 0 and n == 0 then
        n = 1 -- inside a definition's head until its "{"
        if word == "query" or word == "mutation" or word == "subscription" then
          n_ops = n_ops + 1
          local name = s:match("^[_%a][_%w]*", skip(s, i + #word))
          if operation_name == nil then
            found = found == nil and word or false
          elseif name == operation_name then
            if found ~= nil then return nil end
            found = word
          end
        end
      end
      i = i + #word
    else
      if depth == 0 and n == 0 and c ~= "" then n = 1 end
      i = i + 1
    end
  end
  if depth ~= 0 or n_ops == 0 or not found then return nil end
  return found
end

-- ---------------------------------------------------------------------------
-- Every document the SDK can send.

-- A sample value of a GraphQL type (for building documents, never sent as data).
local function sample(t)
  local bare = t:gsub("!$", "")
  local inner = bare:match("^%[(.*)%]$")
  if inner then return { sample(inner) } end
  if bare == "String" or bare == "ID" then return "x" end
  if bare == "Int" then return 1 end
  if bare == "Boolean" then return true end
  if bare == "Json" then return "{}" end
  local shape = require("tray.embedded.types").inputs[bare]
  local v = {}
  for k, ft in pairs(shape or {}) do
    if ft:sub(-1) == "!" then v[k] = sample(ft) end
  end
  return v
end
_M.sample = sample

-- The argument tables of an input type: none of the optional fields, each one alone, all.
local function shapes(fields, extra)
  local required, optional = {}, {}
  for _, k in ipairs(sorted_keys(fields)) do
    if fields[k]:sub(-1) == "!" then required[k] = sample(fields[k]) else optional[#optional + 1] = k end
  end
  local function with(keys)
    local t = {}
    for k, v in pairs(required) do t[k] = v end
    for _, k in ipairs(keys) do t[k] = sample(fields[k]) end
    return t
  end
  local out = { { label = "required only", args = with({}) } }
  for _, k in ipairs(optional) do out[#out + 1] = { label = "with " .. k, args = with({ k }) } end
  if #optional > 1 then out[#out + 1] = { label = "with every field", args = with(optional), full = true } end
  if #optional <= 1 then out[#out].full = true end
  for _, e in ipairs(extra or {}) do out[#out + 1] = e end
  return out
end

--- Every document the SDK can send: each query and mutation with none of its optional
-- arguments, with each one alone and with all of them (the last marked `full`), and the
-- aliased connector calls.
-- @treturn table `{ { kind =, name =, label =, document =, variables =, full = }, ... }`
function _M.enumerate()
  local out = {}
  -- one shape's document (or the error building it, which is a bug here)
  local function add(kind, name, e, doc, vars)
    if not doc then error(name .. " " .. e.label .. ": " .. tostring(vars)) end
    out[#out + 1] = { kind = kind, name = name, label = e.label, document = doc, variables = vars, full = e.full }
  end
  for _, name in ipairs(sorted_keys(ops.QUERIES)) do
    local q = ops.QUERIES[name]
    local fields = {}
    for k, t in pairs(q.paging) do fields[k] = t end
    local crit_fields = q.criteria or {}
    local list = shapes(fields)
    for _, k in ipairs(sorted_keys(crit_fields)) do
      list[#list + 1] = { label = "criteria " .. k, args = { criteria = { [k] = sample(crit_fields[k]) } } }
    end
    for k in pairs(q.aliases or {}) do
      list[#list + 1] = { label = "criteria " .. k .. " (alias)", args = { criteria = { [k] = "x" } } }
    end
    if q.criteria then
      local all = {}
      for k, t in pairs(crit_fields) do all[k] = sample(t) end
      local full = { criteria = all }
      for k, t in pairs(fields) do full[k] = sample(t) end
      for _, e in ipairs(list) do e.full = nil end
      list[#list + 1] = { label = "every argument", args = full, full = true }
    end
    for _, e in ipairs(list) do add("query", name, e, _M.connection_request(name, q, e.args)) end
  end
  for _, name in ipairs(sorted_keys(ops.MUTATIONS)) do
    local m = ops.MUTATIONS[name]
    for _, e in ipairs(shapes(m.input)) do add("mutation", name, e, _M.mutation_request(name, m, e.args)) end
  end
  for _, e in ipairs(shapes(ops.MUTATIONS.call_connector.input)) do
    add("mutation", "call_connectors", e, _M.call_connectors_request({ a = e.args, b = e.args }))
  end
  return out
end

return _M
