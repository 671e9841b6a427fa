--- What both clients share, defined once: the options and their defaults, their
-- checking, the environment / region / URL resolution, the backend and the
-- transport, `stats`, `close`, `describe`, `each`/`all`, the redirect error, and
-- the guard that turns a mistyped method or a dot call into a clear message.
-- `tray.core` and `tray.embedded` keep only their operation rows and decoding.
--
-- Precedence of every setting: an explicit option, then the environment
-- (`TRAY_TOKEN`, `TRAY_REGION`, `TRAY_CORE_URL` ...), then the default. An
-- explicit `region` beats a URL from the environment.
-- @internal tray.client

local native = require "tray.native"
local errors = require "tray.errors"
local regions = require "tray.regions"
local pager = require "tray.pager"
local backends = require "tray.backend"
local transport = require "tray.transport"
local gcra = require "tray.gcra"
local VERSION = require "tray.version"

local unpack = table.unpack or unpack -- luacheck: ignore 143

local _M = {}

--- Defaults of the options every client takes.
_M.DEFAULTS = {
  timeout = 30,            -- seconds for a whole request
  connect_timeout = 10,    -- seconds to connect
  max_retries = 3,
  retry_base = 0.5,        -- first backoff ceiling, seconds
  retry_cap = 8,           -- largest backoff ceiling, seconds
  max_retry_wait = 60,     -- a Retry-After longer than this is not waited for
  max_body = 64 * 1024 * 1024,
  rate_limit = gcra.DEFAULTS,  -- { rate = 30, burst = 30 }, defined in tray.gcra
}

--- The ranges of the numeric options: `{ low, high, whole }` (`whole`: an integer).
-- Timeouts are at least 1 ms (libcurl reads 0 ms as "no timeout"); a body cap
-- fits any size_t; a rate is between one request per 1000 s and 10^9 per second.
-- @field RANGES
_M.RANGES = {
  timeout = { 0.001, 86400 },
  connect_timeout = { 0.001, 86400 },
  max_retries = { 0, 100, true },
  retry_base = { 0, 3600 },
  retry_cap = { 0, 3600 },
  max_retry_wait = { 0, 86400 },
  max_body = { 1, 2 ^ 53, true },
  rate = { 0.001, 1e9 },
  burst = { 1, 1e9 },
}

local function is_callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and type(rawget(mt, "__call")) == "function"
end

local function number_check(name)
  return function(v)
    local r = _M.RANGES[name]
    if type(v) ~= "number" or v ~= v or v < r[1] or v > r[2] or (r[3] and v ~= math.floor(v)) then
      return string.format("%s must be %s from %.10g to %.10g", name, r[3] and "a whole number" or "a number",
        r[1], r[2])
    end
  end
end

local function optional(kind, what)
  return function(v)
    if kind == "function" then
      if not is_callable(v) then return what .. " must be a function" end
    elseif type(v) ~= kind then
      return what .. " must be a " .. kind
    end
  end
end

local function check_rate_limit(rl)
  if rl == false then return nil end
  if type(rl) ~= "table" then return "rate_limit must be a table ({ rate =, burst = }) or false" end
  if rl.reserve ~= nil then
    if not is_callable(rl.reserve) then return "rate_limit.reserve must be a method" end
    return nil
  end
  for _, k in ipairs({ "rate", "burst" }) do
    if rl[k] ~= nil then
      local why = number_check(k)(rl[k])
      if why then return "rate_limit." .. why end
    end
  end
  return nil
end

local function check_header_text(what)
  return function(v)
    if type(v) ~= "string" or not native.header_safe(v) then
      return what .. " must be a string without control characters"
    end
  end
end

local function check_backend(v)
  if v == "curl" or v == "ngx" then return nil end
  if type(v) == "table" and is_callable(v.request) then return nil end
  return "backend must be \"curl\", \"ngx\" or a backend object (with request, sleep, now, jitter, once ...)"
end

local function check_proxy(v)
  if type(v) ~= "string" or not native.header_safe(v) or v:find("%s") then
    return "proxy must be a URL (e.g. \"http://proxy:3128\"), or \"\" for no proxy"
  end
end

local function any() return nil end

--- Every option, with its check (nil when the value is fine, else why not).
-- Options of one client only are marked `only = "core"` or `only = "embedded"`.
-- The token, URL and validation options are checked where they are resolved.
_M.OPTIONS = {
  timeout = { check = number_check("timeout") },
  connect_timeout = { check = number_check("connect_timeout") },
  max_retries = { check = number_check("max_retries") },
  retry_base = { check = number_check("retry_base") },
  retry_cap = { check = number_check("retry_cap") },
  max_retry_wait = { check = number_check("max_retry_wait") },
  max_body = { check = number_check("max_body") },
  rate_limit = { check = check_rate_limit },
  user_agent = { check = check_header_text("user_agent") },
  ca_file = { check = optional("string", "ca_file") },
  proxy = { check = check_proxy },
  log = { check = optional("function", "log") },
  on_request = { check = optional("function", "on_request") },
  on_response = { check = optional("function", "on_response") },
  transport = { check = optional("function", "transport") },
  backend = { check = check_backend },
  region = { check = any },
  base_url = { check = any },
  validate = { check = any },
  validator = { check = any },
  schema_ttl = { check = any },
  schema_clock = { check = any },
  schema_options = { check = any },
  token = { check = any, only = "core" },
  master_token = { check = any, only = "embedded" },
  user_token = { check = any, only = "embedded" },
  endpoint = { check = any, only = "embedded" },
  embedded_url = { check = any, only = "embedded" },
  token_store = { check = any, only = "embedded" },
  token_margin = { check = any, only = "embedded" },
}

local function usage(message, fields)
  return errors.fail("usage", message, fields)
end

-- Edit distance (for "did you mean"), with an early exit above `limit`.
local function distance(a, b, limit)
  if math.abs(#a - #b) > limit then return limit + 1 end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    local best = i
    local ca = a:byte(i)
    for j = 1, #b do
      local cost = ca == b:byte(j) and 0 or 1
      local v = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      cur[j] = v
      if v < best then best = v end
    end
    if best > limit then return limit + 1 end
    prev = cur
  end
  return prev[#b]
end

--- The names among `candidates` closest to `name` (at most three, best first).
-- @tparam string name
-- @tparam {string,...} candidates
-- @treturn {string,...}
function _M.suggest(name, candidates)
  if type(name) ~= "string" then return {} end
  local lname = name:lower()
  local limit = math.max(2, math.floor(#name / 3))
  local words = {}
  for w in lname:gmatch("[^_]+") do words[#words + 1] = w end
  -- every word of the name in the candidate ("create_user" -> "create_external_user")
  local function has_words(c)
    if #words < 2 then return false end
    for _, w in ipairs(words) do
      if not ("_" .. c .. "_"):find("_" .. w .. "_", 1, true) then return false end
    end
    return true
  end
  local scored = {}
  for _, c in ipairs(candidates) do
    local lc = c:lower()
    local d = distance(lname, lc, limit)
    if d > limit and ((#lname >= 4 and (lc:find(lname, 1, true) or lname:find(lc, 1, true))) or has_words(lc)) then
      d = limit
    end
    if d <= limit then scored[#scored + 1] = { c, d } end
  end
  table.sort(scored, function(x, y) if x[2] ~= y[2] then return x[2] < y[2] end return x[1] < y[1] end)
  local out = {}
  for i = 1, math.min(3, #scored) do out[i] = scored[i][1] end
  return out
end

--- " (did you mean a or b?)" for a mistyped name, or "".
-- @tparam string name
-- @tparam {string,...} candidates
-- @treturn string
function _M.did_you_mean(name, candidates)
  local s = _M.suggest(name, candidates)
  if #s == 0 then return "" end
  return " (did you mean " .. table.concat(s, " or ") .. "?)"
end

--- Checks a client's options: unknown names (with a suggestion), types and ranges.
-- @tparam table opts the caller's options
-- @tparam string kind "core" or "embedded"
-- @tparam string what the constructor's name, for messages
-- @treturn ?table the options with their defaults filled in
-- @treturn ?table a `usage` error
function _M.options(opts, kind, what)
  if type(opts) ~= "table" then return usage(what .. " takes a table of options") end
  local known = {}
  for name, spec in pairs(_M.OPTIONS) do
    if not spec.only or spec.only == kind then known[#known + 1] = name end
  end
  table.sort(known)
  local out = {}
  for k, v in pairs(opts) do
    local spec = _M.OPTIONS[k]
    if type(k) ~= "string" or not spec or (spec.only and spec.only ~= kind) then
      return usage(string.format("%s: unknown option %s%s", what, tostring(k), _M.did_you_mean(k, known)))
    end
    local why = spec.check(v)
    if why then return usage(what .. ": " .. why) end
    out[k] = v
  end
  for k, v in pairs(_M.DEFAULTS) do
    if out[k] == nil then out[k] = v end
  end
  if out.transport and out.backend then
    return usage(what .. ": give transport (a function) or backend, not both")
  end
  return out
end

--- Checks a bearer token: a non-empty string that can live in a header.
-- @param token any value
-- @tparam string what the option's name, for the message
-- @treturn ?string the token
-- @treturn ?table a `usage` error (which never holds the token)
function _M.check_token(token, what)
  if type(token) ~= "string" or token == "" then
    return usage(what .. " is required (a non-empty string)")
  end
  if not native.header_safe(token) then
    return usage(what .. " holds a control character (CR, LF, NUL ...)")
  end
  return token
end

--- Splits a base URL, refusing what cannot be one.
-- @tparam string url
-- @tparam string what the option's name, for the message
-- @treturn ?string the URL without a trailing slash
-- @treturn ?string|table the host (with port, lower case), or a `usage` error
function _M.check_base_url(url, what)
  if type(url) ~= "string" then return usage(what .. " must be a string") end
  local scheme, host = url:match("^(%a[%w+.-]*)://([^/?#@]+)")
  if not scheme or (scheme:lower() ~= "https" and scheme:lower() ~= "http")
    or not native.header_safe(url) or url:find("[%s]") then
    return usage(what .. " must be an http(s) URL")
  end
  -- credentials in the URL would travel as Basic auth beside the token, and
  -- could reach a message; the authority is up to the first / ? or #
  if url:match("^%a[%w+.-]*://([^/?#]*)"):find("@", 1, true) then
    return usage(what .. " must not hold a user name or password")
  end
  return (url:gsub("/+$", "")), host:lower()
end

--- Resolves the region: the option, else `TRAY_REGION`, else "us".
-- @tparam table opts
-- @tparam table sources filled with `region = "TRAY_REGION"` when it came from there
-- @treturn ?string the canonical region name
-- @treturn ?table|table its URLs, or a `usage` error
function _M.region(opts, sources)
  local name = opts.region
  if name == nil then
    name = os.getenv("TRAY_REGION")
    if name ~= nil and name ~= "" then sources.region = "TRAY_REGION" else name = "us" end
  end
  local region, urls = regions.resolve(name)
  if not region then return usage(urls) end
  return region, urls
end

--- Resolves one URL setting: the option (or one of its aliases), else the
-- explicit region's, else the environment variable, else the region's.
-- @tparam table opts
-- @tparam {string,...} names the option and its aliases, first the canonical one
-- @tparam string env the environment variable
-- @tparam string key the region table's key ("core", "graphql", "embedded")
-- @tparam table urls the region's URLs
-- @tparam table sources filled with `<names[1]> = env` when the URL came from the environment
-- @treturn ?string the URL
-- @treturn ?string|table the host, or a `usage` error
function _M.url(opts, names, env, key, urls, sources)
  local url, given
  for _, n in ipairs(names) do
    if opts[n] ~= nil then
      if url ~= nil and opts[n] ~= url then
        return usage(table.concat(names, " and ") .. " are the same setting: give one")
      end
      url, given = opts[n], n
    end
  end
  if url == nil and opts.region == nil then
    local v = os.getenv(env)
    if v ~= nil and v ~= "" then
      url, given = v, env
      sources[names[1]] = env
    end
  end
  if url == nil then url, given = urls[key], names[1] end
  return _M.check_base_url(url, given)
end

--- The full `User-Agent`: the caller's product (if any), then `tray-lua/<version>`.
-- @tparam ?string user_agent
-- @treturn string
function _M.user_agent(user_agent)
  local ua = "tray-lua/" .. VERSION
  if user_agent then ua = user_agent .. " " .. ua end
  return ua
end

--- Makes the backend and the transport of a new client and sets the shared fields.
-- @tparam table self the client being made
-- @tparam table o the checked options
-- @tparam string token
-- @tparam string host the API host (keys the rate limiter)
-- @treturn ?table self
-- @treturn ?table the error
function _M.connect(self, o, token, host)
  local settings = {
    timeout = o.timeout, connect_timeout = o.connect_timeout, max_body = o.max_body,
    user_agent = _M.user_agent(o.user_agent), ca_file = o.ca_file, proxy = o.proxy, log = o.log,
  }
  local backend, err = backends.select(settings, o.backend, o.transport)
  if not backend then return nil, err end
  -- the bucket's rate and burst, filled in here once for every kind of bucket
  local rl = o.rate_limit
  if type(rl) == "table" and rl.reserve == nil then
    local filled = {}
    for k, v in pairs(rl) do filled[k] = v end
    filled.rate, filled.burst = gcra.settings(rl)
    rl = filled
  end
  local lim
  lim, err = backends.limiter(backend, rl, token, host, o.log)
  if err then
    backend:close()
    return nil, err
  end
  self.transport = transport.new(o, token, backend, lim, lim ~= nil and lim ~= o.rate_limit)
  return self
end

--- The error of an unexpected redirect (redirects are never followed).
-- @tparam table headers the response's headers (lower-case names)
-- @tparam number status
-- @tparam ?string operation
-- @treturn nil
-- @treturn table the `http` error (it names the target's host only)
function _M.redirect_error(headers, status, operation)
  local location = type(headers) == "table" and headers.location or ""
  local host = type(location) == "string" and location:match("^%a[%w+.-]*://([^/?#]+)") or nil
  return errors.fail("http", string.format("unexpected redirect (HTTP %d) to %s; redirects are not followed",
    status, host or "the same host"), { status = status, operation = operation })
end

-- ---------------------------------------------------------------------------
-- Methods both clients have

local Shared = {}

--- Request counters of this client: `{ requests =, retries =, failures = }`.
-- @treturn table
function Shared:stats()
  return self.transport.stats
end

--- Closes the client's connections (also done at garbage collection). Idempotent;
-- a call made afterwards returns `nil, err` (`usage`, "the client is closed").
function Shared:close()
  self.transport:close()
end

--- Where this client's settings came from, for logs and support (never a token).
-- @treturn table `{ client =, region =, urls = { ... }, backend =, token_kind =,
--   from_environment = { setting = "VARIABLE", ... } }`
function Shared:describe()
  local from = {}
  for k, v in pairs(self.sources or {}) do from[k] = v end
  local urls = {}
  for _, k in ipairs({ "base_url", "endpoint", "embedded_url" }) do
    if rawget(self, k) then urls[k] = rawget(self, k) end
  end
  return {
    client = self.client_name, region = self.region, urls = urls, backend = self.transport.backend.name,
    token_kind = self.token_kind, from_environment = from, closed = self.transport:closed(),
  }
end

--- All elements of a list across pages (`each` collected).
-- @tparam string name a list operation
-- @param ... its arguments
-- @treturn ?table the elements
-- @treturn ?table the error
function Shared:all(name, ...)
  local args, n = { ... }, select("#", ...)
  return pager.collect(function() return self:each(name, unpack(args, 1, n)) end)
end

--- Fields a client or the code around it may read (nil when unset, never an error).
local FIELDS = {
  base_url = true, endpoint = true, embedded_url = true, region = true, transport = true, token_kind = true,
  token_source = true, token_expires = true, validator = true, validate_calls = true, sources = true,
  client_name = true,
  -- duck typing by other modules (a validator, a token store, a limiter)
  list_connector_operations = true, get = true, set = true, delete = true, reserve = true, request = true,
}

-- ---------------------------------------------------------------------------
-- Protected calls: nothing a client method or constructor raises escapes

-- The SDK's own files (this file's directory and below): a raise whose frames
-- reach one of them before any metamethod of the caller's is the SDK's bug.
local SDK_DIR = (debug.getinfo(1, "S").source or ""):match("^@(.*[/\\])")

local function from_sdk(source)
  return SDK_DIR == nil or source:sub(2, #SDK_DIR + 1) == SDK_DIR
end

-- Builtins that run a table's metamethods (__tostring, __pairs, __index, __len)
-- for the SDK while it reads the caller's arguments.
local RUNNERS = {}
for _, f in ipairs({ tostring, pairs, ipairs, next, string.format, table.concat, table.insert,
                     table.remove, table.sort, table.unpack or unpack, select, print }) do -- luacheck: ignore 143
  RUNNERS[f] = true
end

-- The message handler of a protected call: an error object as it is, anything
-- else as `{ raised =, by_caller = }`. `by_caller`: between the raise and the
-- first frame of the SDK's own code there is a metamethod of the caller's (run
-- directly, or by a builtin such as tostring or pairs). LuaJIT runs a
-- __tostring without a frame of tostring: that frame is named "tostring".
local function classify(raised)
  if errors.is(raised) then return raised end
  local by_caller, foreign = false, false
  for level = 2, 100 do
    local info = debug.getinfo(level, "Snf")
    if not info then break end
    if info.what == "C" then
      if info.namewhat == "metamethod" or (foreign and RUNNERS[info.func]) then
        by_caller = true
        break
      end
    elseif from_sdk(info.source) then
      break
    else
      foreign = true
      if info.namewhat == "metamethod" or info.name == "tostring" then
        by_caller = true
        break
      end
    end
  end
  return { raised = raised, by_caller = by_caller }
end

-- The secrets of the client a method was called on, read without running any
-- metamethod (the caller's table may be hostile).
local function client_secrets(self)
  local t = type(self) == "table" and rawget(self, "transport")
  local list = type(t) == "table" and rawget(t, "secrets")
  return type(list) == "table" and list or {}
end

-- The results of a call run under xpcall(f, classify, ...): a raise becomes
-- `nil, err`, `usage` when the caller's input raised, else `internal`.
local function finish_call(self, name, ok, ...)
  if ok then return ... end
  local r = ...
  if errors.is(r) then return nil, r end
  local shown, text = pcall(tostring, r.raised)
  if not shown or type(text) ~= "string" then text = "(an error value that cannot be shown)" end
  text = errors.scrub(text, client_secrets(self))
  if r.by_caller then
    return errors.fail("usage", name .. ": an argument raised an error: " .. text, { operation = name })
  end
  return errors.fail("internal", "the SDK failed inside " .. name .. ": " .. text, { operation = name })
end

--- Wraps a function that answers `value` or `nil, err` so that nothing it raises
-- escapes: a raised error object comes back as `nil, err`; a raise of the
-- caller's input (a table of theirs whose `__index`, `__pairs`, `__len`,
-- `__tostring` or `__newindex` raises while the SDK reads it) as a `usage`
-- error; any other raise (a bug inside the SDK) as an `internal` error. Client
-- methods (`finish`), the constructors, `tokens.for_user` and `csv` writers use it.
-- @tparam function f
-- @tparam string name the operation, for messages
-- @treturn function the wrapped function (the same arguments and answers)
function _M.protect(f, name)
  return function(...)
    return finish_call((...), name, xpcall(f, classify, ...))
  end
end

local function client_tag(t) return t.__tray_client end

--- Finishes a client class: the shared methods, a check that every method is
-- called with `:` (a dot call is a `usage` error), every method `protect`ed
-- (`each` excepted: an iterator raises), and a
-- one-line error naming the closest methods when an unknown one is called.
-- @tparam table Class the class (its `__index` is set here)
-- @tparam string label "tray.core" or "tray.embedded"
-- @tparam string short what the docs call such a client ("core", "emb")
-- @treturn table Class
function _M.finish(Class, label, short)
  for k, f in pairs(Shared) do
    if Class[k] == nil then Class[k] = f end
  end
  Class.__tray_client = true
  local names = {}
  for name, f in pairs(Class) do
    if type(f) == "function" and type(name) == "string" and not name:match("^_") then
      names[#names + 1] = name
      local protected = _M.protect(f, name)
      Class[name] = function(self, ...)
        local tagged, tag = pcall(client_tag, self)
        if not tagged or tag ~= true then
          local _, err = usage(string.format("call it with a colon: %s:%s(...), not %s.%s(...)",
            short, name, short, name), { operation = name })
          if name == "each" then error(err, 2) end
          return nil, err
        end
        if name == "each" then return f(self, ...) end -- an iterator raises by design
        return protected(self, ...)
      end
    end
  end
  table.sort(names)
  Class.__index = Class
  return setmetatable(Class, {
    __index = function(_, k)
      if type(k) ~= "string" or FIELDS[k] or k:match("^_") then return nil end
      error(string.format("%s has no method %s%s", label, k, _M.did_you_mean(k, names)), 2)
    end,
  })
end

return _M
