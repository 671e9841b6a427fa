--- One rate limit for a whole fleet, and a shared token store, on Redis.
--
-- Tray's rate limit belongs to the account, not to a process: with
-- `rate_limit = { redis = "redis://host:port/db", rate = 30, burst = 50 }` every
-- process of a fleet takes its turns from one bucket kept in Redis (a GCRA
-- taken atomically by a server-side script, one round trip per request).
--
--    local core = tray.core.new{ token = ..., log = function(level, msg) ... end,
--      rate_limit = { redis = "redis://10.0.0.5:6379/0", rate = 30, burst = 50, fleet_size = 4 } }
--
-- When Redis cannot be reached (or does not answer within `timeout`), each
-- process falls back to a local bucket at `fallback_share` of the rate (by
-- default `1 / fleet_size`, or the whole rate when `fleet_size` is not given)
-- with a burst of `fallback_burst` (1: at the switch the fleet may already have
-- spent the server's bucket),
-- says so once through the client's `log` option, and tries Redis again after
-- a back-off; the API call itself never fails because of the limiter's store.
--
-- `tray.store.redis{ url =, prefix = }` (also `tray.redis.store`) is a
-- key-value store with expiry for user tokens, shared by the fleet.
-- @internal tray.redis

local native = require "tray.native"
local errors = require "tray.errors"
local gcra = require "tray.gcra"

local _M = {}

--- The prefix of the default bucket key: `tray:rl:<digest(token)>@<api host>`.
_M.KEY_PREFIX = "tray:rl:"

--- The default prefix of the store's keys: none (the token cache already names its keys
-- `tray:user-token:...`); a prefix namespaces one deployment's keys.
_M.STORE_PREFIX = ""

--- Defaults: seconds for the connect and for each command, and the longest
-- wait between two connection attempts while Redis is unreachable.
_M.DEFAULTS = { timeout = 0.1, backoff = 5 }

local function usage(message)
  return errors.fail("usage", message)
end

local function positive(v)
  return type(v) == "number" and v == v and v > 0 and v < math.huge
end

local function check_conn_opts(o, url_field)
  local url = o[url_field]
  if type(url) ~= "string" then
    return usage(url_field .. " must be a redis:// URL")
  end
  local ok, _, msg = native.redis_url(url)
  if not ok then return usage(msg) end
  if o.timeout ~= nil and (not positive(o.timeout) or o.timeout > 60) then
    return usage("the Redis timeout must be a number of seconds in (0, 60]")
  end
  if o.backoff ~= nil and (not positive(o.backoff) or o.backoff < 0.1 or o.backoff > 3600) then
    return usage("the Redis back-off must be a number of seconds in [0.1, 3600]")
  end
  return true
end

-- Calls the log callback; a callback that raises never fails a request.
local function say(fn, level, message)
  if fn then pcall(fn, level, message) end
end

local Limiter = {}
Limiter.__index = Limiter

--- A limiter whose bucket lives in Redis, for `rate_limit = { redis = ... }`.
-- `tray.transport` calls this; a caller may too, and pass the object itself as
-- `rate_limit` to several clients.
-- @tparam table rl `{ redis = url, key =, rate =, burst =, fleet_size =,
--   fallback_share =, fallback_burst = 1, timeout = 0.1, backoff = 5, log = }`
--   (`rate` and `burst` default as `tray.gcra.settings` says)
-- @tparam string token the bearer token (only its digest is used, for the default key)
-- @tparam string host the API host (part of the default key)
-- @tparam[opt] function log `log(level, message)`, the client's `log` option (else `rl.log`)
-- @treturn ?table an object with `reserve()`
-- @treturn ?table a `usage` error
function _M.limiter(rl, token, host, log)
  local ok, err = check_conn_opts(rl, "redis")
  if not ok then return nil, err end
  local rate, burst = gcra.settings(rl)
  if not positive(rate) or type(burst) ~= "number" or burst < 1 or burst == math.huge then
    return usage("rate_limit needs rate > 0 and burst >= 1")
  end
  local key = rl.key
  if key == nil then
    key = _M.KEY_PREFIX .. native.digest(token or "") .. "@" .. tostring(host or "")
  elseif type(key) ~= "string" or key == "" then
    return usage("rate_limit.key must be a non-empty string")
  end
  local n = rl.fleet_size
  if n ~= nil and (type(n) ~= "number" or n < 1 or n ~= math.floor(n) or n == math.huge) then
    return usage("rate_limit.fleet_size must be a whole number >= 1")
  end
  local share = rl.fallback_share
  if share == nil then
    share = 1 / (n or 1)
  elseif not positive(share) or share > 1 then
    return usage("rate_limit.fallback_share must be a number in (0, 1]")
  end
  local fb_burst = rl.fallback_burst
  if fb_burst == nil then
    fb_burst = 1
  elseif type(fb_burst) ~= "number" or fb_burst < 1 or fb_burst == math.huge then
    return usage("rate_limit.fallback_burst must be a number >= 1")
  end
  log = log or rl.log
  if log ~= nil and type(log) ~= "function" then
    return usage("log must be a function(level, message)")
  end
  local remote, kind, msg = native.redis_limiter{
    url = rl.redis, key = key, rate = rate, burst = burst,
    timeout = rl.timeout or _M.DEFAULTS.timeout, backoff = rl.backoff or _M.DEFAULTS.backoff,
  }
  if not remote then return errors.fail(kind, msg) end
  return setmetatable({
    remote = remote,
    key = key,
    rate = rate,
    burst = burst,
    share = share,
    fallback_burst = fb_burst,
    log = log,
    degraded = false,
    stats = { remote = 0, fallback = 0 },
  }, Limiter)
end

--- Takes the next slot: from Redis, or from the local fallback bucket while
-- Redis is unreachable. Never fails.
-- @treturn number seconds to wait before sending (0 when the slot is free now)
function Limiter:reserve()
  local wait, _, msg = self.remote:reserve()
  if wait then
    if self.degraded then
      self.degraded = false
      say(self.log, "info", "rate limiter: Redis is reachable again; back on the shared bucket")
    end
    self.stats.remote = self.stats.remote + 1
    return wait
  end
  if not self.degraded then
    self.degraded = true
    say(self.log, "warn", string.format(
      "rate limiter: Redis unavailable (%s); falling back to a local bucket at %.4g/s, burst %g, until it is back",
      tostring(msg), self.rate * self.share, self.fallback_burst))
  end
  self.stats.fallback = self.stats.fallback + 1
  if not self.fallback then
    local lim = native.limiter("redis-fallback:" .. self.key, self.rate * self.share, self.fallback_burst)
    if not lim then return 0 end
    self.fallback = lim
  end
  return self.fallback:reserve() or 0
end

--- Is the limiter on its local fallback bucket (Redis unreachable at the last call)?
-- @treturn boolean
function Limiter:degraded_mode()
  return self.degraded
end

--- The configured rate and burst.
-- @treturn number rate
-- @treturn number burst
function Limiter:info()
  return self.rate, self.burst
end

--- Lets go of the Redis connection (shared with other users of the same URL) now
-- rather than at garbage collection. Idempotent.
function Limiter:close()
  self.remote:close()
  if self.fallback then self.fallback:close() end
end

local Store = {}
Store.__index = Store

--- A key-value store with expiry on Redis, shared by a fleet: the user-token
-- cache keeps one token per user in it. Values are never logged nor put in errors.
-- @tparam table opts `{ url = "redis://host:port/db", prefix = "", timeout = 0.1, backoff = 5 }`
-- @treturn ?table the store: `get`, `set`, `delete`, `close`
-- @treturn ?table a `usage` error
function _M.store(opts)
  if type(opts) ~= "table" then return usage("store options must be a table") end
  local ok, err = check_conn_opts(opts, "url")
  if not ok then return nil, err end
  local prefix = opts.prefix
  if prefix == nil then
    prefix = _M.STORE_PREFIX
  elseif type(prefix) ~= "string" then
    return usage("prefix must be a string")
  end
  local conn, kind, msg = native.redis{
    url = opts.url, timeout = opts.timeout or _M.DEFAULTS.timeout, backoff = opts.backoff or _M.DEFAULTS.backoff,
  }
  if not conn then return errors.fail(kind, msg) end
  return setmetatable({ conn = conn, prefix = prefix }, Store)
end

local function check_key(key)
  if type(key) ~= "string" or key == "" then return usage("the store key must be a non-empty string") end
  return true
end

--- Reads a value.
-- @tparam string key
-- @treturn ?string the value, or nil when there is none (or it has expired)
-- @treturn ?table an error (`network`, `timeout`, `auth`) when Redis failed
function Store:get(key)
  local ok, err = check_key(key)
  if not ok then return nil, err end
  local v, kind, msg = self.conn:get(self.prefix .. key)
  if v == nil and kind then return errors.fail(kind, msg) end
  return v
end

--- Writes a value that expires after `ttl` seconds (the token's remaining life).
-- A `ttl` of 0 or less deletes the key instead (nothing expired is kept).
-- @tparam string key
-- @tparam string value
-- @tparam[opt] number ttl seconds (millisecond precision); none: no expiry
-- @treturn ?boolean true
-- @treturn ?table an error
function Store:set(key, value, ttl)
  local ok, err = check_key(key)
  if not ok then return nil, err end
  if type(value) ~= "string" then return usage("the store value must be a string") end
  if ttl ~= nil then
    if type(ttl) ~= "number" or ttl ~= ttl then return usage("ttl must be a number of seconds") end
    if ttl * 1000 < 1 then return self:delete(key) end
  end
  local r, kind, msg = self.conn:set(self.prefix .. key, value, ttl)
  if not r then return errors.fail(kind or "network", msg or "redis SET failed") end
  return true
end

--- Removes a value (removing a missing key is not an error).
-- @tparam string key
-- @treturn ?boolean true
-- @treturn ?table an error
function Store:delete(key)
  local ok, err = check_key(key)
  if not ok then return nil, err end
  local r, kind, msg = self.conn:del(self.prefix .. key)
  if not r then return errors.fail(kind or "network", msg or "redis DEL failed") end
  return true
end

--- Lets go of the Redis connection now rather than at garbage collection. Idempotent.
function Store:close()
  self.conn:close()
end

return _M
