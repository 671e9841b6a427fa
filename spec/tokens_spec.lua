-- tray.tokens: emb:for_user(userId), the user-token cache, against the emulator.

local emu = require "spec.helpers.emulator"
local tray = require "tray"
local tokens = require "tray.tokens"
local native = require "tray.native"
local json = require "tray.json"

local TWO_DAYS = 2 * 24 * 3600
local SOLUTION = "b3422397-XXXX-XXXX-XXXX-57e7e66771b3"

-- how many requests reached a GraphQL root field
local function count(field)
  return emu.stats().byRoute["POST /graphql " .. field] or 0
end

-- the GraphQL requests of the log, as "<root field> <status>"
local function graphql_log()
  local out = {}
  for _, r in ipairs(emu.requests()) do
    if r.path == "/graphql" then
      local doc = json.decode(r.body)
      local field = type(doc) == "table" and type(doc.query) == "string" and doc.query:match("{%s*(%a+)") or "?"
      out[#out + 1] = field .. " " .. tostring(math.floor(r.status or 0))
    end
  end
  return out
end

-- a store that records its calls
local function recording_store()
  local s = { calls = {}, data = {} }
  function s:get(key)
    self.calls[#self.calls + 1] = { "get", key }
    return self.data[key]
  end
  function s:set(key, value, ttl)
    self.calls[#self.calls + 1] = { "set", key, value, ttl }
    self.data[key] = value
    return true
  end
  function s:delete(key)
    self.calls[#self.calls + 1] = { "delete", key }
    self.data[key] = nil
    return true
  end
  return s
end

describe("emb:for_user", function()
  local emb, user_id, now

  local function clock() return now end

  before_each(function()
    emu.reset()
    emb = emu.embedded()
    user_id = assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-1" }).userId
    now = 1700000000
    emu.clear_requests()
  end)

  it("authorizes once and reuses the token across calls and for_user calls", function()
    local a = assert(emb:for_user(user_id, { clock = clock }))
    assert.equal("user", a.token_kind)
    assert(a:solution_instances())
    assert(a:solution_instances())
    local b = assert(emb:for_user(user_id, { clock = clock }))
    assert(b:solution_instances())
    assert.equal(1, count("authorize"))
    assert.equal(3, count("viewer"))
    assert.equal(a.transport.token, b.transport.token)
    emu.assert_no_secret({ a:stats() }, {})
  end)

  it("makes user-token calls (createSolutionInstance) and shares the master's limiter and statistics", function()
    local u = assert(emb:for_user(user_id))
    local created = assert(u:create_solution_instance{ solutionId = SOLUTION, instanceName = "x" })
    assert.is_string(created.solutionInstance.id)
    assert.equal(emb:stats(), u:stats())
    assert.equal(emb.transport.limiter, u.transport.limiter)
    -- the master client is untouched: still a master
    assert(emb:users{ first = 1 })
  end)

  it("gets a new token before the old one expires (margin), without a 401 first", function()
    local u = assert(emb:for_user(user_id, { clock = clock }))
    local first = u.transport.token
    assert.equal(now + TWO_DAYS, u.token_expires)
    now = now + TWO_DAYS - 601          -- just outside the 10-minute margin: reused
    assert(u:solution_instances())
    assert.equal(first, u.transport.token)
    now = now + 2                       -- inside the margin: renewed before the call
    assert(u:solution_instances())
    assert.are_not.equal(first, u.transport.token)
    assert.same({ "authorize 200", "viewer 200", "authorize 200", "viewer 200" }, graphql_log())
  end)

  it("takes another margin", function()
    local u = assert(emb:for_user(user_id, { clock = clock, margin = 3600 }))
    now = now + TWO_DAYS - 3599
    assert(u:solution_instances())
    assert.equal(2, count("authorize"))
  end)

  it("re-authorizes once on a 401 and repeats the call", function()
    local u = assert(emb:for_user(user_id, { clock = clock }))
    local old = u.transport.token
    emu.advance(TWO_DAYS + 60)          -- the server's clock: the token has expired there
    local conn = assert(u:solution_instances())
    assert.equal(0, conn.totalCount)
    assert.are_not.equal(old, u.transport.token)
    assert.same({ "authorize 200", "viewer 401", "authorize 200", "viewer 200" }, graphql_log())
  end)

  it("repeats a mutation refused with 401 once, and it is applied once", function()
    local u = assert(emb:for_user(user_id, { clock = clock }))
    emu.advance(TWO_DAYS + 60)
    assert(u:create_solution_instance{ solutionId = SOLUTION, instanceName = "once" })
    assert.equal(1, emu.stats().graphql.instances)
    assert.equal(2, count("createSolutionInstance"))
  end)

  it("gives up after one re-authorization when the repeat is refused too", function()
    local u = assert(emb:for_user(user_id, { clock = clock }))
    emu.fault{ match = { operation = "viewer" }, mode = "status", status = 401, count = 2 }
    local conn, err = u:solution_instances()
    assert.is_nil(conn)
    assert.equal("auth", err.kind)
    assert.equal(401, err.status)
    assert.equal(2, count("authorize"))
    emu.assert_no_secret(err, { u.transport.token })
  end)

  it("is for master clients only: kind auth before any request", function()
    local token = emu.control("POST", "/token", { userId = user_id }).accessToken
    local as_user = emu.embedded{ user_token = token }
    emu.clear_requests()
    for _, c in ipairs({ as_user, emb:as_user(token) }) do
      local u, err = c:for_user(user_id)
      assert.is_nil(u)
      assert.equal("auth", err.kind)
      emu.assert_no_secret(err, { token })
    end
    assert.same({}, graphql_log())
    local u = assert(emb:for_user(user_id))
    local again, err = u:for_user(user_id)
    assert.is_nil(again)
    assert.equal("auth", err.kind)
    assert.same({ "authorize 200" }, graphql_log())
  end)

  it("refuses bad arguments before any request", function()
    for _, case in ipairs({
      { "" }, { 42 }, { user_id, "opts" }, { user_id, { store = {} } },
      { user_id, { margin = TWO_DAYS } }, { user_id, { margin = -1 } }, { user_id, { clock = 5 } },
    }) do
      local u, err = emb:for_user(case[1], case[2])
      assert.is_nil(u)
      assert.equal("usage", err.kind)
    end
    assert.same({}, graphql_log())
  end)

  it("returns what authorize answers for an unknown user", function()
    local u, err = emb:for_user("no-such-user")
    assert.is_nil(u)
    assert.equal("graphql", err.kind)
    assert.equal("authorize", err.operation)
    emu.assert_no_secret(err)
  end)

  describe("with a store", function()
    it("gets, then sets the token under the documented key with the TTL up to the margin", function()
      local store = recording_store()
      local u = assert(emb:for_user(user_id, { store = store, clock = clock }))
      local key = "tray:user-token:" .. native.digest(emu.master_token) .. ":" .. user_id
      assert.equal(key, tokens.key(emu.master_token, user_id))
      assert.not_matches(emu.master_token, key, 1, true)
      assert.equal(2, #store.calls)
      assert.same({ "get", key }, store.calls[1])
      local set = store.calls[2]
      assert.equal("set", set[1])
      assert.equal(key, set[2])
      assert.is_string(set[3])
      assert.truthy(set[3]:find(u.transport.token, 1, true))
      assert.equal(TWO_DAYS - 600, set[4])
    end)

    it("shares a token between clients (processes) through the store: no second authorize", function()
      local store = recording_store()
      local a = assert(emb:for_user(user_id, { store = store, clock = clock }))
      local other = emu.embedded()   -- another client, as another process would have
      local b = assert(other:for_user(user_id, { store = store, clock = clock }))
      assert.equal(a.transport.token, b.transport.token)
      assert.equal(1, count("authorize"))
      assert(b:solution_instances())
    end)

    it("does not use a stored token past its expiry (minus the margin)", function()
      local store = recording_store()
      local a = assert(emb:for_user(user_id, { store = store, clock = clock }))
      now = now + TWO_DAYS - 300
      local b = assert(emb:for_user(user_id, { store = store, clock = clock }))
      assert.are_not.equal(a.transport.token, b.transport.token)
      assert.equal(2, count("authorize"))
      assert.equal("set", store.calls[#store.calls][1])
    end)

    it("replaces a stored token the server refuses (401), and deletes it first", function()
      local store = recording_store()
      local u = assert(emb:for_user(user_id, { store = store, clock = clock }))
      local old = u.transport.token
      emu.advance(TWO_DAYS + 60)
      assert(u:solution_instances())
      local kinds = {}
      for _, c in ipairs(store.calls) do kinds[#kinds + 1] = c[1] end
      assert.same({ "get", "set", "get", "delete", "set" }, kinds)
      assert.is_nil(store.data[tokens.key(emu.master_token, user_id)]:find(old, 1, true))
    end)

    it("works on when the store fails or raises, and logs without the token", function()
      local logged = {}
      local master = emu.embedded{ log = function(level, msg) logged[#logged + 1] = level .. ": " .. msg end }
      local broken = {
        get = function() return nil, "connection refused" end,
        set = function() error("store is down") end,
      }
      local u = assert(master:for_user(user_id, { store = broken }))
      assert(u:solution_instances())
      assert.equal(2, #logged)
      assert.matches("token store get failed: connection refused", logged[1], 1, true)
      assert.matches("store is down", logged[2], 1, true)
      emu.assert_no_secret(logged, { u.transport.token })
    end)

    it("takes the store from the client option token_store", function()
      local store = recording_store()
      local master = emu.embedded{ token_store = store }
      assert(master:for_user(user_id))
      assert.equal(2, #store.calls)
    end)

    it("has an in-memory store with TTLs", function()
      local t = 100
      local m = tokens.memory_store{ clock = function() return t end }
      assert.is_true(m:set("k", "v", 10))
      assert.equal("v", m:get("k"))
      t = 110
      assert.is_nil(m:get("k"))
      m:set("k", "v", 10)
      m:delete("k")
      assert.is_nil(m:get("k"))
    end)
  end)

  it("authorizes once when many tasks of tray.parallel ask for the same user", function()
    local tasks = {}
    for i = 1, 6 do
      tasks[i] = function()
        local u, err = emb:for_user(user_id)
        if not u then return nil, err end
        return u.transport.token
      end
    end
    local values, errs = tray.parallel(tasks, { concurrency = 6 })
    for i = 1, 6 do
      assert.is_nil(errs[i])
      assert.equal(values[1], values[i])
    end
    assert.equal(1, count("authorize"))
  end)
end)
