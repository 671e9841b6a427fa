--- The config wizard and auth-only dialog URLs (an internal module of `tray.embedded`; no
-- request is made).
-- @internal tray.embedded.urls

local native = require "tray.native"

local _M = {}

local function url_part(v, name, what)
  if type(v) ~= "string" or v == "" then
    return nil, string.format("%s needs %s (a non-empty string)", what, name)
  end
  if not native.header_safe(v) then
    return nil, string.format("%s: %s holds a control character (CR, LF, NUL ...)", what, name)
  end
  return native.escape(v)
end

-- `<base>/<parts...>?code=<code>[&<name>=<value>...]`, every part and value percent-encoded;
-- `query` is a list of { name =, value = } (a name is written as given).
local function build_url(base, what, parts, code, query)
  local segs = {}
  for i, p in ipairs(parts) do
    if p.literal then
      segs[i] = p.literal
    else
      local s, err = url_part(p.value, p.name, what)
      if not s then return nil, err end
      segs[i] = s
    end
  end
  local c, err = url_part(code, "authorizationCode", what)
  if not c then return nil, err end
  local q = { "code=" .. c }
  for _, p in ipairs(query or {}) do
    local v, verr = url_part(p.value, p.label or p.name, what)
    if not v then return nil, verr end
    q[#q + 1] = p.name .. "=" .. v
  end
  return base .. "/" .. table.concat(segs, "/") .. "?" .. table.concat(q, "&")
end

-- The query of the standalone create form: serviceId, serviceEnvironmentId, then one
-- `scopes[]` per scope (Tray's dialog takes each scope as its own parameter).
local function service_query(what, a)
  local query = {
    { name = "serviceId", value = a.serviceId },
    { name = "serviceEnvironmentId", value = a.serviceEnvironmentId },
  }
  if a.scopes ~= nil then
    local scopes = a.scopes
    if type(scopes) == "string" then scopes = { scopes } end
    if type(scopes) ~= "table" then
      return nil, what .. ": scopes is a list of strings"
    end
    for i, s in ipairs(scopes) do
      query[#query + 1] = { name = "scopes%5B%5D", label = "scopes[" .. i .. "]", value = s }
    end
  end
  return query
end

--- The config wizard URL of a solution instance.
-- @tparam string base the config wizard host (`embedded_url`)
-- @param a `{ partnerId =, solutionInstanceId =, authorizationCode = }`
-- @treturn ?string the URL
-- @treturn ?string why not (a usage message)
function _M.config_wizard(base, a)
  local what = "config_wizard_url"
  if type(a) ~= "table" then return nil, what .. " takes a table" end
  return build_url(base, what, {
    { literal = "external" }, { literal = "solutions" }, { value = a.partnerId, name = "partnerId" },
    { literal = "configure" }, { value = a.solutionInstanceId, name = "solutionInstanceId" },
  }, a.authorizationCode)
end

--- The auth-only dialog URL, in one of three forms: create an authentication for a
-- solution instance's auth slot (`solutionInstanceId`, `externalAuthId`); create a
-- standalone one for a service (`serviceId`, `serviceEnvironmentId`, optional `scopes`);
-- or edit one (`authId`).
-- @tparam string base the config wizard host (`embedded_url`)
-- @param a `{ partnerId =, authorizationCode =, solutionInstanceId =, externalAuthId =, serviceId =,
--   serviceEnvironmentId =, scopes =, authId = }`
-- @treturn ?string the URL
-- @treturn ?string why not (a usage message)
function _M.auth_dialog(base, a)
  local what = "auth_dialog_url"
  if type(a) ~= "table" then return nil, what .. " takes a table" end
  local slot = a.solutionInstanceId ~= nil or a.externalAuthId ~= nil
  local service = a.serviceId ~= nil or a.serviceEnvironmentId ~= nil or a.scopes ~= nil
  local parts = { { literal = "external" }, { literal = "auth" } }
  if a.authId ~= nil then
    if slot or service then
      return nil, what .. ": authId (edit) does not go with solutionInstanceId/externalAuthId or " ..
        "serviceId/serviceEnvironmentId/scopes (create)"
    end
    parts[3] = { literal = "edit" }
    parts[4] = { value = a.partnerId, name = "partnerId" }
    parts[5] = { value = a.authId, name = "authId" }
    return build_url(base, what, parts, a.authorizationCode)
  end
  parts[3] = { literal = "create" }
  parts[4] = { value = a.partnerId, name = "partnerId" }
  if slot and service then
    return nil, what .. ": solutionInstanceId/externalAuthId (an instance's auth slot) do not go with " ..
      "serviceId/serviceEnvironmentId/scopes (a standalone authentication)"
  end
  if slot then
    parts[5] = { value = a.solutionInstanceId, name = "solutionInstanceId" }
    parts[6] = { value = a.externalAuthId, name = "externalAuthId" }
    return build_url(base, what, parts, a.authorizationCode)
  end
  if not service then
    return nil, what .. " needs authId (edit), solutionInstanceId and externalAuthId (an instance's auth " ..
      "slot), or serviceId and serviceEnvironmentId (a standalone authentication)"
  end
  local query, err = service_query(what, a)
  if not query then return nil, err end
  return build_url(base, what, parts, a.authorizationCode, query)
end

return _M
