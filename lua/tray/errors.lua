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

-- The body an error keeps is cut to BODY_KEEP bytes, after the secrets are
-- scrubbed (`redact`): `new` keeps a window of BODY_WINDOW bytes so that a token
-- the server echoed across the cut is still whole when the scrub runs.
local BODY_KEEP = 4096
local BODY_WINDOW = BODY_KEEP + 16384

-- Keys whose values are secrets wherever they appear in an error's tables (a
-- GraphQL answer with `data` and `errors` keeps `data`: `authorize` puts a
-- user token there). Their values become "[redacted]".
local SECRET_KEYS = { accessToken = true, authorizationCode = true }
local REDACTED = "[redacted]"

local function drop_secret_keys(v, seen)
  if type(v) ~= "table" or seen[v] then return end
  seen[v] = true
  for k, x in next, v do
    if SECRET_KEYS[k] then
      rawset(v, k, REDACTED)
    else
      drop_secret_keys(x, seen)
    end
  end
end

-- The same for a JSON text: `"accessToken": "..."` keeps its key, not its value.
local function drop_secret_json(s)
  for key in pairs(SECRET_KEYS) do
    s = s:gsub('("' .. key .. '"%s*:%s*")[^"]*"', "%1" .. REDACTED .. '"')
  end
  return s
end

-- The whole window of a body cut by `new`, until `redact` has scrubbed it (not
-- a field of the error: it is never seen, printed or scanned).
local windows = setmetatable({}, { __mode = "k" })

--- Creates an error. A secret-bearing field (`accessToken`, `authorizationCode`)
-- anywhere in its tables is replaced by "[redacted]"; a body is cut to 4 KiB.
-- @tparam string kind one of `KINDS`
-- @tparam string message one readable sentence
-- @tparam[opt] table fields extra fields (`status`, `errors`, `retry_after`, `operation`, `output`, `body`)
-- @treturn table the error object
function _M.new(kind, message, fields)
  assert(_M.KINDS[kind], "unknown error kind")
  local e = fields or {}
  e.kind = kind
  e.message = message
  local seen = {}
  for k, v in next, e do
    if SECRET_KEYS[k] then
      e[k] = REDACTED
    elseif type(v) == "table" then
      drop_secret_keys(v, seen)
    end
  end
  if type(e.body) == "string" then
    local body = drop_secret_json(e.body:sub(1, BODY_WINDOW))
    if #e.body > BODY_KEEP then windows[e] = body end
    e.body = body:sub(1, BODY_KEEP)
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

local function percent(lower, all)
  local fmt = lower and "%%%02x" or "%%%02X"
  local class = all and "." or "[^%w%-%._~]"
  return function(secret)
    return (secret:gsub(class, function(c) return fmt:format(c:byte()) end))
  end
end

-- The forms a secret takes in a server's text: as is, JSON-escaped (`\/`,
-- `\u002f`), URL-encoded (reserved bytes or every byte, either hex case).
local ENCODINGS = {
  function(secret) return secret end,
  function(secret) return (secret:gsub("/", "\\/")) end,
  function(secret) return (secret:gsub("/", "\\u002f")) end,
  function(secret) return (secret:gsub("/", "\\u002F")) end,
  percent(false, false), percent(true, false), percent(false, true), percent(true, true),
}

--- Every form of a secret a server may echo (see the module text), distinct.
-- @tparam string secret
-- @treturn {string,...}
function _M.forms(secret)
  local out, seen = {}, {}
  for _, encode in ipairs(ENCODINGS) do
    local f = encode(secret)
    if not seen[f] then
      seen[f] = true
      out[#out + 1] = f
    end
  end
  return out
end

-- Replaces every occurrence of one form in s.
local function scrub_form(s, form)
  local from, parts, n = 1, nil, 0
  while true do
    local a, b = s:find(form, from, true)
    if not a then break end
    parts = parts or {}
    parts[n + 1], parts[n + 2] = s:sub(from, a - 1), REDACTED
    n = n + 2
    from = b + 1
  end
  if not parts then return s end
  parts[n + 1] = s:sub(from)
  return table.concat(parts)
end

--- Replaces every occurrence of the secrets in a string, in any of the forms
-- a server may echo them in (`forms`), with `[redacted]`.
-- @param s a string (other values are returned unchanged)
-- @tparam {string,...} secrets
-- @return the scrubbed string
function _M.scrub(s, secrets)
  if type(s) ~= "string" then return s end
  for i = 1, #secrets do
    local secret = secrets[i]
    if type(secret) == "string" and #secret > 0 then
      for _, form in ipairs(_M.forms(secret)) do s = scrub_form(s, form) end
    end
  end
  return s
end

-- The shortest secret prefix removed from the end of a cut text.
local MIN_PREFIX = 4

-- A text cut at a length may end with the start of a secret whose rest was cut
-- off: that start is replaced too.
local function scrub_tail(s, secrets)
  for i = 1, #secrets do
    local secret = secrets[i]
    if type(secret) == "string" and #secret > 0 then
      for _, form in ipairs(_M.forms(secret)) do
        for k = math.min(#form - 1, #s), math.min(MIN_PREFIX, #form - 1), -1 do
          if k > 0 and s:sub(-k) == form:sub(1, k) then
            s = s:sub(1, -k - 1) .. REDACTED
            break
          end
        end
      end
    end
  end
  return s
end

--- The most secrets `add_secret` keeps in one list (the oldest added go first).
_M.MAX_SECRETS = 256

--- Adds a token to a client's list of secrets (the list `redact` scrubs with),
-- once. Call it with every token a client issues or caches (a user token from
-- `authorize`, `for_user`, `as_user`), so that no error of that client can
-- carry it.
-- @tparam {string,...} list the client's secrets (`transport.secrets`)
-- @param token the token (anything other than a non-empty string is ignored)
-- @treturn {string,...} list
function _M.add_secret(list, token)
  if type(list) ~= "table" or type(token) ~= "string" or token == "" then return list end
  for i = 1, #list do
    if list[i] == token then return list end
  end
  if #list >= _M.MAX_SECRETS then table.remove(list, 2) end -- the oldest added; the first is the client's own
  list[#list + 1] = token
  return list
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

--- Adds the secret-bearing fields of an answer (`accessToken`,
-- `authorizationCode`: what `authorize` and `generate_authorization_code`
-- issue) to a client's list of secrets, with `add_secret`.
-- @tparam {string,...} list the client's secrets (`transport.secrets`)
-- @param payload the answer (anything other than a table is ignored)
-- @treturn {string,...} list
function _M.add_secret_fields(list, payload)
  if type(payload) ~= "table" then return list end
  for key in pairs(SECRET_KEYS) do _M.add_secret(list, rawget(payload, key)) end
  return list
end

--- Removes every occurrence of the given secrets (in every form `forms` lists)
-- from every string of an error, at any depth, table keys included (a server
-- may echo a token back; the error must not carry it on). The body is scrubbed
-- whole, then cut to 4 KiB, and a secret's start left at the cut is removed.
-- @tparam table err the error object (changed in place)
-- @tparam {string,...} secrets tokens to remove
-- @treturn table err
function _M.redact(err, secrets)
  local window = windows[err]
  windows[err] = nil
  if #secrets == 0 then return err end
  local seen = { [err] = true }
  for k, v in pairs(err) do
    err[k] = scrub_value(v, secrets, seen)
  end
  if window and type(err.body) == "string" then
    err.body = scrub_tail(_M.scrub(window, secrets):sub(1, BODY_KEEP), secrets)
  elseif type(err.body) == "string" then
    err.body = scrub_tail(err.body, secrets)
  end
  return err
end

return _M
