-- The rate limiter's GCRA (docs/DESIGN.md, "The rate limiter (GCRA)"): one
-- table of cases (spec/helpers/gcra.lua) played against every bucket:
--   * native.gcra, the C arithmetic, on a virtual clock: exact;
--   * the C bucket of the process (native.limiter), on the monotonic clock;
--   * the Redis script (native.redis_limiter), on the private redis-server's clock;
--   * tray.ngx's lua_shared_dict bucket, inside a real nginx, on nginx's clock.
-- Real clocks: the answers must match within the measured lateness of the calls
-- and the bucket's resolution (spec/helpers/gcra.lua says why that is exact).
-- And the defaults, defined once in tray.gcra.

local native = require "tray.native"
local json = require "tray.json"
local gcra = require "tray.gcra"
local cases = require "spec.helpers.gcra"
local rh = require "spec.helpers.redis"
local nginx = require "spec.helpers.nginx"

local function check(obs, resolution, real)
  local bad = cases.mismatches(obs, resolution, real)
  assert(#bad == 0, table.concat(bad, "\n"))
end

local MICRO = function() return 1e-6 end -- waits under 1 us are 0 in every bucket

describe("GCRA, one table of cases", function()
  it("has cases", function()
    assert.is_true(#cases.CASES >= 8)
  end)

  describe("native.gcra (the arithmetic of the C and lua_shared_dict buckets), on a virtual clock", function()
    for _, case in ipairs(cases.CASES) do
      it(case.name, function()
        local clock, tat = 86400.125, nil
        local obs = cases.run(case, {
          now = function() return clock end,
          sleep = function(s) clock = clock + s end,
          reserve = function()
            local wait
            wait, tat = native.gcra(tat, clock, case.rate, case.burst)
            return wait
          end,
        })
        check(obs, MICRO, false)
      end)
    end

    it("takes nil or a tat in the past as a full bucket, and refuses what no bucket can run", function()
      local w1, t1 = native.gcra(nil, 10, 4, 2)
      local w2, t2 = native.gcra(3, 10, 4, 2)
      assert.equal(0, w1)
      assert.equal(0, w2)
      assert.equal(10.25, t1)
      assert.equal(t1, t2)
      for _, bad in ipairs({ { 0, 1 }, { -1, 1 }, { 1, 0.5 }, { 0 / 0, 1 }, { 1, 0 / 0 }, { math.huge, 1 } }) do
        local w, kind = native.gcra(nil, 10, bad[1], bad[2])
        assert.is_nil(w)
        assert.equal("usage", kind)
      end
    end)
  end)

  describe("the C bucket (native.limiter), on the monotonic clock", function()
    for i, case in ipairs(cases.CASES) do
      it(case.name, function()
        local lim = assert(native.limiter("gcra-spec:" .. i .. ":" .. tostring({}), case.rate, case.burst))
        local obs = cases.run(case, { now = native.now, sleep = native.sleep,
          reserve = function() return lim:reserve() end })
        lim:close()
        check(obs, MICRO, true)
      end)
    end
  end)

  describe("the Redis script (native.redis_limiter), on the server's clock", function()
    local url
    setup(function() url = rh.url() end)

    for _, case in ipairs(cases.CASES) do
      it(case.name, function()
        local key = rh.unique("tray:rl:gcra-spec")
        local lim = assert(native.redis_limiter{ url = url, key = key, rate = case.rate, burst = case.burst,
          timeout = 2 })
        local obs = cases.run(case, { now = native.now, sleep = native.sleep,
          reserve = function() return lim:reserve() end })
        lim:close()
        -- whole microseconds: the stored tat is rounded up once per reservation, the wait down
        check(obs, function(n) return 1e-6 * (n + 1) end, true)
        -- the key is the bucket, and it goes once the bucket is full again
        assert.is_true(tonumber(rh.cli(url, "PTTL", key)) > 0)
      end)
    end
  end)

  describe("tray.ngx's lua_shared_dict bucket, inside nginx, on nginx's clock", function()
    -- nginx runs LuaJIT whichever runtime busted uses: once is enough (as in openresty_spec)
    if rawget(_G, "jit") then return end
    local why_not = nginx.missing()
    if why_not then
      pending("nginx cannot run here (" .. why_not .. "); `make deps` installs nginx and libnginx-mod-http-lua")
      return
    end
    local proc, results
    setup(function()
      proc = nginx.start(1, {}, { conf = nginx.PROBE_CONF })
      local status, body = nginx.get(proc.url .. "/gcra")
      assert(status == 200, "GET /gcra: " .. tostring(status) .. " " .. tostring(body) .. "\n" .. proc:log())
      results = json.decode(body)
    end)
    teardown(function() if proc then proc:stop() end end)

    for i, case in ipairs(cases.CASES) do
      it(case.name, function()
        local r = results[i]
        assert.equal(case.name, r.name)
        assert.is_nil(r.err)
        assert.is_true(r.shared, "the bucket in the dictionary, not the per-worker fallback")
        local n = 0
        for _, step in ipairs(case.steps) do n = n + #step.waits end
        assert.equal(n, #r.obs)
        -- ngx.now() is in whole milliseconds
        check(r.obs, function() return 1e-3 + 1e-6 end, true)
      end)
    end
  end)
end)

describe("tray.gcra: the rate limiter's defaults, defined once", function()
  it("are 30 per second with a burst of 30, and are the client's DEFAULTS.rate_limit", function()
    assert.same({ rate = 30, burst = 30 }, gcra.DEFAULTS)
    assert.equal(gcra.DEFAULTS, require("tray.client").DEFAULTS.rate_limit)
  end)

  it("fill in what a rate_limit table leaves out: a burst follows a given rate, at least 1", function()
    assert.same({ 30, 30 }, { gcra.settings{} })
    assert.same({ 10, 10 }, { gcra.settings{ rate = 10 } })
    assert.same({ 0.5, 1 }, { gcra.settings{ rate = 0.5 } })
    assert.same({ 30, 5 }, { gcra.settings{ burst = 5 } })
    assert.same({ 2, 7 }, { gcra.settings{ rate = 2, burst = 7 } })
  end)

  it("a client with only a rate below 1 per second gets a working bucket", function()
    local core = assert(require("tray.core").new{ token = "gcra-spec-token", base_url = "http://127.0.0.1:1/core/v1",
      rate_limit = { rate = 0.5 } })
    assert.equal(0, core.transport.limiter:reserve())
    local rate, burst = core.transport.limiter:info()
    assert.equal(0.5, rate)
    assert.equal(1, burst)
    core:close()
  end)

  it("the Redis and shared-dict limiters take the same defaults", function()
    local lim = assert(require("tray.redis").limiter({ redis = rh.url(), key = rh.unique("tray:rl:gcra-defaults") },
      "t", "h"))
    assert.same({ 30, 30 }, { lim:info() })
    lim:close()
    lim = assert(require("tray.redis").limiter({ redis = rh.url(), key = rh.unique("tray:rl:gcra-defaults"),
      rate = 0.25 }, "t", "h"))
    assert.same({ 0.25, 1 }, { lim:info() })
    lim:close()
    local ngx_lim = assert(require("tray.ngx").limiter({ rate = 0.25 }, "gcra-spec-token", "h")) -- outside nginx: C
    assert.same({ 0.25, 1 }, { ngx_lim:info() })
    ngx_lim:close()
  end)
end)
