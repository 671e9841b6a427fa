-- A real nginx running examples/openresty, seen from a spec (Debian's nginx +
-- libnginx-mod-http-lua, the LuaJIT build of tray.native), against the emulator.
--
--    local nginx = require "spec.helpers.nginx"
--    local why_not = nginx.missing()              -- nil when nginx can run here
--    local n = nginx.start(2, { TRAY_SOLUTION_ID = "..." })
--    local status, body = nginx.get(n.url .. "/users?first=1")
--    n:stop()
--
-- Each started nginx has its own prefix in a temporary directory and listens on
-- a free high loopback port; stop() kills it and removes the directory.
-- Used by spec/openresty_spec.lua and spec/redis_spec.lua.

local emu = require "spec.helpers.emulator"
local native = require "tray.native"
local read_file = require("spec.helpers.proc").read_file

local M = {}

--- The nginx Lua module, as Debian installs it.
M.LUA_MODULE = "/usr/lib/nginx/modules/ngx_http_lua_module.so"

--- The checkout (specs run from its top directory).
M.ROOT = assert(io.popen("pwd")):read("*l")

local function shell_ok(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function write_file(path, text, mode)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  if mode then assert(shell_ok("chmod " .. mode .. " " .. quote(path))) end
end

local function readable(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

--- Why nginx cannot run here, or nil when it can.
-- @treturn ?string
function M.missing()
  if not shell_ok("command -v nginx >/dev/null 2>&1") then return "nginx is not installed" end
  if not readable(M.LUA_MODULE) then return "the nginx Lua module (libnginx-mod-http-lua) is not installed" end
  if not readable(M.ROOT .. "/build/luajit/tray/native.so") then
    return "build/luajit/tray/native.so is missing (make LUA=luajit)"
  end
  return nil
end

-- A started nginx: { prefix =, port =, url = }; stop() is safe to call twice.
local Nginx = {}
Nginx.__index = Nginx

--- The system's CA bundle (what lua_ssl_trusted_certificate names by default).
M.CA_FILE = "/etc/ssl/certs/ca-certificates.crt"

--- The first nameserver of /etc/resolv.conf (nginx's `resolver`), or 127.0.0.1.
function M.resolver()
  local text = read_file("/etc/resolv.conf") or ""
  local ns = text:match("\nnameserver%s+([%d%.]+)") or text:match("^nameserver%s+([%d%.]+)")
  return ns or "127.0.0.1"
end

--- Starts examples/openresty/nginx.conf (or `opts.conf`) with `workers` worker
-- processes. The app's environment is the emulator's token and URLs plus `env`
-- (name -> value); it reaches nginx through a 0600 file sourced by the shell,
-- never argv. Raises when nginx does not start (the message has its error log).
-- @tparam number workers
-- @tparam[opt] table env more environment variables for the app
-- @tparam[opt] table opts `ca_file` (lua_ssl_trusted_certificate, default `M.CA_FILE`),
-- `conf` (another template with the same @NAME@ placeholders)
-- @treturn table the handle: `url`, `port`, `prefix`, `pid()`, `log()`, `stop()`
function M.start(workers, env, opts)
  opts = opts or {}
  local vars = {
    TRAY_MASTER_TOKEN = emu.master_token,
    TRAY_GRAPHQL_URL = emu.graphql_url,
    TRAY_EMBEDDED_URL = emu.url,
  }
  for k, v in pairs(env or {}) do vars[k] = v end
  local names = {}
  for k in pairs(vars) do
    assert(type(k) == "string" and k:match("^[%a_][%w_]*$"), "bad environment variable name")
    names[#names + 1] = k
  end
  table.sort(names)
  local lines = {}
  for i, k in ipairs(names) do lines[i] = "export " .. k .. "=" .. quote(vars[k]) end
  lines[#lines + 1] = ""

  local prefix = assert(io.popen("mktemp -d \"${TMPDIR:-/tmp}/tray-nginx.XXXXXX\"")):read("*l")
  assert(shell_ok("chmod 755 " .. quote(prefix) .. " && mkdir -p " .. quote(prefix) .. "/conf " ..
    quote(prefix) .. "/logs " .. quote(prefix) .. "/temp"))
  local self = setmetatable({ prefix = prefix }, Nginx)
  write_file(prefix .. "/env.sh", table.concat(lines, "\n"), "600")
  local template = assert(read_file(opts.conf or (M.ROOT .. "/examples/openresty/nginx.conf")))
  local values = { ROOT = M.ROOT, WORKERS = tostring(workers), CA_FILE = opts.ca_file or M.CA_FILE,
                   RESOLVER = M.resolver() }
  math.randomseed(os.time() + math.floor(native.now() * 1000))
  for _ = 1, 10 do
    local port = math.random(20000, 32000)
    values.PORT = tostring(port)
    local conf = template:gsub("@([%u_]+)@", values)
    write_file(prefix .. "/conf/nginx.conf", conf)
    local started = shell_ok(". " .. quote(prefix .. "/env.sh") .. " && nginx -p " .. quote(prefix) ..
      " -c conf/nginx.conf -e logs/error.log 2> " .. quote(prefix .. "/logs/start.err"))
    if started then
      self.port, self.url = port, "http://127.0.0.1:" .. port
      return self:wait_ready()
    end
    local why = read_file(prefix .. "/logs/start.err") or ""
    if not why:find("in use", 1, true) then
      self:stop()
      error("nginx did not start: " .. why)
    end
  end
  self:stop()
  error("nginx found no free port")
end

--- The master process's pid, or nil.
function Nginx:pid()
  local text = read_file(self.prefix .. "/logs/nginx.pid")
  return text and tonumber(text:match("%d+"))
end

--- Waits until /health answers (raises, after stopping nginx, when it never does).
function Nginx:wait_ready()
  local s = assert(native.session{ timeout = 2 })
  for _ = 1, 100 do
    local status = s:request("GET", self.url .. "/health")
    if status == 200 then
      s:close()
      return self
    end
    native.sleep(0.05)
  end
  s:close()
  local log = self:log()
  self:stop()
  error("nginx does not answer /health; error.log:\n" .. log)
end

--- The error log so far.
function Nginx:log()
  return self.prefix and read_file(self.prefix .. "/logs/error.log") or ""
end

--- Stops nginx (TERM, then KILL) and removes its prefix. Idempotent.
function Nginx:stop()
  if not self.prefix then return end
  local pid = self:pid()
  if pid then
    shell_ok("kill -TERM " .. pid .. " 2>/dev/null")
    for _ = 1, 100 do
      if not shell_ok("kill -0 " .. pid .. " 2>/dev/null") then break end
      native.sleep(0.05)
    end
    shell_ok("kill -KILL " .. pid .. " 2>/dev/null")
  end
  shell_ok("rm -rf " .. quote(self.prefix))
  self.prefix = nil
end

--- Runs requests concurrently (one multi handle); returns the results by
-- index (`{ status =, body =, headers = }` or `{ kind =, message = }`) and the
-- seconds each took. `each(done, n)` is called while waiting, with the results so far.
-- @tparam table urls each a URL (a GET) or `{ url =, method =, body = }` (a JSON body)
-- @tparam number timeout seconds for each request
-- @tparam[opt] function each
-- @treturn table results
-- @treturn table seconds
function M.fire(urls, timeout, each)
  local s = assert(native.session{ timeout = timeout })
  local m = assert(native.multi())
  local t0 = native.now()
  for i, r in ipairs(urls) do
    if type(r) == "string" then r = { url = r } end
    local headers = { "Accept: application/json" }
    if r.body then headers[2] = "Content-Type: application/json" end
    assert(m:add(s, i, r.method or "GET", r.url, headers, r.body))
  end
  local done, n, took = {}, 0, {}
  while n < #urls do
    local got = assert(m:poll(0.05))
    for _, r in ipairs(got) do
      done[r.id] = r
      took[r.id] = native.now() - t0
      n = n + 1
    end
    if each then each(done, n) end
    assert(native.now() - t0 < timeout + 5, "requests still running after " .. timeout .. " s")
  end
  m:close()
  s:close()
  return done, took
end

--- One GET. Returns status, body, headers (or nil, kind, message) and the seconds it took.
-- @tparam string url
function M.get(url)
  local s = assert(native.session{ timeout = 30 })
  local t0 = native.now()
  local status, body, headers = s:request("GET", url, { "Accept: application/json" })
  local took = native.now() - t0
  s:close()
  return status, body, headers, took
end

--- One POST of a JSON body. Returns status, body, headers (or nil, kind, message).
-- @tparam string url
-- @tparam string body JSON
function M.post(url, body)
  local s = assert(native.session{ timeout = 60 })
  local status, rbody, headers = s:request("POST", url, { "Accept: application/json",
    "Content-Type: application/json" }, body)
  s:close()
  return status, rbody, headers
end

--- The probe configuration (spec/fixtures/nginx/nginx.conf): POST /probe runs one
-- SDK call with the client options of the request.
M.PROBE_CONF = M.ROOT .. "/spec/fixtures/nginx/nginx.conf"

return M
