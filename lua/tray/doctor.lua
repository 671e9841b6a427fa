--- `tray.doctor`: checks an account and a server against what the SDK sends, with no side
-- effects and in a few seconds.
--
--    local report = assert(require("tray.doctor").run{ master_token = os.getenv("TRAY_MASTER_TOKEN") })
--    for _, c in ipairs(report.checks) do print(c.status, c.name, c.detail) end
--
-- Checks, in order: `endpoint` (the GraphQL endpoint answers), `token` (it is accepted, and
-- whether it is a master or a user token), `clock` (within a minute of the server's `Date`),
-- `core` (only with a REST `token` or `base_url`: the REST API answers), then one check per
-- GraphQL operation the SDK can send (`users` ... `call_connector`, `call_connectors`): is its
-- document valid on that server?
--
-- Where the server allows introspection, each operation's variable types, arguments, input
-- fields and selections are compared with the server's schema. Where it does not, each
-- operation's document is sent with one required variable left out: a GraphQL server
-- validates the whole document first and then stops at variable coercion, so nothing runs,
-- and a document that does not fit comes back with the server's own message. (A query
-- without variables, `authentications`, is run: it only reads.)
-- @module tray.doctor

local native = require "tray.native"
local json = require "tray.json"
local errors = require "tray.errors"
local client = require "tray.client"
local embedded = require "tray.embedded"
local ops = require "tray.embedded.operations"
local documents = require "tray.embedded.documents"
local values = require "tray.embedded.values"
local gql = require "tray.graphql"

local _M = {}

--- The most the clock may differ from the server's `Date` (seconds).
_M.CLOCK_SKEW = 60
--- Seconds for the whole run; checks not reached by then are `not checked`.
_M.BUDGET = 9
--- The per-request timeout (seconds) unless the caller's `timeout` is shorter.
_M.TIMEOUT = 5

-- Options of a tray.core client only (not given to the embedded client).
local CORE_ONLY = { token = true, base_url = true }

local INTROSPECTION = [[
query TrayDoctorSchema {
  __schema {
    queryType { name }
    mutationType { name }
    types {
      kind
      name
      fields { name args { name type { ...TrayDoctorType } } type { ...TrayDoctorType } }
      inputFields { name type { ...TrayDoctorType } }
    }
  }
}
fragment TrayDoctorType on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
}]]

-- ---------------------------------------------------------------------------
-- Small helpers.

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
                 Nov = 11, Dec = 12 }

-- Days since 1970-01-01 of a civil date (proleptic Gregorian).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Seconds since the epoch of an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`), or nil.
-- @tparam string s
-- @treturn ?number
function _M.http_date(s)
  if type(s) ~= "string" then return nil end
  local d, mon, y, h, mi, sec = s:match("^%a+, (%d%d?) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if not d or not MONTHS[mon] then return nil end
  return days_from_civil(tonumber(y), MONTHS[mon], tonumber(d)) * 86400 + tonumber(h) * 3600 +
    tonumber(mi) * 60 + tonumber(sec)
end

-- GraphQL type text of an introspected type reference.
local function type_text(t)
  if type(t) ~= "table" then return "?" end
  if t.kind == "NON_NULL" then return type_text(t.ofType) .. "!" end
  if t.kind == "LIST" then return "[" .. type_text(t.ofType) .. "]" end
  return tostring(t.name)
end

--- Can a variable of type `var` be used where the server expects `pos`? (GraphQL's
-- "variables in allowed position" rule, on type text.)
-- @tparam string pos the position's type
-- @tparam string var the variable's type
-- @treturn boolean
function _M.accepts(pos, var)
  if pos:sub(-1) == "!" then
    if var:sub(-1) ~= "!" then return false end
    return _M.accepts(pos:sub(1, -2), var:sub(1, -2))
  end
  if var:sub(-1) == "!" then return _M.accepts(pos, var:sub(1, -2)) end
  local pi, vi = pos:match("^%[(.*)%]$"), var:match("^%[(.*)%]$")
  if pi or vi then return pi ~= nil and vi ~= nil and _M.accepts(pi, vi) end
  return pos == var
end
local accepts = _M.accepts

local sorted = gql.sorted_string_keys

-- ---------------------------------------------------------------------------
-- Comparing the SDK's operations with an introspected schema.

-- { types = name -> { kind =, fields = name -> { type =, args = name -> type }, inputs = name -> type },
--   query =, mutation = }, or nil, why.
local function read_schema(data)
  local s = type(data) == "table" and data.__schema
  if type(s) ~= "table" or type(s.types) ~= "table" then return nil, "no __schema in the answer" end
  local out = { types = {}, query = type(s.queryType) == "table" and s.queryType.name or nil,
    mutation = type(s.mutationType) == "table" and s.mutationType.name or nil }
  for _, t in ipairs(s.types) do
    if type(t) == "table" and type(t.name) == "string" then
      local e = { kind = t.kind, fields = {}, inputs = {} }
      for _, f in ipairs(type(t.fields) == "table" and t.fields or {}) do
        local args = {}
        for _, a in ipairs(type(f.args) == "table" and f.args or {}) do args[a.name] = type_text(a.type) end
        e.fields[f.name] = { type = type_text(f.type), args = args }
      end
      for _, f in ipairs(type(t.inputFields) == "table" and t.inputFields or {}) do
        e.inputs[f.name] = type_text(f.type)
      end
      out.types[t.name] = e
    end
  end
  return out
end

local function mismatch(problems, fmt, ...)
  problems[#problems + 1] = string.format(fmt, ...)
end

-- Checks a selection (the SDK's selection table) on the server's type `type_name`.
local function check_selection(server, type_name, sel, where, problems)
  local t = server.types[type_name]
  if not t or t.kind ~= "OBJECT" then
    mismatch(problems, "%s: the server's type %s is not an object type", where, tostring(type_name))
    return
  end
  local function one(name, sub)
    local f = t.fields[name]
    if not f then
      mismatch(problems, 'Cannot query field "%s" on type "%s"', name, type_name)
      return
    end
    local named = ops.named(f.type)
    local kind = server.types[named] and server.types[named].kind
    local leaf = kind == "SCALAR" or kind == "ENUM"
    if sub == nil and not leaf then
      mismatch(problems, 'Field "%s" of type "%s" must have a selection of subfields', name, f.type)
    elseif sub ~= nil and leaf then
      mismatch(problems, 'Field "%s" must not have a selection since type "%s" has no subfields', name, f.type)
    elseif sub ~= nil then
      check_selection(server, named, sub, where .. "." .. name, problems)
    end
  end
  for _, item in ipairs(sel) do
    if type(item) == "string" then one(item, nil) else one(item[1], item.select) end
  end
  for _, k in ipairs(sorted(sel)) do one(k, sel[k]) end
end

-- Checks the fields the SDK may send in an input object against the server's input type.
-- `fields`: name -> the SDK's type; `as_variables`: each field travels as its own variable.
local function check_input(server, input_name, fields, where, problems, as_variables)
  local t = server.types[input_name]
  if not t or t.kind ~= "INPUT_OBJECT" then
    mismatch(problems, "%s: the server has no input type %s", where, tostring(input_name))
    return
  end
  for _, k in ipairs(sorted(fields)) do
    local pos = t.inputs[k]
    local var = as_variables and values.variable_type(fields[k]) or fields[k]
    if not pos then
      mismatch(problems, 'Field "%s" is not defined by type "%s"', k, input_name)
    elseif not accepts(pos, var) then
      mismatch(problems, 'Variable "$%s" of type "%s" used in position expecting type "%s" (%s.%s)', k, var, pos,
        input_name, k)
    else
      -- an input object inside (a list of) it: its own fields, compared as values
      local inner = ops.named(var)
      local sdk_inner = require("tray.embedded.types").inputs[inner]
      if sdk_inner then check_input(server, inner, sdk_inner, where .. "." .. k, problems, false) end
    end
  end
  for _, k in ipairs(sorted(t.inputs)) do
    if t.inputs[k]:sub(-1) == "!" and (fields[k] == nil or fields[k]:sub(-1) ~= "!") then
      mismatch(problems, 'Field "%s.%s" of required type "%s" is not always provided by the SDK', input_name, k,
        t.inputs[k])
    end
  end
end

local function check_args(field, sdk_args, where, problems)
  for _, k in ipairs(sorted(field.args)) do
    local sdk = sdk_args[k]
    if field.args[k]:sub(-1) == "!" and (sdk == nil or sdk:sub(-1) ~= "!") then
      mismatch(problems, 'Argument "%s" of type "%s" is required on %s, and the SDK does not always send it', k,
        field.args[k], where)
    end
  end
end

local function compare_query(server, q)
  local problems = {}
  local type_name, field = server.query, nil
  for _, step in ipairs(q.path) do
    local t = server.types[type_name]
    field = t and t.fields[step]
    if not field then
      mismatch(problems, 'Cannot query field "%s" on type "%s"', step, tostring(type_name))
      return problems
    end
    type_name = ops.named(field.type)
  end
  local where = table.concat(q.path, ".")
  check_args(field, q.args, where, problems)
  for _, k in ipairs(sorted(q.args)) do
    local pos = field.args[k]
    if not pos then
      mismatch(problems, 'Unknown argument "%s" on field "%s"', k, where)
    elseif k == "criteria" then
      check_input(server, ops.named(pos), q.criteria, where .. "(criteria)", problems, true)
    elseif not accepts(pos, values.variable_type(q.args[k])) then
      mismatch(problems, 'Variable "$%s" of type "%s" used in position expecting type "%s"', k,
        values.variable_type(q.args[k]), pos)
    end
  end
  local edges = { node = q.node }
  if q.edge_cursor then edges[1] = "cursor" end
  local sel = { edges = edges, pageInfo = q.page_info }
  if q.total_count then sel[1] = "totalCount" end
  check_selection(server, type_name, sel, where, problems)
  return problems
end

local function compare_mutation(server, m)
  local problems = {}
  local t = server.types[server.mutation]
  local field = t and t.fields[m.field]
  if not field then
    mismatch(problems, 'Cannot query field "%s" on type "%s"', m.field, tostring(server.mutation))
    return problems
  end
  check_args(field, { input = m.input_type .. "!" }, m.field, problems)
  if not field.args.input then
    mismatch(problems, 'Unknown argument "input" on field "%s"', m.field)
    return problems
  end
  check_input(server, ops.named(field.args.input), m.input, m.field .. "(input)", problems, true)
  local sel = documents.payload_selection(m, true)
  check_selection(server, ops.named(field.type), sel, m.field, problems)
  return problems
end

-- ---------------------------------------------------------------------------
-- The run.

-- Sends a raw GraphQL request; returns `{ status =, headers =, doc = }` (doc: the decoded
-- body or nil), or nil, err on a network failure.
local function post(emb, query, variables)
  local body = assert(json.encode({ query = query, variables = variables or json.object() }))
  local res, err = emb.transport:call({ method = "POST", url = emb.endpoint, body = body, idempotent = true,
    operation = "doctor" }, function(status, text, headers)
      return { status = status, headers = headers or {}, doc = json.decode(text) }
    end)
  return res, err
end

local function graphql_errors(res)
  local doc = res.doc
  if type(doc) == "table" and type(doc.errors) == "table" and #doc.errors > 0 then return doc.errors end
  return nil
end

local function messages(errs)
  local out = {}
  for _, e in ipairs(errs) do
    out[#out + 1] = type(e) == "table" and type(e.message) == "string" and e.message or "GraphQL error"
  end
  return table.concat(out, "; ")
end

-- The documents to check: one per operation (every optional argument given), named as the
-- methods are.
local function operation_documents()
  local out = {}
  for _, d in ipairs(documents.enumerate()) do
    if d.full then out[#out + 1] = d end
  end
  return out
end

-- The probe of one document: a required variable left out.
local function probe(emb, d)
  local names = sorted(d.variables)
  local vars = {}
  for k, v in pairs(d.variables) do vars[k] = v end
  local left_out = names[1]
  if left_out then
    vars[left_out] = nil
  elseif d.kind ~= "query" then
    return "not checked", "the document has no variable to leave out"
  end
  local res, err = post(emb, d.document, next(vars) and vars or json.object())
  if not res then return "fail", tostring(err.message) end
  local errs = graphql_errors(res)
  if res.status ~= 200 then
    return "fail", string.format("HTTP %d%s", res.status, errs and (": " .. messages(errs)) or "")
  end
  if not errs then
    if left_out then
      return "fail", "the server answered without refusing the missing $" .. left_out .. ": not a GraphQL server?"
    end
    return "ok", "valid: the server ran it (it only reads)"
  end
  local invalid = {}
  for _, e in ipairs(errs) do
    local msg = type(e) == "table" and e.message
    local expected = left_out and type(msg) == "string" and
      msg:find('Variable "$' .. left_out .. '" of required type', 1, true)
    -- an error with a path comes from running the document: it was valid
    if not expected and not (type(e) == "table" and type(e.path) == "table") then invalid[#invalid + 1] = e end
  end
  if #invalid == 0 then
    return "ok", "valid: the server checked it and stopped at the missing $" .. tostring(left_out)
  end
  if errors.graphql_rate_limited(invalid) then return "not checked", "rate limited" end
  return "mismatch", messages(invalid)
end

--- Runs every check.
-- @tparam[opt] table opts the options of `tray.embedded.new` (`master_token` or `user_token`,
--   `region`, `endpoint`, `timeout`, `ca_file` ...), plus those of `tray.core.new` for the REST
--   check (`token`, `base_url`); a lone `token` is also used as the GraphQL master token
-- @treturn ?table the report `{ ok =, token_kind = "master"|"user"|nil, checks = { { name =,
--   status = "ok"|"mismatch"|"not checked"|"fail", detail = }, ... } }`
-- @treturn ?table a `usage` error (bad options)
function _M.run(opts)
  opts = opts or {}
  if type(opts) ~= "table" then return errors.fail("usage", "tray.doctor.run takes a table of options") end
  local started = native.now()
  local eopts = {}
  for k, v in pairs(opts) do if not CORE_ONLY[k] then eopts[k] = v end end
  if eopts.master_token == nil and eopts.user_token == nil and opts.token ~= nil then
    eopts.master_token = opts.token
  end
  eopts.max_retries = 0
  if type(opts.timeout) ~= "number" or opts.timeout > _M.TIMEOUT then eopts.timeout = _M.TIMEOUT end
  local emb, err = embedded.new(eopts)
  if not emb then return nil, err end

  local report = { ok = true, checks = {} }
  local function add(name, status, detail)
    report.checks[#report.checks + 1] = { name = name, status = status, detail = detail }
    if status ~= "ok" then report.ok = false end
  end
  local function out_of_time() return native.now() - started > _M.BUDGET end

  -- endpoint and token: a document every GraphQL server runs
  local res, nerr = post(emb, "query TrayDoctor { __typename }")
  local host = emb.endpoint:match("^%a+://([^/?#]+)") or emb.endpoint
  if not res then
    add("endpoint", "fail", string.format("%s does not answer: %s", host, tostring(nerr.message)))
  else
    add("endpoint", "ok", string.format("%s answers (HTTP %d)", host, res.status))
  end
  local token_ok = false
  if res then
    if res.status == 401 or res.status == 403 then
      add("token", "fail", string.format("the token was refused (HTTP %d)", res.status))
    elseif res.status ~= 200 then
      add("token", "fail", string.format("unexpected HTTP %d", res.status))
    elseif graphql_errors(res) then
      add("token", "fail", messages(graphql_errors(res)))
    elseif type(res.doc) ~= "table" or type(res.doc.data) ~= "table" then
      add("token", "fail", "the endpoint does not answer GraphQL")
    else
      token_ok = true
      local kind = post(emb, "query TrayDoctorKind { users(first: 1) { pageInfo { hasNextPage } } }")
      if kind and kind.status == 200 and not graphql_errors(kind) then
        report.token_kind = "master"
      elseif kind and kind.status == 200 then
        report.token_kind = "user"
      end
      add("token", "ok", report.token_kind and (report.token_kind .. " token") or "accepted (kind unknown)")
    end
    local server_time = _M.http_date(res.headers.date)
    if not server_time then
      add("clock", "not checked", "the server sent no Date header")
    else
      local skew = os.time() - server_time
      if math.abs(skew) <= _M.CLOCK_SKEW then
        add("clock", "ok", string.format("within %d s of the server", math.max(1, math.abs(skew))))
      else
        add("clock", "mismatch", string.format("this clock is %d s %s the server's", math.abs(skew),
          skew > 0 and "ahead of" or "behind"))
      end
    end
  else
    add("token", "not checked", "no endpoint")
    add("clock", "not checked", "no endpoint")
  end

  if opts.token ~= nil or opts.base_url ~= nil then
    -- the options a tray.core client takes (clients refuse one they do not know)
    local copts = {}
    for k, v in pairs(opts) do
      local spec = client.OPTIONS[k]
      if spec and (spec.only == nil or spec.only == "core") then copts[k] = v end
    end
    copts.token = opts.token or opts.master_token
    copts.max_retries, copts.timeout = 0, eopts.timeout
    local core, cerr = require("tray.core").new(copts)
    if not core then
      add("core", "fail", tostring(cerr.message))
    else
      local list, lerr = core:list_connectors()
      if list then
        add("core", "ok", "the REST API answers")
      else
        add("core", "fail", tostring(lerr.message))
      end
      core:close()
    end
  end

  local docs = operation_documents()
  if not token_ok then
    for _, d in ipairs(docs) do add(d.name, "not checked", "no working endpoint and token") end
    emb:close()
    return report
  end
  local schema_res = post(emb, INTROSPECTION)
  local server = schema_res and schema_res.status == 200 and not graphql_errors(schema_res)
    and read_schema(schema_res.doc.data)
  if server then
    for _, d in ipairs(docs) do
      local problems
      if d.kind == "query" then
        problems = compare_query(server, ops.QUERIES[d.name])
      else
        problems = compare_mutation(server, ops.MUTATIONS[d.name] or ops.MUTATIONS.call_connector)
      end
      if #problems == 0 then
        add(d.name, "ok", "matches the server's schema")
      else
        add(d.name, "mismatch", table.concat(problems, "; "))
      end
    end
  else
    for _, d in ipairs(docs) do
      if out_of_time() then
        add(d.name, "not checked", "out of time")
      else
        local status, detail = probe(emb, d)
        add(d.name, status, detail .. " (introspection is off: probed)")
      end
    end
  end
  emb:close()
  return report
end

return _M
