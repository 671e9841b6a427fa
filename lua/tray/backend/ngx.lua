--- The nginx backend: requests on cosockets (`ngx.socket.tcp`), HTTP/1.1
-- framing in the C core.
--
-- A client made inside nginx (OpenResty, lua-nginx-module) gets this backend
-- by itself. Each request is one cosocket exchange: the worker's event loop
-- keeps serving other requests while it waits, so a worker holds as many SDK
-- calls in flight as it has connections (`worker_connections`), with no thread
-- pool to size.
--
-- * **Bytes.** The request bytes are built in C (`native.http1_request`: the
--   request line, `Host`, `User-Agent`, the given header lines, the
--   `Authorization: Bearer` line written from the token there, with CR/LF/NUL
--   refused, `Content-Length`) and the answer is read by the C parser
--   (`native.http1_parser`: status line, headers, `Content-Length`, chunked,
--   `100 Continue` skipped, close-delimited bodies; `max_body` enforced while
--   reading, the head bounded to 64 KiB).
-- * **Connections.** Kept alive in one cosocket pool per scheme, host and port
--   (`setkeepalive`), only when the answer allows it (HTTP/1.1 without
--   `Connection: close`, framed by length or chunks, nothing after its end). A
--   kept connection that turns out closed before any answer byte is replaced
--   once by a new one.
-- * **TLS.** `sslhandshake(nil, host, true)`: the certificate chain and the
--   host name are always verified, against the CAs of nginx's
--   `lua_ssl_trusted_certificate` directive (e.g.
--   `lua_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;`). Without
--   it every TLS request fails, and nothing (no token) is sent. The client
--   option `ca_file` does not apply here (cosockets take their CAs from nginx).
-- * **Names.** Host names are resolved by nginx's `resolver` directive, which
--   nginx needs in the http block; `localhost` is connected to as 127.0.0.1
--   (the certificate is still checked for the name `localhost`).
-- * **Timeouts.** `connect_timeout` bounds the connect (and the TLS
--   handshake), `timeout` the whole request: every send and read gets what
--   remains of it.
-- * **Redirects** are never followed: a 3xx comes back as a status.
-- * **Phases without cosockets** (`init_by_lua`, `init_worker_by_lua` outside
--   a timer, header and body filters, `log_by_lua`, `set_by_lua`, balancer):
--   the request goes through the blocking libcurl core instead (same
--   behaviour, but the worker waits), and this is logged once per phase.
--
-- The interface is the one every backend has: `request`, `sleep`, `now`,
-- `jitter`, `once`, `limiter`, `close` and `name`.
-- @internal tray.backend.ngx

-- luacheck: globals ngx

local native = require "tray.native"

local _M = {}

local Backend = {}
Backend.__index = Backend

--- The backend's name.
Backend.name = "ngx"

local READ_SIZE = 65536        -- bytes asked of one receiveany
local POOL_SIZE = 64           -- idle connections kept per scheme/host/port and worker
local KEEPALIVE_MS = 60000     -- how long an idle connection is kept
local ONCE_WAIT = require("tray.backend.once").LIMIT -- seconds a caller of `once` waits at most

-- The phases in which cosockets and ngx.sleep can yield.
local COSOCKET_PHASES = {
  rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}

local pack = table.pack or function(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack -- luacheck: ignore 143

local function phase()
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then return nil end
  local ok, p = pcall(ngx.get_phase)
  return ok and p or nil
end

--- Are we inside nginx (OpenResty's lua-nginx-module)? Only nginx sets
-- `ngx.config.ngx_lua_version`; a stand-in `ngx` table does not. The one
-- definition: `tray.backend` chooses this backend by it, `tray.parallel` its
-- light threads.
-- @treturn boolean
function _M.in_nginx()
  return type(ngx) == "table" and type(ngx.config) == "table" and ngx.config.ngx_lua_version ~= nil
end

--- Can this phase use cosockets (and yield)?
-- @treturn boolean
function _M.cosockets()
  local p = phase()
  return p ~= nil and COSOCKET_PHASES[p] == true
end

local semaphore_mod -- false when lua-resty-core's ngx.semaphore cannot be loaded
local function semaphore()
  if semaphore_mod == nil then
    local ok, m = pcall(require, "ngx.semaphore")
    semaphore_mod = ok and type(m) == "table" and m or false
  end
  return semaphore_mod
end

--- Makes a backend for one client.
-- @tparam table settings `{ timeout =, connect_timeout =, max_body =, user_agent =, ca_file =, proxy =, log = }`
-- (`user_agent` is the whole User-Agent value)
-- @treturn table the backend
function _M.new(settings)
  local s = settings or {}
  return setmetatable({
    timeout = s.timeout or 30,
    connect_timeout = s.connect_timeout or 10,
    max_body = s.max_body or 64 * 1024 * 1024,
    user_agent = s.user_agent,
    ca_file = s.ca_file,
    proxy = s.proxy,
    log = s.log,
    settings = s,
    flights = {},
    warned = {},
  }, Backend)
end

-- Logs a notice once per backend and text (never a token: callers pass none).
function Backend:warn_once(text)
  if self.warned[text] then return end
  self.warned[text] = true
  if self.log then
    pcall(self.log, "warn", text)
  elseif type(ngx) == "table" and ngx.log then
    ngx.log(ngx.WARN, "tray: ", text)
  end
end

-- The blocking libcurl core, for phases without cosockets.
function Backend:blocking(method, url, lines, body, token)
  self:warn_once("cosockets are not available in the " .. tostring(phase() or "current") ..
    " phase: requests made there block the worker (libcurl)")
  if not self.session then
    local session, kind, msg = native.session{
      timeout = self.timeout, connect_timeout = self.connect_timeout, max_body = self.max_body,
      user_agent = self.user_agent, ca_file = self.ca_file,
    }
    if not session then return nil, kind, msg end
    self.session = session
  end
  return self.session:request(method, url, lines, body, token)
end

local function ms(seconds)
  return math.max(1, math.floor(seconds * 1000))
end

-- One exchange on one connection. Returns status, body, headers, keepalive, or
-- nil, kind, message, detail, retry (retry: a reused connection was found closed
-- before any answer byte).
local function exchange(self, sock, bytes, head_only, deadline)
  local left = deadline - native.now()
  if left <= 0 then return nil, "timeout", "the request took longer than the timeout" end
  sock:settimeout(ms(left))
  local sent, err = sock:send(bytes)
  if not sent then
    if err == "timeout" then return nil, "timeout", "sending the request timed out" end
    return nil, "network", "sending the request failed: " .. tostring(err), nil, sock:getreusedtimes() > 0
  end
  local parser = native.http1_parser(self.max_body, head_only)
  local got = 0
  while true do
    left = deadline - native.now()
    if left <= 0 then
      parser:close()
      return nil, "timeout", "the request took longer than the timeout"
    end
    sock:settimeout(ms(left))
    local data, rerr = sock:receiveany(READ_SIZE)
    local done, kind, msg
    if data then
      got = got + #data
      done, kind, msg = parser:feed(data)
    elseif rerr ~= "timeout" and got == 0 and sock:getreusedtimes() > 0 then
      -- closed or reset before any answer byte, on a connection from the pool
      parser:close()
      return nil, "network", "the kept-alive connection was closed", nil, true
    elseif rerr == "closed" then
      done, kind, msg = parser:eof()
    elseif rerr == "timeout" then
      parser:close()
      return nil, "timeout", "the request took longer than the timeout"
    else
      parser:close()
      return nil, "network", "reading the response failed: " .. tostring(rerr)
    end
    if done == nil then
      parser:close()
      return nil, kind, msg
    end
    if done then
      local status, rbody, headers, keepalive = parser:response()
      parser:close()
      return status, rbody, headers, keepalive and data ~= nil
    end
  end
end

-- Opens (or takes from the pool) a connection; TLS handshake on new ones.
-- Returns the socket, or nil, kind, message (always unsent).
function Backend:connect(scheme, host, port, deadline)
  local sock = ngx.socket.tcp()
  local connect_s = math.min(self.connect_timeout, math.max(0.001, deadline - native.now()))
  sock:settimeout(ms(connect_s))
  local addr = host == "localhost" and "127.0.0.1" or host
  local ok, err = sock:connect(addr, port, { pool = scheme .. "://" .. host .. ":" .. port, pool_size = POOL_SIZE })
  if not ok then
    local where = host .. ":" .. port
    if err == "timeout" then return nil, "timeout", "connecting to " .. where .. " timed out" end
    if tostring(err):find("no resolver", 1, true) then
      return nil, "network", "cannot resolve " .. host .. ": nginx needs a `resolver` directive (e.g. " ..
        "`resolver 127.0.0.53;`) in the http block"
    end
    return nil, "network", "connecting to " .. where .. " failed: " .. tostring(err)
  end
  if scheme == "https" and sock:getreusedtimes() == 0 then
    -- verification is always on: without a trusted chain and a matching name
    -- the handshake fails, and the request (with its token) is never written
    -- (pcall: lua-resty-core 0.1.25, Debian 12's, raises "assertion failed!" instead of
    -- returning the error when a handshake that completed at once then fails verification)
    local called, session, herr = pcall(sock.sslhandshake, sock, nil, host, true)
    if not called or not session then
      sock:close()
      if herr == "timeout" then return nil, "timeout", "the TLS handshake with " .. host .. " timed out" end
      local why = called and tostring(herr)
        or "the certificate did not verify, or the handshake failed (nginx's error log says which)"
      return nil, "network", "TLS with " .. host .. " failed: " .. why ..
        " (the certificate is checked against nginx's lua_ssl_trusted_certificate)"
    end
  end
  return sock
end

--- Sends one request and reads the answer.
-- @tparam string method
-- @tparam string url
-- @tparam table header_lines `"Name: value"` strings (never Authorization)
-- @tparam ?string body
-- @tparam ?string token becomes `Authorization: Bearer <token>` in the C core
-- @return status, body, headers (lower-case names) | nil, kind, message, detail
-- (`detail == "unsent"` when no byte of the request reached the wire)
function Backend:request(method, url, header_lines, body, token)
  if self.closed then return nil, "usage", "the client is closed", "unsent" end
  if self.proxy then
    return nil, "usage", "the nginx backend does not use proxies (proxy is set)", "unsent"
  end
  if not _M.cosockets() then return self:blocking(method, url, header_lines, body, token) end
  if self.ca_file then
    self:warn_once("ca_file is not used inside nginx: TLS is verified against lua_ssl_trusted_certificate")
  end
  local bytes, scheme, host, port = native.http1_request(method, url, header_lines, body, token, self.user_agent)
  if not bytes then return nil, scheme, host, "unsent" end -- "usage", message
  local deadline = native.now() + self.timeout
  for _ = 1, 2 do
    local sock, kind, msg = self:connect(scheme, host, port, deadline)
    if not sock then return nil, kind, msg, "unsent" end
    local status, rbody, headers, keepalive, retry = exchange(self, sock, bytes, method == "HEAD", deadline)
    if status then
      if keepalive then
        sock:setkeepalive(KEEPALIVE_MS, POOL_SIZE)
      else
        sock:close()
      end
      return status, rbody, headers
    end
    sock:close()
    -- a kept connection the server had closed: nothing of ours was read; once more, on a new one
    if not retry then return nil, rbody, headers, keepalive end
  end
  return nil, "network", "the server closed every connection before answering"
end

--- Waits: `ngx.sleep` (yields), or a plain sleep where nginx cannot yield.
-- @tparam number seconds
function Backend:sleep(seconds) -- luacheck: ignore 212
  if not seconds or seconds <= 0 then return end
  if _M.cosockets() then return ngx.sleep(seconds) end
  native.sleep(seconds)
end

--- Monotonic seconds (the C core's clock).
-- @treturn number
function Backend:now() -- luacheck: ignore 212
  return native.now()
end

--- A float in [0, 1) from the C core's generator (seeded from /dev/urandom,
-- again after fork: each nginx worker draws its own).
-- @treturn number
function Backend:jitter() -- luacheck: ignore 212
  return native.jitter()
end

--- Single flight inside a worker: the first caller for `key` runs `fn()`;
-- callers arriving while it runs wait (at most `tray.backend.once.LIMIT` seconds, on an
-- `ngx.semaphore`) and get the same results. Where nginx cannot yield, or when
-- `fn` raised, a caller runs `fn` itself.
-- @tparam string key
-- @tparam function fn
-- @return what `fn` returns
function Backend:once(key, fn)
  local flight = self.flights[key]
  if flight and _M.cosockets() then
    flight.waiters = flight.waiters + 1
    if flight.sema then
      flight.sema:wait(ONCE_WAIT)
    else
      local deadline = native.now() + ONCE_WAIT
      while not flight.finished and native.now() < deadline do ngx.sleep(0.005) end
    end
    if flight.results then return unpack(flight.results, 1, flight.results.n) end
  end
  if flight then return fn() end
  local sem = semaphore()
  flight = { waiters = 0, sema = sem and sem.new(0) or nil }
  self.flights[key] = flight
  local res = pack(pcall(fn))
  if self.flights[key] == flight then self.flights[key] = nil end
  flight.finished = true
  if res[1] then flight.results = pack(unpack(res, 2, res.n)) end
  if flight.sema and flight.waiters > 0 then flight.sema:post(flight.waiters) end
  if not res[1] then error(res[2], 0) end
  return unpack(flight.results, 1, flight.results.n)
end

--- The default limiter inside nginx: the bucket in the `lua_shared_dict`
-- (shared by the workers, see `tray.ngx.limiter`), or the C core's
-- per-process bucket when there is no such dictionary.
-- @tparam table rl `{ rate =, burst =, shared_dict = }`
-- @tparam string token (only its digest is kept)
-- @tparam string host
-- @treturn ?table an object with `:reserve()` -> seconds to wait
-- @treturn ?table a `usage` error
function Backend:limiter(rl, token, host, log) -- luacheck: ignore 212
  return require("tray.ngx").limiter(rl, token, host, log)
end

--- Frees what the backend holds (the blocking fallback's session). Idempotent;
-- kept-alive cosockets belong to nginx's pools and stay there.
function Backend:close()
  self.closed = true
  if self.session then
    self.session:close()
    self.session = nil
  end
end

return _M
