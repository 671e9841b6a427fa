-- tray.onboarding: idempotent onboarding helpers against the emulator.

local emu = require "spec.helpers.emulator"
local tray = require "tray"
local onboarding = require "tray.onboarding"
local native = require "tray.native"

local SALES = "b3422397-XXXX-XXXX-XXXX-57e7e66771b3"   -- "Salesforce to Slack": tags sales, onboarding
local SLACK = "b73d4e07xxx-xxx-xxx-xxx-xxxafad23d94"   -- "Slack webhook solution": tags onboarding, slack

local CREATES = { "createExternalUser", "createSolutionInstance" }

-- requests per GraphQL root field so far
local function routes()
  local out = {}
  for k, v in pairs(emu.stats().byRoute) do
    local field = k:match("^POST /graphql (%a+)$")
    if field then out[field] = v end
  end
  return out
end

-- what changed between two routes() snapshots, for the given fields
local function delta(before, after, fields)
  local out = {}
  for _, f in ipairs(fields) do out[f] = (after[f] or 0) - (before[f] or 0) end
  return out
end

local function rows(n, prefix)
  local out = {}
  for i = 1, n do
    out[i] = { externalUserId = (prefix or "u-") .. i, name = "User " .. i,
               configValues = { external_channel = "#c" .. i } }
  end
  return out
end

describe("tray.onboarding", function()
  local emb

  before_each(function()
    emu.reset()
    emb = emu.embedded()
  end)

  describe("ensure_user", function()
    it("creates a missing user, then finds it", function()
      assert.is_false(onboarding.find_user(emb, "ada"))
      local u, status = onboarding.ensure_user(emb, { externalUserId = "ada", name = "Ada" })
      assert.equal("created", status)
      assert.is_string(u.id)
      local again, status2 = onboarding.ensure_user(emb, { externalUserId = "ada", name = "Ada" })
      assert.equal("existing", status2)
      assert.equal(u.id, again.id)
      assert.equal(1, emu.stats().graphql.users)
      assert.equal(u.id, onboarding.find_user(emb, "ada").id)
    end)

    it("updates isTestUser when it differs, and only then", function()
      local u = assert(onboarding.ensure_user(emb, { externalUserId = "t", name = "T", isTestUser = false }))
      local _, status = onboarding.ensure_user(emb, { externalUserId = "t", name = "T", isTestUser = true })
      assert.equal("updated", status)
      local found = onboarding.find_user(emb, "t")
      assert.equal(u.id, found.id)
      assert.is_true(found.isTestUser)
      local before = routes()
      _, status = onboarding.ensure_user(emb, { externalUserId = "t", name = "T", isTestUser = true })
      assert.equal("existing", status)
      assert.equal(0, delta(before, routes(), { "updateExternalUser" }).updateExternalUser)
    end)

    it("refuses a row without externalUserId or name before any request", function()
      emu.clear_requests()
      for _, bad in ipairs({ { name = "x" }, { externalUserId = "", name = "x" }, { externalUserId = "a" },
                             { externalUserId = "a", name = "A", isTestUser = "yes" } }) do
        local u, err = onboarding.ensure_user(emb, bad)
        assert.is_nil(u)
        assert.equal("usage", err.kind)
      end
      assert.same({}, emu.requests())
    end)

    it("copes with the same user created concurrently: one creates, the other finds it", function()
      local statuses, ids = {}, {}
      local tasks = {}
      for i = 1, 2 do
        tasks[i] = function()
          local u, status = onboarding.ensure_user(emb, { externalUserId = "twin", name = "Twin" })
          if not u then return nil, status end
          statuses[i], ids[i] = status, u.id
          return true
        end
      end
      local _, errs = tray.parallel(tasks, { concurrency = 2 })
      assert.is_nil(errs[1])
      assert.is_nil(errs[2])
      table.sort(statuses)
      assert.same({ "created", "existing" }, statuses)
      assert.equal(ids[1], ids[2])
      assert.equal(1, emu.stats().graphql.users)
    end)

    it("finds the user when another process created it between the look-up and the create", function()
      local forward = emu.forwarding_transport()
      local other = emu.embedded()
      local raced = false
      -- a transport that lets "another process" create the user just before our create arrives
      local function racing(req)
        if not raced and req.body and req.body:find("createExternalUser", 1, true) then
          raced = true
          assert(other:create_external_user{ name = "Race", externalUserId = "race" })
        end
        return forward(req)
      end
      local client = emu.embedded{ transport = racing }
      local u, status = onboarding.ensure_user(client, { externalUserId = "race", name = "Race" })
      assert.is_true(raced)
      assert.equal("existing", status)
      assert.equal(onboarding.find_user(emb, "race").id, u.id)
      assert.equal(2, routes().createExternalUser)  -- ours was refused (CONFLICT), then found
    end)
  end)

  describe("resolve_solution", function()
    it("finds a solution by id, by a tag or by several tags", function()
      assert.equal(SLACK, assert(onboarding.resolve_solution(emb, SLACK)).id)
      assert.equal(SLACK, assert(onboarding.resolve_solution(emb, "slack")).id)
      local s = assert(onboarding.resolve_solution(emb, "sales, onboarding"))
      assert.equal(SALES, s.id)
      assert.equal("Salesforce to Slack", s.title)
    end)

    it("says when several solutions carry the tags, and when none does", function()
      local s, err = onboarding.resolve_solution(emb, "onboarding")
      assert.is_nil(s)
      assert.equal("usage", err.kind)
      assert.matches(SALES, err.message, 1, true)
      assert.matches(SLACK, err.message, 1, true)
      s, err = onboarding.resolve_solution(emb, "no-such-tag")
      assert.is_nil(s)
      assert.equal("not_found", err.kind)
    end)
  end)

  describe("ensure_instance", function()
    local user

    before_each(function()
      local u = assert(onboarding.ensure_user(emb, { externalUserId = "ada", name = "Ada" }))
      user = assert(emb:for_user(u.id))
    end)

    it("creates and enables, then changes nothing", function()
      local spec = { solutionId = SALES, instanceName = "Ada's", enabled = true,
                     configValues = { external_channel = "#ada", external_limit = "5" } }
      local inst, status, enabled = onboarding.ensure_instance(user, spec)
      assert.equal("created", status)
      assert.equal("enabled", enabled)
      assert.is_true(inst.enabled)
      local before = routes()
      local again, status2, enabled2 = onboarding.ensure_instance(user, spec)
      assert.equal("unchanged", status2)
      assert.equal("unchanged", enabled2)
      assert.equal(inst.id, again.id)
      assert.same({ createSolutionInstance = 0, updateSolutionInstance = 0 },
        delta(before, routes(), { "createSolutionInstance", "updateSolutionInstance" }))
      assert.equal(1, emu.stats().graphql.instances)
    end)

    it("updates when a value differs from what the API returns, with one mutation", function()
      local inst = assert(onboarding.ensure_instance(user, { solutionId = SALES, instanceName = "i",
        configValues = { { externalId = "external_channel", value = "#old" } } }))
      local before = routes()
      local updated, status = onboarding.ensure_instance(user, { solutionId = SALES, instanceName = "i",
        configValues = { external_channel = "#new" } })
      assert.equal("updated", status)
      assert.equal(inst.id, updated.id)
      assert.same({ createSolutionInstance = 0, updateSolutionInstance = 1 },
        delta(before, routes(), { "createSolutionInstance", "updateSolutionInstance" }))
      local server = user:solution_instances().nodes[1]
      assert.same({ { externalId = "external_channel", value = "#new" } }, server.configValues)
    end)

    it("compares non-string config values by their JSON meaning", function()
      local spec = { solutionId = SALES, instanceName = "j",
                     configValues = { external_limit = 10, external_channel = { a = 1, b = { 2, 3 } } } }
      assert.equal("created", select(2, onboarding.ensure_instance(user, spec)))
      assert.equal("unchanged", select(2, onboarding.ensure_instance(user, spec)))
      spec.configValues.external_limit = 11
      assert.equal("updated", select(2, onboarding.ensure_instance(user, spec)))
    end)

    it("tells instances apart by solution and name", function()
      assert.equal("created", select(2, onboarding.ensure_instance(user, { solutionId = SALES, instanceName = "a" })))
      assert.equal("created", select(2, onboarding.ensure_instance(user, { solutionId = SALES, instanceName = "b" })))
      assert.equal("created", select(2, onboarding.ensure_instance(user, { solutionId = SLACK, instanceName = "a" })))
      assert.equal("unchanged", select(2, onboarding.ensure_instance(user, { solutionId = SLACK, instanceName = "a" })))
      assert.equal(3, emu.stats().graphql.instances)
    end)

    it("refuses bad specs before any request", function()
      emu.clear_requests()
      for _, bad in ipairs({ { instanceName = "x" }, { solutionId = SALES }, { solutionId = SALES, instanceName = "x",
        configValues = "x" }, { solutionId = SALES, instanceName = "x", authValues = { { externalId = "a" } } },
        { solutionId = SALES, instanceName = "x", enabled = "yes" } }) do
        local inst, err = onboarding.ensure_instance(user, bad)
        assert.is_nil(inst)
        assert.equal("usage", err.kind)
      end
      assert.same({}, emu.requests())
    end)
  end)

  describe("enable and wizard_url", function()
    it("enables once", function()
      local u = assert(onboarding.ensure_user(emb, { externalUserId = "e", name = "E" }))
      local user = assert(emb:for_user(u.id))
      local inst = assert(onboarding.ensure_instance(user, { solutionId = SALES, instanceName = "e" }))
      assert.is_false(inst.enabled)
      local enabled, status = onboarding.enable(user, inst.id)
      assert.equal("enabled", status)
      assert.is_true(enabled.enabled)
      assert.equal("unchanged", select(2, onboarding.enable(user, enabled)))
    end)

    it("builds a config wizard URL with a fresh code each time", function()
      local u = assert(onboarding.ensure_user(emb, { externalUserId = "w", name = "W" }))
      local a = assert(onboarding.wizard_url(emb, { partnerId = "acme", solutionInstanceId = "inst 1", userId = u.id }))
      local b = assert(onboarding.wizard_url(emb, { partnerId = "acme", solutionInstanceId = "inst 1", userId = u.id }))
      local prefix = emu.url .. "/external/solutions/acme/configure/inst%201?code="
      assert.equal(prefix, a:sub(1, #prefix))
      assert.are_not.equal(a, b)
      assert.equal(2, routes().generateAuthorizationCode)
      local url, err = onboarding.wizard_url(emb, { solutionInstanceId = "i", userId = u.id })
      assert.is_nil(url)
      assert.equal("usage", err.kind)
    end)
  end)

  describe("onboard", function()
    it("does everything once and reports it; the second time changes nothing", function()
      local sol = assert(onboarding.resolve_solution(emb, SALES))
      local row = { externalUserId = "acme-1", name = "Ada", configValues = { external_channel = "#ada" } }
      local r = assert(onboarding.onboard(emb, row, { solution = sol, partnerId = "acme" }))
      assert.same({ "created", "created", "enabled", "created" }, { r.user, r.instance, r.enabled, r.status })
      assert.is_string(r.userId)
      assert.is_string(r.solutionInstanceId)
      assert.matches("/external/solutions/acme/configure/" .. r.solutionInstanceId .. "?code=", r.wizardUrl, 1, true)
      local before = routes()
      local r2 = assert(onboarding.onboard(emb, row, { solution = sol, partnerId = "acme" }))
      assert.same({ "existing", "unchanged", "unchanged", "unchanged" },
        { r2.user, r2.instance, r2.enabled, r2.status })
      assert.equal(r.userId, r2.userId)
      assert.equal(r.solutionInstanceId, r2.solutionInstanceId)
      assert.same({ createExternalUser = 0, createSolutionInstance = 0, updateSolutionInstance = 0 },
        delta(before, routes(), { "createExternalUser", "createSolutionInstance", "updateSolutionInstance" }))
    end)

    it("names the instance after the solution unless told, and can leave it disabled", function()
      local r = assert(onboarding.onboard(emb, { externalUserId = "x", name = "X" },
        { solutionId = SLACK, instanceName = "Mine", enable = false }))
      assert.is_nil(r.wizardUrl)
      local user = assert(emb:for_user(r.userId))
      local inst = user:solution_instances().nodes[1]
      assert.equal("Mine", inst.name)
      assert.is_false(inst.enabled)
      local sol = assert(onboarding.resolve_solution(emb, SLACK))
      r = assert(onboarding.onboard(emb, { externalUserId = "y", name = "Y" }, { solution = sol }))
      user = assert(emb:for_user(r.userId))
      assert.equal("Slack webhook solution", user:solution_instances().nodes[1].name)
    end)

    it("reports what it did before a failure", function()
      emu.fault{ match = { operation = "createSolutionInstance" }, mode = "status", status = 500 }
      local r, err, partial = onboarding.onboard(emb, { externalUserId = "f", name = "F" }, { solutionId = SALES })
      assert.is_nil(r)
      assert.equal("http", err.kind)
      assert.equal("created", partial.user)
      assert.is_string(partial.userId)
      assert.is_nil(partial.solutionInstanceId)
    end)
  end)

  describe("run", function()
    it("onboards rows concurrently; repeated rows run in order; a second run creates nothing", function()
      local rs = rows(12)
      rs[13] = { externalUserId = "u-3", name = "User 3", configValues = { external_channel = "#c3" } } -- repeat
      rs[14] = { externalUserId = "", name = "nobody" }
      rs[15] = { externalUserId = "u-99", error = "bad line" }
      local seen = 0
      local results, s = onboarding.run(emb, rs, { solutionId = SALES, partnerId = "acme", concurrency = 4,
        on_result = function() seen = seen + 1 end })
      assert.equal(15, seen)
      assert.equal(15, s.rows)
      assert.equal(13, s.ok)
      assert.equal(2, s.failed)
      assert.equal(24, s.created)
      assert.same({ created = 12, updated = 0, existing = 1 }, s.users)
      assert.same({ created = 12, updated = 0, unchanged = 1 }, s.instances)
      assert.equal(results[3].report.solutionInstanceId, results[13].report.solutionInstanceId)
      assert.equal("unchanged", results[13].report.status)
      assert.equal("usage", results[14].err.kind)
      assert.equal("bad line", results[15].err.message)
      assert.equal(12, emu.stats().graphql.instances)

      local before = routes()
      local _, s2 = onboarding.run(emb, rs, { solutionId = SALES, partnerId = "acme", concurrency = 4 })
      assert.equal(0, s2.created)
      assert.equal(13, s2.ok)
      assert.same({ createExternalUser = 0, createSolutionInstance = 0 }, delta(before, routes(), CREATES))
    end)

    it("stays within the client's rate limit", function()
      local limited = emu.embedded{ rate_limit = { rate = 40, burst = 5 } }
      local started = native.now()
      local _, s = onboarding.run(limited, rows(8), { solutionId = SALES, concurrency = 8 })
      local elapsed = native.now() - started
      assert.equal(8, s.ok)
      -- 8 rows x 6 requests with a burst of 5 at 40/s: at least (48 - 5) / 40 s
      assert.is_true(elapsed >= (48 - 5) / 40 - 0.1, "took " .. elapsed .. "s")
    end)

    it("resumes after a run that failed half-way: only what is missing is done", function()
      -- every instance creation fails: users exist, instances do not
      emu.fault{ match = { operation = "createSolutionInstance" }, mode = "status", status = 503, count = -1 }
      local rs = rows(10)
      local results, s = onboarding.run(emb, rs, { solutionId = SALES, concurrency = 4 })
      assert.equal(10, s.failed)
      assert.equal("created", results[1].report.user)
      assert.equal(10, emu.stats().graphql.users)
      assert.equal(0, emu.stats().graphql.instances)
      emu.clear_faults()
      local before = routes()
      local _, s2 = onboarding.run(emb, rs, { solutionId = SALES, concurrency = 4 })
      assert.equal(10, s2.ok)
      assert.same({ created = 0, updated = 0, existing = 10 }, s2.users)
      assert.equal(10, s2.instances.created)
      assert.same({ createExternalUser = 0, createSolutionInstance = 10 }, delta(before, routes(), CREATES))
    end)

    it("resumes after the connection broke off after N requests", function()
      -- a transport that works for 23 requests and then finds the network gone
      local forward = emu.forwarding_transport()
      local sent = 0
      local function breaking(req)
        sent = sent + 1
        if sent > 23 then return nil, "network", "the connection broke off" end
        return forward(req)
      end
      local flaky = emu.embedded{ transport = breaking }
      local rs = rows(10)
      local _, s = onboarding.run(flaky, rs, { solutionId = SALES, concurrency = 3 })
      assert.is_true(s.failed > 0 and s.ok < 10, "the break came too late to test anything")
      local users_made, instances_made = emu.stats().graphql.users, emu.stats().graphql.instances
      local before = routes()
      local results, s2 = onboarding.run(emb, rs, { solutionId = SALES, concurrency = 3 })
      assert.equal(10, s2.ok)
      assert.same({ createExternalUser = 10 - users_made, createSolutionInstance = 10 - instances_made },
        delta(before, routes(), CREATES))
      assert.equal(10, emu.stats().graphql.users)
      assert.equal(10, emu.stats().graphql.instances)
      for _, r in ipairs(results) do assert.is_nil(r.err) end
    end)
  end)

  describe("from_record", function()
    it("turns CSV columns into a row", function()
      local row = assert(onboarding.from_record{ externalUserId = " a-1 ", name = 'O\'Brien, "Pat"\nEMEA',
        isTestUser = "Yes", instanceName = "", ["config.external_channel"] = "#x", ["config.external_limit"] = "",
        ["auth.external_slack_authentication"] = "auth-1" })
      assert.same({ externalUserId = "a-1", name = 'O\'Brien, "Pat"\nEMEA', isTestUser = true,
        configValues = { external_channel = "#x" }, authValues = { external_slack_authentication = "auth-1" } }, row)
      assert.is_false(onboarding.from_record{ externalUserId = "a", name = "A", isTestUser = "0" }.isTestUser)
      assert.is_nil(onboarding.from_record{ externalUserId = "a", name = "A", isTestUser = "" }.isTestUser)
    end)

    it("says what is wrong with a bad record", function()
      assert.equal("externalUserId is required", select(2, onboarding.from_record{ externalUserId = "", name = "A" }))
      assert.equal("name is required", select(2, onboarding.from_record{ externalUserId = "a", name = "  " }))
      assert.matches("isTestUser must be true or false",
        select(2, onboarding.from_record{ externalUserId = "a", name = "A", isTestUser = "maybe" }))
    end)
  end)
end)
