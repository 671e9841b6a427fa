--- nginx (OpenResty, lua-nginx-module) support: the rate limiter shared by
-- every worker.
--
-- Inside nginx a client sends through the cosocket backend (`tray.backend.ngx`)
-- by itself; nothing changes in the calling code and nginx needs no thread pool:
--
--    -- nginx.conf (http context):  lua_shared_dict tray_limits 1m;
--    --                             lua_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
--    --                             resolver 127.0.0.53;
--    local emb = assert(tray.embedded.new{ master_token = os.getenv("TRAY_MASTER_TOKEN") })
--    local users, err = emb:users{ first = 10 }   -- the worker keeps serving other requests
--
-- **Limiter.** See `limiter`: a GCRA token bucket whose state lives in a
-- `lua_shared_dict`, so all workers together keep to the rate. The dictionary
-- is `rate_limit = { shared_dict = "name" }` (default `"tray_limits"`);
-- `tray.ngx.configure{ shared_dict = }` changes the default.
-- @internal tray.ngx

-- luacheck: globals ngx

local native = require "tray.native"
local errors = require "tray.errors"
local gcra = require "tray.gcra"

local _M = {}

--- Defaults for the settings a client does not give.
_M.defaults = {
  shared_dict = "tray_limits", -- `lua_shared_dict tray_limits 1m;` (http context)
}

local LOCK_TTL = 1      -- seconds: a lock left by a crashed worker frees itself after this
local LOCK_SPINS = 100  -- tries before yielding while another worker holds the lock

local warned = {}

-- Logs a warning once per distinct text (never a token: callers pass none).
local function warn_once(text)
  if warned[text] then return end
  warned[text] = true
  if type(ngx) == "table" and ngx.log then ngx.log(ngx.WARN, "tray: ", text) end
end

--- Changes the defaults (`shared_dict`) for clients created afterwards.
-- @tparam table o `{ shared_dict = "name" }`
-- @treturn table the defaults now in force
function _M.configure(o)
  if type(o) == "table" and type(o.shared_dict) == "string" then _M.defaults.shared_dict = o.shared_dict end
  return _M.defaults
end

-- ---------------------------------------------------------------------------
-- The limiter shared by the workers.
--
-- The GCRA of docs/DESIGN.md ("The rate limiter (GCRA)"): one number per key,
-- the bucket's theoretical arrival time, on nginx's clock (`ngx.now()`,
-- milliseconds), stepped by `native.gcra` as the C bucket is. The slot is taken
-- whether the caller waits or not, so reservations made by any worker queue up
-- behind each other: over any interval of length L at most b + r*L requests are
-- let through, all workers together.
--
-- ngx.shared.DICT has atomic add and incr but no compare-and-set, and the
-- step's max() cannot be written with incr alone. So the read-modify-write runs
-- under a short lock: `dict:add(lock_key, ...)` succeeds for exactly one caller
-- (add fails when the key exists), the holder reads, computes, writes and
-- deletes the lock without yielding in between (a few microseconds), and the
-- others retry (spinning a little, then yielding 1 ms at a time). The lock has
-- an expiry (LOCK_TTL) so a worker that dies while holding it cannot block the
-- others for longer than that. Keys expire once their bucket is full again, so
-- the dictionary only holds active accounts (1m is plenty); when it is full,
-- nginx evicts the least recently used keys.

local Shared = {}
Shared.__index = Shared

local function try_sleep(seconds)
  -- yields when nginx allows it; where it does not, spin on
  pcall(ngx.sleep, seconds)
end

local function now()
  ngx.update_time()
  return ngx.now()
end

--- Takes a slot in the shared bucket.
-- @treturn number seconds to wait before sending (0 when a token was free)
function Shared:reserve()
  local dict, lock = self.dict, self.lock_key
  local spins = 0
  while true do
    local ok, err = dict:add(lock, true, LOCK_TTL)
    if ok then break end
    if err ~= "exists" then
      warn_once("lua_shared_dict " .. self.dict_name .. " failed (" .. tostring(err) ..
        "); rate limiting per worker meanwhile")
      return self:local_fallback():reserve()
    end
    spins = spins + 1
    if spins >= LOCK_SPINS then try_sleep(0.001) end
  end
  local t = now()
  local tat = dict:get(self.key)
  if type(tat) ~= "number" then tat = nil end
  local wait
  wait, tat = native.gcra(tat, t, self.rate, self.burst)
  -- keep the key only while the bucket is not full again
  dict:set(self.key, tat, tat - t + 1)
  dict:delete(lock)
  return wait
end

-- The per-process C bucket, for when the dictionary fails (no limiting if even that fails).
local NO_LIMIT = { reserve = function() return 0 end }
function Shared:local_fallback()
  if not self.fallback then
    self.fallback = native.limiter(self.local_key, self.rate, self.burst) or NO_LIMIT
  end
  return self.fallback
end

--- A limiter for one account and host: shared by the workers through the
-- `lua_shared_dict` named by `rl.shared_dict` (default `tray_limits`). Without
-- that dictionary (or outside nginx) it is the per-process C limiter, and a
-- warning is logged once.
-- @tparam table rl `{ rate =, burst =, shared_dict = }` (`rate` and `burst` default as
--   `tray.gcra.settings` says)
-- @tparam string token the bearer token (only its digest is kept)
-- @tparam string host the API host
-- @treturn ?table an object with `:reserve()` -> seconds to wait
-- @treturn ?table a `usage` error
function _M.limiter(rl, token, host)
  local rate, burst = gcra.settings(rl)
  -- the bucket's own check (native.gcra refuses what no bucket can run)
  if type(rate) ~= "number" or type(burst) ~= "number" or not native.gcra(nil, 0, rate, burst) then
    return errors.fail("usage", "rate_limit needs rate > 0 and burst >= 1")
  end
  local key = native.digest(token) .. "@" .. host
  local name = rl.shared_dict or _M.defaults.shared_dict
  if type(name) ~= "string" then
    return errors.fail("usage", "rate_limit.shared_dict must be the name of a lua_shared_dict")
  end
  local dict = type(ngx) == "table" and type(ngx.shared) == "table" and ngx.shared[name] or nil
  if not dict then
    if type(ngx) == "table" then
      warn_once("no lua_shared_dict " .. name .. " (add `lua_shared_dict " .. name ..
        " 1m;` to the http context): each worker limits the rate on its own")
    end
    local lim, kind, msg = native.limiter(key, rate, burst)
    if not lim then return errors.fail(kind, msg) end
    return lim
  end
  return setmetatable({
    dict = dict, dict_name = name, key = "tray:" .. key, lock_key = "tray:" .. key .. ":lock",
    local_key = key, rate = rate, burst = burst,
  }, Shared)
end

return _M
