-- tray.transport: the rate limiter and the retry policy, seen from the clients.

local emu = require "spec.helpers.emulator"
local native = require "tray.native"

local arrivals = emu.arrivals

-- the largest number of requests that arrived in any window of `width` seconds
local function busiest(times, width)
  local most, j = 0, 1
  for i = 1, #times do
    while times[i] - times[j] > width do j = j + 1 end
    most = math.max(most, i - j + 1)
  end
  return most
end

describe("tray.transport", function()
  before_each(function()
    emu.reset()
    -- clients of earlier tests let go of their buckets (a bucket is shared while held)
    collectgarbage("collect")
    collectgarbage("collect")
  end)

  describe("rate limiter", function()
    it("keeps a burst of requests at or under the configured rate", function()
      local core = emu.core{ rate_limit = { rate = 20, burst = 5 }, token = emu.master_token .. "" }
      local started = native.now()
      for _ = 1, 25 do assert(core:list_workspaces()) end
      local elapsed = native.now() - started
      local t = arrivals("/core/v1/workspaces")
      assert.equal(25, #t)
      -- the first 5 go at once, then one every 1/20 s: 20 more need at least 1 s
      assert.is_true(elapsed >= 0.95, "25 requests at 20/s burst 5 took only " .. elapsed .. " s")
      -- in any half second: at most burst + rate * 0.5 (+1 for the window edges)
      assert.is_true(busiest(t, 0.5) <= 5 + 10 + 1, "busiest half second: " .. busiest(t, 0.5))
    end)

    it("is shared by two clients of the same token and host", function()
      local a = emu.core{ rate_limit = { rate = 20, burst = 2 } }
      local b = emu.core{ rate_limit = { rate = 20, burst = 2 } }
      local started = native.now()
      for _ = 1, 11 do
        assert(a:list_users())
        assert(b:list_users())
      end
      -- 22 requests, 2 at once then 20/s: at least 1 s, as for one client
      assert.is_true(native.now() - started >= 0.95)
    end)

    it("gives each token its own bucket", function()
      -- two tokens no other test used (the master token's bucket may still hold earlier slots)
      local a = emu.core{ rate_limit = { rate = 2, burst = 3 }, token = "bucket-a-" .. tostring({}) }
      local b = emu.core{ rate_limit = { rate = 2, burst = 3 }, token = "bucket-b-" .. tostring({}) }
      -- the waits each client's limiter asked for: a pause of the machine only refills a
      -- bucket, so a wait > 0 here can only come from sharing one bucket of 3
      local waits = {}
      for _, c in ipairs({ a, b }) do
        local lim = c.transport.limiter
        c.transport.limiter = { reserve = function()
          local w = lim:reserve()
          waits[#waits + 1] = w
          return w
        end }
      end
      for _ = 1, 3 do
        -- 401 (tokens the emulator does not know), but each took a slot of its own bucket
        assert.equal(401, select(2, a:list_users()).status)
        assert.equal(401, select(2, b:list_users()).status)
      end
      assert.same({ 0, 0, 0, 0, 0, 0 }, waits, "separate buckets should not wait")
    end)

    it("never fails a call for want of a token: it waits", function()
      local core = emu.core{ rate_limit = { rate = 50, burst = 1 } }
      for _ = 1, 10 do assert(core:list_triggers()) end
      assert.equal(10, #arrivals("/core/v1/triggers"))
    end)

    it("can be turned off with rate_limit = false", function()
      local core = emu.core{ rate_limit = false }
      assert.is_falsy(core.transport.limiter) -- nothing to ask for a slot, so nothing waits
      for _ = 1, 30 do assert(core:list_triggers()) end
      assert.equal(30, #arrivals("/core/v1/triggers"))
    end)

    it("native limiter: reserve returns the wait and takes the slot", function()
      local lim = assert(native.limiter("spec-bucket-" .. tostring({}), 10, 3))
      -- A slot is the time of the call plus its wait, bracketed by the clock read before and
      -- after the call. A pause of the machine between calls only refills the bucket: it can
      -- shorten a wait, never lengthen one, and never move a slot earlier.
      local before, after, wait = {}, {}, {}
      for i = 1, 5 do
        before[i] = native.now()
        wait[i] = lim:reserve()
        after[i] = native.now()
      end
      for i = 1, 3 do assert.equal(0, wait[i], "the burst of 3 does not wait") end
      for i, interval in pairs({ [4] = 1, [5] = 2 }) do
        assert.is_true(wait[i] <= interval / 10 + 1e-6, "call " .. i .. " waits at most " .. interval
          .. " interval(s): " .. wait[i])
        assert.is_true(after[i] + wait[i] - before[1] >= interval / 10 - 1e-6, "call " .. i .. "'s slot is "
          .. interval .. " interval(s) after the first: " .. (after[i] + wait[i] - before[1]))
      end
      local rate, burst = lim:info()
      assert.equal(10, rate)
      assert.equal(3, burst)
    end)

    it("native limiter: two settings for one key keep the stricter", function()
      local key = "spec-strict-" .. tostring({})
      local a = assert(native.limiter(key, 30, 30))
      local b = assert(native.limiter(key, 10, 5))
      local rate, burst = a:info()
      assert.equal(10, rate)
      assert.equal(5, burst)
      assert.is_userdata(b)
    end)

    it("native limiter: refuses a rate of 0 and a burst below 1", function()
      local l, kind = native.limiter("x", 0, 1)
      assert.is_nil(l)
      assert.equal("usage", kind)
      l, kind = native.limiter("x", 1, 0.5)
      assert.is_nil(l)
      assert.equal("usage", kind)
    end)
  end)

  describe("retries", function()
    local fast = { max_retries = 3, retry_base = 0.01, retry_cap = 0.05 }

    it("a server that always answers 429 yields kind rate_limited after max_retries", function()
      emu.fault{ match = { path = "/core/v1/users" }, mode = "429", count = -1 }
      local core = emu.core{ max_retries = 2, retry_base = 0.01, retry_cap = 0.02 }
      local v, err = core:list_users()
      assert.is_nil(v)
      assert.equal("rate_limited", err.kind)
      assert.equal(429, err.status)
      assert.equal(3, #arrivals("/core/v1/users"))
      assert.equal(2, core:stats().retries)
    end)

    it("the GraphQL rate-limit answer is retried, even for a mutation, then succeeds", function()
      emu.fault{ match = { operation = "createExternalUser" }, mode = "graphql_rate_limit", count = 2 }
      local emb = emu.embedded(fast)
      local u = assert(emb:create_external_user{ name = "Ada", externalUserId = "retry-1" })
      assert.is_string(u.userId)
      assert.equal(3, #arrivals("/graphql"))
    end)

    it("a GraphQL rate limit that never lifts ends as kind rate_limited with the errors", function()
      emu.fault{ match = { operation = "users" }, mode = "graphql_rate_limit", count = -1 }
      local emb = emu.embedded{ max_retries = 1, retry_base = 0.01 }
      local v, err = emb:users{}
      assert.is_nil(v)
      assert.equal("rate_limited", err.kind)
      assert.equal("Rate limit exceeded", err.errors[1].message)
      assert.equal(2, #arrivals("/graphql"))
    end)

    it("honours Retry-After", function()
      emu.fault{ match = { path = "/core/v1/users" }, mode = "429", retryAfter = 1, count = 1 }
      local core = emu.core(fast)
      assert(core:list_users())
      local t = arrivals("/core/v1/users")
      assert.equal(2, #t)
      assert.is_true(t[2] - t[1] >= 0.95, "the retry came after " .. (t[2] - t[1]) .. " s")
    end)

    it("does not wait for a Retry-After longer than max_retry_wait: returns rate_limited with retry_after", function()
      emu.fault{ match = { path = "/core/v1/users" }, mode = "429", retryAfter = 120, count = -1 }
      local backend, waits = emu.recording_backend()
      local core = emu.core{ max_retries = 3, max_retry_wait = 5, backend = backend }
      local v, err = core:list_users()
      assert.is_nil(v)
      assert.equal("rate_limited", err.kind)
      assert.equal(120, err.retry_after)
      assert.equal(0, core:stats().retries)
      -- nothing was waited for: neither the Retry-After nor max_retry_wait
      assert.same({}, waits)
      assert.equal(1, #arrivals("/core/v1/users"))
    end)

    it("retries a GET answered 503, then succeeds", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "status", status = 503, count = 2 }
      local core = emu.core(fast)
      assert(core:list_workspaces())
      assert.equal(3, #arrivals("/core/v1/workspaces"))
    end)

    it("does not retry a mutation answered 500", function()
      emu.fault{ match = { operation = "createExternalUser" }, mode = "status", status = 500, count = -1 }
      local emb = emu.embedded(fast)
      local v, err = emb:create_external_user{ name = "x", externalUserId = "x" }
      assert.is_nil(v)
      assert.equal("http", err.kind)
      assert.equal(500, err.status)
      assert.equal(1, #arrivals("/graphql"))
    end)

    it("does not retry a mutation answered 503 (it may have been applied)", function()
      emu.fault{ match = { operation = "createExternalUser" }, mode = "status", status = 503, count = -1 }
      local emb = emu.embedded(fast)
      local v, err = emb:create_external_user{ name = "x", externalUserId = "x" }
      assert.is_nil(v)
      assert.equal(503, err.status)
      assert.equal(1, #arrivals("/graphql"))
    end)

    it("does not retry a POST whose connection was reset after sending", function()
      emu.fault{ match = { path = "/core/v1/users/invite" }, mode = "reset", count = -1 }
      local core = emu.core(fast)
      local v, err = core:invite_user{ email = "a@example.com" }
      assert.is_nil(v)
      assert.equal("network", err.kind)
      assert.equal(1, #arrivals("/core/v1/users/invite"))
    end)

    it("retries a query whose connection was reset", function()
      emu.fault{ match = { path = "/core/v1/users" }, mode = "reset", count = 1 }
      local core = emu.core(fast)
      assert(core:list_users())
      assert.equal(2, #arrivals("/core/v1/users"))
    end)

    it("retries a POST that could not connect (nothing was sent), and says so in the log", function()
      local lines = {}
      local core = emu.core{ base_url = emu.dead_url(), max_retries = 2, retry_base = 0.01,
        log = function(level, msg) lines[#lines + 1] = level .. ": " .. msg end }
      local v, err = core:invite_user{ email = "a@example.com" }
      assert.is_nil(v)
      assert.equal("network", err.kind)
      assert.equal(2, #lines)
      assert.matches("^retry: POST invite_user: network; retry 1 of 2", lines[1])
      for _, l in ipairs(lines) do assert.is_nil(l:find(emu.master_token, 1, true)) end
    end)

    it("max_retries = 0 sends once", function()
      emu.fault{ match = { path = "/core/v1/users" }, mode = "429", count = -1 }
      local core = emu.core{ max_retries = 0 }
      local _, err = core:list_users()
      assert.equal("rate_limited", err.kind)
      assert.equal(1, #arrivals("/core/v1/users"))
    end)

    it("backoff has full jitter under an exponential ceiling", function()
      local c = assert(emu.core{ retry_base = 0.5, retry_cap = 8 })
      for attempt = 0, 6 do
        local ceiling = math.min(8, 0.5 * 2 ^ attempt)
        local lo, hi = math.huge, 0
        for _ = 1, 200 do
          local d = c.transport:backoff(attempt)
          lo, hi = math.min(lo, d), math.max(hi, d)
        end
        assert.is_true(lo >= 0 and hi <= ceiling)
        assert.is_true(hi > ceiling * 0.8 and lo < ceiling * 0.2, "attempt " .. attempt .. " spreads over [0, ceiling]")
      end
    end)
  end)

  describe("single flight (backend:once)", function()
    local function count(field)
      return emu.stats().byRoute["POST /graphql " .. field] or 0
    end

    it("50 tray.parallel tasks that need the same expired user token make one authorize call", function()
      local tray = require "tray"
      local emb = emu.embedded()
      local user_id = assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-50" }).userId
      local now = 1700000000
      local user = assert(emb:for_user(user_id, { clock = function() return now end }))
      now = now + 3 * 24 * 3600 -- the token has expired
      emu.clear_requests()
      local before = count("authorize")
      local tasks = {}
      for i = 1, 50 do
        tasks[i] = function() return user:solution_instances{ first = 1 } end
      end
      local values, errs = tray.parallel(tasks, { concurrency = 50 })
      for i = 1, 50 do
        assert.is_nil(errs[i])
        assert.is_table(values[i])
      end
      assert.equal(1, count("authorize") - before)
    end)

    it("a backend's once runs the function once for callers that arrive while it runs", function()
      local tray = require "tray"
      local backend = emu.core().transport.backend
      local runs = 0
      local tasks = {}
      for i = 1, 20 do
        tasks[i] = function()
          return backend:once("k", function()
            runs = runs + 1
            backend:sleep(0.05)
            return "v" .. runs, i
          end)
        end
      end
      local values = tray.parallel(tasks, { concurrency = 20 })
      assert.equal(1, runs)
      for i = 1, 20 do assert.equal("v1", values[i]) end
      -- outside a run (blocking), once simply runs the function
      assert.equal("v2", (backend:once("k", function() runs = runs + 1 return "v" .. runs end)))
    end)
  end)
end)

