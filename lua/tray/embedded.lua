--- The Embedded GraphQL API.
--
--    local emb = assert(tray.embedded.new{ master_token = os.getenv("TRAY_MASTER_TOKEN") })
--    local created, err = emb:create_external_user{ name = "Ada", externalUserId = "ada-1" }
--    local auth = assert(emb:authorize{ userId = created.userId })
--    local user = emb:as_user(auth.accessToken)
--    for u in emb:each("users", { first = 100 }) do print(u.id, u.name) end
--
-- Every query and mutation is generated from one row of `QUERIES` or `MUTATIONS`:
-- its GraphQL field, its input fields with their documented types, the payload
-- selection, and which token it needs. Documents are built with `tray.graphql`,
-- so every value travels as a variable, never as document text. Queries return
-- the Relay connection (`edges`, `pageInfo`, `totalCount` where documented) plus
-- a `nodes` array; mutations return their payload table. Failures are `nil, err`.
-- @module tray.embedded

local native = require "tray.native"
local errors = require "tray.errors"
local json = require "tray.json"
local gql = require "tray.graphql"
local transport = require "tray.transport"
local pager = require "tray.pager"
local validation = require "tray.validate"

local _M = {}

-- ---------------------------------------------------------------------------
-- Selections: every documented field of each result.

local PAGE_INFO = { "hasNextPage", "endCursor", "hasPreviousPage", "startCursor" }

local USER = { "name", "id", "externalUserId", "isTestUser" }

local AUTHENTICATION = {
  "id", "name", "customFields",
  service = { "id", "name", "icon", "title", "version" },
  serviceEnvironment = { "id", "title" },
}

local SOLUTION = {
  "id", "title", "description", "tags",
  customFields = { "key", "value" },
  configSlots = { "externalId", "title", "defaultValue" },
  authSlots = { "externalId", "title" },
}

local SOLUTION_INSTANCE = {
  "id", "name", "enabled", "owner", "created",
  solutionVersionFlags = { "hasNewerVersion", "requiresUserInputToUpdateVersion",
                           "requiresSystemInputToUpdateVersion" },
  solution = SOLUTION,
  workflows = { edges = { node = { "id", "triggerUrl", "sourceWorkflowId", "sourceWorkflowName" } } },
  authValues = { "externalId", "authId" },
  configValues = { "externalId", "value" },
}

-- ---------------------------------------------------------------------------
-- The operations. `token`: "master", "user" or "any". Input and criteria types
-- are the ones the docs' request samples declare.

--- Connection queries: `path` is the field path from the root, `criteria` the
-- documented filter fields with their types.
_M.QUERIES = {
  users = { path = { "users" }, token = "master", node = USER,
    criteria = { userId = "ID", externalUserId = "String", name = "String", isTestUser = "Boolean" } },
  authentications = { path = { "viewer", "authentications" }, token = "any", node = AUTHENTICATION },
  solutions = { path = { "viewer", "solutions" }, token = "master", node = SOLUTION,
    criteria = { tags = "[String!]" } },
  solution_instances = { path = { "viewer", "solutionInstances" }, token = "any", node = SOLUTION_INSTANCE,
    criteria = { solutionId = "ID", owner = "String" }, total_count = true },
}

local PAGING = { first = "Int", after = "String", last = "Int", before = "String" }
local PAGING_VAR = { first = "Int!", after = "String!", last = "Int!", before = "String!" }

-- a fresh table per mutation: each gets its own clientMutationId appended below
local function instance_payload() return { solutionInstance = SOLUTION_INSTANCE } end

--- Mutations: `field` is the GraphQL mutation, `input` its documented input fields
-- (a trailing `!` marks the required ones), `payload` the selection of its result.
_M.MUTATIONS = {
  create_external_user = { field = "createExternalUser", token = "master",
    input = { name = "String!", externalUserId = "String!", isTestUser = "Boolean" },
    payload = { "userId", "isTestUser" } },
  authorize = { field = "authorize", token = "master",
    input = { userId = "ID!" }, payload = { "accessToken" } },
  generate_authorization_code = { field = "generateAuthorizationCode", token = "master",
    input = { userId = "ID!" }, payload = { "authorizationCode" } },
  update_external_user = { field = "updateExternalUser", token = "master",
    input = { userId = "ID!", isTestUser = "Boolean" }, payload = { user = USER } },
  remove_external_user = { field = "removeExternalUser", token = "master",
    input = { userId = "ID!" }, payload = {} },
  create_user_authentication = { field = "createUserAuthentication", token = "any",
    input = { name = "String!", serviceId = "String!", serviceEnvironmentId = "String!", data = "Json!",
              formData = "Json", scopes = "[String!]!", hidden = "Boolean" },
    payload = { "authenticationId" } },
  remove_authentication = { field = "removeAuthentication", token = "any",
    input = { authenticationId = "ID!" }, payload = {} },
  create_solution_instance = { field = "createSolutionInstance", token = "user",
    input = { solutionId = "ID!", instanceName = "String!", authValues = "[AuthValue!]",
              configValues = "[ConfigValue!]" },
    payload = instance_payload() },
  update_solution_instance = { field = "updateSolutionInstance", token = "user",
    input = { solutionInstanceId = "ID!", instanceName = "String", enabled = "Boolean",
              authValues = "[AuthValue!]", configValues = "[ConfigValue!]" },
    payload = instance_payload() },
  upgrade_solution_instance = { field = "upgradeSolutionInstance", token = "user",
    input = { solutionInstanceId = "ID!", instanceName = "String", authValues = "[AuthValue!]",
              configValues = "[ConfigValue!]" },
    payload = instance_payload() },
  remove_solution_instance = { field = "removeSolutionInstance", token = "user",
    input = { solutionInstanceId = "ID!" }, payload = {} },
  import_project = { field = "importProject", token = "master",
    input = { exportedProjectJson = "String!", targetProjectId = "ID!" }, payload = {} },
  export_project = { field = "exportProject", token = "master",
    input = { projectId = "ID!", exportSolution = "Boolean!" }, payload = { "exportedProjectJson" } },
  import_workflows = { field = "importWorkflows", token = "master",
    input = { exportedWorkflowsJson = "String!", targetWorkflowIds = "[ID!]!" }, payload = {} },
  export_workflows = { field = "exportWorkflows", token = "master",
    input = { workflowIds = "[ID!]!" }, payload = { "exportedWorkflowsJson" } },
  call_connector = { field = "callConnector", token = "any",
    input = { connector = "String!", version = "String!", operation = "String!", authId = "String!",
              input = "String!" },
    payload = { "output" }, json_input = true },
}

-- Input objects of the docs' list variables (`[ConfigValue!]`, `[AuthValue!]`).
local INPUT_OBJECTS = {
  ConfigValue = { externalId = "String!", value = "String!" },
  AuthValue = { externalId = "String!", authId = "String!" },
}

-- Every mutation accepts and echoes clientMutationId.
for _, m in pairs(_M.MUTATIONS) do
  m.input.clientMutationId = "String"
  m.payload[#m.payload + 1] = "clientMutationId"
end

-- ---------------------------------------------------------------------------
-- Checking and converting argument values to the declared types.

local function describe(v)
  if v == json.null then return "null" end
  return type(v)
end

local convert -- forward

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
    if type(v) == "string" then return v end
    if type(v) ~= "table" then return nil, where .. " must be a table or a JSON string, got " .. describe(v) end
    local text, why = json.encode(v)
    if not text then return nil, where .. " cannot be encoded as JSON: " .. why end
    return text
  end
  local shape = INPUT_OBJECTS[base]
  if not shape then return nil, where .. ": unknown type " .. base end
  if type(v) ~= "table" then return nil, where .. " must be a table, got " .. describe(v) end
  local out = {}
  for k, x in pairs(v) do
    if not shape[k] then return nil, where .. " does not take " .. tostring(k) end
    if base == "ConfigValue" and k == "value" and type(x) ~= "string" then
      -- the docs: a config value is always a string; other values are sent stringified
      local text, why = json.encode(x)
      if not text then return nil, where .. ".value cannot be encoded as JSON: " .. why end
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
-- (false for others), parsed once per type: the types are those of the tables above.
local BARE, INNER = {}, {}
local function parse_type(t)
  local bare = t:sub(-1) == "!" and t:sub(1, -2) or t
  BARE[t], INNER[t] = bare, bare:match("^%[(.*)%]$") or false
end

-- Converts `v` to the GraphQL type `t` ("String!", "[ID!]!", "[ConfigValue!]" ...).
convert = function(v, t, where)
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

local function sorted_keys(t)
  local keys, n = {}, 0
  for k in pairs(t) do
    n = n + 1
    keys[n] = type(k) == "string" and k or tostring(k)
  end
  if n > 1 then table.sort(keys) end
  return keys
end

-- The required fields of a fields table, sorted, listed once per table.
local REQUIRED = setmetatable({}, { __mode = "k" })
local function required_keys(fields)
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

-- Turns the caller's arguments into an input object of graphql.value()s.
local function input_values(name, fields, args, json_input)
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
    local v = args[k]
    if json_input and k == "input" and type(v) == "table" then
      local why
      v, why = json.encode(v)
      if not v then return nil, name .. ": input cannot be encoded as JSON: " .. why end
    end
    local c, err = convert(v, t, k)
    if c == nil then return nil, err end
    -- a value we send is never null: declare the variable non-null
    out[k] = gql.value(c, t:sub(-1) == "!" and t or t .. "!")
  end
  local required = required_keys(fields)
  for i = 1, #required do
    if args[required[i]] == nil then
      return nil, string.format("%s needs %s", name, required[i])
    end
  end
  return out
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
local DOC_JSON = {} -- document text (of DOCS) -> the text encoded as a JSON string

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
local function walk(node, args, vars)
  local keys = sorted_keys(args)
  for i = 1, #keys do
    local k = keys[i]
    local v = args[k]
    if getmetatable(v) == VALUE_MT then
      node = child(child(node, k), v.type)
      vars[k] = v.value
    else
      node = child(walk(child(node, k), v, vars), "}")
    end
  end
  return node
end

-- The document for `args` (built from `spec(spec_arg, args, name)` on the first call of a
-- shape) and its variables.
local function cached_document(kind, name, args, spec, spec_arg)
  local vars = {}
  local node = walk(child(child(DOCS, kind), name), args, vars)
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
    if same then DOC_JSON[doc] = json.encode(doc) end
  end
  return doc, built
end

-- ---------------------------------------------------------------------------
-- The client.

local Embedded = {}
Embedded.__index = Embedded

local function usage(message, operation)
  return errors.fail("usage", message, { operation = operation })
end

function Embedded:check_token(rule, operation)
  if rule == "master" and self.token_kind ~= "master" then
    return errors.fail("auth", operation .. " needs a master token; this client holds a user token",
      { operation = operation })
  end
  if rule == "user" and self.token_kind ~= "user" then
    return errors.fail("auth", operation .. " needs a user token: use emb:as_user(token) or emb:for_user(userId)",
      { operation = operation })
  end
  return true
end

local function first_message(errs)
  local e = errs[1]
  local msg = type(e) == "table" and type(e.message) == "string" and e.message or "GraphQL error"
  if #errs > 1 then msg = msg .. string.format(" (and %d more)", #errs - 1) end
  return msg
end

--- Decodes a GraphQL HTTP answer into `data`, or an error.
-- @tparam number status
-- @tparam string body
-- @tparam table headers
-- @tparam ?string operation
-- @return data
-- @treturn ?table the error
function _M.decode(status, body, headers, operation)
  if status >= 300 and status < 400 then
    local location = type(headers) == "table" and headers.location or ""
    local host = location:match("^%a[%w+.-]*://([^/?#]+)") or "the same host"
    return errors.fail("http", string.format("unexpected redirect (HTTP %d) to %s; redirects are not followed",
      status, host), { status = status, operation = operation })
  end
  local doc, why = json.decode(body)
  if status < 200 or status >= 300 then
    local message = errors.rest_message(doc)
    if not message and type(doc) == "table" and type(doc.errors) == "table" and #doc.errors > 0 then
      message = first_message(doc.errors)
    end
    return errors.fail(errors.kind_for_status(status), message or ("HTTP " .. status),
      { status = status, body = body, operation = operation,
        errors = type(doc) == "table" and type(doc.errors) == "table" and doc.errors or nil })
  end
  if type(doc) ~= "table" then
    return errors.fail("decode", "the response is not a GraphQL JSON object" .. (why and (": " .. why) or ""),
      { status = status, body = body, operation = operation })
  end
  local errs = doc.errors
  if type(errs) == "table" and #errs > 0 then
    local kind = errors.graphql_rate_limited(errs) and "rate_limited" or "graphql"
    return errors.fail(kind, first_message(errs),
      { status = status, errors = errs, data = doc.data ~= json.null and doc.data or nil, operation = operation })
  end
  if type(doc.data) ~= "table" then
    return errors.fail("decode", "the response has no data", { status = status, body = body, operation = operation })
  end
  return doc.data
end

--- Sends a document; returns `data` or `nil, err`.
function Embedded:send(document, variables, operation, idempotent, operation_name)
  local body, why
  local doc_json = operation_name == nil and DOC_JSON[document]
  if doc_json then
    -- a built document: its JSON text is cached, and the body's keys come in a fixed order
    body, why = json.encode(variables or json.object())
    if body then body = '{"query":' .. doc_json .. ',"variables":' .. body .. "}" end
  else
    body, why = json.encode({ query = document, variables = variables or json.object(),
      operationName = operation_name })
  end
  if not body then return usage("variables cannot be encoded as JSON: " .. why, operation) end
  return self.transport:call({
    method = "POST", url = self.endpoint, body = body, idempotent = idempotent, operation = operation,
  }, _M.decode)
end

-- The keyword of a document's first operation ("query" for the `{ ... }` shorthand).
local function first_keyword(document)
  local s = document:gsub("#[^\n]*", "")
  return s:match("^[%s,]*(%a+)") or "query"
end

--- Runs any GraphQL document (no token pre-check). A query is retried like any
-- query; a document whose first operation is a mutation is not.
-- @tparam string document
-- @tparam[opt] table variables
-- @tparam[opt] string operation_name which operation of the document to run
-- @treturn ?table data
-- @treturn ?table the error
function Embedded:query(document, variables, operation_name)
  if type(document) ~= "string" or document == "" then return usage("query takes a GraphQL document", "query") end
  if variables ~= nil and type(variables) ~= "table" then return usage("variables must be a table", "query") end
  if operation_name ~= nil and not gql.is_name(operation_name) then
    return usage("operation_name must be a GraphQL name", "query")
  end
  return self:send(document, variables, "query", first_keyword(document) ~= "mutation", operation_name)
end

local function camel(name)
  return (name:gsub("_(%l)", function(c) return c:upper() end):gsub("^%l", string.upper))
end

-- The document and variables of a connection query.
-- The builder spec of a connection query (on a cache miss only).
local function connection_spec(q, args, name)
  local selection = { edges = { "cursor", node = q.node }, pageInfo = PAGE_INFO }
  if q.total_count then selection[1] = "totalCount" end
  local field = { q.path[#q.path], args = args, select = selection }
  local select = { field }
  for i = #q.path - 1, 1, -1 do select = { { q.path[i], select = select } } end
  return { operation = "query", name = "Tray" .. camel(name), select = select }
end

local function connection_request(name, q, opts)
  opts = opts or {}
  if type(opts) ~= "table" then return nil, name .. " takes a table of options" end
  local args = {}
  local keys = sorted_keys(opts)
  for i = 1, #keys do
    local k = keys[i]
    if k == "criteria" then
      local criteria = opts.criteria
      if type(criteria) ~= "table" then return nil, "criteria must be a table" end
      if not q.criteria and next(criteria) ~= nil then return nil, name .. " takes no criteria" end
      local crit, err = input_values(name .. " criteria", q.criteria or {}, criteria)
      if not crit then return nil, err end
      if next(crit) then args.criteria = crit end
    elseif PAGING[k] then
      local c, err = convert(opts[k], PAGING[k], k)
      if c == nil then return nil, err end
      args[k] = gql.value(c, PAGING_VAR[k])
    else
      return nil, string.format("%s does not take %q (criteria, first, after, last, before)", name, k)
    end
  end
  return cached_document("query", name, args, connection_spec, q)
end

local function dig(data, path)
  for i = 1, #path do
    if type(data) ~= "table" then return nil end
    data = data[path[i]]
  end
  return data
end

local function run_connection(self, name, opts)
  local q = _M.QUERIES[name]
  local ok, err = self:check_token(q.token, name)
  if not ok then return nil, err end
  local doc, vars = connection_request(name, q, opts)
  if not doc then return usage(vars, name) end
  local data
  data, err = self:send(doc, vars, name, true)
  if not data then return nil, err end
  local conn = dig(data, q.path)
  if type(conn) ~= "table" then
    return errors.fail("decode", "the response has no " .. table.concat(q.path, "."), { operation = name })
  end
  local nodes = {}
  local edges = conn.edges
  if type(edges) == "table" then
    for i = 1, #edges do nodes[i] = edges[i].node end
  end
  conn.nodes = nodes
  return conn
end

for name in pairs(_M.QUERIES) do
  Embedded[name] = function(self, opts) return run_connection(self, name, opts) end
end

-- The builder spec of a mutation (on a cache miss only).
local function mutation_spec(m, args, name)
  return { operation = "mutation", name = "Tray" .. camel(name),
    select = { { m.field, args = args, select = m.payload } } }
end

local function run_mutation(self, name, args)
  local m = _M.MUTATIONS[name]
  local ok, err = self:check_token(m.token, name)
  if not ok then return nil, err end
  local flag
  if m.json_input then args, flag = validation.take_flag(args) end -- `validate` is taken, never sent
  local input, why = input_values(name, m.input, args, m.json_input)
  if not input then return usage(why, name) end
  if m.json_input then
    ok, err = validation.before_call(self, args, flag, name, true)
    if not ok then return nil, err end
  end
  local doc, vars = cached_document("mutation", name, { input = input }, mutation_spec, m)
  if not doc then return usage(vars, name) end
  local data
  data, err = self:send(doc, vars, name, false)
  if not data then return nil, err end
  local payload = data[m.field]
  if type(payload) ~= "table" then
    return errors.fail("decode", "the response has no " .. m.field .. " payload", { operation = name })
  end
  errors.add_secret_fields(self.transport.secrets, payload) -- an issued token never reaches this client's errors
  if m.json_input then
    payload.output = _M.decode_output(payload.output)
  end
  return payload
end

--- Decodes a connector's `output` JSON string (a value that is not JSON is kept as it is).
-- @param output
-- @return the decoded value
function _M.decode_output(output)
  if type(output) ~= "string" then return output end
  local v = json.decode(output)
  if v == nil then return output end
  return v
end

for name in pairs(_M.MUTATIONS) do
  Embedded[name] = function(self, args) return run_mutation(self, name, args) end
end

--- Several connector calls in one request (GraphQL aliases).
-- @tparam table calls `{ alias = { connector =, version =, operation =, authId =, input =,
--   validate = }, ... }`
-- @tparam[opt] table opts `{ validate = true }`: check every call's input first (a call's own
--   `validate` wins; the default is the client's `validate` option); the violations of all the
--   calls come back in one `validation` error, each entry of `err.errors` with its `alias`
-- @treturn ?table `{ alias = output, ... }` (outputs decoded)
-- @treturn ?table the error; on partial failure `err.data` holds the outputs that succeeded
function Embedded:call_connectors(calls, opts)
  local m = _M.MUTATIONS.call_connector
  local ok, err = self:check_token(m.token, "call_connectors")
  if not ok then return nil, err end
  if type(calls) ~= "table" or next(calls) == nil then
    return usage("call_connectors takes a table of { alias = { connector, version, operation, authId, input } }",
      "call_connectors")
  end
  if opts ~= nil and type(opts) ~= "table" then
    return usage("call_connectors: opts must be a table", "call_connectors")
  end
  local select, checks = {}, {}
  for _, alias in ipairs(sorted_keys(calls)) do
    if not gql.is_name(alias) then return usage("invalid alias " .. alias, "call_connectors") end
    local call, flag = validation.take_flag(calls[alias])
    local input, why = input_values("call_connectors." .. alias, m.input, call, true)
    if not input then return usage(why, "call_connectors") end
    select[#select + 1] = { "callConnector", alias = alias, args = { input = input }, select = { "output" } }
    checks[#checks + 1] = { alias = alias, args = call, flag = flag }
  end
  ok, err = validation.before_calls(self, checks, opts and opts.validate, "call_connectors")
  if not ok then return nil, err end
  local doc, vars = gql.build{ operation = "mutation", name = "TrayCallConnectors", select = select }
  if not doc then return usage(vars, "call_connectors") end
  local data
  data, err = self:send(doc, vars, "call_connectors", false)
  local source = data or (err and err.data)
  local out = {}
  if type(source) == "table" then
    for alias in pairs(calls) do
      local payload = source[alias]
      if type(payload) == "table" then out[alias] = _M.decode_output(payload.output) end
    end
  end
  if not data then
    if err.kind == "graphql" then err.data = out end
    return nil, err
  end
  return out
end

--- A lazy iterator over the nodes of a connection query, across every page
-- (`first`/`after`; stops when `hasNextPage` is false). Only one page is held
-- in memory at a time.
--    for u in emb:each("users", { first = 100 }) do ... end
-- @tparam string name "users", "authentications", "solutions" or "solution_instances"
-- @tparam[opt] table opts `{ criteria =, first = }` (`first` defaults to 100)
-- @treturn function the iterator
-- @raise the error object when a page fails (an iterator cannot return `nil, err`)
function Embedded:each(name, opts)
  if not _M.QUERIES[name] then
    error(errors.new("usage", tostring(name) .. " is not a connection query (users, authentications, " ..
      "solutions, solution_instances)"), 2)
  end
  local base = {}
  for k, v in pairs(opts or {}) do base[k] = v end
  if base.first == nil then base.first = 100 end
  return pager.iterate(function(cursor)
    if cursor then base.after = cursor end
    local conn, err = run_connection(self, name, base)
    if not conn then error(err, 0) end
    return conn.nodes, pager.next_cursor(conn.pageInfo)
  end)
end

--- All the nodes of a connection query, across every page.
-- @tparam string name
-- @tparam[opt] table opts as for `each`
-- @treturn ?table the nodes
-- @treturn ?table the error
function Embedded:all(name, opts)
  return pager.collect(function() return self:each(name, opts) end)
end

local function url_part(v, name, what)
  if type(v) ~= "string" or v == "" then
    return nil, string.format("%s needs %s (a non-empty string)", what, name)
  end
  if not native.header_safe(v) then
    return nil, string.format("%s: %s holds a control character (CR, LF, NUL ...)", what, name)
  end
  return native.escape(v)
end

local function build_url(self, what, parts, code)
  local segs = {}
  for i, p in ipairs(parts) do
    if p.literal then
      segs[i] = p.literal
    else
      local s, err = url_part(p.value, p.name, what)
      if not s then return usage(err, what) end
      segs[i] = s
    end
  end
  local c, err = url_part(code, "authorizationCode", what)
  if not c then return usage(err, what) end
  return self.embedded_url .. "/" .. table.concat(segs, "/") .. "?code=" .. c
end

--- The config wizard URL of a solution instance:
-- `<embedded>/external/solutions/{partnerId}/configure/{solutionInstanceId}?code={authorizationCode}`.
-- @tparam table a `{ partnerId =, solutionInstanceId =, authorizationCode = }`
-- @treturn ?string the URL (every part percent-encoded)
-- @treturn ?table a `usage` error
function Embedded:config_wizard_url(a)
  if type(a) ~= "table" then return usage("config_wizard_url takes a table", "config_wizard_url") end
  return build_url(self, "config_wizard_url", {
    { literal = "external" }, { literal = "solutions" }, { value = a.partnerId, name = "partnerId" },
    { literal = "configure" }, { value = a.solutionInstanceId, name = "solutionInstanceId" },
  }, a.authorizationCode)
end

--- The auth-only dialog URL: `/external/auth/create/{partnerId}[/{solutionInstanceId}/{externalAuthId}]`
-- to create an authentication, or `/external/auth/edit/{partnerId}/{authId}` to edit one, with `?code=`.
-- @tparam table a `{ partnerId =, authorizationCode =, solutionInstanceId =, externalAuthId =, authId = }`
-- @treturn ?string the URL
-- @treturn ?table a `usage` error
function Embedded:auth_dialog_url(a)
  local what = "auth_dialog_url"
  if type(a) ~= "table" then return usage(what .. " takes a table", what) end
  local parts = { { literal = "external" }, { literal = "auth" } }
  if a.authId ~= nil then
    if a.solutionInstanceId ~= nil or a.externalAuthId ~= nil then
      return usage(what .. ": authId (edit) does not go with solutionInstanceId/externalAuthId (create)", what)
    end
    parts[3] = { literal = "edit" }
    parts[4] = { value = a.partnerId, name = "partnerId" }
    parts[5] = { value = a.authId, name = "authId" }
  else
    parts[3] = { literal = "create" }
    parts[4] = { value = a.partnerId, name = "partnerId" }
    if (a.solutionInstanceId == nil) ~= (a.externalAuthId == nil) then
      return usage(what .. " needs both solutionInstanceId and externalAuthId, or neither", what)
    end
    if a.solutionInstanceId ~= nil then
      parts[5] = { value = a.solutionInstanceId, name = "solutionInstanceId" }
      parts[6] = { value = a.externalAuthId, name = "externalAuthId" }
    end
  end
  return build_url(self, what, parts, a.authorizationCode)
end

--- A client with the same settings that makes its calls with a user token.
-- It shares this client's connections and rate limiter (one account).
-- @tparam string access_token a user token (from `authorize`)
-- @treturn ?table the user client
-- @treturn ?table a `usage` error
function Embedded:as_user(access_token)
  local token, err = transport.check_token(access_token, "the user token")
  if not token then return nil, err end
  local c = setmetatable({}, Embedded)
  for k, v in pairs(self) do c[k] = v end
  errors.add_secret(self.transport.secrets, token) -- nor reaches the master client's errors
  c.transport = self.transport:with_token(token)
  c.token_kind = "user"
  c.token_source = nil
  return c
end

--- A user client for the end user `user_id`, its token from `authorize`, cached
-- until shortly before it expires and renewed once on a 401 (see `tray.tokens`).
-- Only a master client can do this.
-- @tparam string user_id the end user's Tray id
-- @tparam[opt] table opts `{ store =, margin =, ttl =, clock = }` (see `tray.tokens.for_user`)
-- @treturn ?table the user client
-- @treturn ?table the error (`auth` on a user-token client, before any request)
function Embedded:for_user(user_id, opts)
  return require("tray.tokens").for_user(self, user_id, opts)
end

--- Checks a connector input against its operation's input schema, without calling it,
-- with the client's `validator` (see `tray.validate`).
-- @tparam table a `{ connector =, version =, operation =, input = }` (`input` a table or JSON
--   text; `authId` and `validate` are ignored, so a `call_connector` argument table works)
-- @treturn ?boolean true when the input is valid
-- @treturn ?table the error: `validation` (with `errors`), `not_found`, `usage` (no validator),
--   or the error of the schema fetch
function Embedded:validate_input(a)
  return validation.validate_input(self, a, true)
end

--- The form fields of an operation's input schema (`tray.schema.fields`), with the client's
-- `validator`.
-- @tparam table a `{ connector =, version =, operation = }`
-- @treturn ?table the fields, in order
-- @treturn ?table the error
function Embedded:operation_fields(a)
  return validation.operation_fields(self, a)
end

--- Request counters of this client: `{ requests =, retries =, failures = }`.
-- @treturn table
function Embedded:stats()
  return self.transport.stats
end

--- Closes the client's connections (also done at garbage collection).
function Embedded:close()
  self.transport:close()
end

--- Creates a GraphQL client.
-- @tparam[opt] table opts `master_token` or `user_token` (or `TRAY_MASTER_TOKEN`,
-- `TRAY_USER_TOKEN`), `region` (or `TRAY_REGION`), `endpoint` (or `TRAY_GRAPHQL_URL`;
-- overrides the region), `embedded_url` (or `TRAY_EMBEDDED_URL`: the config wizard
-- host; defaults to the region's), and the options every client takes (`timeout`,
-- `connect_timeout`, `rate_limit`, `max_retries`, `user_agent`, `transport`, `ca_file` ...);
-- validated connector calls (see `tray.validate`): `validator` (a `tray.core` client, whose
-- schema cache is shared, or `{ schemas = { ["connector@version/operation"] = inputSchema },
-- core = client? }`), `validate` (true: check every call first; needs `validator`),
-- `schema_ttl`, `schema_clock`, `schema_options`
-- @treturn ?table the client
-- @treturn ?table a `usage` error
function _M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then return errors.fail("usage", "tray.embedded.new takes a table of options") end
  local o, err = transport.options(opts)
  if not o then return nil, err end
  err = validation.check_options(opts, "tray.embedded.new", false)
  if err then return nil, err end
  local token, kind
  if opts.master_token ~= nil then
    token, kind = opts.master_token, "master"
  elseif opts.user_token ~= nil then
    token, kind = opts.user_token, "user"
  elseif os.getenv("TRAY_MASTER_TOKEN") then
    token, kind = os.getenv("TRAY_MASTER_TOKEN"), "master"
  else
    token, kind = os.getenv("TRAY_USER_TOKEN"), "user"
  end
  token, err = transport.check_token(token, kind == "master" and "master_token" or "master_token or user_token")
  if not token then return nil, err end
  local region = opts.region or os.getenv("TRAY_REGION") or "us"
  local urls = native.regions[region]
  if not urls then return errors.fail("usage", "unknown region " .. tostring(region) .. " (us, eu or apac)") end
  local endpoint, host = transport.check_base_url(opts.endpoint or os.getenv("TRAY_GRAPHQL_URL") or urls.graphql,
    "endpoint")
  if not endpoint then return nil, host end
  local embedded_url, eerr = transport.check_base_url(
    opts.embedded_url or os.getenv("TRAY_EMBEDDED_URL") or urls.embedded, "embedded_url")
  if not embedded_url then return nil, eerr end
  local t
  t, err = transport.new(o, token, host)
  if not t then return nil, err end
  return validation.attach(setmetatable({
    endpoint = endpoint, embedded_url = embedded_url, region = region, transport = t, token_kind = kind,
  }, Embedded), opts, false)
end

errors.protect_methods(Embedded, { each = true }) -- a caller's raising table never escapes as a raise
_M.new = errors.protect(_M.new)
_M.Client = Embedded

return _M
