--- User tokens on demand: `emb:for_user(userId)`.
--
--    local user = assert(emb:for_user(user_id))          -- authorize once, then reuse
--    local page = assert(user:solution_instances())
--
-- `for_user` gives a user client (as `emb:as_user(token)` does: the same
-- connections, rate limiter and statistics) whose token comes from `authorize`
-- and is kept until `margin` seconds before it expires (user tokens last two
-- days). Before each call the client checks that its token is still fresh and
-- gets a new one when it is not; when a call is answered with HTTP 401 anyway
-- (the token was revoked, or a clock is off) it authorizes again, once, and
-- repeats the call.
--
-- Tokens stay in this process's memory unless a `store` is given: any object
-- with `store:get(key) -> value | nil` and `store:set(key, value, ttl_seconds)
-- -> true | nil, err` (and optionally `store:delete(key)`), e.g. one backed by
-- Redis, so that several processes share one token per user. Keys are
-- `tray:user-token:<digest of the master token>:<userId>` (never the master
-- token itself); values are opaque strings that hold the user token and its
-- expiry time. A store that fails or raises is treated as empty: the token is
-- then fetched with `authorize` and the failure reported to the client's `log`.
-- @module tray.tokens

local native = require "tray.native"
local errors = require "tray.errors"
local clients = require "tray.client"

local _M = {}

--- Defaults: `ttl` is a user token's lifetime (two days), `margin` how long
-- before its end a token is no longer used, in seconds.
_M.DEFAULTS = { ttl = 2 * 24 * 3600, margin = 600 }

--- The key under which a user's token is kept.
-- @tparam string master_token
-- @tparam string user_id
-- @treturn string `tray:user-token:<native.digest(master_token)>:<userId>`
function _M.key(master_token, user_id)
  return "tray:user-token:" .. native.digest(master_token) .. ":" .. user_id
end

-- ---------------------------------------------------------------------------
-- The in-memory store

local Memory = {}
Memory.__index = Memory

--- An in-memory store (the default: one per master client).
-- @tparam[opt] table opts `{ clock = function() -> seconds }` (default: a monotonic clock)
-- @treturn table the store
function _M.memory_store(opts)
  opts = opts or {}
  return setmetatable({ entries = {}, clock = opts.clock or native.now }, Memory)
end

--- The value under `key`, or nil when there is none or its TTL ran out.
-- @tparam string key
-- @treturn ?string
function Memory:get(key)
  local e = self.entries[key]
  if not e then return nil end
  if e.expires <= self.clock() then
    self.entries[key] = nil
    return nil
  end
  return e.value
end

--- Keeps `value` under `key` for `ttl` seconds.
-- @tparam string key
-- @tparam string value
-- @tparam number ttl seconds (> 0)
-- @treturn boolean true
function Memory:set(key, value, ttl)
  self.entries[key] = { value = value, expires = self.clock() + ttl }
  return true
end

--- Forgets `key`.
-- @tparam string key
-- @treturn boolean true
function Memory:delete(key)
  self.entries[key] = nil
  return true
end

-- ---------------------------------------------------------------------------
-- Helpers

local default_stores = setmetatable({}, { __mode = "k" }) -- master client -> memory store

local function usage(message)
  return errors.fail("usage", message, { operation = "for_user" })
end

local function encode(token, expires)
  return string.format("v1:%d:%s", expires, token)
end

local function decode(value)
  if type(value) ~= "string" then return nil end
  local expires, token = value:match("^v1:(%d+):(.+)$")
  if not expires then return nil end
  return token, tonumber(expires)
end

local function log(src, message)
  local f = src.log
  if f then pcall(f, "warn", message) end
end


-- Calls store:method(...) without letting a failure or a raise escape.
local function store_call(src, method, ...)
  local store = src.store
  local f = store[method]
  if type(f) ~= "function" then return nil end
  local ok, v, err = pcall(f, store, ...)
  if not ok or (v == nil and err ~= nil) then
    log(src, "token store " .. method .. " failed: " .. errors.scrub(tostring(ok and err or v), src.secrets))
    return nil
  end
  return v
end

-- ---------------------------------------------------------------------------
-- The token source of one user

local Source = {}
Source.__index = Source

function Source:fresh(expires)
  return expires ~= nil and self.clock() < expires - self.margin
end

-- A usable token from the store, other than `stale` (a token a server refused).
function Source:from_store(stale)
  local token, expires = decode(store_call(self, "get", self.key))
  if token and token ~= stale and self:fresh(expires) then return token, expires end
  return nil
end

-- Calls authorize and keeps the token in the store.
function Source:fetch()
  local ok, res, err = pcall(self.master.authorize, self.master, { userId = self.user_id })
  if ok and type(res) == "table" and type(res.accessToken) == "string" and res.accessToken ~= "" then
    local token = res.accessToken
    -- the master client's errors must never carry the user token either
    errors.add_secret(self.secrets, token)
    local expires = math.floor(self.clock() + self.ttl)
    local ttl = math.floor(expires - self.margin - self.clock())
    if ttl >= 1 then store_call(self, "set", self.key, encode(token, expires), ttl) end
    return token, expires
  elseif ok then
    return nil, err or errors.new("decode", "authorize answered without an accessToken", { operation = "authorize" })
  end
  return nil, errors.new("internal", "authorize raised: " .. errors.scrub(tostring(res), self.secrets),
    { operation = "authorize" })
end

-- Authorizes once per key at a time, in every runtime: callers arriving while a
-- fetch runs wait for it and share its token (the backend's single flight).
function Source:authorize(stale)
  local backend = self.master.transport.backend
  local token, expires = backend:once("tray.tokens:" .. self.key, function() return self:fetch() end)
  if token and token == stale then
    -- the flight we joined had fetched the token that was just refused: fetch anew
    token, expires = backend:once("tray.tokens:" .. self.key, function() return self:fetch() end)
  end
  return token, expires
end

-- A fresh token: the store's, else a new one. `stale`: a token to avoid.
function Source:get(stale)
  local token, expires = self:from_store(stale)
  if token then return token, expires end
  if stale then store_call(self, "delete", self.key) end
  return self:authorize(stale)
end

-- Points the user client at `token`.
function Source:use(client, token, expires)
  errors.add_secret(self.secrets, token) -- a cached token too: scrubbed from the master client's errors
  self.token, self.expires = token, expires
  client.transport = self.master.transport:with_token(token)
  client.token_expires = expires
end

-- ---------------------------------------------------------------------------
-- The user client

local user_classes = setmetatable({}, { __mode = "k" }) -- client class -> its user-client class

-- The class of a for_user client: the master client's class, with a `send` that
-- keeps the token fresh (built once per class; this module never requires tray.embedded).
local function user_client_class(Embedded)
  local UserClient = user_classes[Embedded]
  if UserClient then return UserClient end
  UserClient = setmetatable({}, { __index = Embedded })
  user_classes[Embedded] = UserClient
  UserClient.__index = UserClient

  --- Sends a request (every request of an Embedded client goes through `send`):
  -- checks the token first, and on a 401 gets a new one and repeats the call once.
  -- @param ... as `Embedded:send`
  -- @return data, or nil
  -- @treturn ?table the error
  function UserClient:send(...)
    local src = self.token_source
    if not src:fresh(src.expires) then
      local token, expires = src:get(nil)
      if not token then return nil, expires end
      src:use(self, token, expires)
    end
    local used = src.token
    local data, err = Embedded.send(self, ...)
    if data == nil and type(err) == "table" and err.kind == "auth" and err.status == 401 then
      local token, expires
      if src.token ~= used and src:fresh(src.expires) then
        token, expires = src.token, src.expires -- another call already refreshed it
      else
        token, expires = src:get(used)
      end
      if not token then return nil, expires end
      src:use(self, token, expires)
      return Embedded.send(self, ...)
    end
    return data, err
  end

  return UserClient
end

local function check_opts(emb, opts)
  local o = {}
  local client_opts = emb.transport and emb.transport.opts or {}
  o.store = opts.store
  if o.store == nil then o.store = client_opts.token_store end
  if o.store ~= nil then
    if (type(o.store) ~= "table" and type(o.store) ~= "userdata")
      or type(o.store.get) ~= "function" or type(o.store.set) ~= "function" then
      return usage("store must be an object with get(key) and set(key, value, ttl) methods")
    end
  else
    o.store = default_stores[emb]
    if not o.store then
      o.store = _M.memory_store()
      default_stores[emb] = o.store
    end
  end
  o.ttl = opts.ttl or _M.DEFAULTS.ttl
  o.margin = opts.margin
  if o.margin == nil then o.margin = client_opts.token_margin or _M.DEFAULTS.margin end
  if type(o.ttl) ~= "number" or o.ttl <= 0 then return usage("ttl must be a positive number of seconds") end
  if type(o.margin) ~= "number" or o.margin < 0 or o.margin >= o.ttl then
    return usage("margin must be a number of seconds from 0 to less than ttl")
  end
  o.clock = opts.clock or os.time
  if type(o.clock) ~= "function" then return usage("clock must be a function returning seconds") end
  return o
end

--- A user client for an end user, with a cached token (see the module text).
-- Only a master client can do this.
-- @tparam table emb a master `tray.embedded` client
-- @tparam string user_id the end user's Tray id (`users` -> `id`, `create_external_user` -> `userId`)
-- @tparam[opt] table opts `store` (see above; or the client option `token_store`), `margin`
-- (seconds, default 600; or the client option `token_margin`), `ttl` (seconds, default two
-- days), `clock` (a function returning seconds since the epoch; default `os.time`)
-- @treturn ?table the user client (its `token_expires` is the token's end, in `clock` seconds)
-- @treturn ?table the error: `auth` for a client without a master token, `usage`,
-- or what `authorize` answered (e.g. an unknown user)
function _M.for_user(emb, user_id, opts)
  if type(emb) ~= "table" or emb.token_kind ~= "master" then
    return errors.fail("auth", "for_user needs a master token; this client holds a user token",
      { operation = "for_user" })
  end
  if type(user_id) ~= "string" or user_id == "" then return usage("for_user needs a userId (a non-empty string)") end
  if opts ~= nil and type(opts) ~= "table" then return usage("for_user takes a table of options") end
  local o, err = check_opts(emb, opts or {})
  if not o then return nil, err end
  local src = setmetatable({
    master = emb, user_id = user_id, key = _M.key(emb.transport.token, user_id),
    store = o.store, ttl = o.ttl, margin = o.margin, clock = o.clock,
    log = emb.transport.opts and emb.transport.opts.log,
    secrets = emb.transport.secrets,
  }, Source)
  local token, expires = src:get(nil)
  if not token then return nil, expires end
  local client
  client, err = emb:as_user(token)
  if not client then return nil, err end
  src:use(client, token, expires)
  client.token_source = src
  return setmetatable(client, user_client_class(getmetatable(emb)))
end
_M.for_user = clients.protect(_M.for_user, "for_user")

return _M
