-- tray.client: what both clients share (options, precedence, describe, close,
-- the method guard, the observation hooks), seen from tray.core and tray.embedded
-- against the emulator.

local emu = require "spec.helpers.emulator"
local tray = require "tray"
local native = require "tray.native"
local pager = require "tray.pager"

local AUTH = "5b7e2c1a-9d3f-4a6b-8c0e-1f2a3b4c5d6e"

local function usage_error(pattern, v, err)
  assert.is_nil(v)
  assert.is_table(err)
  assert.equal("usage", err.kind)
  if pattern then assert.matches(pattern, err.message) end
  return err
end

describe("tray.client", function()
  before_each(function()
    emu.reset()
    collectgarbage("collect")
  end)

  describe("options", function()
    it("an unknown option is a usage error that suggests the right name", function()
      local err = usage_error(nil, tray.core.new{ token = "t", timout = 5 })
      assert.matches("unknown option timout", err.message, 1, true)
      assert.matches("did you mean timeout", err.message, 1, true)
      err = select(2, tray.embedded.new{ master_token = "t", regoin = "eu" })
      usage_error("did you mean region", nil, err)
      err = select(2, tray.embedded.new{ master_token = "t", max_retry = 1 })
      usage_error("did you mean max_retries", nil, err)
      -- an option of the other client is unknown here
      err = select(2, tray.core.new{ token = "t", master_token = "t" })
      usage_error("unknown option master_token", nil, err)
    end)

    it("there is no verify option, in the clients or the C session", function()
      local _, err = tray.core.new{ token = "t", verify = false }
      usage_error("unknown option verify", nil, err)
      local s, kind, msg = native.session{ verify = false }
      assert.is_nil(s)
      assert.equal("usage", kind)
      assert.matches("always on", msg)
    end)

    it("both clients take base_url (embedded keeps endpoint as an alias)", function()
      local emb = assert(tray.embedded.new{ master_token = emu.master_token, base_url = emu.graphql_url,
        rate_limit = false })
      assert.equal(emu.graphql_url, emb.endpoint)
      assert(emb:users{ first = 1 })
      assert.equal("/graphql", emu.last_request("/graphql").path)
      local _, err = tray.embedded.new{ master_token = "t", base_url = emu.graphql_url, endpoint = "http://x/y" }
      usage_error("same setting", nil, err)
    end)

    it("region names are case-insensitive and take Tray's host names", function()
      for name, want in pairs({ EU = "eu", eu1 = "eu", AP1 = "apac", Apac = "apac", US = "us" }) do
        local c = assert(tray.core.new{ token = "t", region = name })
        assert.equal(want, c.region)
        assert.equal(tray.regions[want].core, c.base_url)
        local e = assert(tray.embedded.new{ master_token = "t", region = name })
        assert.equal(tray.regions[want].graphql, e.endpoint)
        assert.equal(tray.regions[want].embedded, e.embedded_url)
      end
      usage_error(nil, tray.core.new{ token = "t", region = "mars" })
    end)

    it("explicit arguments beat the environment, which beats the defaults; describe says which came from it",
      function()
        assert.is_string(os.getenv("TRAY_CORE_URL")) -- set by the test runner
        local explicit = assert(tray.core.new{ token = "t", region = "eu" })
        assert.equal(tray.regions.eu.core, explicit.base_url)
        local d = explicit:describe()
        assert.same({}, d.from_environment)
        assert.equal("eu", d.region)
        assert.equal("curl", d.backend)

        local from_env = assert(tray.core.new{})
        assert.equal(os.getenv("TRAY_CORE_URL"), from_env.base_url)
        d = from_env:describe()
        assert.equal("TRAY_CORE_URL", d.from_environment.base_url)
        assert.equal("TRAY_TOKEN", d.from_environment.token)
        emu.assert_no_secret(d, { os.getenv("TRAY_TOKEN") })

        local emb = assert(tray.embedded.new{ base_url = emu.graphql_url })
        d = emb:describe()
        assert.is_nil(d.from_environment.endpoint)
        assert.equal("TRAY_MASTER_TOKEN", d.from_environment.token)
        emu.assert_no_secret(d, { os.getenv("TRAY_MASTER_TOKEN") })
      end)

    it("timeouts are at least 1 ms and max_body fits a size_t", function()
      usage_error(nil, tray.core.new{ token = "t", timeout = 0.0004 })
      local _, err = tray.core.new{ token = "t", timeout = 0.0004 }
      usage_error("timeout", nil, err)
      _, err = tray.core.new{ token = "t", connect_timeout = 0 }
      usage_error("connect_timeout", nil, err)
      for _, v in ipairs({ math.huge, 2 ^ 63, 0, -1, 0 / 0, 1.5 }) do
        _, err = tray.core.new{ token = "t", max_body = v }
        usage_error("max_body", nil, err)
      end
      assert(tray.core.new{ token = "t", timeout = 0.001, max_body = 2 ^ 53 })
      -- the C session refuses a timeout under 1 ms and clamps a huge max_body without overflow
      local s, kind = native.session{ timeout = 0.0004 }
      assert.is_nil(s)
      assert.equal("usage", kind)
      s = assert(native.session{ max_body = 2 ^ 63 })
      local status = s:request("GET", emu.url .. "/_emulator/info", {})
      s:close()
      assert.equal(200, status)
    end)

    it("refuses absurd rates", function()
      for _, rl in ipairs({ { rate = 1e-6 }, { rate = 1e12 }, { rate = 10, burst = 0.5 }, { rate = 0 / 0 } }) do
        usage_error(nil, tray.core.new{ token = "t", rate_limit = rl })
        local _, err = tray.core.new{ token = "t", rate_limit = rl }
        usage_error("rate_limit", nil, err)
      end
    end)

    it("a proxy option is handed to libcurl", function()
      -- nothing listens on the proxy: the request fails there although the emulator is up
      local core = emu.core{ proxy = "http://127.0.0.1:9" }
      local v, err = core:list_workspaces()
      assert.is_nil(v)
      assert.equal("network", err.kind)
      assert.same({}, emu.requests())
      usage_error(nil, tray.core.new{ token = "t", proxy = "http://a b" })
    end)
  end)

  describe("methods", function()
    it("an unknown method raises one line naming the closest ones", function()
      local emb = emu.embedded()
      local ok, why = pcall(function() return emb:create_user{} end)
      assert.is_false(ok)
      assert.matches("tray.embedded has no method create_user", why, 1, true)
      assert.matches("create_external_user", why, 1, true)
      assert.not_matches("\n", why)
      local core = emu.core()
      ok, why = pcall(function() return core:list_conectors() end)
      assert.is_false(ok)
      assert.matches("did you mean list_connectors", why, 1, true)
      -- fields a client has, set or not, read as nil
      assert.is_nil(core.token_source)
    end)

    it("a dot call is a usage error that says to use a colon", function()
      local emb = emu.embedded()
      local v, err = emb.create_external_user{ name = "A", externalUserId = "a" }
      usage_error("emb:create_external_user%(%.%.%.%)", v, err)
      local core = emu.core()
      usage_error(nil, core.list_connectors())
      local _, err2 = core.list_connectors()
      assert.matches("colon: core:list_connectors", err2.message, 1, true)
      assert.same({}, emu.requests())
    end)

    it("call_connector takes connectorName/connectorVersion and positional (name, version, { ... })", function()
      local core = emu.core()
      local input = { to = "+15550001", from = "+15550002", body = "Hello" }
      local out = assert(core:call_connector{ connectorName = "twilio-output", connectorVersion = "2.1",
        operation = "send_sms", authId = AUTH, input = input })
      assert.equal("success", out.outcome)
      out = assert(core:call_connector("twilio-output", "2.1", { operation = "send_sms", authId = AUTH,
        input = input }))
      assert.equal("success", out.outcome)
      assert.equal(2, emu.count(function(r) return r.path == "/core/v1/connectors/twilio-output/versions/2.1/call" end))
    end)

    it("an operation that takes no arguments says so; a list names its paging arguments", function()
      -- every list takes first and cursor/after (issue 12), so no row of tray.core is without
      -- arguments today: the message is checked on a row that has none
      local core_mod = require "tray.core"
      local path, err = core_mod.build({ name = "ping", path = "/ping", params = {}, accepts = {} }, { foo = 1 })
      usage_error("takes no arguments", path, err)
      assert.not_matches("it takes: )", err.message, 1, true)
      local v
      v, err = emu.core():list_connectors{ foo = 1 }
      usage_error(nil, v, err)
      assert.matches('list_connectors does not take "foo" (it takes: after, cursor, first)', err.message, 1, true)
      assert.not_matches("it takes: )", err.message, 1, true)
    end)
  end)

  describe("close", function()
    it("a closed client answers nil, err (usage, \"the client is closed\"), never a raise", function()
      local core = emu.core()
      local emb = emu.embedded()
      core:close()
      core:close() -- idempotent
      emb:close()
      local v, err = core:list_workspaces()
      usage_error("the client is closed", v, err)
      v, err = emb:users{ first = 1 }
      usage_error("the client is closed", v, err)
      v, err = emb:all("users")
      usage_error("the client is closed", v, err)
      assert.is_true(core:describe().closed)
      assert.same({}, emu.requests())
    end)
  end)

  describe("hooks and error fields", function()
    it("on_request/on_response see method, path, status, duration, attempt and retry reason; never a token",
      function()
        emu.fault{ match = { operation = "users" }, mode = "status", status = 503, count = 1 }
        local seen = {}
        local emb = emu.embedded{ max_retries = 2, retry_base = 0.01,
          on_request = function(info) seen[#seen + 1] = { "request", info } end,
          on_response = function(info) seen[#seen + 1] = { "response", info } end }
        assert(emb:users{ first = 1 })
        assert.equal(4, #seen)
        local r1, s1, r2, s2 = seen[1][2], seen[2][2], seen[3][2], seen[4][2]
        assert.equal("request", seen[1][1])
        assert.equal("POST", r1.method)
        assert.equal("/graphql", r1.path)
        assert.equal("users", r1.operation)
        assert.equal(1, r1.attempt)
        assert.equal(503, s1.status)
        assert.equal("http", s1.error)
        assert.is_number(s1.duration)
        assert.equal(2, r2.attempt)
        assert.equal("http", r2.retry_reason)
        assert.equal(200, s2.status)
        emu.assert_no_secret(seen)
        for _, e in ipairs(seen) do
          for k in pairs(e[2]) do assert.not_equal("headers", k) end
        end
      end)

    it("the path handed to a hook has no query string", function()
      local paths = {}
      local core = emu.core{ on_request = function(info) paths[#paths + 1] = info.path end }
      local iter = core:each("list_connectors")
      iter()
      assert.equal("/core/v1/connectors", paths[1])
    end)

    it("a raising hook does not break the call", function()
      local emb = emu.embedded{ on_response = function() error("boom") end }
      assert(emb:users{ first = 1 })
    end)

    it("errors carry attempts and the server's request id", function()
      emu.fault{ match = { operation = "users" }, mode = "status", status = 503, count = -1 }
      local forward = emu.forwarding_transport()
      local emb = emu.embedded{ max_retries = 2, retry_base = 0.01, transport = function(req)
        local res, kind, msg = forward(req)
        if res then res.headers["X-Request-Id"] = "req-42" end
        return res, kind, msg
      end }
      local v, err = emb:users{ first = 1 }
      assert.is_nil(v)
      assert.equal(3, err.attempts)
      assert.equal("req-42", err.request_id)
      emu.clear_faults()
    end)
  end)

  describe("kinds", function()
    it("a raise inside a method comes back as nil, err of kind internal", function()
      local emb = emu.embedded{ validator = { list_connector_operations = function() error("a bug") end } }
      local v, err = emb:validate_input{ connector = "c", version = "1", operation = "o", input = {} }
      assert.is_nil(v)
      assert.equal("internal", err.kind)
      assert.matches("a bug", err.message)
      assert.equal("validate_input", err.operation)
    end)


    it("a raise inside a pager is kind internal, not usage", function()
      local v, err = pager.collect(function() error("a bug") end)
      assert.is_nil(v)
      assert.equal("internal", err.kind)
      assert.is_string(require("tray.errors").KINDS.internal)
    end)
  end)

  describe("rate limiter", function()
    it("a limiter wait longer than the call's timeout is not waited for: rate_limited with retry_after", function()
      -- "localhost": a bucket of its own (buckets are per token and host, process-wide)
      local core = emu.core{ timeout = 2, rate_limit = { rate = 0.01, burst = 1 },
        base_url = emu.core_url:gsub("127%.0%.0%.1", "localhost") }
      assert(core:list_workspaces())
      local v, err = core:list_workspaces()
      assert.is_nil(v)
      assert.equal("rate_limited", err.kind)
      assert.is_true(err.retry_after > 2)
      assert.equal(1, #emu.arrivals("/core/v1/workspaces"))
      core:close() -- lets go of the bucket
    end)

    it("a limiter object's absurd wait is capped the same way", function()
      local core = emu.core{ timeout = 1, rate_limit = { reserve = function() return 9e12 end } }
      local v, err = core:list_workspaces()
      assert.is_nil(v)
      assert.equal("rate_limited", err.kind)
      assert.equal(9e12, err.retry_after)
      assert.same({}, emu.requests())
    end)
  end)

  describe("native.jitter", function()
    it("is in [0, 1) and differs between processes", function()
      for _ = 1, 1000 do
        local j = native.jitter()
        assert.is_true(j >= 0 and j < 1)
      end
      local interp = jit and "luajit" or "lua5.4"
      local cmd = interp .. [[ -e 'local n = require "tray.native"; print(n.jitter(), n.jitter(), n.jitter())']]
      local function run()
        local p = assert(io.popen(cmd))
        local out = p:read("*a")
        p:close()
        return out
      end
      local a, b = run(), run()
      assert.matches("%d", a)
      assert.not_equal(a, b)
    end)
  end)
end)
