--- The REST Connectivity API (`/core/v1`).
--
--    local core = assert(tray.core.new{ token = os.getenv("TRAY_TOKEN") })
--    local list, err = core:list_connectors()
--    local out, err = core:call_connector{ connector = "twilio-output", version = "2.1",
--      operation = "send_sms", authId = auth_id, input = { to = "+1...", from = "+1...", body = "hi" } }
--
-- Every method is generated from one row of `OPERATIONS`. A method returns the
-- decoded body (`true` for a DELETE), or `nil, err`. Path arguments can be given
-- positionally, as the contract shows (`core:get_workspace(id)`), or by their
-- documented names in a table (`core:get_workspace{ workspaceId = id }`).
-- @module tray.core

local native = require "tray.native"
local errors = require "tray.errors"
local json = require "tray.json"
local client = require "tray.client"
local pager = require "tray.pager"
local validation = require "tray.validate"

local _M = {}

--- The operations: one row each. `path` names its `{parameters}`; `body` lists
-- the JSON body fields, `required` those the API requires and `arrays` those typed as
-- arrays (an empty Lua table there is sent as `[]`) (the OpenAPI text, plus the fields of
-- Tray's Postman collection); `list` marks `{ elements }` lists, which also take the
-- query parameters `first` (1 to 100) and `cursor`/`after` of Tray's paged lists and
-- answer `{ elements, pageInfo }` when the server pages.
_M.OPERATIONS = {
  { name = "list_connectors", method = "GET", path = "/connectors", list = true },
  { name = "get_connector_version", method = "GET",
    path = "/connectors/{connectorName}/versions/{connectorVersion}" },
  { name = "list_connector_operations", method = "GET",
    path = "/connectors/{connectorName}/versions/{connectorVersion}/operations", list = true },
  { name = "call_connector", method = "POST", path = "/connectors/{connector}/versions/{version}/call",
    body = { "operation", "authId", "input", "returnOutputSchema" }, required = { "operation" },
    connector_call = true },
  { name = "list_authentications", method = "GET", path = "/authentications", list = true },
  { name = "create_authentication", method = "POST", path = "/authentications",
    body = { "name", "serviceEnvironmentId", "userData", "credentials", "data", "formData", "scopes" },
    required = { "name", "serviceEnvironmentId" }, arrays = { "scopes" } },
  { name = "get_authentication", method = "GET", path = "/authentications/{authenticationId}" },
  { name = "delete_authentication", method = "DELETE", path = "/authentications/{authenticationId}" },
  { name = "list_triggers", method = "GET", path = "/triggers", list = true },
  { name = "create_subscription", method = "POST", path = "/subscriptions",
    body = { "triggerName", "connectorName", "connectorVersion", "authId", "input" },
    required = { "triggerName", "connectorName", "connectorVersion", "authId", "input" } },
  { name = "delete_subscription", method = "DELETE", path = "/subscriptions/{subscriptionId}" },
  { name = "list_users", method = "GET", path = "/users", list = true },
  { name = "invite_user", method = "POST", path = "/users/invite",
    body = { "email", "role", "workspaceId" }, required = { "email" } },
  { name = "list_workspaces", method = "GET", path = "/workspaces", list = true },
  { name = "get_workspace", method = "GET", path = "/workspaces/{workspaceId}" },
  { name = "export_project", method = "POST", path = "/projects/{projectId}/export" },
  { name = "import_project", method = "POST", path = "/projects/import",
    body = { "exportedData", "workspaceId" }, required = { "exportedData" } },
  { name = "list_service_environments", method = "GET",
    path = "/services/{serviceName}/versions/{serviceVersion}/environments", list = true },
}

local Core = {}
Core.__index = Core

--- The query parameters of a list: paging (`first`, then the `endCursor` of a page as
-- `cursor` or `after`), with how each is checked.
_M.LIST_QUERY = { "first", "cursor", "after" }
local MAX_PAGE = 100

-- Each row gets its parameter names, in path order, once at load time.
for _, op in ipairs(_M.OPERATIONS) do
  op.params = {}
  for p in op.path:gmatch("{(%w+)}") do op.params[#op.params + 1] = p end
  op.accepts = {}
  for _, p in ipairs(op.params) do op.accepts[p] = true end
  for _, f in ipairs(op.body or {}) do op.accepts[f] = true end
  if op.list then
    op.query = _M.LIST_QUERY
    for _, q in ipairs(op.query) do op.accepts[q] = true end
  end
  -- a connector call's `validate` flag (see tray.validate) is taken, never sent
  if op.connector_call then op.accepts.validate = true end
end

local function usage(op, message)
  return errors.fail("usage", message, { operation = op.name })
end

local sorted_keys = require("tray.graphql").sorted_keys

-- The OpenAPI path names of a connector call's arguments, and the names used here.
local CONNECTOR_ALIASES = { connectorName = "connector", connectorVersion = "version" }

-- A connector call's arguments: `{ connector =, version =, ... }` (or `connectorName`,
-- `connectorVersion`), or positional `(connector, version, { operation =, ... })`.
local function connector_args(op, ...)
  local n = select("#", ...)
  local first, second, third = ...
  local args = {}
  if type(first) == "string" then
    if n > 3 or (third ~= nil and type(third) ~= "table") then
      return usage(op, op.name .. " takes (connector, version, { operation =, input =, ... }) or one table")
    end
    for k, v in pairs(third or {}) do args[k] = v end
    if args.connector ~= nil or args.version ~= nil then
      return usage(op, op.name .. ": connector and version are given twice")
    end
    args.connector, args.version = first, second
    return args
  end
  if type(first) ~= "table" or n > 1 then return usage(op, op.name .. " takes a table of arguments") end
  for k, v in pairs(first) do
    local name = CONNECTOR_ALIASES[k]
    if name then
      if first[name] ~= nil and first[name] ~= v then
        return usage(op, string.format("%s: %s and %s are the same argument: give one", op.name, name, k))
      end
      args[name] = v
    else
      args[k] = v
    end
  end
  return args
end

-- Turns the caller's arguments into a table of named arguments.
local function named_args(op, ...)
  if op.connector_call then return connector_args(op, ...) end
  local first = ...
  if type(first) == "table" and not json.is_array(first) then
    if select("#", ...) > 1 then return usage(op, op.name .. " takes one table of arguments") end
    return first
  end
  if op.body or select("#", ...) > #op.params then
    if op.body then return usage(op, op.name .. " takes a table of arguments") end
    return usage(op, op.name .. " takes " .. #op.params .. " argument(s): " .. table.concat(op.params, ", "))
  end
  local args = {}
  for i, p in ipairs(op.params) do args[p] = (select(i, ...)) end
  return args
end

--- Builds the request of an operation from its arguments, checking them first.
-- @tparam table op a row of `OPERATIONS`
-- @tparam table args named arguments
-- @treturn ?string the path (segments percent-encoded)
-- @treturn ?string|table the JSON body (or nil), or a `usage` error
function _M.build(op, args)
  for _, k in ipairs(sorted_keys(args)) do
    if not op.accepts[k] then
      local takes = sorted_keys(op.accepts)
      if #takes == 0 then
        return usage(op, string.format("%s takes no arguments (got %q)", op.name, k))
      end
      return usage(op, string.format("%s does not take %q (it takes: %s)", op.name, k, table.concat(takes, ", ")))
    end
  end
  local path = op.path:gsub("{(%w+)}", function(p)
    local v = args[p]
    if type(v) ~= "string" or v == "" then return "\0" .. p end
    -- an id never holds CR, LF, NUL or another control character: refuse it
    -- rather than send it (even percent-encoded)
    if not native.header_safe(v) then return "\1" .. p end
    return native.escape(v)
  end)
  local missing = path:match("%z(%w+)")
  if missing then
    return usage(op, string.format("%s needs %s (a non-empty string)", op.name, missing))
  end
  local unsafe = path:match("\1(%w+)")
  if unsafe then
    return usage(op, string.format("%s: %s holds a control character (CR, LF, NUL ...)", op.name, unsafe))
  end
  for _, f in ipairs(op.required or {}) do
    if args[f] == nil or args[f] == "" then
      return usage(op, string.format("%s needs %s", op.name, f))
    end
  end
  if op.query then
    local query = {}
    for _, q in ipairs(op.query) do
      local v = args[q]
      if v ~= nil then
        if q == "first" then
          if type(v) ~= "number" or v % 1 ~= 0 or v < 1 or v > MAX_PAGE then
            return usage(op, string.format("%s: first must be an integer from 1 to %d", op.name, MAX_PAGE))
          end
          v = string.format("%d", v)
        elseif type(v) ~= "string" or v == "" or not native.header_safe(v) then
          return usage(op, string.format("%s: %s must be a non-empty string (a page's endCursor)", op.name, q))
        end
        query[#query + 1] = q .. "=" .. native.escape(v)
      end
    end
    if args.cursor ~= nil and args.after ~= nil then
      return usage(op, op.name .. ": give cursor or after, not both")
    end
    if #query > 0 then path = path .. "?" .. table.concat(query, "&") end
  end
  if not op.body then
    return path, nil
  end
  local body = {}
  for _, f in ipairs(op.body) do body[f] = args[f] end
  for _, f in ipairs(op.arrays or {}) do
    -- an empty table in an array-typed field is [] (cjson would send {})
    local v = body[f]
    if type(v) == "table" and next(v) == nil and getmetatable(v) == nil then body[f] = json.array() end
  end
  local text, err = json.encode(body)
  if not text then return usage(op, op.name .. ": arguments cannot be sent as JSON: " .. err) end
  return path, text
end

--- Decodes a REST answer into the method's result or an error.
-- @tparam table op the row
-- @tparam number status
-- @tparam string body
-- @tparam table headers lowercase names
-- @return the result
-- @treturn ?table the error
function _M.decode(op, status, body, headers)
  if status >= 200 and status < 300 then
    if op.method == "DELETE" then return true end
    local value, why = json.decode(body)
    if value == nil or type(value) ~= "table" then
      return errors.fail("decode", "the response is not a JSON object: " .. (why or "got " .. type(value)),
        { status = status, body = body, operation = op.name })
    end
    if op.connector_call and value.outcome == "error" then
      local out = value.output
      local msg = type(out) == "table" and (out.message or out.error) or nil
      return errors.fail("connector", "the connector answered with an error" ..
        (type(msg) == "string" and (": " .. msg) or ""), { status = status, output = out, operation = op.name })
    end
    return value
  end
  if status >= 300 and status < 400 then return client.redirect_error(headers, status, op.name) end
  local decoded = json.decode(body)
  local message, code = errors.rest_message(decoded)
  local kind = errors.kind_for_status(status)
  message = message or ("HTTP " .. status)
  return errors.fail(kind, message, { status = status, code = code, body = body, operation = op.name })
end

local function make_method(op)
  return function(self, ...)
    local args, err = named_args(op, ...)
    if not args then return nil, err end
    local path, body = _M.build(op, args)
    if not path then return nil, body end
    if op.connector_call then
      local ok, verr = validation.before_call(self, args, args.validate, op.name)
      if not ok then return nil, verr end
    end
    return self.transport:call({
      method = op.method, url = self.base_url .. path, body = body,
      idempotent = op.method == "GET", operation = op.name,
    }, op.decode)
  end
end

_M.by_name = {}
for _, op in ipairs(_M.OPERATIONS) do
  op.decode = function(status, body, headers) return _M.decode(op, status, body, headers) end
  Core[op.name] = make_method(op)
  _M.by_name[op.name] = op
end

--- Creates a REST client.
-- @tparam[opt] table opts `token` (or `TRAY_TOKEN`), `region` ("us", "eu", "apac", also
-- "eu1", "ap1", any case; or `TRAY_REGION`), `base_url` (or `TRAY_CORE_URL`; an explicit
-- `region` beats `TRAY_CORE_URL`), and the options every client takes (see `tray.client`:
-- `timeout`, `connect_timeout`, `rate_limit`, `max_retries`, `user_agent`, `transport`,
-- `backend`, `ca_file`, `proxy`, `max_body`, `retry_base`, `retry_cap`, `max_retry_wait`,
-- `log`, `on_request`, `on_response`); validated connector calls (see `tray.validate`):
-- `validate` (true: check every `call_connector` input first), `schema_ttl` (seconds,
-- default 600), `schema_clock`, `schema_options`, `validator`. An unknown option is a
-- `usage` error.
-- @treturn ?table the client
-- @treturn ?table a `usage` error
function _M.new(opts)
  opts = opts or {}
  local o, err = client.options(opts, "core", "tray.core.new")
  if not o then return nil, err end
  err = validation.check_options(opts, "tray.core.new", true)
  if err then return nil, err end
  local sources = {}
  local token = opts.token
  if token == nil then
    token = os.getenv("TRAY_TOKEN")
    if token ~= nil then sources.token = "TRAY_TOKEN" end
  end
  token, err = client.check_token(token, "token")
  if not token then return nil, err end
  local region, urls = client.region(opts, sources)
  if not region then return nil, urls end
  local base_url, host = client.url(opts, { "base_url" }, "TRAY_CORE_URL", "core", urls, sources)
  if not base_url then return nil, host end
  local self = setmetatable({ base_url = base_url, region = region, sources = sources, client_name = "tray.core" },
    Core)
  local ok
  ok, err = client.connect(self, o, token, host)
  if not ok then return nil, err end
  return validation.attach(self, opts, true)
end

--- Checks a connector input against its operation's input schema, without calling it
-- (the schema is fetched with `list_connector_operations` and cached, see `tray.validate`).
-- @tparam table a `{ connector =, version =, operation =, input = }` (a `call_connector`
--   argument table also works: `authId`, `returnOutputSchema`, `validate` are ignored)
-- @treturn ?boolean true when the input is valid
-- @treturn ?table the error: `validation` (with `errors`), `not_found` (no such operation),
--   or the error of the schema fetch
function Core:validate_input(a)
  return validation.validate_input(self, a)
end

--- The form fields of an operation's input schema (`tray.schema.fields`), for building forms.
-- @tparam table a `{ connector =, version =, operation = }`
-- @treturn ?table the fields, in order
-- @treturn ?table the error of the schema lookup
function Core:operation_fields(a)
  return validation.operation_fields(self, a)
end

--- Iterates over the elements of a list operation, page by page: every request asks for
-- `first` elements (default 100) and the next one passes the page's `endCursor` as
-- `after`, while the server answers `{ elements, pageInfo }` with `hasNextPage`; a server
-- that does not page answers the one `{ elements }` page. Only one page is held at a time.
-- It raises the error object if a page fails (an iterator cannot return `nil, err`).
--    for u in core:each("list_users", { first = 50 }) do print(u.email) end
-- @tparam string name a list operation, e.g. "list_connectors"
-- @param ... the operation's arguments (with `first`, and `cursor`/`after` to start later)
-- @treturn function iterator over elements
-- @raise the error object of a failed page
function Core:each(name, ...)
  local op = _M.by_name[name]
  if not op or not op.list then error(errors.new("usage", tostring(name) .. " is not a list operation"), 2) end
  local args, err = named_args(op, ...)
  if not args then error(err, 2) end
  local base = {}
  for k, v in pairs(args) do base[k] = v end
  if base.first == nil then base.first = MAX_PAGE end
  local path, perr = _M.build(op, base)
  if not path then error(perr, 2) end
  return pager.iterate(function(cursor)
    if cursor then
      base.cursor, base.after = nil, cursor
      local next_path, e = _M.build(op, base)
      if not next_path then error(e, 0) end
      path = next_path
    end
    local body, e = self.transport:call({ method = "GET", url = self.base_url .. path, idempotent = true,
      operation = op.name }, op.decode)
    if not body then error(e, 0) end
    local elements = body.elements
    if elements ~= nil and type(elements) ~= "table" then
      error(errors.new("decode", "unexpected response: elements is not a list", { operation = op.name }), 0)
    end
    return elements, pager.next_cursor(body.pageInfo)
  end)
end

client.finish(Core, "tray.core", "core")
_M.new = client.protect(_M.new, "tray.core.new") -- a caller's raising options table never escapes as a raise
_M.Client = Core

return _M
