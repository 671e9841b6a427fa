-- A hostile server (issue 14, "Done when"): it echoes the request's token at
-- every offset around every cut of the body an error keeps, in plain,
-- JSON-escaped and URL-encoded forms, in the message, the errors, the data,
-- the headers and the body, and hands out user tokens in `data`; a Redis that
-- quotes the password of a failed AUTH. No token, no user token and no Redis
-- password may reach an error field, a log line or the CLI's output.
--
-- Items covered: 1 (the body cut, escaped forms, a prefix at the cut), 2 (a
-- user token in `err.data`), 3 (the Redis password), and the CLI and log
-- lines of all three.

local emu = require "spec.helpers.emulator"
local tray = require "tray"
local native = require "tray.native"

local ROOT = os.getenv("PWD") or "."
local CUT = 4096                -- the bytes of a body an error keeps
local WINDOW = CUT + 16384      -- the bytes a new error holds until it is scrubbed
local MIN_LEAK = 8              -- a run of this many bytes of a secret counts as a leak

-- A token such as a real one: base64 with '/', '+' and '=' (so that every
-- form differs from the others). Faults answer before any token check, so the
-- emulator need not know it.
local function base64_token(seed, n)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local s, x = {}, seed
  for i = 1, n do
    x = (x * 75 + 74) % 65537
    local k = x % 64 + 1
    s[i] = alphabet:sub(k, k)
  end
  return "tr/" .. table.concat(s) .. "+q=="
end

local MASTER = base64_token(11, 40)
local USER = base64_token(23, 40)

-- The forms to look for, built here independently of the SDK's scrub.
local function forms_of(secret)
  local url = secret:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end)
  return { secret, (secret:gsub("/", "\\/")), url, url:lower(), (secret:gsub("/", "\\u002f")) }
end

-- The first place in v (strings at any depth, keys included, and tostring(v))
-- holding MIN_LEAK bytes in a row of any form of any secret; nil when clean.
local function leak(v, secrets)
  local needles = {}
  for _, secret in ipairs(secrets) do
    for _, f in ipairs(forms_of(secret)) do
      for i = 1, #f - MIN_LEAK + 1 do needles[f:sub(i, i + MIN_LEAK - 1)] = true end
    end
  end
  local function in_string(s)
    for needle in pairs(needles) do
      if s:find(needle, 1, true) then return true end
    end
    return false
  end
  local seen = {}
  local function walk(x, path)
    if type(x) == "string" then return in_string(x) and path or nil end
    if type(x) ~= "table" or seen[x] then return nil end
    seen[x] = true
    for k, y in pairs(x) do
      local hit = walk(k, path .. "[key]") or walk(y, path .. "." .. tostring(k))
      if hit then return hit end
    end
    return nil
  end
  local hit = walk(v, "value")
  if not hit and type(v) == "table" then
    local ok, text = pcall(tostring, v)
    if ok and in_string(text) then hit = "tostring(value)" end
  end
  return hit
end

local function assert_clean(v, secrets, what)
  local hit = leak(v, secrets)
  assert(hit == nil, "a secret is in " .. tostring(hit) .. " of " .. what)
end

-- Every user token the emulator has issued (the echo's `data` holds fresh ones).
local function issued()
  return emu.control("GET", "/tokens").issued or {}
end

-- The offsets (bytes before a cut where the token's last copy starts) that put
-- the cut everywhere inside it, and just outside on both sides.
local function offsets(len, cut)
  local out = {}
  for o = -2, len + 2 do out[#out + 1] = o end
  if cut ~= CUT then
    out = {}
    for o = -2, len + 2, 3 do out[#out + 1] = o end
  end
  return out
end

describe("a hostile server", function()
  before_each(function() emu.reset() end)
  after_each(function() emu.clear_faults() end)

  local function clients(lines)
    local opts = { rate_limit = false, max_retries = 1, retry_base = 0.001,
      log = function(level, message) lines[#lines + 1] = tostring(level) .. " " .. tostring(message) end }
    local core = assert(tray.core.new{ base_url = emu.core_url, token = MASTER, rate_limit = opts.rate_limit,
      max_retries = opts.max_retries, retry_base = opts.retry_base, log = opts.log })
    local emb = assert(tray.embedded.new{ endpoint = emu.graphql_url, embedded_url = emu.url, master_token = MASTER,
      rate_limit = opts.rate_limit, max_retries = opts.max_retries, retry_base = opts.retry_base, log = opts.log })
    local user = assert(emb:as_user(USER))
    return {
      { "core:list_workspaces", function() return core:list_workspaces() end },
      { "emb:users", function() return emb:users{ first = 1 } end },
      { "emb:authorize", function() return emb:authorize{ userId = "u1" } end },
      { "user:authentications", function() return user:authentications() end },
    }
  end

  it("echoing the token around the cut, in every form, in every field: no error or log line holds it", function()
    local lines, n = {}, 0
    local calls = clients(lines)
    for _, cut in ipairs({ CUT, WINDOW }) do
      for _, form in ipairs({ "plain", "json", "url" }) do
        local len = #forms_of(MASTER)[form == "plain" and 1 or form == "json" and 2 or 3]
        for _, offset in ipairs(offsets(len, cut)) do
          for _, shape in ipairs({ "rest", "graphql", "text" }) do
            for _, call in ipairs(calls) do
              -- 503: retried once (a log line), then kept; 200/400: kept at once
              -- (a 200 is no error to a REST call: its body is the answer)
              local status = ({ rest = 400, graphql = call[1]:find("^core") and 500 or 200, text = 503 })[shape]
              emu.fault{ mode = "echo_token", form = form, offset = offset, cut = cut, shape = shape,
                status = status, count = 2 }
              local v, err = call[2]()
              emu.clear_faults()
              assert.is_nil(v, call[1])
              assert.is_table(err)
              n = n + 1
              assert_clean(err, { MASTER, USER },
                string.format("%s (form %s, offset %d from byte %d, shape %s)", call[1], form, offset, cut, shape))
              if err.body then assert.is_true(#err.body <= CUT) end
            end
          end
        end
      end
    end
    assert.is_true(n > 1000)
    assert.is_true(#lines > 100)
    assert_clean(lines, { MASTER, USER }, "the log lines")
  end)

  it("user tokens handed out in `data` beside `errors` never stay on the error", function()
    local lines = {}
    local calls = clients(lines)
    local errs = {}
    for i = 2, #calls do -- the GraphQL calls
      local call = calls[i]
      emu.fault{ mode = "echo_token", shape = "graphql", status = 200, offset = 5000 }
      local v, err = call[2]()
      assert.is_nil(v)
      errs[#errs + 1] = err
    end
    local tokens = issued()
    assert.is_true(#tokens >= 3)
    for i, err in ipairs(errs) do assert_clean(err, tokens, "error " .. i) end
    -- the shape is still there, the secret is not
    assert.equal("[redacted]", errs[2].data.authorize.accessToken)
    assert.equal("[redacted]", errs[2].data.authorize.authorizationCode)
  end)

  it("the user tokens a master client issued or cached are scrubbed from its later errors", function()
    emu.seed_users(2, "hostile")
    local forward = emu.forwarding_transport()
    local quoted -- when set, the server answers every request with an error quoting these
    local transport = function(req)
      if not quoted then return forward(req) end
      local body = '{"errors":[{"message":"seen ' .. table.concat(quoted, " and ") .. '"}],"pad":"' ..
        string.rep("x", 4070) .. quoted[1] .. '"}'
      return { status = 400, body = body, headers = { ["x-seen"] = quoted[1] } }
    end
    local emb = assert(tray.embedded.new{ endpoint = emu.graphql_url, embedded_url = emu.url,
      master_token = emu.master_token, transport = transport, rate_limit = false, max_retries = 0 })
    local nodes = assert(emb:users{ first = 2 }).nodes
    local auth = assert(emb:authorize{ userId = nodes[1].id })         -- issued
    local user = assert(emb:for_user(nodes[2].id))                      -- issued and cached
    local cached = user.token_source.token
    assert.is_string(cached)
    quoted = { auth.accessToken, cached }
    local v, err = emb:users{ first = 1 }
    assert.is_nil(v)
    assert_clean(err, { auth.accessToken, cached }, "the master client's error")
    v, err = emb:authorize{ userId = nodes[1].id }
    assert.is_nil(v)
    assert_clean(err, { auth.accessToken, cached }, "the master client's error")
  end)

  describe("through the CLI", function()
    local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
    local function run(args, env)
      local out, errf = os.tmpname(), os.tmpname()
      local parts = {}
      for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. quote(v) end
      local cmd = string.format("env %s %s/bin/tray %s >%s 2>%s", table.concat(parts, " "), ROOT,
        table.concat(args, " "), out, errf)
      os.execute(cmd)
      local function slurp(p)
        local f = io.open(p, "rb")
        local s = f and f:read("*a") or ""
        if f then f:close() end
        os.remove(p)
        return s
      end
      return slurp(out) .. slurp(errf)
    end

    it("prints no token, whatever the server echoes", function()
      local env = { TRAY_TOKEN = MASTER, TRAY_MASTER_TOKEN = MASTER, TRAY_CORE_URL = emu.core_url,
        TRAY_GRAPHQL_URL = emu.graphql_url, TRAY_EMBEDDED_URL = emu.url }
      local outputs = {}
      for _, form in ipairs({ "plain", "json", "url" }) do
        for _, offset in ipairs({ 0, 7, 20, 60 }) do
          for _, case in ipairs({ { "core list_workspaces", "rest" }, { "embedded users", "graphql" },
                                  { "core list_workspaces", "text" } }) do
            emu.fault{ mode = "echo_token", form = form, offset = offset, shape = case[2], count = 1 }
            local text = run({ case[1] }, env)
            emu.clear_faults()
            assert.is_true(#text > 0)
            outputs[#outputs + 1] = text
          end
        end
      end
      assert_clean(outputs, { MASTER }, "the CLI's output")
      assert_clean(outputs, issued(), "the CLI's output (user tokens)")
    end)
  end)
end)

describe("a Redis that quotes a failed AUTH's arguments", function()
  -- AUTH renamed away: Redis answers "unknown command 'AUTH', with args
  -- beginning with: 'user' 'password'" (each argument cut at 128 bytes)
  local server
  local SHORT = "s3cretPassw0rd"
  local LONG = string.rep("L0ngPassw0rd", 20) -- 240 bytes: quoted cut short

  local function start()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    for _ = 1, 20 do
      local port = 20000 + math.random(0, 39999)
      os.execute(string.format("redis-server --bind 127.0.0.1 --port %d --dir %s --save '' --appendonly no " ..
        "--rename-command AUTH '' --requirepass %s --daemonize yes --pidfile %s/pid --logfile %s/log " ..
        ">/dev/null 2>&1", port, dir, SHORT, dir, dir))
      for _ = 1, 100 do
        local f = io.open(dir .. "/pid", "r")
        local pid = f and tonumber(f:read("*l"))
        if f then f:close() end
        if pid then return { port = port, pid = pid, dir = dir } end
        native.sleep(0.02)
      end
    end
    error("redis-server did not start")
  end

  setup(function() server = start() end)
  teardown(function()
    if server then
      os.execute("kill " .. server.pid .. " 2>/dev/null")
      os.execute("rm -rf " .. server.dir)
    end
  end)

  for _, pw in ipairs({ SHORT, LONG }) do
    it("keeps the password (" .. #pw .. " bytes) and the user name out of errors and log lines", function()
      local url = string.format("redis://alice:%s@127.0.0.1:%d/0", pw, server.port)
      local store = assert(require("tray.redis").store{ url = url })
      local v, err = store:get("k")
      assert.is_nil(v)
      assert.is_table(err)
      assert.matches("unknown command", err.message)
      assert_clean(err, { pw }, "the store's error")
      assert.is_nil(tostring(err):find("alice", 1, true))
      store:close()
      local lines = {}
      local core = assert(tray.core.new{ base_url = emu.core_url, token = emu.master_token, max_retries = 0,
        rate_limit = { redis = url, rate = 1000, burst = 1000 },
        log = function(level, message) lines[#lines + 1] = level .. " " .. message end })
      assert(core:list_workspaces())
      assert.is_true(#lines >= 1)
      assert.matches("unknown command", lines[1])
      assert_clean(lines, { pw }, "the limiter's log")
      assert.is_nil(table.concat(lines, "\n"):find("alice", 1, true))
      core:close()
    end)
  end
end)
