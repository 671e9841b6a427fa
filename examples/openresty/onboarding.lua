--- The onboarding app of examples/openresty/nginx.conf.
--
--    GET /onboard?externalUserId=ada-1&name=Ada
--      -> 200 { "userId": ..., "created": true, "solutionInstanceId": ..., "configWizardUrl": ... }
--    GET /users?first=10
--      -> 200 { "users": [ { "id", "name", "externalUserId" }, ... ] }
--    GET /overview
--      -> 200 { "users": [ ... ], "solutions": [ ... ] }   (two calls at once, tray.parallel)
--
-- `/onboard` creates the external user (or finds it when the externalUserId is
-- taken), creates an instance of the onboarding solution with the user's
-- token, gets an authorization code and answers the config wizard URL to send
-- the user to. Every SDK call yields to nginx (tray.ngx), so a worker serves
-- other requests meanwhile, and the account's rate limit is shared by all
-- workers (lua_shared_dict tray_limits).
--
-- Settings come from the environment (the `env` lines of nginx.conf):
-- TRAY_MASTER_TOKEN, TRAY_GRAPHQL_URL / TRAY_REGION, TRAY_EMBEDDED_URL,
-- TRAY_PARTNER_ID (the config wizard's partner), TRAY_SOLUTION_ID (default:
-- the first solution tagged "onboarding").
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

local _M = {}

-- One client per worker, made on first use; its connections live in the
-- thread-pool VMs and its rate limiter in the shared dictionary.
local client
local solution_id = os.getenv("TRAY_SOLUTION_ID")
local partner_id = os.getenv("TRAY_PARTNER_ID") or "acme"

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

-- ngx.log levels for the client's log callback (the Redis limiter's fallback notices, retries).
local LOG_LEVELS = { warn = ngx.WARN, info = ngx.INFO, retry = ngx.INFO }

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
  local page, err = emb:solutions{ criteria = { tags = { "onboarding" } }, first = 1 }
  if not page then return nil, err end
  local s = page.nodes[1]
  if not s then return nil, { kind = "not_found", message = "no solution is tagged onboarding" } end
  solution_id = s.id
  return solution_id
end

-- The user's id: a new external user, or the one that already has this externalUserId.
local function find_or_create(emb, external_id, name)
  local created, err = emb:create_external_user{ externalUserId = external_id, name = name }
  if created then return created.userId, true end
  if err.kind ~= "graphql" then return nil, err end
  local page = emb:users{ criteria = { externalUserId = external_id }, first = 1 }
  local user = page and page.nodes[1]
  if user then return user.id, false end
  return nil, err
end

local function arg(args, name)
  local v = args[name]
  if type(v) == "table" then v = v[1] end
  if type(v) ~= "string" or v == "" or #v > 200 then return nil end
  return v
end

--- `GET /onboard?externalUserId=...&name=...`
function _M.onboard()
  local args = ngx.req.get_uri_args(20)
  local external_id, name = arg(args, "externalUserId"), arg(args, "name")
  if not external_id or not name then
    return reply(400, { error = { kind = "usage", message = "externalUserId and name are required" } })
  end
  local emb, err = embedded()
  if not emb then return fail(err, "client") end
  local sid
  sid, err = onboarding_solution(emb)
  if not sid then return fail(err, "solutions") end

  local user_id, created_or_err = find_or_create(emb, external_id, name)
  if not user_id then return fail(created_or_err, "create_external_user") end
  local auth
  auth, err = emb:authorize{ userId = user_id }
  if not auth then return fail(err, "authorize") end
  local user = assert(emb:as_user(auth.accessToken))
  local inst
  inst, err = user:create_solution_instance{ solutionId = sid, instanceName = name .. " (onboarding)" }
  if not inst then return fail(err, "create_solution_instance") end
  local code
  code, err = emb:generate_authorization_code{ userId = user_id }
  if not code then return fail(err, "generate_authorization_code") end
  local url
  url, err = emb:config_wizard_url{ partnerId = partner_id, solutionInstanceId = inst.solutionInstance.id,
    authorizationCode = code.authorizationCode }
  if not url then return fail(err, "config_wizard_url") end
  return reply(200, { userId = user_id, created = created_or_err, solutionInstanceId = inst.solutionInstance.id,
    configWizardUrl = url })
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
