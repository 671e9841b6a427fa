--- The config wizard and auth-only dialog URLs (an internal module of `tray.embedded`; no
-- request is made).
-- @module tray.embedded.urls

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

-- `<base>/<parts...>?code=<code>`, every part percent-encoded.
local function build_url(base, what, parts, code)
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
  return base .. "/" .. table.concat(segs, "/") .. "?code=" .. c
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

--- The auth-only dialog URL (create, or edit with `authId`).
-- @tparam string base the config wizard host (`embedded_url`)
-- @param a `{ partnerId =, authorizationCode =, solutionInstanceId =, externalAuthId =, authId = }`
-- @treturn ?string the URL
-- @treturn ?string why not (a usage message)
function _M.auth_dialog(base, a)
  local what = "auth_dialog_url"
  if type(a) ~= "table" then return nil, what .. " takes a table" end
  local parts = { { literal = "external" }, { literal = "auth" } }
  if a.authId ~= nil then
    if a.solutionInstanceId ~= nil or a.externalAuthId ~= nil then
      return nil, what .. ": authId (edit) does not go with solutionInstanceId/externalAuthId (create)"
    end
    parts[3] = { literal = "edit" }
    parts[4] = { value = a.partnerId, name = "partnerId" }
    parts[5] = { value = a.authId, name = "authId" }
  else
    parts[3] = { literal = "create" }
    parts[4] = { value = a.partnerId, name = "partnerId" }
    if (a.solutionInstanceId == nil) ~= (a.externalAuthId == nil) then
      return nil, what .. " needs both solutionInstanceId and externalAuthId, or neither"
    end
    if a.solutionInstanceId ~= nil then
      parts[5] = { value = a.solutionInstanceId, name = "solutionInstanceId" }
      parts[6] = { value = a.externalAuthId, name = "externalAuthId" }
    end
  end
  return build_url(base, what, parts, a.authorizationCode)
end

return _M
