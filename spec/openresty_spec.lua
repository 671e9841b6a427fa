-- tray inside nginx: the cosocket backend (tray.backend.ngx) and
-- examples/openresty, run by a real nginx (Debian's nginx + libnginx-mod-http-lua,
-- the LuaJIT build of tray.native) against the emulator. No thread_pool anywhere.
--
-- Each describe block starts its own nginx (spec/helpers/nginx.lua: own prefix in
-- a temp dir, loopback, a free high port) and stops it in teardown, whatever the
-- tests did. spec/fixtures/nginx/nginx.conf is a probe: POST /probe runs one SDK
-- call with the client options the test sends.
--
-- No timed upper bounds: "while in flight" is shown by ordering (the emulator
-- holds every SDK request and none has been answered yet when /health answers).

local emu = require "spec.helpers.emulator"
local native = require "tray.native"
local json = require "tray.json"
local read_file = require("spec.helpers.proc").read_file

local SOLUTION = "b3422397-XXXX-XXXX-XXXX-57e7e66771b3" -- seeded, tagged "onboarding"

local nginx = require "spec.helpers.nginx"
local fire, get, post = nginx.fire, nginx.get, nginx.post

local why_not = nginx.missing()

-- ---------------------------------------------------------------------------
-- tray.ngx and tray.backend.ngx on their own, with a stand-in for the `ngx` API.

local function stand_in()
  local clock = { t = 1000, sleeps = {} }
  local logs = {}
  local function dict()
    local d = { data = {}, adds = 0 }
    function d.add(self, k, v)
      self.adds = self.adds + 1
      if self.data[k] ~= nil then return false, "exists" end
      self.data[k] = v
      return true
    end
    function d.get(self, k) return self.data[k] end
    function d.set(self, k, v) self.data[k] = v return true end
    function d.delete(self, k) self.data[k] = nil end
    return d
  end
  local fake = {
    WARN = 5,
    shared = { tray_limits = dict(), other = dict() },
    log = function(_, ...) logs[#logs + 1] = table.concat({ ... }) end,
    now = function() return clock.t end,
    update_time = function() end,
    get_phase = function() return clock.phase or "log" end,
    sleep = function(sec)
      clock.sleeps[#clock.sleeps + 1] = sec
      clock.t = clock.t + sec
      if clock.on_sleep then clock.on_sleep() end
    end,
  }
  return fake, clock, logs
end

describe("tray.ngx limiter (with a stand-in ngx API)", function()
  local fake, clock, logs, tngx

  before_each(function()
    emu.reset()
    fake, clock, logs = stand_in()
    rawset(_G, "ngx", fake)
    package.loaded["tray.ngx"] = nil -- a fresh module: its warn-once memory too
    tngx = require "tray.ngx"
  end)

  after_each(function()
    rawset(_G, "ngx", nil)
    package.loaded["tray.ngx"] = nil
  end)

  describe("limiter", function()
    it("is a token bucket: burst at once, then one slot per 1/rate, and refills with time", function()
      local lim = tngx.limiter({ rate = 10, burst = 3 }, "token-a", "api.example")
      assert.equal(0, lim:reserve())
      assert.equal(0, lim:reserve())
      assert.equal(0, lim:reserve())
      assert.near(0.1, lim:reserve(), 1e-9)
      assert.near(0.2, lim:reserve(), 1e-9)
      clock.t = clock.t + 10 -- idle: the bucket is full again
      for _ = 1, 3 do assert.equal(0, lim:reserve()) end
      assert.near(0.1, lim:reserve(), 1e-9)
    end)

    it("keeps its state in the shared dictionary, so every worker draws from one bucket", function()
      -- two limiter objects = two workers (each has its own Lua VM, the dictionary is shared)
      local w1 = tngx.limiter({ rate = 10, burst = 2 }, "token-a", "api.example")
      package.loaded["tray.ngx"] = nil
      local w2 = require("tray.ngx").limiter({ rate = 10, burst = 2 }, "token-a", "api.example")
      assert.equal(0, w1:reserve())
      assert.equal(0, w2:reserve())
      assert.near(0.1, w1:reserve(), 1e-9)
      assert.near(0.2, w2:reserve(), 1e-9)
      -- another token (another account) has its own bucket; keys hold a digest, not the token
      local other = tngx.limiter({ rate = 10, burst = 2 }, "token-b", "api.example")
      assert.equal(0, other:reserve())
      for k in pairs(fake.shared.tray_limits.data) do
        assert.not_matches("token", k, 1, true)
        assert.matches("@api.example", k, 1, true)
      end
      -- no lock is left behind
      for k in pairs(fake.shared.tray_limits.data) do assert.not_matches(":lock$", k) end
    end)

    it("waits while another worker holds the lock, then takes its slot", function()
      local lim = tngx.limiter({ rate = 10, burst = 1 }, "token-a", "api.example")
      assert.equal(0, lim:reserve())
      local lock
      for k in pairs(fake.shared.tray_limits.data) do if not k:find(":lock$") then lock = k .. ":lock" end end
      fake.shared.tray_limits.data[lock] = true -- "another worker" holds it
      clock.on_sleep = function() fake.shared.tray_limits.data[lock] = nil end
      local wait = lim:reserve()
      assert.is_true(#clock.sleeps >= 1, "it yielded while the lock was held")
      assert.is_true(fake.shared.tray_limits.adds > 100, "it retried the lock")
      -- the 1 ms it slept counts: the second slot was due 0.1 s after the first
      assert.near(0.1 - clock.sleeps[1], wait, 1e-9)
      assert.is_nil(fake.shared.tray_limits.data[lock])
    end)

    it("uses the dictionary named by rate_limit.shared_dict", function()
      local lim = tngx.limiter({ rate = 10, burst = 1, shared_dict = "other" }, "token-a", "api.example")
      lim:reserve()
      assert.is_not_nil(next(fake.shared.other.data))
      assert.is_nil(next(fake.shared.tray_limits.data))
    end)

    it("without the dictionary, falls back to the per-worker limiter and warns once, without the token", function()
      fake.shared.tray_limits = nil
      local lim = tngx.limiter({ rate = 10, burst = 2 }, "secret-token-xyz", "fallback.example")
      local lim2 = tngx.limiter({ rate = 10, burst = 2 }, "secret-token-xyz", "fallback.example")
      assert.equal(0, lim:reserve())
      assert.equal(0, lim2:reserve()) -- one process-wide C bucket per key
      assert.is_true(lim:reserve() > 0)
      assert.equal(1, #logs)
      assert.matches("lua_shared_dict tray_limits", logs[1], 1, true)
      assert.not_matches("secret-token-xyz", logs[1], 1, true)
    end)
  end)
end)

describe("tray.backend.ngx where nginx has no cosockets (a stand-in ngx API)", function()
  local fake, clock, logs, backend

  before_each(function()
    emu.reset()
    fake, clock, logs = stand_in()
    rawset(_G, "ngx", fake)
    package.loaded["tray.backend.ngx"] = nil
    backend = require "tray.backend.ngx"
  end)

  after_each(function()
    rawset(_G, "ngx", nil)
    package.loaded["tray.backend.ngx"] = nil
  end)

  it("sends through the blocking libcurl core instead, and says so once", function()
    local b = backend.new{ timeout = 5, connect_timeout = 5, max_body = 1e6, user_agent = "probe/1" }
    assert.equal("ngx", b.name)
    assert.is_false(backend.cosockets())
    for _ = 1, 2 do
      local status, body, headers = b:request("POST", emu.graphql_url,
        { "Accept: application/json", "Content-Type: application/json" }, '{"query":"{ __typename }"}',
        emu.master_token)
      assert.equal(200, status, body)
      assert.is_table(headers)
    end
    assert.equal(1, #logs)
    assert.matches("log phase", logs[1], 1, true)
    local req = emu.last_request("/graphql")
    assert.equal("Bearer " .. emu.master_token, req.headers.authorization)
    assert.equal("probe/1", req.headers["user-agent"])
    b:close()
    b:close() -- idempotent
    local v, kind = b:request("GET", emu.graphql_url, {})
    assert.is_nil(v)
    assert.equal("usage", kind)
  end)

  it("once: where nothing can wait, each caller runs the function; a raise reaches its caller", function()
    local b = backend.new{}
    local calls = 0
    local function fetch() calls = calls + 1 return "token-" .. calls, 42 end
    assert.same({ "token-1", 42 }, { b:once("k", fetch) })
    assert.same({ "token-2", 42 }, { b:once("k", fetch) })
    assert.has_error(function() b:once("k", function() error("boom", 0) end) end, "boom")
    assert.same({ "token-3", 42 }, { b:once("k", fetch) }) -- nothing left behind by the raise
  end)

  it("sleep blocks for real where nginx cannot yield; now is monotonic; jitter is in [0, 1)", function()
    local b = backend.new{}
    local t0 = b:now()
    b:sleep(0.02)
    assert.is_true(b:now() - t0 >= 0.02)
    assert.same({}, clock.sleeps) -- ngx.sleep was not used in the log phase
    clock.phase = "content"
    b:sleep(0.5)
    assert.same({ 0.5 }, clock.sleeps)
    local seen = {}
    for _ = 1, 100 do
      local j = b:jitter()
      assert.is_true(j >= 0 and j < 1)
      seen[j] = true
    end
    local distinct = 0
    for _ in pairs(seen) do distinct = distinct + 1 end
    assert.is_true(distinct > 90)
  end)
end)

-- ---------------------------------------------------------------------------
-- The real thing. nginx itself runs tray on LuaJIT, so these run once, in the
-- Lua 5.4 pass of spec/run (the LuaJIT pass would start the same nginx again).

local function admin_counts(external_id)
  local admin = emu.embedded()
  local users = assert(admin:users{ criteria = { externalUserId = external_id } })
  local n_instances = 0
  for _, u in ipairs(users.nodes) do
    local auth = assert(admin:authorize{ userId = u.id })
    n_instances = n_instances + #assert(admin:as_user(auth.accessToken):solution_instances()).nodes
  end
  return #users.nodes, n_instances, users.nodes[1]
end

local function authorize_calls()
  return emu.stats().byRoute["POST /graphql authorize"] or 0
end

local function graphql_held()
  return emu.count(function(req) return req.path == "/graphql" end)
end

local function probe(n, body)
  local status, text = post(n.url .. "/probe", json.encode(body))
  if status ~= 200 then text = tostring(text) .. "\nerror.log:\n" .. n:log():sub(-3000) end
  assert.equal(200, status, text)
  emu.assert_no_secret(text)
  return assert(json.decode(text))
end

describe("tray in nginx", function()
  if jit then return end
  if why_not then
    pending("nginx cannot run here (" .. why_not .. "); `make deps` installs nginx and libnginx-mod-http-lua")
    return
  end

  describe("examples/openresty with one worker", function()
    local ngx_proc

    setup(function()
      ngx_proc = nginx.start(1, { TRAY_SOLUTION_ID = SOLUTION, TRAY_PARTNER_ID = "acme",
        TRAY_RATE = "100000", TRAY_RATE_BURST = "100000", TRAY_TOKEN_TTL = "4" })
    end)
    teardown(function() if ngx_proc then ngx_proc:stop() end end)
    before_each(function() emu.reset() end)

    it("the configuration has no thread_pool directive", function()
      local conf = assert(read_file(nginx.ROOT .. "/examples/openresty/nginx.conf"))
      for line in conf:gmatch("[^\n]+") do
        assert.is_nil(line:match("^%s*thread_pool"), line)
        assert.is_nil(line:match("^%s*lua_worker_thread_vm_pool_size"), line)
      end
    end)

    it("POST /onboard is idempotent: repeated for one user, it makes one user and one instance", function()
      local body = json.encode{ externalUserId = "ngx-ada", name = "Ada Lovelace" }
      local first
      for i = 1, 3 do
        local status, text = post(ngx_proc.url .. "/onboard", body)
        assert.equal(200, status, text)
        emu.assert_no_secret(text)
        local r = assert(json.decode(text))
        assert.is_string(r.userId)
        assert.is_string(r.solutionInstanceId)
        local prefix = emu.url .. "/external/solutions/acme/configure/" .. r.solutionInstanceId .. "?code="
        assert.equal(prefix, r.configWizardUrl:sub(1, #prefix))
        if i == 1 then
          first = r
          assert.equal("created", r.user)
          assert.equal("created", r.instance)
        else
          assert.equal("existing", r.user)
          assert.equal("unchanged", r.instance)
          assert.equal(first.userId, r.userId)
          assert.equal(first.solutionInstanceId, r.solutionInstanceId)
        end
      end
      local users, instances, node = admin_counts("ngx-ada")
      assert.equal(1, users)
      assert.equal(1, instances)
      assert.equal("Ada Lovelace", node.name)
      -- the user token came from the for_user cache: one authorize for the three requests
      -- (admin_counts above made one more, with its own client)
      assert.equal(2, authorize_calls())
      -- every SDK request went out with the SDK's User-Agent, the token only in Authorization
      local sdk = 0
      for _, req in ipairs(emu.requests()) do
        if req.path == "/graphql" and (req.headers["user-agent"] or ""):find("^tray%-lua/") then sdk = sdk + 1 end
        assert.not_matches(emu.master_token, req.url, 1, true)
      end
      assert.is_true(sdk >= 6, "the SDK's requests reached the emulator")
    end)

    it("/onboard takes only POST, and answers 400 without externalUserId or name, before any SDK call", function()
      emu.clear_requests()
      local status = get(ngx_proc.url .. "/onboard?externalUserId=x&name=y")
      assert.equal(405, status)
      local status2, text = post(ngx_proc.url .. "/onboard", json.encode{ externalUserId = "x" })
      assert.equal(400, status2)
      assert.equal("usage", assert(json.decode(text)).error.kind)
      assert.same({}, emu.requests())
    end)

    it("an SDK error becomes a JSON error answer without the token", function()
      emu.fault{ match = { operation = "createExternalUser" }, mode = "status", status = 401 }
      local status, text = post(ngx_proc.url .. "/onboard", json.encode{ externalUserId = "ngx-bob", name = "Bob" })
      assert.equal(502, status)
      assert.equal("auth", assert(json.decode(text)).error.kind)
      emu.assert_no_secret(text)
      local log = ngx_proc:log()
      assert.matches("tray: auth:", log, 1, true)
      emu.assert_no_secret(log)
    end)

    it("tray.parallel runs its tasks at once in nginx light threads, results in task order", function()
      emu.seed_users(3, "ov")
      emu.config{ latencyMs = 500 }
      local together = false
      local results = fire({ ngx_proc.url .. "/overview" }, 30, function(_, n)
        if n == 0 and graphql_held() == 2 then together = true end
      end)
      assert.equal(200, results[1].status, results[1].body)
      local r = assert(json.decode(results[1].body))
      assert.equal(3, #r.users)
      assert.matches("^ov", r.users[1].name)
      assert.equal(4, #r.solutions)
      assert.is_true(together, "both calls were at the emulator before /overview answered")
    end)

    it("200 concurrent SDK calls to a slow server all succeed in one worker, and /health answers meanwhile", function()
      emu.config{ latencyMs = 1000 }
      local N = 200
      local urls = {}
      for i = 1, N do urls[i] = ngx_proc.url .. "/users?first=1&i=" .. i end
      local health, held_max = 0, 0
      local results = fire(urls, 60, function(_, n)
        local held = graphql_held()
        if held > held_max then held_max = held end
        -- every SDK call is at the emulator and none is answered: ask nginx something else
        if held == N and n == 0 and health == 0 then
          local status, body = get(ngx_proc.url .. "/health")
          assert.equal(200, status)
          assert.equal("ok\n", body)
          health = 1
        end
      end)
      local errors_seen = 0
      for i = 1, N do
        if results[i].status ~= 200 then errors_seen = errors_seen + 1 end
      end
      assert.equal(0, errors_seen, results[1].body or results[1].message)
      assert.is_table(assert(json.decode(results[N].body)).users)
      assert.equal(N, held_max, "all SDK calls were in flight together")
      assert.equal(1, health, "/health answered while every SDK call was in flight")
      assert.equal(0, emu.stats().rateLimited)
    end)

    it("50 concurrent requests needing the same user's expired token make one authorize call", function()
      local admin = emu.embedded()
      local created = assert(admin:create_external_user{ externalUserId = "ngx-once", name = "Once" })
      emu.clear_requests()
      emu.config{ latencyMs = 200 }
      local before = authorize_calls()
      local urls = {}
      for i = 1, 50 do urls[i] = ngx_proc.url .. "/instances?userId=" .. created.userId .. "&i=" .. i end
      local function burst()
        local results = fire(urls, 60)
        for i = 1, 50 do
          assert.equal(200, results[i].status, results[i].body or results[i].message)
          assert.is_table(assert(json.decode(results[i].body)).instances)
        end
      end
      burst() -- no token yet
      assert.equal(before + 1, authorize_calls())
      -- TRAY_TOKEN_TTL=4: wait until the cached token has expired, then again
      local t0 = os.time()
      while os.time() < t0 + 6 do native.sleep(0.2) end
      burst()
      assert.equal(before + 2, authorize_calls())
    end)
  end)

  describe("the cosocket backend (probe, one worker)", function()
    local ngx_proc

    setup(function() ngx_proc = nginx.start(1, {}, { conf = nginx.PROBE_CONF }) end)
    teardown(function() if ngx_proc then ngx_proc:stop() end end)
    before_each(function() emu.reset() end)

    it("a client made in nginx chooses the cosocket backend by itself (no backend option)", function()
      for _, client in ipairs({ "embedded", "core" }) do
        local r = probe(ngx_proc, { client = client, call = client == "core" and "list_workspaces" or "users" })
        assert.is_true(r.ok, client)
        assert.equal("ngx", r.backend, client)
      end
    end)

    -- each fault, both clients, no retries: the kinds the libcurl backend gives (spec/faults_spec.lua)
    local EXPECT = {
      { mode = "refuse", kind = "network", spec = { count = -1 } },
      { mode = "reset", kind = "network" },
      { mode = "status 503", kind = "http", status = 503, spec = { mode = "status", status = 503 } },
      { mode = "429 with Retry-After", kind = "rate_limited", status = 429, retry_after = 7,
        spec = { mode = "429", retryAfter = 7 } },
      { mode = "malformed_json", kind = "decode", status = 200 },
      { mode = "html", kind = "http", status = 502 },
      { mode = "empty", kind = "decode", status = 200 },
      { mode = "status 500", kind = "http", status = 500, spec = { mode = "status", status = 500 } },
      { mode = "429 without Retry-After", kind = "rate_limited", status = 429, spec = { mode = "429" } },
      { mode = "redirect", kind = "http", status = 307 },
      { mode = "stall", kind = "timeout", opts = { timeout = 0.3 }, spec = { delayMs = 5000 } },
      { mode = "delay past the timeout", kind = "timeout", opts = { timeout = 0.3 },
        spec = { mode = "delay", delayMs = 1500 } },
      { mode = "huge over max_body", kind = "decode", opts = { max_body = 10000 },
        spec = { mode = "huge", bytes = 100000 } },
      { mode = "huge, chunked, over max_body", kind = "decode", opts = { max_body = 10000 },
        spec = { mode = "huge", bytes = 100000, chunked = true } },
    }
    local CALLS = {
      { client = "core", call = "list_workspaces", match = { path = "/core/v1/workspaces" } },
      { client = "embedded", call = "users", match = { operation = "users" } },
    }

    for _, c in ipairs(CALLS) do
      for _, e in ipairs(EXPECT) do
        it(c.client .. " " .. c.call .. ": " .. e.mode .. " -> kind " .. e.kind, function()
          local spec = { mode = e.mode, match = c.match }
          for k, v in pairs(e.spec or {}) do spec[k] = v end
          emu.fault(spec)
          local r = probe(ngx_proc, { client = c.client, call = c.call, opts = e.opts })
          assert.is_false(r.ok)
          assert.equal(e.kind, r.err.kind, r.err.message)
          if e.status then assert.equal(e.status, r.err.status) end
          if e.retry_after then assert.equal(e.retry_after, r.err.retry_after) end
          if e.kind == "decode" and e.spec and e.spec.mode == "huge" then
            assert.matches("larger than max_body", r.err.message, 1, true)
          end
          emu.clear_faults()
          assert.is_true(probe(ngx_proc, { client = c.client, call = c.call }).ok)
        end)
      end
    end

    it("a body trickled one byte per millisecond arrives whole", function()
      for _, c in ipairs(CALLS) do
        emu.fault{ match = c.match, mode = "trickle", delayMs = 1 }
        local r = probe(ngx_proc, { client = c.client, call = c.call })
        assert.is_true(r.ok, r.err and r.err.message)
      end
      assert.equal(2, emu.count(function(req) return req.fault == "trickle" end))
    end)

    it("the GraphQL rate-limit answer (HTTP 200) is kind rate_limited", function()
      emu.fault{ match = { operation = "users" }, mode = "graphql_rate_limit" }
      local r = probe(ngx_proc, { client = "embedded", call = "users" })
      assert.is_false(r.ok)
      assert.equal("rate_limited", r.err.kind)
      assert.equal(200, r.err.status)
    end)

    it("a 3xx is not followed: the token never reaches the other host", function()
      for _, status in ipairs({ 301, 302, 307, 308 }) do
        emu.reset()
        emu.fault{ mode = "redirect", status = status, count = -1 }
        for _, c in ipairs(CALLS) do
          local r = probe(ngx_proc, { client = c.client, call = c.call, opts = { max_retries = 2, retry_base = 0.01 } })
          assert.is_false(r.ok)
          assert.equal("http", r.err.kind)
          assert.equal(status, r.err.status)
          assert.matches("redirects are not followed", r.err.message)
        end
        for _, req in ipairs(emu.requests()) do assert.equal("main", req.listener) end
        assert.equal(2, #emu.requests())
      end
    end)

    it("keeps connections alive: the emulator sees fewer connections than requests", function()
      for _ = 1, 20 do assert.is_true(probe(ngx_proc, { client = "embedded", call = "users" }).ok) end
      local ports, n = {}, 0
      for _, req in ipairs(emu.requests()) do
        if req.path == "/graphql" then
          n = n + 1
          ports[req.remotePort] = true
        end
      end
      local connections = 0
      for _ in pairs(ports) do connections = connections + 1 end
      assert.equal(20, n)
      assert.is_true(connections < n, connections .. " connections for " .. n .. " requests")
    end)

    it("a kept connection the server closes before answering is replaced once, as libcurl does", function()
      -- the worker's client keeps a connection (GET /sdk), then the server drops the next request unanswered
      assert.equal(200, (get(ngx_proc.url .. "/sdk")))
      emu.fault{ match = { operation = "users" }, mode = "refuse" }
      local status, text = get(ngx_proc.url .. "/sdk")
      assert.equal(200, status, text)
      local log = emu.requests()
      assert.equal(3, #log)
      assert.equal("refuse", log[2].fault)
      assert.equal(log[1].remotePort, log[2].remotePort)   -- the kept connection
      assert.not_equal(log[2].remotePort, log[3].remotePort) -- a new one
    end)

    it("retries what the libcurl backend retries, with jittered waits", function()
      emu.fault{ match = { operation = "users" }, mode = "status", status = 503, count = 2 }
      local r = probe(ngx_proc, { client = "embedded", call = "users",
        opts = { max_retries = 3, retry_base = 0.01, retry_cap = 0.05 } })
      assert.is_true(r.ok, r.err and r.err.message)
      assert.equal(2, r.stats.retries)
      assert.equal(2, #r.delays)
    end)

    it("from log_by_lua (no cosockets) the call goes through libcurl, logged once", function()
      for _ = 1, 2 do
        assert.equal(200, (get(ngx_proc.url .. "/logphase")))
      end
      local result
      for _ = 1, 200 do
        local _, text = get(ngx_proc.url .. "/logphase/result")
        result = assert(json.decode(text)).result
        if result then break end
        native.sleep(0.05)
      end
      assert.equal("ok", result)
      local log = ngx_proc:log()
      local _, warnings = log:gsub("cosockets are not available in the log phase", "")
      assert.is_true(warnings >= 1)
    end)
  end)

  describe("the cosocket backend with two workers", function()
    local ngx_proc

    setup(function() ngx_proc = nginx.start(2, {}, { conf = nginx.PROBE_CONF }) end)
    teardown(function() if ngx_proc then ngx_proc:stop() end end)
    before_each(function() emu.reset() end)

    it("two workers draw different retry delays (each worker's generator is seeded on its own)", function()
      emu.fault{ match = { operation = "users" }, mode = "status", status = 503, count = -1 }
      -- the first probe each worker answers: its generator's first three draws
      local first = {}
      local workers = 0
      for _ = 1, 60 do
        local r = probe(ngx_proc, { client = "embedded", call = "users",
          opts = { max_retries = 3, retry_base = 0.1, retry_cap = 0.4 } })
        assert.is_false(r.ok)
        assert.equal(3, #r.delays)
        if not first[r.worker] then
          first[r.worker] = r.delays
          workers = workers + 1
        end
        if workers == 2 then break end
      end
      assert.equal(2, workers, "both workers answered")
      local a, b
      for _, d in pairs(first) do
        if a then b = d else a = d end
      end
      assert.not_same(a, b)
    end)
  end)

  describe("TLS to a self-signed server", function()
    local tls_url, stop_tls, bundle

    local sh_read = require("spec.helpers.proc").output

    setup(function()
      tls_url, stop_tls = emu.start("--tls")
      assert.matches("^https://", tls_url)
      -- its certificate (fetched without verification), beside the system's CAs
      local pem = sh_read("env -u LD_PRELOAD curl -sk " .. tls_url .. "/_emulator/ca.pem")
      assert.matches("BEGIN CERTIFICATE", pem)
      bundle = os.tmpname()
      local w = assert(io.open(bundle, "w"))
      w:write(assert(read_file(nginx.CA_FILE)), "\n", pem)
      w:close()
      os.execute("chmod 644 " .. bundle)
    end)

    teardown(function()
      if stop_tls then stop_tls() end
      if bundle then os.remove(bundle) end
    end)

    local function tls_requests()
      return json.decode(sh_read("env -u LD_PRELOAD curl -sk " .. tls_url .. "/_emulator/requests"))
    end

    local function endpoint()
      return (tls_url:gsub("127%.0%.0%.1", "localhost")) .. "/graphql"
    end

    it("is refused without the certificate in lua_ssl_trusted_certificate, and nothing is sent", function()
      local n = nginx.start(1, {}, { conf = nginx.PROBE_CONF })
      finally(function() n:stop() end)
      os.execute("env -u LD_PRELOAD curl -sk -X DELETE " .. tls_url .. "/_emulator/requests >/dev/null")
      -- several times: a handshake can complete at once or after waiting, both must refuse
      for _ = 1, 5 do
        local r = probe(n, { client = "embedded", call = "users", opts = { endpoint = endpoint() } })
        assert.is_false(r.ok)
        assert.equal("network", r.err.kind)
        assert.matches("certificate", r.err.message)
      end
      assert.same({}, tls_requests())
    end)

    it("is accepted with the certificate in lua_ssl_trusted_certificate", function()
      local n = nginx.start(1, {}, { conf = nginx.PROBE_CONF, ca_file = bundle })
      finally(function() n:stop() end)
      local r = probe(n, { client = "embedded", call = "users", opts = { endpoint = endpoint() } })
      assert.is_true(r.ok, r.err and r.err.message)
      -- the name is checked too, not only the chain: nginx matches the host against the
      -- certificate's DNS names (here only localhost), so the same server by address is refused
      r = probe(n, { client = "embedded", call = "users", opts = { endpoint = tls_url .. "/graphql" } })
      assert.is_false(r.ok)
      assert.equal("network", r.err.kind)
      assert.matches("127.0.0.1", r.err.message, 1, true)
    end)
  end)

  describe("examples/openresty with two workers", function()
    local ngx_proc

    -- the client's limiter at 30/s with a burst of 5 (the emulator allows 50): arrival jitter
    -- cannot push the account over its limit, so the 0 rate-limited count holds under load
    setup(function()
      ngx_proc = nginx.start(2, { TRAY_SOLUTION_ID = SOLUTION, TRAY_PARTNER_ID = "acme",
        TRAY_RATE = "30", TRAY_RATE_BURST = "5" })
    end)
    teardown(function() if ngx_proc then ngx_proc:stop() end end)
    before_each(function() emu.reset() end)

    it("a burst of 200 onboardings stays within the account's rate limit (shared by the workers)", function()
      emu.config{ rateLimit = { rate = 30, burst = 50 } }
      local reqs = {}
      for i = 1, 200 do
        reqs[i] = { method = "POST", url = ngx_proc.url .. "/onboard",
          body = json.encode{ externalUserId = "burst-" .. i, name = "User " .. i } }
      end
      local t0 = native.now()
      local results = fire(reqs, 300) -- 800 SDK requests at 30/s after a burst of 5: 26 s at the least
      local wall = native.now() - t0
      local workers = {}
      for i = 1, 200 do
        local r = results[i]
        assert.equal(200, r.status, r.body or r.message)
        local v = assert(json.decode(r.body))
        assert.equal("created", v.status, r.body)
        assert.is_string(v.configWizardUrl)
        workers[r.headers["x-tray-worker"] or "?"] = true
      end
      local stats = emu.stats()
      io.write(string.format("# 200 onboardings through 2 workers: %.1f s, %d emulator requests, %d rate-limited\n",
        wall, stats.requests, stats.rateLimited))
      assert.equal(0, stats.rateLimited)
      assert.is_true(stats.requests >= 800, "several SDK calls per onboarding")
      assert.is_true(workers["0"] and workers["1"], "both workers served onboardings")
    end)
  end)
end)
