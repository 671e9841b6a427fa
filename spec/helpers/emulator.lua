-- The emulator, seen from a spec: its address, its master token, and its test
-- controls (reset, request log, faults, config, clock, seeding).
--
-- `spec/run` (and so `make test`) starts one emulator and sets TRAY_EMULATOR_URL;
-- without it, this helper starts its own on a free port and stops it when the
-- Lua process ends (the emulator watches this process's pid).

local native = require "tray.native"
local json = require "tray.json"

local M = {}

M.master_token = os.getenv("TRAY_EMULATOR_MASTER_TOKEN") or "emulator-master-token"

local proc = require "spec.helpers.proc"

--- Starts an emulator of its own on a free port, with extra command-line flags
-- (`"--tls"`, `"--schema x.graphql"` ...); it stops when this Lua process ends.
-- Node.js runs outside the sanitizers' preload (make check).
-- @tparam[opt] string flags
-- @treturn string its URL
-- @treturn function stops it now
function M.start(flags)
  local out = os.tmpname()
  local pid = proc.pid()
  local p = assert(io.popen(string.format(
    "env -u LD_PRELOAD node emulator/server.js --port 0 %s %s > %s 2>&1 & echo $!",
    pid and ("--parent-pid " .. pid) or "", flags or "", out)))
  local child = assert(tonumber(p:read("*l")))
  p:close()
  local deadline = native.now() + 30
  while native.now() < deadline do
    local line = (proc.read_file(out) or ""):match("^[^\n]*")
    local url = line and line:match("^tray%-emulator listening on (%S+)")
    if url then
      os.remove(out)
      return url, function() os.execute("kill " .. child .. " 2>/dev/null") end
    end
    native.sleep(0.05)
  end
  error("the emulator did not start: " .. (proc.read_file(out) or "no output"))
end

M.url = os.getenv("TRAY_EMULATOR_URL") or (M.start())
M.core_url = M.url .. "/core/v1"
M.graphql_url = M.url .. "/graphql"

local session = assert(native.session{ timeout = 60 })

--- Calls a control endpoint; returns the decoded answer (raises on failure:
-- a spec cannot go on without its emulator).
function M.control(method, path, body)
  local text = body ~= nil and assert(json.encode(body)) or nil
  local headers = { "Accept: application/json" }
  if text then headers[2] = "Content-Type: application/json" end
  local status, rbody = session:request(method, M.url .. "/_emulator" .. path, headers, text)
  assert(status, "emulator control " .. path .. " failed: " .. tostring(rbody))
  assert(status < 300, "emulator control " .. path .. " answered " .. tostring(status) .. ": " .. tostring(rbody))
  if rbody == "" then return true end
  return assert(json.decode(rbody))
end

function M.reset() return M.control("POST", "/reset", {}) end
function M.info() return M.control("GET", "/info") end
function M.requests() return M.control("GET", "/requests") end
function M.clear_requests() return M.control("DELETE", "/requests") end
function M.stats() return M.control("GET", "/stats") end
function M.config(c) return M.control("POST", "/config", c) end
function M.fault(f) return M.control("POST", "/faults", f) end
function M.clear_faults() return M.control("DELETE", "/faults") end
function M.advance(seconds) return M.control("POST", "/clock", { advanceSeconds = seconds }) end
function M.seed_users(count, prefix) return M.control("POST", "/seed/users", { count = count, prefix = prefix }) end

--- The last request the emulator saw (optionally the last matching a path pattern).
function M.last_request(pattern)
  local log = M.requests()
  for i = #log, 1, -1 do
    if not pattern or log[i].path:find(pattern) then return log[i] end
  end
  return nil
end

--- How many requests of the log `keep(request)` is true for.
-- @tparam function keep
-- @treturn number
function M.count(keep)
  local n = 0
  for _, r in ipairs(M.requests()) do
    if keep(r) then n = n + 1 end
  end
  return n
end

--- Arrival times (seconds, from the request log) of the requests for one path.
function M.arrivals(path)
  local t = {}
  for _, r in ipairs(M.requests()) do
    if r.path == path then t[#t + 1] = r.time / 1000 end
  end
  return t
end

--- A `transport` function (the contract of the client option) that sends each request
-- with a native session, for specs that wrap it to interfere with some requests.
function M.forwarding_transport()
  local s = assert(native.session{ timeout = 10 })
  return function(req)
    local list = {}
    for k, v in pairs(req.headers) do
      if k ~= "Authorization" then list[#list + 1] = k .. ": " .. v end
    end
    local token = req.headers.Authorization:match("^Bearer (.+)$")
    local status, body, headers = s:request(req.method, req.url, list, req.body, token)
    if not status then return nil, body, headers end
    return { status = status, body = body, headers = headers }
  end
end

--- Options for a client of the emulator: no rate limit, no retries, unless overridden.
function M.options(extra)
  local o = { rate_limit = false, max_retries = 0 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

--- A libcurl backend (give it as the `backend` option) that records every wait the
-- client asks of it: the limiter's and the retries' sleeps, in seconds, in order.
-- @treturn table the backend
-- @treturn table the list of waits
function M.recording_backend()
  local d = require("tray.client").DEFAULTS
  local b = assert(require("tray.backend.curl").new{ timeout = d.timeout,
    connect_timeout = d.connect_timeout, max_body = d.max_body, user_agent = "tray-spec" })
  local waits, sleep = {}, b.sleep
  b.sleep = function(self, seconds)
    waits[#waits + 1] = seconds
    return sleep(self, seconds)
  end
  return b, waits
end

--- A `tray.core` client for the emulator (master token).
function M.core(extra)
  local o = M.options(extra)
  if o.token == nil then o.token = M.master_token end
  if o.base_url == nil then o.base_url = M.core_url end
  return assert(require("tray.core").new(o))
end

--- A `tray.embedded` client for the emulator (master token unless a user_token is given).
function M.embedded(extra)
  local o = M.options(extra)
  if o.master_token == nil and o.user_token == nil then o.master_token = M.master_token end
  if o.endpoint == nil then o.endpoint = M.graphql_url end
  if o.embedded_url == nil then o.embedded_url = M.url end
  return assert(require("tray.embedded").new(o))
end

--- A URL where nothing listens (a port bound and closed again is free for a while).
function M.dead_url()
  return "http://127.0.0.1:9/core/v1"
end

--- Every token the emulator knows of that a spec used, to scan errors with.
M.secrets = { M.master_token }

--- Fails when any string inside `v` (recursively, keys too) holds a known token.
function M.assert_no_secret(v, extra_secrets)
  local secrets = {}
  for _, s in ipairs(M.secrets) do secrets[#secrets + 1] = s end
  for _, s in ipairs(extra_secrets or {}) do secrets[#secrets + 1] = s end
  local seen = {}
  local function scan(x, where)
    if type(x) == "string" then
      for _, s in ipairs(secrets) do
        assert(not x:find(s, 1, true), "a token appears in " .. where)
      end
    elseif type(x) == "table" and not seen[x] then
      seen[x] = true
      for k, y in pairs(x) do
        scan(k, where .. " (key)")
        scan(y, where .. "." .. tostring(k))
      end
    end
  end
  scan(v, "the value")
  scan(tostring(v), "tostring(value)")
end

return M
