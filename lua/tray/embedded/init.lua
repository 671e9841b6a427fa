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

local errors = require "tray.errors"
local json = require "tray.json"
local gql = require "tray.graphql"
local client = require "tray.client"
local pager = require "tray.pager"
local validation = require "tray.validate"
local tokens = require "tray.tokens"
local ops = require "tray.embedded.operations"
local documents = require "tray.embedded.documents"
local urls = require "tray.embedded.urls"

local _M = {}

--- Connection queries (see `tray.embedded.operations`).
_M.QUERIES = ops.QUERIES
--- Mutations (see `tray.embedded.operations`).
_M.MUTATIONS = ops.MUTATIONS

local DOC_JSON = documents.DOC_JSON

-- ---------------------------------------------------------------------------
-- The client.

local Embedded = {}
Embedded.__index = Embedded

local function usage(message, operation)
  return errors.fail("usage", message, { operation = operation })
end

--- Refuses a call whose token rule this client cannot meet, before any request.
-- @tparam string rule `"master"`, `"user"` or `"any"` (an operation row's `token`)
-- @tparam string operation the method, for the message
-- @treturn ?nil nothing when the client may make the call
-- @treturn ?table an `auth` error otherwise
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
  if status >= 300 and status < 400 then return client.redirect_error(headers, status, operation) end
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

-- The unwrapped token check, for calls inside this module: `client.finish` wraps every
-- public method in a guard (a `:` check and a pcall) that a call made here needs no second
-- time. (`send` stays a method call: a `for_user` client's class overrides it.)
local check_token = Embedded.check_token

--- Runs any GraphQL document (no token pre-check). It is retried like a query only
-- when the operation that runs (the one named `operation_name`, or the only one) is a
-- query; any other document, or one whose operation cannot be told, is sent once, as a
-- mutation is.
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
  return self:send(document, variables, "query", documents.operation_kind(document, operation_name) == "query",
    operation_name)
end

local function dig(data, path)
  for i = 1, #path do
    if type(data) ~= "table" then return nil end
    data = data[path[i]]
  end
  return data
end

local function shape_error(name, what)
  return errors.fail("decode", "unexpected response: " .. what, { operation = name })
end

local WHERE = setmetatable({}, { __mode = "k" }) -- row -> its path as text ("a.b")

-- Checks the shape of a connection and adds its `nodes`; any shape the SDK does not
-- expect is a `decode` error.
local function connection_nodes(name, q, conn)
  local where = WHERE[q]
  if not where then
    where = table.concat(q.path, ".")
    WHERE[q] = where
  end
  if type(conn) ~= "table" or conn[1] ~= nil then return shape_error(name, where .. " is not an object") end
  local edges = conn.edges
  local nodes = {}
  if edges ~= nil and edges ~= json.null then
    if type(edges) ~= "table" then return shape_error(name, where .. ".edges is not a list") end
    local n = #edges
    for k in pairs(edges) do
      if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then
        return shape_error(name, where .. ".edges is not a list")
      end
    end
    for i = 1, n do
      local e = edges[i]
      if type(e) ~= "table" then return shape_error(name, string.format("%s.edges[%d] is not an object", where, i)) end
      if type(e.node) ~= "table" then
        return shape_error(name, string.format("%s.edges[%d].node is not an object", where, i))
      end
      nodes[i] = e.node
    end
  end
  local info = conn.pageInfo
  if info ~= nil and info ~= json.null and type(info) ~= "table" then
    return shape_error(name, where .. ".pageInfo is not an object")
  end
  conn.nodes = nodes
  return conn
end

local function run_connection(self, name, opts)
  local q = _M.QUERIES[name]
  local ok, err = check_token(self, q.token, name)
  if not ok then return nil, err end
  local doc, vars = documents.connection_request(name, q, opts)
  if not doc then return usage(vars, name) end
  local data
  data, err = self:send(doc, vars, name, true)
  if not data then return nil, err end
  return connection_nodes(name, q, dig(data, q.path))
end

for name in pairs(_M.QUERIES) do
  Embedded[name] = function(self, opts) return run_connection(self, name, opts) end
end

local function run_mutation(self, name, args)
  local m = _M.MUTATIONS[name]
  local ok, err = self:check_token(m.token, name)
  if not ok then return nil, err end
  local flag
  if m.json_input then args, flag = validation.take_flag(args) end -- `validate` is taken, never sent
  local doc, vars = documents.mutation_request(name, m, args)
  if not doc then return usage(vars, name) end
  if m.json_input then
    ok, err = validation.before_call(self, args, flag, name, true)
    if not ok then return nil, err end
  end
  local data
  data, err = self:send(doc, vars, name, false)
  if not data then return nil, err end
  local payload = data[m.field]
  if type(payload) ~= "table" or payload[1] ~= nil then
    return errors.fail("decode", "the response has no " .. m.field .. " payload", { operation = name })
  end
  errors.add_secret_fields(self.transport.secrets, payload) -- an issued token never reaches this client's errors
  if m.json_input then
    payload.output = _M.decode_output(payload.output)
  end
  return payload
end

--- Decodes a connector's `output`: Tray's schema types it `Json`, which a server may send
-- as the stringified JSON the docs describe or as the JSON value itself; both give the
-- value (a string that is not JSON text is kept as it is).
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
  local aliases = {}
  for alias in pairs(calls) do
    if type(alias) ~= "string" then return usage("invalid alias " .. tostring(alias), "call_connectors") end
    aliases[#aliases + 1] = alias
  end
  table.sort(aliases)
  local taken, checks = {}, {}
  for _, alias in ipairs(aliases) do
    if not gql.is_name(alias) then return usage("invalid alias " .. alias, "call_connectors") end
    local call, flag = validation.take_flag(calls[alias])
    taken[alias] = call
    checks[#checks + 1] = { alias = alias, args = call, flag = flag }
  end
  local doc, vars = documents.call_connectors_request(taken)
  if not doc then return usage(vars, "call_connectors") end
  ok, err = validation.before_calls(self, checks, opts and opts.validate, "call_connectors")
  if not ok then return nil, err end
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
-- in memory at a time. A connection that takes no paging arguments
-- (`authentications`) yields its one page.
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
  local q = _M.QUERIES[name]
  local base = {}
  for k, v in pairs(opts or {}) do base[k] = v end
  if q.paged and base.first == nil then base.first = 100 end
  return pager.iterate(function(cursor)
    if cursor then base.after = cursor end
    local conn, err = run_connection(self, name, base)
    if not conn then error(err, 0) end
    -- a connection without paging arguments (authentications) is one page
    if not q.paged then return conn.nodes, nil end
    return conn.nodes, pager.next_cursor(conn.pageInfo)
  end)
end

--- The config wizard URL of a solution instance:
-- `<embedded>/external/solutions/{partnerId}/configure/{solutionInstanceId}?code={authorizationCode}`.
-- @tparam table a `{ partnerId =, solutionInstanceId =, authorizationCode = }`
-- @treturn ?string the URL (every part percent-encoded)
-- @treturn ?table a `usage` error
function Embedded:config_wizard_url(a)
  local url, why = urls.config_wizard(self.embedded_url, a)
  if not url then return usage(why, "config_wizard_url") end
  return url
end

--- The auth-only dialog URL (no request), in one of three forms:
-- `/external/auth/create/{partnerId}/{solutionInstanceId}/{externalAuthId}?code=` (an instance's auth slot),
-- `/external/auth/create/{partnerId}?code=&serviceId=&serviceEnvironmentId=[&scopes[]=...]` (a standalone
-- authentication; `scopes` a list of strings, each sent as its own `scopes[]`), or
-- `/external/auth/edit/{partnerId}/{authId}?code=`.
-- @tparam table a `{ partnerId =, authorizationCode =, solutionInstanceId =, externalAuthId =, serviceId =,
--   serviceEnvironmentId =, scopes =, authId = }`
-- @treturn ?string the URL
-- @treturn ?table a `usage` error
function Embedded:auth_dialog_url(a)
  local url, why = urls.auth_dialog(self.embedded_url, a)
  if not url then return usage(why, "auth_dialog_url") end
  return url
end

--- A client with the same settings that makes its calls with a user token.
-- It shares this client's connections and rate limiter (one account).
-- @tparam string access_token a user token (from `authorize`)
-- @treturn ?table the user client
-- @treturn ?table a `usage` error
function Embedded:as_user(access_token)
  local token, err = client.check_token(access_token, "the user token")
  if not token then return nil, err end
  local c = setmetatable({}, Embedded)
  for k, v in pairs(self) do c[k] = v end
  errors.add_secret(self.transport.secrets, token) -- nor reaches the master client's errors
  c.transport = self.transport:with_token(token)
  c.token_kind = "user"
  c.token_source = nil
  c.sources = {}
  for k, v in pairs(self.sources or {}) do c.sources[k] = v end
  c.sources.token = nil -- the user token was given here, not by the environment
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
  return tokens.for_user(self, user_id, opts)
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

--- Creates a GraphQL client.
-- @tparam[opt] table opts `master_token` or `user_token` (or `TRAY_MASTER_TOKEN`,
-- `TRAY_USER_TOKEN`), `region` ("us", "eu", "apac", also "eu1", "ap1", any case; or
-- `TRAY_REGION`), `base_url` (alias `endpoint`; or `TRAY_GRAPHQL_URL`; an explicit
-- `region` beats the environment), `embedded_url` (or `TRAY_EMBEDDED_URL`: the config
-- wizard host; defaults to the region's), `token_store`, `token_margin` (see
-- `tray.tokens`), and the options every client takes (see `tray.client`: `timeout`,
-- `connect_timeout`, `rate_limit`, `max_retries`, `user_agent`, `transport`, `backend`,
-- `ca_file`, `proxy`, `log`, `on_request`, `on_response` ...); validated connector calls
-- (see `tray.validate`): `validator` (a `tray.core` client, whose schema cache is shared,
-- or `{ schemas = { ["connector@version/operation"] = inputSchema }, core = client? }`),
-- `validate` (true: check every call first; needs `validator`), `schema_ttl`,
-- `schema_clock`, `schema_options`. An unknown option is a `usage` error.
-- @treturn ?table the client
-- @treturn ?table a `usage` error
function _M.new(opts)
  opts = opts or {}
  local o, err = client.options(opts, "embedded", "tray.embedded.new")
  if not o then return nil, err end
  err = validation.check_options(opts, "tray.embedded.new", false)
  if err then return nil, err end
  local sources = {}
  local token, kind
  if opts.master_token ~= nil then
    token, kind = opts.master_token, "master"
  elseif opts.user_token ~= nil then
    token, kind = opts.user_token, "user"
  elseif os.getenv("TRAY_MASTER_TOKEN") then
    token, kind = os.getenv("TRAY_MASTER_TOKEN"), "master"
    sources.token = "TRAY_MASTER_TOKEN"
  else
    token, kind = os.getenv("TRAY_USER_TOKEN"), "user"
    if token ~= nil then sources.token = "TRAY_USER_TOKEN" end
  end
  token, err = client.check_token(token, kind == "master" and "master_token" or "master_token or user_token")
  if not token then return nil, err end
  local region, region_urls = client.region(opts, sources)
  if not region then return nil, region_urls end
  local endpoint, host = client.url(opts, { "base_url", "endpoint" }, "TRAY_GRAPHQL_URL", "graphql", region_urls,
    sources)
  if not endpoint then return nil, host end
  local embedded_url, eerr = client.url(opts, { "embedded_url" }, "TRAY_EMBEDDED_URL", "embedded", region_urls,
    sources)
  if not embedded_url then return nil, eerr end
  local self = setmetatable({
    endpoint = endpoint, embedded_url = embedded_url, region = region, token_kind = kind, sources = sources,
    client_name = "tray.embedded",
  }, Embedded)
  local ok
  ok, err = client.connect(self, o, token, host)
  if not ok then return nil, err end
  return validation.attach(self, opts, false)
end

client.finish(Embedded, "tray.embedded", "emb")
_M.new = client.protect(_M.new, "tray.embedded.new") -- a caller's raising options table never escapes as a raise
_M.Client = Embedded

return _M
