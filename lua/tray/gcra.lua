--- The rate limiter's settings, defined once: its defaults and how a
-- `rate_limit` table's rate and burst are filled in. Every bucket reads them
-- from here: the process's C bucket (`native.limiter`), the `lua_shared_dict`
-- bucket of `tray.ngx` and the Redis bucket of `tray.redis`.
--
-- The three are one algorithm, a GCRA, described once in docs/DESIGN.md ("The
-- rate limiter (GCRA)"). Its arithmetic is `native.gcra` (`tray_gcra` in
-- csrc/limiter.c), used by the C and `lua_shared_dict` buckets; the Redis bucket
-- runs the same steps as a script on the server (csrc/redis.c).
-- spec/gcra_spec.lua runs one table of cases against all three.
-- @internal tray.gcra

local _M = {}

--- The defaults: 30 requests per second with a burst of 30 (Tray allows 30/s
-- with bursts up to 50; a burst a little under it keeps network jitter from
-- pushing one over). `tray.client`'s `DEFAULTS.rate_limit` is this table.
_M.DEFAULTS = { rate = 30, burst = 30 }

--- The rate and burst a `rate_limit` table means: each as given, else the
-- default; a burst not given follows a given rate (at least 1).
-- Values are not checked here (the client and the buckets check them).
-- @tparam table rl `{ rate =, burst = }`
-- @treturn number rate (per second)
-- @treturn number burst
function _M.settings(rl)
  local rate, burst = rl.rate, rl.burst
  if burst == nil then
    if type(rate) == "number" then
      burst = rate < 1 and 1 or rate
    else
      burst = rate or _M.DEFAULTS.burst
    end
  end
  if rate == nil then rate = _M.DEFAULTS.rate end
  return rate, burst
end

return _M
