-- Redis, seen from a spec: the shared test instance and private ones.
--
-- `spec/run` (and so `make test`) wraps the suite in `spec/with-redis`, which
-- starts one redis-server on a free loopback port and sets TRAY_TEST_REDIS_URL;
-- without it, this helper starts its own (stopped when the Lua process ends).
-- A spec that stops a Redis starts a private one with `start()`, so it never
-- takes the shared instance away from another spec.

local native = require "tray.native"

local M = {}

local self_pid = require("spec.helpers.proc").pid

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Starts a private redis-server (on `port` when given, else a free one).
-- Returns `{ url =, port =, pid =, dir =, stop = function, kill = function }`.
function M.start(port)
  local cmd = "spec/with-redis --start " .. assert(self_pid(), "no /proc/self/stat")
  if port then cmd = cmd .. " " .. sh_quote(port) end
  local p = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = p:read("*a")
  p:close()
  local url, pid, dir = out:match("^(redis://%S+) (%d+) (%S+)")
  assert(url, "could not start redis-server (is it installed? `make deps`): " .. out)
  local h = { url = url, port = tonumber(url:match(":(%d+)/")), pid = tonumber(pid), dir = dir }
  function h.stop()
    os.execute("spec/with-redis --stop " .. h.pid .. " " .. sh_quote(h.dir))
  end
  --- Kills the server as a crash would (SIGKILL), and waits until it is gone.
  function h.kill()
    os.execute("kill -9 " .. h.pid .. " 2>/dev/null")
    for _ = 1, 200 do
      -- gone, or a zombie nobody has reaped yet (its sockets are closed)
      local f = io.open("/proc/" .. h.pid .. "/stat", "r")
      local stat = f and f:read("*l")
      if f then f:close() end
      if not stat or stat:match("^%d+ %b() Z") then break end
      native.sleep(0.01)
    end
  end
  return h
end

local shared
--- The URL of the shared test instance.
function M.url()
  local url = os.getenv("TRAY_TEST_REDIS_URL")
  if url and url ~= "" then return url end
  shared = shared or M.start()
  return shared.url
end

--- A key nobody else uses (specs share one Redis and never flush it).
local counter = 0
function M.unique(prefix)
  counter = counter + 1
  return string.format("%s:%d:%d:%d", prefix or "spec", self_pid() or 0, os.time(), counter)
    .. string.format(":%06d", math.floor((native.now() % 1) * 1e6))
end

--- Runs a command (each argument quoted); returns its trimmed output.
function M.run(...)
  local parts = {}
  for _, a in ipairs({ ... }) do parts[#parts + 1] = sh_quote(a) end
  local p = assert(io.popen(table.concat(parts, " ") .. " 2>&1", "r"))
  local out = p:read("*a")
  p:close()
  return (out:gsub("%s+$", ""))
end

--- Runs redis-cli against url (no password); returns its trimmed output.
function M.cli(url, ...)
  return M.run("redis-cli", "-u", url, ...)
end

return M
