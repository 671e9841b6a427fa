--- The Tray.io platform APIs from Lua.
--
--    local tray = require "tray"
--    local core = assert(tray.core.new{ token = os.getenv("TRAY_TOKEN") })
--    local emb  = assert(tray.embedded.new{ master_token = os.getenv("TRAY_MASTER_TOKEN") })
--
-- `tray.core` is the REST Connectivity API, `tray.embedded` the Embedded GraphQL API.
-- Submodules load on first use, so `require "tray"` stays cheap.
-- @module tray

local _M = {
  --- The SDK version (also sent in the `User-Agent` as `tray-lua/<version>`; defined in `tray.version`).
  VERSION = require "tray.version",
  --- Base URLs per region: `tray.regions.eu.core`, `.graphql`, `.embedded` (see `tray.regions`).
  regions = require("tray.regions").URLS,
}

local lazy = {
  core = "tray.core",
  embedded = "tray.embedded",
  errors = "tray.errors",
  json = "tray.json",
  graphql = "tray.graphql",
  schema = "tray.schema",
  validate = "tray.validate",
  store = "tray.store",
  tokens = "tray.tokens",
  onboarding = "tray.onboarding",
  csv = "tray.csv",
  doctor = "tray.doctor",
}

--- Runs tasks concurrently on one Lua state (see `tray.parallel`).
-- @tparam {function,...} tasks functions that use ordinary client methods
-- @tparam[opt] table opts `{ concurrency = 8 }`
-- @treturn table results, in task order (each task's first return value)
-- @treturn table errors, in task order (each task's second return value, or what it raised)
function _M.parallel(tasks, opts)
  return require("tray.parallel").run(tasks, opts)
end

return setmetatable(_M, {
  __index = function(t, k)
    local name = lazy[k]
    if not name then return nil end
    local mod = require(name)
    rawset(t, k, mod)
    return mod
  end,
})
