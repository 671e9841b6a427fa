--- The error object every call returns as its second value, and the mapping
-- from HTTP statuses, REST error bodies and GraphQL errors to error kinds.
--
-- An error is a table with `kind`, `message` and, where they apply, `status`,
-- `errors`, `retry_after`, `operation`, `output`, `body`, `attempts` (requests sent),
-- `request_id` (the server's, when it sent one). `tostring(err)` is one
-- line. No field ever holds a token: `redact` scrubs them before an error leaves
-- a client.
-- @module tray.errors

local _M = {}

--- Every kind an error can have.
_M.KINDS = {
  usage = "bad arguments, caught before any request",
  auth = "401, or a master-token call made with a user token",
  forbidden = "403",
  not_found = "404",
  rate_limited = "the rate limit answered and retries ran out",
  http = "another 4xx/5xx status",
  graphql = "errors in a GraphQL response",
  connector = "a connector call answered with outcome = \"error\"",
  validation = "a validated connector input breaks the operation's input schema",
  network = "the request could not be completed",
  timeout = "the request took longer than the timeout",
  decode = "a body that is not the JSON it should be",
  internal = "a failure inside the SDK (a bug, a raise inside a pager); not the caller's mistake",
}

local Error = {}
Error.__index = Error

function Error.__tostring(e)
  local s = "tray: " .. tostring(e.kind) .. ": " .. tostring(e.message)
  if e.status and e.status ~= 0 then s = s .. " [HTTP " .. tostring(e.status) .. "]" end
  if e.operation then s = s .. " (" .. tostring(e.operation) .. ")" end
  return s
end

local BODY_KEEP = 4096

--- Creates an error.
-- @tparam string kind one of `KINDS`
-- @tparam string message one readable sentence
-- @tparam[opt] table fields extra fields (`status`, `errors`, `retry_after`, `operation`, `output`, `body`)
-- @treturn table the error object
function _M.new(kind, message, fields)
  assert(_M.KINDS[kind], "unknown error kind")
  local e = fields or {}
  e.kind = kind
  e.message = message
  if type(e.body) == "string" and #e.body > BODY_KEEP then
    e.body = e.body:sub(1, BODY_KEEP)
  end
  return setmetatable(e, Error)
end

--- Shorthand for `nil, errors.new(...)`: what a failing call returns.
-- @tparam string kind
-- @tparam string message
-- @tparam[opt] table fields
-- @return nil
-- @treturn table the error object
function _M.fail(kind, message, fields)
  return nil, _M.new(kind, message, fields)
end

--- Is `v` an error object of this module?
-- @param v any value
-- @treturn boolean
function _M.is(v)
  return getmetatable(v) == Error
end

--- The kind for an HTTP status of 400 or more.
-- @tparam number status
-- @treturn string kind
function _M.kind_for_status(status)
  if status == 401 then return "auth" end
  if status == 403 then return "forbidden" end
  if status == 404 then return "not_found" end
  if status == 429 then return "rate_limited" end
  return "http"
end

--- The message of a REST error body: `{ error, message }` (the OpenAPI text) or
-- `{ message, code }` (Tray's published spec).
-- @param body the decoded body (any value)
-- @treturn ?string message, or nil when the body has neither shape
-- @treturn ?string the short error name or code
function _M.rest_message(body)
  if type(body) ~= "table" then return nil end
  local message, code = body.message, body.error or body.code
  if type(message) ~= "string" then message = nil end
  if type(code) ~= "string" and type(code) ~= "number" then code = nil end
  if not message and code then message = tostring(code) end
  return message, code and tostring(code) or nil
end

--- Is this GraphQL errors array the documented rate-limit answer?
-- (`extensions.code = "access_not_allowed"` with "Rate limit exceeded")
-- @tparam table errs the `errors` array
-- @treturn boolean
function _M.graphql_rate_limited(errs)
  for _, e in ipairs(errs) do
    local ext = type(e) == "table" and e.extensions
    if type(ext) == "table" and ext.code == "access_not_allowed"
      and type(e.message) == "string" and e.message:lower():find("rate limit", 1, true) then
      return true
    end
  end
  return false
end

--- Replaces every occurrence of the secrets in a string with `[redacted]`.
-- @param s a string (other values are returned unchanged)
-- @tparam {string,...} secrets
-- @return the scrubbed string
function _M.scrub(s, secrets)
  if type(s) ~= "string" then return s end
  for i = 1, #secrets do
    local secret = secrets[i]
    if type(secret) == "string" and #secret > 0 then
      local from = 1
      while true do
        local a, b = s:find(secret, from, true)
        if not a then break end
        s = s:sub(1, a - 1) .. "[redacted]" .. s:sub(b + 1)
        from = a + 10
      end
    end
  end
  return s
end

-- Every string inside v, at any depth, keys included (a server may echo a
-- token as a key of a GraphQL error's extensions). `seen` guards against cycles.
local function scrub_value(v, secrets, seen)
  if type(v) == "string" then return _M.scrub(v, secrets) end
  if type(v) ~= "table" or seen[v] then return v end
  seen[v] = true
  local renamed
  for k, x in pairs(v) do
    v[k] = scrub_value(x, secrets, seen)
    if type(k) == "string" then
      local clean = _M.scrub(k, secrets)
      if clean ~= k then
        renamed = renamed or {}
        renamed[k] = clean
      end
    end
  end
  if renamed then
    for k, clean in pairs(renamed) do
      v[clean], v[k] = v[k], nil
    end
  end
  return v
end

--- Removes every occurrence of the given secrets from every string of an
-- error, at any depth, table keys included (a server may echo a token back;
-- the error must not carry it on).
-- @tparam table err the error object (changed in place)
-- @tparam {string,...} secrets tokens to remove
-- @treturn table err
function _M.redact(err, secrets)
  if #secrets == 0 then return err end
  local seen = { [err] = true }
  for k, v in pairs(err) do
    err[k] = scrub_value(v, secrets, seen)
  end
  return err
end

return _M
