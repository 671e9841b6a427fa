--- Tray's regions and their base URLs, in one table.
--
--    tray.regions.eu.core       --> "https://api.eu1.tray.io/core/v1"
--    require("tray.regions").resolve("EU1")  --> "eu", { core =, graphql =, embedded = }
--
-- A region is named `us`, `eu` or `apac`; Tray's own host names (`eu1`, `ap1`)
-- are accepted too, in any case.
-- @module tray.regions

local _M = {}

--- Base URLs per region: `core` (REST), `graphql` (Embedded API), `embedded` (config wizard host).
_M.URLS = {
  us = { core = "https://api.tray.io/core/v1", graphql = "https://tray.io/graphql",
         embedded = "https://embedded.tray.io" },
  eu = { core = "https://api.eu1.tray.io/core/v1", graphql = "https://eu1.tray.io/graphql",
         embedded = "https://embedded.eu1.tray.io" },
  apac = { core = "https://api.ap1.tray.io/core/v1", graphql = "https://ap1.tray.io/graphql",
           embedded = "https://embedded.ap1.tray.io" },
}

--- Other names of the regions (lower case): Tray's host names.
_M.ALIASES = { eu1 = "eu", ap1 = "apac", us1 = "us" }

--- The region called `name` (any case, or an alias).
-- @param name a region name
-- @treturn ?string the canonical name ("us", "eu", "apac")
-- @treturn ?table|string its URLs, or (when unknown) the message saying which names exist
function _M.resolve(name)
  if type(name) == "string" then
    local key = name:lower()
    key = _M.ALIASES[key] or key
    local urls = _M.URLS[key]
    if urls then return key, urls end
  end
  return nil, "unknown region " .. tostring(name) .. " (us, eu or apac; also eu1, ap1)"
end

return _M
