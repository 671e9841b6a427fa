--- The `tray` command: the Tray.io APIs from a shell (`bin/tray` runs `main`).
--
--    tray [--debug] [--json-errors] core <method> [positional...] [--arg value ...] [--json JSON] [--all]
--    tray [--debug] [--json-errors] embedded <method> [--arg value ...] [--json JSON] [--all] [--as-user ID]
--    tray core request <METHOD> <path> [--body JSON]
--    tray help [core|embedded] [method] | tray completion bash | tray doctor | tray --version
--
-- Every method comes from the SDK's operation tables (tray.core OPERATIONS,
-- tray.embedded QUERIES and MUTATIONS). Tokens, region and URLs come from the
-- environment. Output is the server's JSON (arrays stay arrays, null stays null),
-- pretty on a terminal and compact in a pipe; a string result prints as plain text.
-- Exit status: 0 ok, 1 API error, 2 usage.
-- @internal tray.cli

local tray = require "tray"
local json = require "tray.json"
local errors = require "tray.errors"
local core_mod = require "tray.core"
local emb_mod = require "tray.embedded"
local native = require "tray.native"
local gql = require "tray.graphql"

local _M = {}

-- ---------------------------------------------------------------------------
-- Text from a server, made safe for a terminal

--- Strips what a terminal would act on from text: ANSI/CSI and OSC escape
-- sequences, other ESC sequences, C0 and C1 control characters. With
-- `one_line`, line breaks and tabs become spaces; otherwise they are kept.
-- @tparam string s
-- @tparam[opt] boolean one_line
-- @treturn string
function _M.terminal_text(s, one_line)
  s = tostring(s)
  if one_line then s = s:gsub("[\r\n\t]+", " ") end
  s = s:gsub("\27%[[\48-\63]*[\32-\47]*[\64-\126]", "")        -- CSI ... final byte
       :gsub("\27%][^\7\27]*\7", ""):gsub("\27%][^\7\27]*\27\\", "") -- OSC ... BEL / ST
       :gsub("\27[PX^_][^\27]*\27\\", "")                          -- DCS, SOS, PM, APC ... ST
       :gsub("\27.?", "")                                          -- any other ESC x
       :gsub("\194[\128-\159]", "")                                -- C1 controls (UTF-8)
       :gsub("[%z\1-\8\11-\12\14-\31\127]", "")                   -- C0 but \t \n \r, DEL
  if not one_line then s = s:gsub("\r", "") end
  return s
end

-- ---------------------------------------------------------------------------
-- Exits: raised as a value and caught by main, so the module never calls os.exit

local EXIT = {}

local state -- per run: { indent =, json_errors =, debug =, stdin_used = }

local function exit_with(code, message)
  if message then io.stderr:write(_M.terminal_text(message, true), "\n") end
  io.stdout:flush()
  error(setmetatable({ code = code }, EXIT), 0)
end

-- JSON-able copy of a value (errors, results): no functions, no cycles, no userdata but null.
local function plain(v, depth, seen)
  local t = type(v)
  if v == json.null or t == "string" or t == "number" or t == "boolean" then return v end
  if t ~= "table" or depth > 50 or seen[v] then return tostring(v) end
  seen[v] = true
  local out = json.is_array(v) and json.array() or {}
  for k, x in pairs(v) do
    if type(x) ~= "function" then out[k] = plain(x, depth + 1, seen) end
  end
  seen[v] = nil
  return out
end

local encode -- defined below

local function fail(code, err)
  if state.json_errors then
    local e = errors.is(err) and plain(err, 0, {})
      or { kind = code == 2 and "usage" or "error", message = tostring(err) }
    io.stderr:write(encode(e), "\n")
    io.stdout:flush()
    error(setmetatable({ code = code }, EXIT), 0)
  end
  if errors.is(err) then exit_with(code, tostring(err)) end
  exit_with(code, "tray: " .. tostring(err))
end

local function usage_error(message)
  if state.json_errors then
    fail(2, errors.new("usage", message .. " (see tray help)"))
  end
  exit_with(2, "tray: usage: " .. message .. " (see tray help)")
end

local function api_error(err)
  fail(errors.is(err) and err.kind == "usage" and 2 or 1, err)
end

local function is_tty(fd)
  local r = os.execute("[ -t " .. fd .. " ]")
  return r == true or r == 0
end

-- ---------------------------------------------------------------------------
-- Output: JSON as the server sent it (json.keep_arrays marks decoded arrays)

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
              ["\r"] = "\\r", ["\t"] = "\\t" }

local function encode_string(s)
  -- control characters, C0 and C1 (UTF-8 \194\128-\159), are escaped: none reaches the terminal
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESC[c] or string.format("\\u%04x", c:byte())
  end):gsub("\194([\128-\159])", function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local function is_list(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= math.floor(k) then return false end
    count = count + 1
  end
  return count == n
end

-- JSON text of v; indent is nil for compact output.
encode = function(v, indent, depth)
  depth = depth or 0
  local t = type(v)
  if v == nil or v == json.null then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
    return string.format("%.17g", v)
  end
  if t == "string" then return encode_string(v) end
  if t ~= "table" or depth > 1000 then return encode_string(tostring(v)) end
  local nl, pad, pad_in, colon = "", "", "", ":"
  if indent then
    nl, pad, pad_in, colon = "\n", string.rep(indent, depth), string.rep(indent, depth + 1), ": "
  end
  local parts = {}
  if is_list(v) then
    for i = 1, #v do parts[i] = pad_in .. encode(v[i], indent, depth + 1) end
    return "[" .. nl .. table.concat(parts, "," .. nl) .. nl .. pad .. "]"
  end
  if next(v) == nil then return json.is_array(v) and "[]" or "{}" end
  for i, k in ipairs(gql.sorted_keys(v)) do
    local x = v[k]
    if x == nil then x = v[tonumber(k)] end
    parts[i] = pad_in .. encode_string(k) .. colon .. encode(x, indent, depth + 1)
  end
  return "{" .. nl .. table.concat(parts, "," .. nl) .. nl .. pad .. "}"
end

--- The CLI's JSON text of a value: arrays marked by `tray.json` (empty ones
-- included) print as arrays, `json.null` as null, control characters escaped.
-- @param v the value
-- @tparam[opt] string indent e.g. "  " for pretty output; nil for compact
-- @treturn string
function _M.encode(v, indent)
  return encode(v, indent)
end

local function print_result(v)
  if type(v) == "string" then
    io.stdout:write(_M.terminal_text(v, true), "\n")   -- a URL, a plain answer: as text
  else
    io.stdout:write(encode(v, state.indent), "\n")
  end
end

-- Streams the items of an iterator as one JSON array; raises what the iterator raises.
local function print_stream(iter)
  local n = 0
  local indent = state.indent
  io.stdout:write("[")
  for item in iter do
    n = n + 1
    io.stdout:write(n > 1 and ",\n" or "\n", indent and (indent .. encode(item, indent, 1)) or encode(item))
  end
  io.stdout:write(n > 0 and "\n]\n" or "]\n")
end

-- ---------------------------------------------------------------------------
-- --debug: one line per attempt on stderr (method, URL without its query, status,
-- duration, attempt), and one per retry wait. Never a header, a body or a token.
--
-- Clients with the on_request/on_response hooks (tray.client's OPTIONS has them)
-- report through `on_response`; older ones through a `transport` function around a
-- libcurl session. Retry waits come from the `log` option in both cases.

local function debug_line(s)
  io.stderr:write("tray: debug: ", _M.terminal_text(s, true), "\n")
end

--- A URL for a debug line: the query's values are hidden (they may be codes or secrets).
-- @tparam string url
-- @treturn string
function _M.safe_url(url)
  local base, query = tostring(url):match("^([^?#]*)%??([^#]*)")
  if not query or query == "" then return base end
  local keys = {}
  for pair in query:gmatch("[^&]+") do keys[#keys + 1] = (pair:match("^([^=]*)") or "") .. "=..." end
  return base .. "?" .. table.concat(keys, "&")
end

local function client_has_hooks()
  local ok, client = pcall(require, "tray.client")
  return ok and type(client) == "table" and type(client.OPTIONS) == "table" and client.OPTIONS.on_response ~= nil
end

-- on_response's info: { method, host, path, attempt, retry_reason, status, duration, error, request_id }
local function debug_hooks(opts)
  opts.on_response = function(info)
    local what = (info.status and info.status > 0) and tostring(info.status) or tostring(info.error)
    debug_line(string.format("%s %s%s -> %s in %.0f ms (attempt %d%s)%s", tostring(info.method),
      tostring(info.host or ""), tostring(info.path or ""), what, (info.duration or 0) * 1000, info.attempt or 1,
      info.retry_reason and (", after " .. tostring(info.retry_reason)) or "",
      info.request_id and (" request id " .. tostring(info.request_id)) or ""))
  end
end

local function debug_transport(opts)
  local session = assert(native.session{ timeout = 30, connect_timeout = 10,
    user_agent = "tray-cli tray-lua/" .. tray.VERSION })
  local attempts = {}
  opts.transport = function(req)
    local token = (req.headers.Authorization or ""):match("^Bearer (.*)$")
    local lines = { "Accept: application/json" }
    if req.body then lines[2] = "Content-Type: application/json" end
    local key = req.method .. " " .. req.url
    attempts[key] = (attempts[key] or 0) + 1
    local t0 = native.now()
    local status, body, headers, detail = session:request(req.method, req.url, lines, req.body, token)
    local ms = (native.now() - t0) * 1000
    local what = status and tostring(status) or tostring(body)
    debug_line(string.format("%s %s -> %s in %.0f ms (attempt %d)", req.method,
      _M.safe_url(req.url), what, ms, attempts[key]))
    if not status then return nil, body, headers, detail end
    if status < 500 and status ~= 429 then attempts[key] = nil end
    return { status = status, body = body, headers = headers }
  end
end

local function debug_options(opts)
  if client_has_hooks() then debug_hooks(opts) else debug_transport(opts) end
  opts.log = function(level, message) debug_line(level .. ": " .. tostring(message)) end
  return opts
end

local function client_options()
  local opts = {}
  if state.debug then debug_options(opts) end
  return opts
end

-- ---------------------------------------------------------------------------
-- The method tables

local CORE = {}
for _, op in ipairs(core_mod.OPERATIONS) do CORE[op.name] = op end

local sorted = gql.sorted_keys

-- Embedded methods that are not rows of QUERIES/MUTATIONS: how to call them.
local EMB_EXTRA = {
  query = { summary = "any GraphQL document", token = "any",
    args = { document = "String!", variables = "Json", operationName = "String" } },
  call_connectors = { summary = "several connector calls in one request (--json '{\"alias\": {...}}')",
    token = "any", args = {} },
  config_wizard_url = { summary = "the config wizard URL (no request)", token = "none",
    args = { partnerId = "String!", solutionInstanceId = "String!", authorizationCode = "String!" } },
  auth_dialog_url = { summary = "the auth-only dialog URL (no request)", token = "none",
    args = { partnerId = "String!", authorizationCode = "String!", solutionInstanceId = "String",
             externalAuthId = "String", serviceId = "String", serviceEnvironmentId = "String",
             scopes = "[String!]", authId = "String" } },
}

-- The paging arguments a query takes (tray.embedded's row: none for authentications).
local function paging(row)
  return row.paging or {}
end

-- The core escape hatch, like `gh api`: any path of the REST API.
local CORE_REQUEST = { name = "request", method = "METHOD", path = "<path>", params = { "method", "path" },
  body = { "body" } }

local function emb_method(name)
  local q = emb_mod.QUERIES[name]
  if q then return { kind = "query", row = q, token = q.token } end
  local m = emb_mod.MUTATIONS[name]
  if m then return { kind = "mutation", row = m, token = m.token } end
  local x = EMB_EXTRA[name]
  if x then return { kind = "extra", row = x, token = x.token } end
  return nil
end

local function emb_names()
  local names = {}
  for k in pairs(emb_mod.QUERIES) do names[#names + 1] = k end
  for k in pairs(emb_mod.MUTATIONS) do names[#names + 1] = k end
  for k in pairs(EMB_EXTRA) do names[#names + 1] = k end
  table.sort(names)
  return names
end

-- The flags one method takes (without the global ones), sorted.
local function emb_fields(e)
  if e.kind == "query" then
    local fields = {}
    for k, t in pairs(e.row.criteria or {}) do fields[k] = t end
    for k, t in pairs(paging(e.row)) do fields[k] = t end
    if e.row.criteria then fields.criteria = "Json" end
    return fields
  elseif e.kind == "mutation" then
    return e.row.input
  end
  return e.row.args
end

-- ---------------------------------------------------------------------------
-- Help (generated from the tables)

local HELP = [==[
usage: tray [--debug] [--json-errors] core <method> [positional...] [--arg value ...] [--json JSON] [--all]
       tray [--debug] [--json-errors] embedded <method> [--arg value ...] [--json JSON] [--all] [--as-user ID]
       tray core request <METHOD> <path> [--body JSON]
       tray help [core|embedded] [method]
       tray completion bash
       tray doctor
       tray --version

Options: --json JSON gives all the arguments as one JSON object (flags add to it);
any JSON argument can be @file (read from the file) or - (read from standard input);
a list argument takes one plain string too (--tags onboarding); --configValues and
--authValues take a map ({"externalId": value}) as well as the API's list;
--all pages through a list (core list_* methods, embedded connection queries) and prints
one JSON array; --pretty / --compact choose the output (pretty on a terminal by default);
--as-user ID makes an embedded call as that end user (authorized with the master token);
--debug prints each request (method, URL without query values, status, duration, attempt)
and each retry wait on stderr; --json-errors prints an error as one JSON object on stderr.

Environment: TRAY_TOKEN (core), TRAY_MASTER_TOKEN / TRAY_USER_TOKEN (embedded), TRAY_REGION
(us, eu, apac), TRAY_CORE_URL, TRAY_GRAPHQL_URL, TRAY_EMBEDDED_URL.
Exit status: 0 ok, 1 API error (one line on stderr), 2 usage.]==]

local function type_hint(t)
  local base = t:gsub("!$", "")
  if base == "Boolean" then return "true|false" end
  if base == "Int" then return "N" end
  if base == "Json" or base:find("^%[") then return "JSON" end
  return "VALUE"
end

local function core_line(op)
  local s = string.format("  %-28s %s %s", op.name, op.method, op.path)
  if op.list then s = s .. "  [--all]" end
  return s
end

local function emb_line(name)
  local e = emb_method(name)
  local what
  if e.kind == "query" then
    what = "query " .. table.concat(e.row.path, ".") .. "  [--all]"
  elseif e.kind == "mutation" then
    what = "mutation " .. e.row.field
  else
    what = e.row.summary
  end
  local token = e.token == "none" and "" or string.format(" (%s token)", e.token == "any" and "any" or e.token)
  return string.format("  %-28s %s%s", name, what, token)
end

local function list_help(section)
  local out = { HELP, "" }
  if section ~= "embedded" then
    out[#out + 1] = "core methods (REST Connectivity API, TRAY_TOKEN):"
    for _, op in ipairs(core_mod.OPERATIONS) do out[#out + 1] = core_line(op) end
    out[#out + 1] = string.format("  %-28s %s", "request", "METHOD <path> [--body JSON]: any path of the API")
    out[#out + 1] = ""
  end
  if section ~= "core" then
    out[#out + 1] = "embedded methods (Embedded GraphQL API, TRAY_MASTER_TOKEN or TRAY_USER_TOKEN):"
    for _, n in ipairs(emb_names()) do out[#out + 1] = emb_line(n) end
    out[#out + 1] = ""
  end
  out[#out + 1] = "tray help <method> describes one method."
  return table.concat(out, "\n")
end

local function core_help(op)
  if op == CORE_REQUEST then
    return "tray core request <METHOD> <path> [--body JSON]\n" ..
      "  any request to the REST API: <path> is below TRAY_CORE_URL (or the region's), e.g.\n" ..
      "  tray core request GET /connectors; prints the answer's JSON"
  end
  local out = {}
  local pos = {}
  for _, p in ipairs(op.params) do pos[#pos + 1] = "<" .. p .. ">" end
  local required = {}
  for _, f in ipairs(op.required or {}) do required[f] = true end
  local flags = {}
  for _, f in ipairs(op.body or {}) do
    flags[#flags + 1] = required[f] and string.format("--%s VALUE", f) or string.format("[--%s VALUE]", f)
  end
  out[#out + 1] = string.format("tray core %s%s%s%s", op.name, #pos > 0 and (" " .. table.concat(pos, " ")) or "",
    #flags > 0 and (" " .. table.concat(flags, " ")) or "", op.list and " [--all]" or "")
  out[#out + 1] = string.format("  REST %s %s", op.method, op.path)
  if #op.params > 0 then
    out[#out + 1] = "  path arguments, positional or as --name value: " .. table.concat(op.params, ", ")
  end
  if op.body then
    out[#out + 1] = "  body fields: " .. table.concat(op.body, ", ") ..
      (op.required and #op.required > 0 and ("; required: " .. table.concat(op.required, ", ")) or "")
    out[#out + 1] = "  a value that starts with { or [, or is true, false or null, is read as JSON" ..
      " (@file and - read it from a file or standard input)"
  end
  if op.list then out[#out + 1] = "  --all: every element across pages, as one JSON array" end
  return table.concat(out, "\n")
end

local function emb_help(name)
  local e = emb_method(name)
  local out = {}
  local fields = emb_fields(e)
  local flags = {}
  for _, k in ipairs(sorted(fields)) do
    if not (e.kind == "query" and k == "criteria") then
      local t = fields[k]
      local f = string.format("--%s %s", k, type_hint(t))
      flags[#flags + 1] = t:sub(-1) == "!" and f or ("[" .. f .. "]")
    end
  end
  out[#out + 1] = string.format("tray embedded %s %s%s", name, table.concat(flags, " "),
    e.kind == "query" and ((e.row.criteria and " [--criteria JSON]" or "") .. " [--all]") or "")
  if e.kind == "query" then
    out[#out + 1] = "  GraphQL query " .. table.concat(e.row.path, ".") ..
      "; prints { nodes, pageInfo" .. (e.row.total_count and ", totalCount" or "") .. " }"
    local crit = sorted(e.row.criteria or {})
    if #crit > 0 then
      out[#out + 1] = "  criteria (as flags or --criteria JSON): " .. table.concat(crit, ", ")
    end
    out[#out + 1] = e.row.paged and "  --all: every node across pages, as one JSON array (--first sets the page size)"
      or "  --all: its nodes, as one JSON array (it has one page: no paging arguments)"
  elseif e.kind == "mutation" then
    out[#out + 1] = "  GraphQL mutation " .. e.row.field .. "; prints its payload"
  else
    out[#out + 1] = "  " .. e.row.summary
  end
  if e.token == "user" then
    out[#out + 1] = "  token: user (TRAY_USER_TOKEN, or --as-user USERID with TRAY_MASTER_TOKEN)"
  elseif e.token == "master" then
    out[#out + 1] = "  token: master (TRAY_MASTER_TOKEN)"
  elseif e.token == "any" then
    out[#out + 1] = "  token: master or user (TRAY_MASTER_TOKEN, else TRAY_USER_TOKEN; or --as-user USERID)"
  end
  return table.concat(out, "\n")
end

local function help(section, name)
  if section ~= "core" and section ~= "embedded" then section, name = nil, section end
  if not name then
    io.stdout:write(list_help(section), "\n")
    exit_with(0)
  end
  local parts = {}
  if section ~= "embedded" and (CORE[name] or name == "request") then
    parts[#parts + 1] = core_help(CORE[name] or CORE_REQUEST)
  end
  if section ~= "core" and emb_method(name) then parts[#parts + 1] = emb_help(name) end
  if #parts == 0 then usage_error("no method " .. name) end
  io.stdout:write(table.concat(parts, "\n\n"), "\n")
  exit_with(0)
end

-- ---------------------------------------------------------------------------
-- Completion (generated from the tables)

local GLOBAL_FLAGS = { "--debug", "--json-errors", "--pretty", "--compact", "--help" }

--- The bash completion script for `tray`, generated from the operation tables.
-- @treturn string the script (`source <(tray completion bash)`)
function _M.bash_completion()
  local core_names, core_cases = {}, {}
  for _, op in ipairs(core_mod.OPERATIONS) do
    core_names[#core_names + 1] = op.name
    local flags = { "--json" }
    for _, p in ipairs(op.params) do flags[#flags + 1] = "--" .. p end
    for _, f in ipairs(op.body or {}) do flags[#flags + 1] = "--" .. f end
    if op.list then flags[#flags + 1] = "--all" end
    core_cases[#core_cases + 1] = string.format("      %s) flags=%q ;;", op.name, table.concat(flags, " "))
  end
  core_names[#core_names + 1] = "request"
  core_cases[#core_cases + 1] = '      request) flags="--body" ;;'
  local emb_cases = {}
  local names = emb_names()
  for _, name in ipairs(names) do
    local e = emb_method(name)
    local flags = { "--json" }
    for _, k in ipairs(sorted(emb_fields(e))) do flags[#flags + 1] = "--" .. k end
    if e.kind == "query" then flags[#flags + 1] = "--all" end
    if e.token ~= "master" and e.token ~= "none" then flags[#flags + 1] = "--as-user" end
    emb_cases[#emb_cases + 1] = string.format("      %s) flags=%q ;;", name, table.concat(flags, " "))
  end
  return table.concat({
    "# bash completion for tray (generated by `tray completion bash` from the operation tables)",
    "_tray() {",
    "  local cur=${COMP_WORDS[COMP_CWORD]} i cmd='' method='' flags=''",
    "  for ((i = 1; i < COMP_CWORD; i++)); do",
    "    case ${COMP_WORDS[i]} in",
    "      -*) ;;",
    "      *) if [ -z \"$cmd\" ]; then cmd=${COMP_WORDS[i]};",
    "         elif [ -z \"$method\" ]; then method=${COMP_WORDS[i]}; fi ;;",
    "    esac",
    "  done",
    "  if [ -z \"$cmd\" ]; then",
    string.format("    COMPREPLY=($(compgen -W %q -- \"$cur\"))",
      "core embedded help completion doctor " .. table.concat(GLOBAL_FLAGS, " ") .. " --version"),
    "    return",
    "  fi",
    "  case $cmd in",
    "    core) if [ -z \"$method\" ]; then",
    string.format("        COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi", table.concat(core_names, " ")),
    "      case $method in",
    table.concat(core_cases, "\n"),
    "      esac ;;",
    "    embedded) if [ -z \"$method\" ]; then",
    string.format("        COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi", table.concat(names, " ")),
    "      case $method in",
    table.concat(emb_cases, "\n"),
    "      esac ;;",
    "    help) COMPREPLY=($(compgen -W " .. string.format("%q", "core embedded " ..
      table.concat(core_names, " ") .. " " .. table.concat(names, " ")) .. " -- \"$cur\")); return ;;",
    "    completion) COMPREPLY=($(compgen -W bash -- \"$cur\")); return ;;",
    "    *) return ;;",
    "  esac",
    string.format("  COMPREPLY=($(compgen -W \"$flags %s\" -- \"$cur\"))", table.concat(GLOBAL_FLAGS, " ")),
    "}",
    "complete -o default -F _tray tray",
    "",
  }, "\n")
end

-- ---------------------------------------------------------------------------
-- Arguments

local SWITCHES = { all = true, pretty = true, compact = true, help = true, debug = true, ["json-errors"] = true }
local GLOBAL_VALUES = { json = true, ["as-user"] = true }

-- Splits argv[from..] into positional arguments, flag values and switches.
local function parse_flags(argv, from, switches)
  local pos, flags = {}, {}
  local i = from
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do pos[#pos + 1] = argv[j] end
      break
    end
    local name, inline = a:match("^%-%-([%w_.-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w_.-]+)$") end
    if name then
      if SWITCHES[name] then
        if inline then usage_error("--" .. name .. " takes no value") end
        switches[name] = true
      else
        local v = inline
        if v == nil then
          i = i + 1
          v = argv[i]
          if v == nil then usage_error("--" .. name .. " needs a value") end
        end
        if flags[name] ~= nil then usage_error("--" .. name .. " is given twice") end
        flags[name] = v
      end
    elseif a:sub(1, 1) == "-" and a ~= "-" and not a:match("^%-%d") then
      usage_error("unknown option " .. a)
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return pos, flags
end

-- The text of a JSON argument: itself, or a file's (@path), or standard input's (-).
local function source_text(text, what)
  if text == "-" then
    if state.stdin_used then usage_error("standard input (-) can be read once: " .. what) end
    state.stdin_used = true
    return io.stdin:read("*a") or ""
  end
  local path = text:match("^@(.+)$")
  if path then
    local f, why = io.open(path, "rb")
    if not f then usage_error(what .. ": cannot read " .. path .. ": " .. tostring(why)) end
    local s = f:read("*a")
    f:close()
    return s
  end
  return text
end

local function from_source(text)
  return text == "-" or text:match("^@.") ~= nil
end

local function decode_json(text, what)
  local v, why = json.decode(source_text(text, what))
  if v == nil then usage_error(what .. " is not valid JSON: " .. tostring(why)) end
  return v
end

local function json_object(text, what)
  local v = decode_json(text, what)
  if type(v) ~= "table" or v[1] ~= nil or json.is_array(v) then usage_error(what .. " must be a JSON object") end
  return v
end

-- Config or auth values given as a map { externalId = value }: the API's list of
-- { externalId =, <field> = } (the onboarding helpers take the same two forms).
local VALUE_FIELD = { ["[ConfigValue!]"] = "value", ["[AuthValue!]"] = "authId" }

local function values_list(v, field)
  if type(v) ~= "table" or v[1] ~= nil or json.is_array(v) or next(v) == nil then return v end
  local out = json.array()
  for _, k in ipairs(sorted(v)) do out[#out + 1] = { externalId = k, [field] = v[k] } end
  return out
end

-- A flag value as the declared GraphQL type.
local function typed(name, text, t)
  local base = t:gsub("!$", "")
  if base == "String" or base == "ID" then return text end
  if base == "Boolean" then
    if text == "true" then return true end
    if text == "false" then return false end
    usage_error("--" .. name .. " must be true or false")
  end
  if base == "Int" then
    local n = tonumber(text)
    if not n or n ~= math.floor(n) then usage_error("--" .. name .. " must be a whole number") end
    return math.floor(n)
  end
  if base == "Json" then
    if from_source(text) or text:match("^%s*[%[{]") then return decode_json(text, "--" .. name) end
    return text
  end
  if base:match("^%[%w+!?%]$") then
    local item = base:match("^%[(%w+)")
    if (item == "String" or item == "ID") and not from_source(text) and not text:match("^%s*%[") then
      return json.array{ text } -- one plain string for a list of strings
    end
    local v = decode_json(text, "--" .. name)
    if VALUE_FIELD[base] then v = values_list(v, VALUE_FIELD[base]) end
    return v
  end
  return decode_json(text, "--" .. name) -- input objects
end

-- A core body value: JSON when it looks like JSON (objects, arrays, true, false, null), or @file / -.
local function loose(name, text)
  if from_source(text) or text:match("^%s*[%[{]") or text == "true" or text == "false" or text == "null" then
    return decode_json(text, "--" .. name)
  end
  return text
end

-- ---------------------------------------------------------------------------
-- Running

local function run_iter(iter_fn)
  local ok, err = pcall(function() print_stream(iter_fn()) end)
  if not ok then
    io.stdout:write("\n")
    if getmetatable(err) == EXIT then error(err, 0) end
    api_error(err)
  end
  exit_with(0)
end

local function check(value, err)
  if value == nil then api_error(err) end
  return value
end

local function core_client()
  local client, err = core_mod.new(client_options())
  if not client then
    if err.kind == "usage" and err.message:find("token") then usage_error("set TRAY_TOKEN (the REST API token)") end
    api_error(err)
  end
  return client
end

local METHODS = { GET = true, POST = true, PUT = true, PATCH = true, DELETE = true, HEAD = true }

-- tray core request METHOD /path [--body JSON]
local function run_request(pos, flags)
  local method, path = pos[1], pos[2]
  if not method or not path or #pos > 2 then usage_error("request takes <METHOD> <path>") end
  method = method:upper()
  if not METHODS[method] then usage_error("request: unknown HTTP method " .. method) end
  if path:sub(1, 1) ~= "/" or path:find("^//") or path:find("[%c%s]") then
    usage_error("request: the path must start with / and hold no spaces (it is below the API's base URL)")
  end
  for k in pairs(flags) do
    if k ~= "body" and k ~= "json" then usage_error("request does not take --" .. k .. " (it takes: body)") end
  end
  local text = flags.body or flags.json
  local body
  if text then
    local v = decode_json(text, "--body")
    body = assert(json.encode(v))
  end
  local client = core_client()
  local op = { name = "request", method = method }
  local result = check(client.transport:call({
    method = method, url = client.base_url .. path, body = body,
    idempotent = method == "GET" or method == "HEAD", operation = "request",
  }, function(status, rbody, headers)
    if status >= 200 and status < 300 then
      if rbody == "" then return json.null end
      local v = json.decode(rbody)
      if v == nil then return rbody end
      return v
    end
    return core_mod.decode(op, status, rbody, headers)
  end))
  print_result(result)
  exit_with(0)
end

local function run_core(name, pos, flags, switches)
  if name == "request" then run_request(pos, flags) end
  local op = CORE[name]
  if not op then usage_error("no core method " .. tostring(name)) end
  local args = flags.json and json_object(flags.json, "--json") or {}
  if #pos > #op.params then
    usage_error(string.format("%s takes %d positional argument(s)%s", name, #op.params,
      #op.params > 0 and (": " .. table.concat(op.params, ", ")) or ""))
  end
  for i, v in ipairs(pos) do args[op.params[i]] = v end
  local params = {}
  for _, p in ipairs(op.params) do params[p] = true end
  for k, v in pairs(flags) do
    if k ~= "json" then
      if params[k] then args[k] = v else args[k] = loose(k, v) end
    end
  end
  local client = core_client()
  if switches.all then
    if not op.list then
      local lists = {}
      for _, o in ipairs(core_mod.OPERATIONS) do if o.list then lists[#lists + 1] = o.name end end
      usage_error(name .. " is not a list: --all works with " .. table.concat(lists, ", "))
    end
    run_iter(function() return client:each(name, args) end)
  end
  print_result(check(client[name](client, args)))
  exit_with(0)
end

local function env(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

local function embedded_client(rule, as_user)
  local master, user = env("TRAY_MASTER_TOKEN"), env("TRAY_USER_TOKEN")
  local opts = client_options()
  if as_user then
    if not master then usage_error("--as-user needs TRAY_MASTER_TOKEN") end
    if rule == "master" then usage_error("this method needs the master token: drop --as-user") end
    opts.master_token = master
    local emb = check(emb_mod.new(opts))
    return check(emb:for_user(as_user))
  end
  if rule == "master" then
    if not master then usage_error("this method needs a master token: set TRAY_MASTER_TOKEN") end
    opts.master_token = master
  elseif rule == "user" then
    if not user then
      usage_error("this method needs a user token: set TRAY_USER_TOKEN, or pass --as-user USERID " ..
        "(with TRAY_MASTER_TOKEN)")
    end
    opts.user_token = user
  elseif rule == "none" then
    if master then opts.master_token = master elseif user then opts.user_token = user
    else opts.user_token = "none" end -- builds a URL only: no request, no token needed
  else
    if master then opts.master_token = master
    elseif user then opts.user_token = user
    else usage_error("set TRAY_MASTER_TOKEN or TRAY_USER_TOKEN") end
  end
  return check(emb_mod.new(opts))
end

-- A query connection without the edges (the nodes say the same; pageInfo has the cursor).
local function connection_view(conn)
  local nodes = conn.nodes
  if type(nodes) == "table" and next(nodes) == nil and getmetatable(nodes) == nil then nodes = json.array() end
  return { nodes = nodes, pageInfo = conn.pageInfo, totalCount = conn.totalCount }
end

local function run_embedded(name, pos, flags, switches)
  local e = emb_method(name)
  if not e then usage_error("no embedded method " .. tostring(name)) end
  if #pos > 0 then usage_error("embedded methods take --name value arguments, not positional ones") end
  local base = flags.json and json_object(flags.json, "--json") or {}
  local as_user = flags["as-user"]
  if switches.all and e.kind ~= "query" then
    local queries = sorted(emb_mod.QUERIES)
    usage_error(name .. " is not a connection query: --all works with " .. table.concat(queries, ", "))
  end

  if e.kind == "query" then
    local crit = e.row.criteria or {}
    local opts = base
    if flags.criteria then
      opts.criteria = json_object(flags.criteria, "--criteria")
    end
    for k, v in pairs(flags) do
      if not GLOBAL_VALUES[k] and k ~= "criteria" then
        if paging(e.row)[k] then
          opts[k] = typed(k, v, paging(e.row)[k])
        elseif crit[k] then
          opts.criteria = opts.criteria or {}
          opts.criteria[k] = typed(k, v, crit[k])
        else
          local names = sorted(crit)
          for p in pairs(paging(e.row)) do names[#names + 1] = p end
          table.sort(names)
          usage_error(string.format("%s does not take --%s (%s)", name, k,
            #names > 0 and ("it takes: " .. table.concat(names, ", ")) or "it takes no arguments"))
        end
      end
    end
    local client = embedded_client(e.token, as_user)
    if switches.all then run_iter(function() return client:each(name, opts) end) end
    print_result(connection_view(check(client[name](client, opts))))
    exit_with(0)
  end

  local fields = e.kind == "mutation" and e.row.input or e.row.args
  local args = base
  for k, v in pairs(args) do
    local field = VALUE_FIELD[(fields[k] or ""):gsub("!$", "")]
    if field then args[k] = values_list(v, field) end
  end
  for k, v in pairs(flags) do
    if not GLOBAL_VALUES[k] then
      if name == "query" and k == "document" then v = source_text(v, "--document") end
      args[k] = fields[k] and typed(k, v, fields[k]) or v -- unknown names: the SDK says what it takes
    end
  end
  local client = embedded_client(e.token, as_user)
  local result
  if name == "query" then
    if type(args.document) ~= "string" then usage_error("query needs --document '<GraphQL document>'") end
    local vars = args.variables
    if type(vars) == "string" then vars = json_object(vars, "--variables") end
    for k in pairs(args) do
      if k ~= "document" and k ~= "variables" and k ~= "operationName" then
        usage_error("query does not take --" .. k .. " (it takes: document, variables, operationName)")
      end
    end
    result = check(client:query(args.document, vars, args.operationName))
  elseif name == "call_connectors" then
    result = check(client:call_connectors(args))
  else
    result = check(client[name](client, args))
  end
  print_result(result)
  exit_with(0)
end

-- tray doctor: tray.doctor's checks, one line each; exit 0 only when all are fine.
local function run_doctor()
  local ok, doctor = pcall(require, "tray.doctor")
  if not ok or type(doctor) ~= "table" or type(doctor.run) ~= "function" then
    usage_error("doctor is not available in this version of tray (no tray.doctor module)")
  end
  local opts = client_options()
  opts.token = env("TRAY_TOKEN")
  if env("TRAY_MASTER_TOKEN") then opts.master_token = env("TRAY_MASTER_TOKEN")
  elseif env("TRAY_USER_TOKEN") then opts.user_token = env("TRAY_USER_TOKEN") end
  local report, err = doctor.run(opts)
  if not report then api_error(err) end
  if report.token_kind then io.stdout:write("token: ", _M.terminal_text(report.token_kind, true), "\n") end
  for _, c in ipairs(report.checks or {}) do
    io.stdout:write(string.format("%-12s %s%s\n", _M.terminal_text(c.status or "?", true),
      _M.terminal_text(c.name or "?", true), c.detail and ("  " .. _M.terminal_text(c.detail, true)) or ""))
  end
  exit_with(report.ok == true and 0 or 1)
end

local function run(argv)
  local switches = {}
  -- global switches before the command
  local i = 1
  while argv[i] and SWITCHES[(argv[i]:match("^%-%-([%w-]+)$"))] and argv[i] ~= "--help" do
    switches[argv[i]:sub(3)] = true
    i = i + 1
  end
  state.json_errors = switches["json-errors"]
  local command = argv[i]
  if command == nil then
    io.stderr:write(HELP, "\n")
    exit_with(2)
  end
  if command == "help" or command == "--help" or command == "-h" then help(argv[i + 1], argv[i + 2]) end
  if command == "--version" or command == "version" then
    io.stdout:write("tray ", tray.VERSION, "\n")
    exit_with(0)
  end
  if command == "completion" then
    if argv[i + 1] ~= "bash" or argv[i + 2] then usage_error("completion takes one shell: bash") end
    io.stdout:write(_M.bash_completion())
    exit_with(0)
  end
  if command ~= "core" and command ~= "embedded" and command ~= "doctor" then
    usage_error("unknown command " .. tostring(command))
  end
  local method
  if command ~= "doctor" then
    method = argv[i + 1]
    if method == nil or method:sub(1, 1) == "-" then usage_error(command .. " needs a method name") end
    i = i + 1
  end
  local pos, flags = parse_flags(argv, i + 1, switches)
  state.json_errors = switches["json-errors"]
  state.debug = switches.debug
  if switches.help then help(command, method) end
  if switches.pretty and switches.compact then usage_error("--pretty or --compact, not both") end
  if switches.pretty or (not switches.compact and is_tty(1)) then state.indent = "  " end
  -- print what the server sent: decoded arrays stay arrays, empty ones too
  json.keep_arrays(true)
  if command == "doctor" then
    if #pos > 0 or next(flags) then usage_error("doctor takes no arguments") end
    run_doctor()
  elseif command == "core" then
    if flags["as-user"] then usage_error("--as-user is for embedded methods") end
    run_core(method, pos, flags, switches)
  else
    run_embedded(method, pos, flags, switches)
  end
end

--- Runs the command line.
-- @tparam table argv the arguments (like `arg`: argv[1] is the first)
-- @treturn integer the exit status
function _M.main(argv)
  state = {}
  local args = {}
  for i = 1, #argv do args[i] = argv[i] end
  local ok, err = pcall(run, args)
  io.stdout:flush()
  if ok then return 0 end
  if getmetatable(err) == EXIT then return err.code end
  io.stderr:write("tray: internal error: ", _M.terminal_text(err, true), "\n")
  return 70
end

return _M
