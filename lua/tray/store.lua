--- Stores for the user-token cache (`emb:for_user(userId, { store = ... })`).
--
--    local tray = require "tray"
--    local store = assert(tray.store.redis{ url = "redis://10.0.0.5:6379/0" })
--    local user = assert(emb:for_user(user_id, { store = store }))
--
-- A store is any object with `store:get(key) -> value | nil`,
-- `store:set(key, value, ttl_seconds) -> true | nil, err` and
-- `store:delete(key)`.
-- @module tray.store

local _M = {}

--- A store on Redis, shared by every process of a fleet (see `tray.redis.store`).
-- @tparam table opts `{ url = "redis://host:port/db", prefix = "", timeout = 0.1, backoff = 5 }`
-- @treturn ?table the store
-- @treturn ?table a `usage` error
function _M.redis(opts)
  return require("tray.redis").store(opts)
end

--- A store in this process's memory (see `tray.tokens.memory_store`).
-- @tparam[opt] table opts
-- @treturn table the store
function _M.memory(opts)
  return require("tray.tokens").memory_store(opts)
end

return _M
