--- The onboarding app of examples/openresty/nginx.conf.
--
--    POST /onboard  {"externalUserId": "ada-1", "name": "Ada"}   (or the same as form fields)
--      -> 200 { "userId", "solutionInstanceId", "configWizardUrl", "user", "instance", "status" }
--    GET /instances?userId=...
--      -> 200 { "instances": [ { "id", "name", "enabled" }, ... ] }
--    GET /users?first=10
--      -> 200 { "users": [ { "id", "name", "externalUserId" }, ... ] }
--    GET /overview
--      -> 200 { "users": [ ... ], "solutions": [ ... ] }   (two calls at once, tray.parallel)
--
-- `/onboard` is idempotent (`tray.onboarding.onboard`): it finds or creates the
-- external user, finds or creates the user's instance of the onboarding
-- solution (named "<name> (onboarding)"), and answers a config wizard URL with
-- a fresh authorization code. A second POST for the same user creates nothing.
-- User tokens come from the client's `for_user` cache: one `authorize` per
-- user and worker until the token nears its end, however many requests need
-- it at once. Every SDK call is a cosocket request, so a worker serves other
-- requests meanwhile, and the account's rate limit is shared by all workers
-- (lua_shared_dict tray_limits).
--
-- Settings come from the environment (the `env` lines of nginx.conf):
-- TRAY_MASTER_TOKEN, TRAY_GRAPHQL_URL / TRAY_REGION, TRAY_EMBEDDED_URL,
-- TRAY_PARTNER_ID (the config wizard's partner), TRAY_SOLUTION_ID (default:
-- the first solution tagged "onboarding"), TRAY_TOKEN_TTL (seconds a user
-- token is kept; default: until ten minutes before it expires).
--
-- Several nginx hosts on one account: set TRAY_REDIS_URL (redis://host:port/db)
-- and every worker of every host takes its turns from one bucket in Redis
-- (tray.redis) instead of the shared dictionary, which stops at one host.
-- TRAY_RATE_KEY names the bucket (default tray:rl:<digest of the token>@<host>),
-- TRAY_RATE / TRAY_RATE_BURST set the rate and burst (default 30 / the rate),
-- TRAY_FLEET_SIZE the number of worker processes sharing the account (each falls
-- back to 1/N of the rate while Redis is down), TRAY_REDIS_TIMEOUT the seconds a
-- Redis round trip may block the worker (default 0.1). Unset: the shared dictionary.
-- @module onboarding
-- luacheck: globals ngx

local tray = require "tray"
local json = require "tray.json"
local onboarding = require "tray.onboarding"

local _M = {}

-- One client per worker, made on first use: its connections are the worker's
-- cosocket pools, its user tokens the for_user cache, its rate limiter the
-- shared dictionary.
local client
local solution_id = os.getenv("TRAY_SOLUTION_ID")
local partner_id = os.getenv("TRAY_PARTNER_ID") or "acme"
local token_ttl = tonumber(os.getenv("TRAY_TOKEN_TTL") or "")

local STATUS = { usage = 400, validation = 400, not_found = 404, rate_limited = 429,
                 timeout = 504, network = 502 }

local function reply(status, value)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["X-Tray-Worker"] = ngx.worker.id()   -- which worker answered (0, 1 ...)
  ngx.print(json.encode(value), "\n")
end

-- Answers an SDK error. The message never holds a token, so it can be shown and logged.
local function fail(err, where)
  ngx.log(ngx.ERR, where, ": ", tostring(err))
  -- a client that cannot be made is the server's configuration (TRAY_MASTER_TOKEN ...), not the caller's
  return reply(where == "client" and 500 or STATUS[err.kind] or 502,
    { error = { kind = err.kind, message = err.message, operation = err.operation } })
end

-- ngx.log levels for the client's log callback (the Redis limiter's fallback
-- notices, retries: nginx.conf's error_log level is notice).
local LOG_LEVELS = { warn = ngx.WARN, info = ngx.INFO, retry = ngx.NOTICE }

-- The rate limit from the environment: nil (tray's default: the shared
-- dictionary inside nginx) unless one of the variables is set.
local function rate_limit()
  local env = {
    redis = os.getenv("TRAY_REDIS_URL"), key = os.getenv("TRAY_RATE_KEY"),
    rate = os.getenv("TRAY_RATE"), burst = os.getenv("TRAY_RATE_BURST"),
    fleet_size = os.getenv("TRAY_FLEET_SIZE"), timeout = os.getenv("TRAY_REDIS_TIMEOUT"),
  }
  local rl
  for k, v in pairs(env) do
    if v ~= "" then
      rl = rl or {}
      -- a value that is not a number stays a string: tray refuses it with a usage error
      rl[k] = (k == "redis" or k == "key") and v or tonumber(v) or v
    end
  end
  return rl
end

local function embedded()
  if client then return client end
  local c, err = tray.embedded.new{   -- master token and URLs from the environment
    rate_limit = rate_limit(),
    log = function(level, message) ngx.log(LOG_LEVELS[level] or ngx.NOTICE, "tray: ", message) end,
  }
  if not c then return nil, err end
  client = c
  return c
end

local function onboarding_solution(emb)
  if solution_id then return solution_id end
  local sol, err = onboarding.resolve_solution(emb, "onboarding")
  if not sol then return nil, err end
  solution_id = sol.id
  return solution_id
end

-- Options of for_user: the token cache's lifetime (TRAY_TOKEN_TTL), else tray's defaults.
local function token_opts()
  if token_ttl and token_ttl > 0 then return { ttl = token_ttl, margin = 0 } end
  return nil
end

local function arg(args, name)
  local v = args[name]
  if type(v) == "table" then v = v[1] end
  if type(v) ~= "string" or v == "" or #v > 200 then return nil end
  return v
end

-- The POST body: JSON, or form fields.
local function post_args()
  ngx.req.read_body()
  local ctype = ngx.var.content_type or ""
  if ctype:find("json", 1, true) then
    local v = json.decode(ngx.req.get_body_data() or "")
    return type(v) == "table" and v or {}
  end
  return ngx.req.get_post_args(20) or {}
end

--- `POST /onboard` with `externalUserId` and `name` (JSON or form fields).
function _M.onboard()
  if ngx.req.get_method() ~= "POST" then
    ngx.header["Allow"] = "POST"
    return reply(405, { error = { kind = "usage", message = "POST /onboard with externalUserId and name" } })
  end
  local args = post_args()
  local external_id, name = arg(args, "externalUserId"), arg(args, "name")
  if not external_id or not name then
    return reply(400, { error = { kind = "usage", message = "externalUserId and name are required" } })
  end
  local emb, err = embedded()
  if not emb then return fail(err, "client") end
  local sid
  sid, err = onboarding_solution(emb)
  if not sid then return fail(err, "solutions") end
  local report
  report, err = onboarding.onboard(emb, { externalUserId = external_id, name = name },
    { solutionId = sid, instanceName = name .. " (onboarding)", partnerId = partner_id, enable = false,
      tokens = token_opts() })
  if not report then return fail(err, err.operation or "onboard") end
  return reply(200, { userId = report.userId, solutionInstanceId = report.solutionInstanceId,
    configWizardUrl = report.wizardUrl, user = report.user, instance = report.instance, status = report.status })
end

--- `GET /instances?userId=...`: the user's solution instances, with a cached user token.
function _M.instances()
  local user_id = arg(ngx.req.get_uri_args(20), "userId")
  if not user_id then return reply(400, { error = { kind = "usage", message = "userId is required" } }) end
  local emb, err = embedded()
  if not emb then return fail(err, "client") end
  local user
  user, err = emb:for_user(user_id, token_opts())
  if not user then return fail(err, "for_user") end
  local page
  page, err = user:solution_instances()
  if not page then return fail(err, "solution_instances") end
  local list = json.array()
  for i, inst in ipairs(page.nodes) do list[i] = { id = inst.id, name = inst.name, enabled = inst.enabled } end
  return reply(200, { instances = list })
end

--- `GET /users?first=N`: the account's external users (one SDK call).
function _M.users()
  local first = tonumber(ngx.var.arg_first) or 10
  first = math.max(1, math.min(100, math.floor(first)))
  local emb, err = embedded()
  if not emb then return fail(err, "client") end
  local page
  page, err = emb:users{ first = first }
  if not page then return fail(err, "users") end
  local users = json.array()
  for i, u in ipairs(page.nodes) do
    users[i] = { id = u.id, name = u.name, externalUserId = u.externalUserId }
  end
  return reply(200, { users = users })
end

--- `GET /overview`: users and solutions, fetched at once with `tray.parallel`
-- (inside nginx its tasks run as nginx light threads).
function _M.overview()
  local emb, err = embedded()
  if not emb then return fail(err, "client") end
  local pages, errs = tray.parallel({
    function() return emb:users{ first = 10 } end,
    function() return emb:solutions{ first = 10 } end,
  })
  for i = 1, 2 do
    local e = errs[i]
    if e then
      if type(e) ~= "table" then e = { kind = "network", message = tostring(e) } end
      return fail(e, "overview")
    end
  end
  local users, solutions = json.array(), json.array()
  for i, u in ipairs(pages[1].nodes) do users[i] = { id = u.id, name = u.name } end
  for i, s in ipairs(pages[2].nodes) do solutions[i] = { id = s.id, title = s.title } end
  return reply(200, { users = users, solutions = solutions })
end

return _M
