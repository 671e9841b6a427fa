--- Validated connector calls: an operation's `inputSchema`, fetched once and cached, checked
-- before the (billable) call leaves the process.
--
--    local core = assert(tray.core.new{ token = TOKEN, validate = true })      -- every call
--    local out, err = core:call_connector{ connector = "twilio-output", version = "2.1",
--      operation = "send_sms", authId = auth_id, input = { to = "+1555..." } }
--    -- err.kind == "validation", err.errors == { { path = "/from", message = "required" }, ... }
--
--    local emb = assert(tray.embedded.new{ master_token = MASTER, validator = core })
--    emb:call_connector{ ..., validate = true }
--
-- A validator holds where the schemas come from (a `tray.core` client, whose
-- `list_connector_operations` it calls, and/or a table of schemas) and a cache of the
-- operations of each connector version, kept `ttl` seconds. Both clients hold one
-- (`client.validator`); `tray.core` builds its own, `tray.embedded` takes one with its
-- `validator` option. Checks use `tray.schema.validate` with strict `oneOf` (exactly one
-- branch), as the API's own JSON Schema validator does.
--
-- Outcomes of a check: `true`; `nil, err` with `kind = "validation"` and `err.errors` (every
-- violation, `{ path, message }`) when the input breaks the schema, or when a bound of
-- `tray.schema` stopped the check (`err.limit`: `"depth"` for an input nested too deep,
-- `"nesting"` or `"steps"` for a schema too complex to check; nothing is sent); `kind = "not_found"` when
-- the connector version has no such operation (nothing is sent either); or the error of the
-- schema fetch itself (`network`, `auth`, `not_found` for an unknown connector version ...).
-- @module tray.validate

local native = require "tray.native"
local errors = require "tray.errors"
local json = require "tray.json"
local schema = require "tray.schema"

local _M = {}

--- Default cache lifetime of a connector version's operations, in seconds (10 minutes).
_M.DEFAULT_TTL = 600

--- At most this many violations are spelled out in `err.message` (`err.errors` has them all).
_M.MAX_LISTED = 20

local Validator = {}
Validator.__index = Validator

local function usage(message, operation)
  return errors.fail("usage", message, { operation = operation })
end

local function schema_key(connector, version, operation)
  return connector .. "@" .. version .. "/" .. operation
end

-- Where schemas come from: nil when fine, else why not.
local function check_source(o)
  if o.core ~= nil and (type(o.core) ~= "table" or type(o.core.list_connector_operations) ~= "function") then
    return "core must be a tray.core client"
  end
  if o.schemas ~= nil then
    if type(o.schemas) ~= "table" then return "schemas must be a table" end
    for k, v in pairs(o.schemas) do
      if type(k) ~= "string" or not k:find("^[^@/]+@[^@/]+/[^/]+$") then
        return "schemas keys are \"connector@version/operation\", not " .. tostring(k)
      end
      if type(v) ~= "table" and type(v) ~= "boolean" then return "schemas[" .. k .. "] must be a schema table" end
    end
  end
  if o.core == nil and o.schemas == nil then return "a validator needs core (a tray.core client) or schemas" end
  return nil
end

-- The cache and checking options: nil when fine, else why not.
local function check_tuning(ttl, clock, schema_options, prefix)
  if ttl ~= nil and (type(ttl) ~= "number" or ttl ~= ttl or ttl < 0) then
    return prefix .. "ttl must be a non-negative number of seconds"
  end
  if clock ~= nil and type(clock) ~= "function" then return prefix .. "clock must be a function" end
  if schema_options ~= nil and type(schema_options) ~= "table" then return "schema_options must be a table" end
  return nil
end

--- Creates a validator.
-- @tparam table opts `core` (a `tray.core` client: schemas are fetched with its
--   `list_connector_operations`), `schemas` (`{ ["connector@version/operation"] = inputSchema }`,
--   looked up first), at least one of the two; `ttl` (seconds a connector version's operations
--   stay cached, default 600; 0 fetches every time); `clock` (a function returning seconds,
--   default a monotonic clock); `schema_options` (passed to `tray.schema.validate`, e.g.
--   `{ pattern = fn }`)
-- @treturn ?table the validator
-- @treturn ?table a `usage` error
function _M.new(opts)
  if type(opts) ~= "table" then return usage("tray.validate.new takes a table of options") end
  local why = check_source(opts) or check_tuning(opts.ttl, opts.clock, opts.schema_options, "")
  if why then return usage(why) end
  return setmetatable({
    core = opts.core, schemas = opts.schemas, ttl = opts.ttl or _M.DEFAULT_TTL, clock = opts.clock or native.now,
    schema_options = opts.schema_options, cache = {},
    -- `fetches`: operation lists fetched; `hits`: lookups answered from the cache
    stats = { fetches = 0, hits = 0 },
  }, Validator)
end

--- Is `v` a validator made by `new`?
-- @param v any value
-- @treturn boolean
function _M.is(v)
  return getmetatable(v) == Validator
end

-- The fresh cache entry of a connector version, or nil.
local function cached(self, key)
  local entry = self.cache[key]
  if entry and self.clock() - entry.at < self.ttl then
    self.stats.hits = self.stats.hits + 1
    return entry.ops
  end
  return nil
end

--- The operations of a connector version, `{ [name] = operation }`, from the cache or fetched.
-- A caller that needs a list another caller is already fetching waits for it rather than
-- fetching it again (the core client's backend's single flight, in every runtime).
-- @tparam string connector
-- @tparam string version
-- @treturn ?table the operations by name (each as the API lists it: `name`, `inputSchema`, ...)
-- @treturn ?table the error of the fetch
function Validator:operations(connector, version)
  if not self.core then
    return errors.fail("not_found", "no tray.core client to fetch the operations of " .. connector .. " " .. version)
  end
  local key = connector .. "@" .. version
  local ops = cached(self, key)
  if ops then return ops end
  local core = self.core
  local function fetch()
    self.stats.fetches = self.stats.fetches + 1
    return core:list_connector_operations(connector, version)
  end
  local backend = type(core) == "table" and type(core.transport) == "table" and core.transport.backend
  local body, err
  if backend then
    body, err = backend:once("tray.validate:" .. tostring(self) .. ":" .. key, fetch)
  else
    body, err = fetch()
  end
  if not body then return nil, err end
  local elements = type(body) == "table" and body.elements
  if type(elements) ~= "table" then
    return errors.fail("decode", "the operations of " .. connector .. " " .. version .. " have no elements list",
      { operation = "list_connector_operations" })
  end
  ops = {}
  for _, op in ipairs(elements) do
    if type(op) == "table" and type(op.name) == "string" then ops[op.name] = op end
  end
  self.cache[key] = { at = self.clock(), ops = ops }
  return ops
end

--- One operation, `{ name =, inputSchema =, ... }`: from `schemas`, else from the operation list.
-- @tparam string connector
-- @tparam string version
-- @tparam string operation
-- @treturn ?table the operation
-- @treturn ?table the error: `not_found` when the connector version has no such operation
function Validator:operation(connector, version, operation)
  local schemas = self.schemas
  if schemas then
    local s = schemas[schema_key(connector, version, operation)]
    if s ~= nil then return { name = operation, inputSchema = s } end
    if not self.core then
      return errors.fail("not_found", "the validator has no input schema for " ..
        schema_key(connector, version, operation))
    end
  end
  local ops, err = self:operations(connector, version)
  if not ops then return nil, err end
  local op = ops[operation]
  if not op then
    return errors.fail("not_found", string.format("connector %s %s has no operation %s", connector, version,
      operation))
  end
  return op
end

--- Forgets the cached operations (all of them, or those of one connector version).
-- @tparam[opt] string connector
-- @tparam[opt] string version
function Validator:clear(connector, version)
  if connector then
    self.cache[connector .. "@" .. tostring(version)] = nil
  else
    self.cache = {}
  end
end

local function describe(errs)
  local parts = {}
  for i = 1, math.min(#errs, _M.MAX_LISTED) do
    local e = errs[i]
    parts[i] = (e.alias and (e.alias .. " ") or "") .. (e.path == "" and "(root)" or e.path) .. ": " .. e.message
  end
  local s = table.concat(parts, "; ")
  if #errs > _M.MAX_LISTED then s = s .. string.format(" (and %d more)", #errs - _M.MAX_LISTED) end
  return s
end

--- Checks an input against an operation's input schema.
-- @tparam string connector
-- @tparam string version
-- @tparam string operation
-- @param input the input (`nil` is checked as `{}`, as the API takes a missing input)
-- @tparam[opt] string what the SDK operation, for `err.operation`
-- @treturn ?boolean true when the input is valid
-- @treturn ?table the error: `validation` with `errors`, or the error of the schema lookup
function Validator:check(connector, version, operation, input, what)
  local op, err = self:operation(connector, version, operation)
  if not op then
    err.operation = err.operation or what
    return nil, err
  end
  local s = op.inputSchema
  if s == nil or s == json.null then return true end -- an operation without a schema takes anything
  if input == nil then input = json.object() end
  local ok, errs, limit = schema.validate(s, input, self.schema_options)
  if ok then return true end
  local head = "input breaks the input schema of "
  if limit == "nesting" or limit == "steps" then head = "cannot check the input against the input schema of " end
  return errors.fail("validation", head .. operation .. ": " .. describe(errs),
    { errors = errs, limit = limit, operation = what, connector = connector, version = version,
      connector_operation = operation })
end

--- The form fields of an operation's input schema (`tray.schema.fields`).
-- @tparam string connector
-- @tparam string version
-- @tparam string operation
-- @treturn ?table the fields
-- @treturn ?table the error of the schema lookup
function Validator:fields(connector, version, operation)
  local op, err = self:operation(connector, version, operation)
  if not op then return nil, err end
  local s = op.inputSchema
  if type(s) ~= "table" then return {} end
  return schema.fields(s)
end

-- ---------------------------------------------------------------------------
-- What the clients use.

--- Checks the validation options of a client (`validate`, `validator`, `schema_ttl`,
-- `schema_clock`, `schema_options`) before the client is made.
-- @tparam table opts the client's options
-- @tparam string what the constructor, for messages
-- @tparam boolean own_source true for a client that can fetch schemas itself (`tray.core`)
-- @treturn ?table a `usage` error, or nil when the options are fine
function _M.check_options(opts, what, own_source)
  local function bad(message) return errors.new("usage", what .. ": " .. message) end
  if opts.validate ~= nil and type(opts.validate) ~= "boolean" then return bad("validate must be a boolean") end
  local why = check_tuning(opts.schema_ttl, opts.schema_clock, opts.schema_options, "schema_")
  if why then return bad(why) end
  local v = opts.validator
  if v == nil then
    if opts.validate == true and not own_source then
      return bad("validate = true needs a validator (a tray.core client or " ..
        "{ schemas = { [\"connector@version/operation\"] = inputSchema } })")
    end
    return nil
  end
  if _M.is(v) then return nil end
  if type(v) ~= "table" then
    return bad("validator must be a tray.core client, { schemas =, core = } or a tray.validate validator")
  end
  if type(v.list_connector_operations) == "function" then return nil end
  why = check_source(v)
  if why then return bad("validator: " .. why) end
  for k in pairs(v) do
    if k ~= "schemas" and k ~= "core" then
      return bad("validator does not take " .. tostring(k) .. " (schemas, core)")
    end
  end
  return nil
end

--- Gives a client its validator (`client.validator`) and its default (`client.validate_calls`).
-- A `tray.core` client given as `validator` lends its own validator (and so its cache).
-- @tparam table client the new client
-- @tparam table opts its options (already checked with `check_options`)
-- @tparam boolean own_source true when the client itself can fetch schemas (`tray.core`)
-- @treturn table the client
function _M.attach(client, opts, own_source)
  local v = opts.validator
  local base = { ttl = opts.schema_ttl, clock = opts.schema_clock, schema_options = opts.schema_options }
  if v == nil then
    if own_source then
      base.core = client
      v = _M.new(base)
    end
  elseif not _M.is(v) then
    if _M.is(v.validator) then
      v = v.validator
    else
      if type(v.list_connector_operations) == "function" then
        base.core = v
      else
        base.core, base.schemas = v.core, v.schemas
      end
      v = _M.new(base)
    end
  end
  client.validator = v
  client.validate_calls = opts.validate == true
  return client
end

--- Copies a call's arguments without its `validate` flag.
-- @param args the caller's arguments
-- @return the arguments without `validate` (`args` itself when it is not a table or has none)
-- @return the flag
function _M.take_flag(args)
  if type(args) ~= "table" or args.validate == nil then return args, nil end
  local copy = {}
  for k, v in pairs(args) do
    if k ~= "validate" then copy[k] = v end
  end
  return copy, args.validate
end

-- The input to check: a JSON string is decoded when the client sends inputs as JSON text.
local function input_of(args, json_text)
  local input = args.input
  if json_text and type(input) == "string" then
    local v, why = json.decode(input)
    if v == nil then
      return nil, { { path = "", message = "not JSON: " .. tostring(why) } }
    end
    return v
  end
  return input
end

local function resolve_flag(client, flags, what)
  local flag
  for i = 1, #flags do
    local f = flags[i]
    if f ~= nil then
      if type(f) ~= "boolean" then return usage(what .. ": validate must be a boolean", what) end
      if flag == nil then flag = f end
    end
  end
  if flag == nil then flag = client.validate_calls == true end
  if flag and not client.validator then
    return usage(what .. ": validate = true needs a validator (tray.embedded.new{ validator = core_client }" ..
      " or { schemas = ... })", what)
  end
  return flag
end

-- Checks one call's input; `json_text`: a string input is JSON text (the GraphQL API).
local function check_call(v, args, json_text, what)
  if type(args.operation) ~= "string" or args.operation == "" then
    return usage(what .. " needs operation (a non-empty string)", what)
  end
  local input, bad = input_of(args, json_text)
  if bad then
    return errors.fail("validation", "input breaks the input schema of " .. args.operation .. ": " .. describe(bad),
      { errors = bad, operation = what, connector = args.connector, version = args.version,
        connector_operation = args.operation })
  end
  return v:check(args.connector, args.version, args.operation, input, what)
end

--- Before a connector call: validates its input when the call's `validate` flag (or the
-- client's `validate` option) asks for it.
-- @tparam table client the client (`validator`, `validate_calls`)
-- @tparam table args the call's arguments (`connector`, `version`, `operation`, `input`)
-- @param flag the call's `validate` flag (nil: the client's default)
-- @tparam string what the SDK operation
-- @tparam[opt] boolean json_text a string input is JSON text to decode (GraphQL)
-- @treturn ?boolean true to go on
-- @treturn ?table the error
function _M.before_call(client, args, flag, what, json_text)
  local want, err = resolve_flag(client, { flag }, what)
  if want == nil then return nil, err end
  if not want then return true end
  return check_call(client.validator, args, json_text, what)
end

--- Before several connector calls (GraphQL aliases): validates each call that asks for it
-- and reports the violations of all of them in one `validation` error (each entry of
-- `err.errors` has the call's `alias`).
-- @tparam table client
-- @tparam table checks a list of `{ alias =, args =, flag = }`
-- @param flag the batch's flag (nil: the client's default); a call's own flag wins
-- @tparam string what
-- @treturn ?boolean true to go on
-- @treturn ?table the error (a lookup error names its alias in the message)
function _M.before_calls(client, checks, flag, what)
  local all, names = {}, {}
  for _, c in ipairs(checks) do
    local want, err = resolve_flag(client, { c.flag, flag }, what)
    if want == nil then return nil, err end
    if want then
      local ok
      ok, err = check_call(client.validator, c.args, true, what)
      if not ok then
        if err.kind ~= "validation" then
          err.message = c.alias .. ": " .. err.message
          return nil, err
        end
        names[#names + 1] = c.alias .. " (" .. tostring(c.args.operation) .. ")"
        for _, e in ipairs(err.errors) do
          e.alias = c.alias
          all[#all + 1] = e
        end
      end
    end
  end
  if #all == 0 then return true end
  return errors.fail("validation", "input breaks the input schema of " .. table.concat(names, ", ") .. ": " ..
    describe(all), { errors = all, operation = what })
end

local ARGS = { connector = true, version = true, operation = true, input = true,
               authId = true, returnOutputSchema = true, validate = true }

local function lookup_args(client, a, what)
  if type(a) ~= "table" then return usage(what .. " takes { connector =, version =, operation =, input = }", what) end
  for k in pairs(a) do
    if not ARGS[k] then
      return usage(string.format("%s does not take %q (connector, version, operation, input)", what, tostring(k)),
        what)
    end
  end
  for _, k in ipairs({ "connector", "version", "operation" }) do
    if type(a[k]) ~= "string" or a[k] == "" then
      return usage(what .. " needs " .. k .. " (a non-empty string)", what)
    end
  end
  if not client.validator then
    return usage(what .. " needs a validator (tray.embedded.new{ validator = core_client } or { schemas = ... })",
      what)
  end
  return client.validator
end

--- `client:validate_input{ connector, version, operation, input }`: the check alone, whatever
-- the `validate` flags say. `authId`, `returnOutputSchema` and `validate` are accepted and
-- ignored, so a `call_connector` argument table can be checked as it is.
-- @tparam table client
-- @tparam table a the arguments
-- @tparam[opt] boolean json_text a string input is JSON text (GraphQL)
-- @treturn ?boolean true when the input is valid
-- @treturn ?table the error
function _M.validate_input(client, a, json_text)
  local v, err = lookup_args(client, a, "validate_input")
  if not v then return nil, err end
  return check_call(v, a, json_text, "validate_input")
end

--- `client:operation_fields{ connector, version, operation }`: the form fields of the
-- operation's input schema (`tray.schema.fields`).
-- @tparam table client
-- @tparam table a the arguments
-- @treturn ?table the fields
-- @treturn ?table the error
function _M.operation_fields(client, a)
  local v, err = lookup_args(client, a, "operation_fields")
  if not v then return nil, err end
  return v:fields(a.connector, a.version, a.operation)
end

_M.Validator = Validator

return _M
