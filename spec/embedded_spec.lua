-- tray.embedded: every query and mutation over real HTTP against the emulator's
-- GraphQL API (a schema written from the docs, served by graphql-js).

local emu = require "spec.helpers.emulator"
local tray = require "tray"
local json = require "tray.json"

local SOLUTION = "b3422397-XXXX-XXXX-XXXX-57e7e66771b3"       -- tags: sales, onboarding
local PROJECT = "944dxxx-xxx-xxx-xxx-xxx222eb99"
local SQS = { service = "e73d8e91-XXXX-XXXX-XXXX-37df289242", env = "a84eu2880-XXXX-XXXX-XXXX-7edd82904d" }
local WORKFLOWS = { "ea3c20f5-xxxx-xxxx-xxxx-0ce2b7bb9f29", "a6af4264-xxxx-xxxx-xxxx-70a1e59d72b2" }

local function graphql_requests()
  local out = {}
  for _, r in ipairs(emu.requests()) do
    if r.path == "/graphql" then out[#out + 1] = r end
  end
  return out
end

-- a user with a user client
local function new_user(emb, external, name)
  local u = assert(emb:create_external_user{ name = name or external, externalUserId = external })
  local auth = assert(emb:authorize{ userId = u.userId })
  emu.secrets[#emu.secrets + 1] = auth.accessToken
  return u.userId, emb:as_user(auth.accessToken), auth.accessToken
end

describe("tray.embedded", function()
  local emb

  before_each(function()
    emu.reset()
    emb = emu.embedded()
  end)

  describe("new", function()
    it("needs master_token or user_token", function()
      local c, err = tray.embedded.new{ master_token = "", endpoint = emu.graphql_url }
      assert.is_nil(c)
      assert.equal("usage", err.kind)
    end)

    it("knows the regions' GraphQL endpoints and config wizard hosts", function()
      assert.equal("https://tray.io/graphql", tray.regions.us.graphql)
      assert.equal("https://eu1.tray.io/graphql", tray.regions.eu.graphql)
      assert.equal("https://ap1.tray.io/graphql", tray.regions.apac.graphql)
      assert.equal("https://embedded.eu1.tray.io", tray.regions.eu.embedded)
      assert.equal("https://embedded.ap1.tray.io", tray.regions.apac.embedded)
    end)

    it("builds config wizard URLs for the region's embedded host", function()
      local c = assert(tray.embedded.new{ master_token = "t", region = "apac", endpoint = emu.graphql_url,
        embedded_url = tray.regions.apac.embedded })
      assert.equal("https://embedded.ap1.tray.io/external/solutions/p/configure/i?code=c",
        c:config_wizard_url{ partnerId = "p", solutionInstanceId = "i", authorizationCode = "c" })
    end)
  end)

  describe("requests", function()
    it("POST the document and the variables as JSON with the bearer token", function()
      assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-1" })
      local r = graphql_requests()[1]
      assert.equal("POST", r.method)
      assert.equal("application/json", r.headers["content-type"])
      assert.equal("Bearer " .. emu.master_token, r.headers.authorization)
      local body = json.decode(r.body)
      assert.matches("^mutation TrayCreateExternalUser%(", body.query)
      assert.same({ name = "Ada", externalUserId = "ada-1" }, body.variables)
      assert.is_nil(body.query:find("Ada", 1, true))
    end)

    for _, name in ipairs({ 'He said "hi"', 'Bobby"}) { x', "two\nlines", "back\\slash", "ünïcødé ✓ 😀",
                            "$evil: String" }) do
      it(string.format("send a name like %q as a variable, and it round-trips unchanged", name), function()
        local created = assert(emb:create_external_user{ name = name, externalUserId = "x-" .. #name })
        local found = assert(emb:users{ criteria = { userId = created.userId } })
        assert.equal(1, #found.nodes)
        assert.equal(name, found.nodes[1].name)
        local body = json.decode(graphql_requests()[1].body)
        assert.is_nil(body.query:find(name, 1, true))
      end)
    end
  end)

  describe("users", function()
    it("returns a Relay connection with a nodes array and every documented field", function()
      assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-1", isTestUser = true })
      local conn = assert(emb:users{})
      assert.equal(1, #conn.edges)
      assert.is_string(conn.edges[1].cursor)
      local u = conn.nodes[1]
      assert.same({ "externalUserId", "id", "isTestUser", "name" }, (function()
        local keys = {}
        for k in pairs(u) do keys[#keys + 1] = k end
        table.sort(keys)
        return keys
      end)())
      assert.is_true(u.isTestUser)
      assert.is_false(conn.pageInfo.hasNextPage)
    end)

    it("filters by the documented criteria", function()
      local a = assert(emb:create_external_user{ name = "Billy Bluehat", externalUserId = "b-1", isTestUser = true })
      assert(emb:create_external_user{ name = "Billy Bluehat", externalUserId = "b-2", isTestUser = false })
      assert(emb:create_external_user{ name = "Other", externalUserId = "o-1", isTestUser = true })
      assert.equal(1, #assert(emb:users{ criteria = { externalUserId = "b-2" } }).nodes)
      assert.equal(2, #assert(emb:users{ criteria = { name = "Billy Bluehat" } }).nodes)
      assert.equal(2, #assert(emb:users{ criteria = { isTestUser = true } }).nodes)
      assert.equal(1, #assert(emb:users{ criteria = { isTestUser = true, name = "Billy Bluehat" } }).nodes)
      local by_id = assert(emb:users{ criteria = { userId = a.userId } })
      assert.equal("b-1", by_id.nodes[1].externalUserId)
    end)

    it("checks criteria names and types before any request", function()
      emu.clear_requests()
      local c, err = emb:users{ criteria = { externalId = "x" } }
      assert.is_nil(c)
      assert.equal("usage", err.kind)
      c, err = emb:users{ criteria = { isTestUser = "true" } }
      assert.is_nil(c)
      assert.equal("usage", err.kind)
      assert.matches("boolean", err.message)
      c, err = emb:users{ first = "10" }
      assert.is_nil(c)
      assert.equal("usage", err.kind)
      assert.same({}, emu.requests())
    end)

    it("pages with first and after", function()
      emu.seed_users(5, "page-")
      local p1 = assert(emb:users{ first = 2 })
      assert.equal(2, #p1.nodes)
      assert.is_true(p1.pageInfo.hasNextPage)
      local p2 = assert(emb:users{ first = 2, after = p1.pageInfo.endCursor })
      assert.equal(2, #p2.nodes)
      assert.not_equal(p1.nodes[1].id, p2.nodes[1].id)
    end)
  end)

  describe("each and all", function()
    it("walk 260 users in 3 requests of 100, each user exactly once, in order", function()
      emu.seed_users(260, "walk-")
      emu.clear_requests()
      local seen, order = {}, {}
      for u in emb:each("users", { first = 100 }) do
        assert.is_nil(seen[u.id])
        seen[u.id] = true
        order[#order + 1] = u.name
      end
      assert.equal(260, #order)
      assert.equal(3, #graphql_requests())
      for i = 1, 260 do assert.equal("walk-" .. i, order[i]) end
    end)

    it("are lazy: the next page is fetched only when the current one is used up", function()
      emu.seed_users(150, "lazy-")
      emu.clear_requests()
      local iter = emb:each("users", { first = 100 })
      assert.is_table(iter())
      assert.equal(1, #graphql_requests())
      for _ = 2, 100 do iter() end
      assert.equal(1, #graphql_requests())
      iter()
      assert.equal(2, #graphql_requests())
    end)

    it("all returns every node, and each raises the error object when a page fails", function()
      emu.seed_users(120, "all-")
      assert.equal(120, #assert(emb:all("users", { first = 50 })))
      emu.fault{ match = { operation = "users" }, mode = "status", status = 500 }
      local ok, err = pcall(function() for _ in emb:each("users") do end end)
      assert.is_false(ok)
      assert.equal("http", err.kind)
      local nodes = emb:all("users")
      assert.is_table(nodes) -- the fault was used up by each
      emu.fault{ match = { operation = "users" }, mode = "status", status = 500 }
      local aerr
      nodes, aerr = emb:all("users")
      assert.is_nil(nodes)
      assert.equal("http", aerr.kind)
    end)

    it("each refuses a name that is not a connection query", function()
      local ok, err = pcall(emb.each, emb, "create_external_user")
      assert.is_false(ok)
      assert.equal("usage", err.kind)
    end)
  end)

  describe("token rules", function()
    it("a master-only call on a user client fails with kind auth before any request", function()
      local _, user = new_user(emb, "tok-1")
      emu.clear_requests()
      for _, call in ipairs({
        function() return user:users{} end,
        function() return user:solutions{} end,
        function() return user:create_external_user{ name = "x", externalUserId = "y" } end,
        function() return user:authorize{ userId = "x" } end,
        function() return user:export_project{ projectId = PROJECT, exportSolution = true } end,
      }) do
        local v, err = call()
        assert.is_nil(v)
        assert.equal("auth", err.kind)
        assert.matches("master token", err.message)
      end
      assert.same({}, graphql_requests())
    end)

    it("a user-only call on a master client fails with kind auth before any request", function()
      emu.clear_requests()
      local v, err = emb:create_solution_instance{ solutionId = SOLUTION, instanceName = "x" }
      assert.is_nil(v)
      assert.equal("auth", err.kind)
      assert.matches("as_user", err.message)
      assert.same({}, graphql_requests())
    end)

    it("a user token stops working after 2 days of emulator time", function()
      local _, user = new_user(emb, "tok-2")
      assert(user:solution_instances{})
      emu.advance(2 * 86400 + 1)
      local v, err = user:solution_instances{}
      assert.is_nil(v)
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
    end)

    it("an unknown token is kind auth (HTTP 401)", function()
      local c = emu.embedded{ master_token = "not-a-token" }
      local v, err = c:users{}
      assert.is_nil(v)
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      assert.equal("Unauthorized", err.message)
    end)
  end)

  describe("user mutations", function()
    it("create_external_user returns the payload with userId; clientMutationId comes back unchanged", function()
      local u = assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-1", clientMutationId = "cm-1" })
      assert.is_string(u.userId)
      assert.equal("cm-1", u.clientMutationId)
      -- not passed: not selected either (a payload with other fields)
      local plain = assert(emb:create_external_user{ name = "Bob", externalUserId = "bob-1" })
      assert.is_nil(plain.clientMutationId)
    end)

    it("create_external_user needs name and externalUserId", function()
      local u, err = emb:create_external_user{ name = "Ada" }
      assert.is_nil(u)
      assert.equal("usage", err.kind)
      assert.matches("externalUserId", err.message)
    end)

    it("a duplicate externalUserId is a graphql error with the errors array kept", function()
      assert(emb:create_external_user{ name = "Ada", externalUserId = "dup" })
      local u, err = emb:create_external_user{ name = "Ada", externalUserId = "dup" }
      assert.is_nil(u)
      assert.equal("graphql", err.kind)
      assert.is_table(err.errors)
      assert.equal("CONFLICT", err.errors[1].extensions.code)
      assert.matches("already exists", err.message)
    end)

    it("authorize and generate_authorization_code return the token and the code", function()
      local u = assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-1" })
      local a = assert(emb:authorize{ userId = u.userId, clientMutationId = "m" })
      assert.matches("^%x+$", a.accessToken)
      assert.equal("m", a.clientMutationId)
      local c = assert(emb:generate_authorization_code{ userId = u.userId })
      assert.matches("^%x+$", c.authorizationCode)
    end)

    it("update_external_user returns the user", function()
      local u = assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-1" })
      local r = assert(emb:update_external_user{ userId = u.userId, isTestUser = true, clientMutationId = "x" })
      assert.equal(u.userId, r.user.id)
      assert.is_true(r.user.isTestUser)
      assert.equal("x", r.clientMutationId)
    end)

    it("remove_external_user deletes the user and their solution instances", function()
      local id, user = new_user(emb, "gone-1")
      assert(user:create_solution_instance{ solutionId = SOLUTION, instanceName = "i" })
      assert.equal(1, assert(emb:solution_instances{ criteria = { owner = id } }).totalCount)
      local r = assert(emb:remove_external_user{ userId = id, clientMutationId = "bye" })
      assert.equal("bye", r.clientMutationId)
      assert.equal(0, #assert(emb:users{ criteria = { userId = id } }).nodes)
      assert.equal(0, assert(emb:solution_instances{ criteria = { owner = id } }).totalCount)
    end)
  end)

  describe("authentications", function()
    it("a user creates, lists and removes their own authentication; data may be a table", function()
      local _, user = new_user(emb, "auth-1")
      local created = assert(user:create_user_authentication{
        name = "my sqs", serviceId = SQS.service, serviceEnvironmentId = SQS.env,
        data = { region = "us-east-1", access_key = "k" }, scopes = json.array(), hidden = true,
      })
      assert.is_string(created.authenticationId)
      local body = json.decode(graphql_requests()[#graphql_requests()].body)
      assert.equal("string", type(body.variables.data))
      assert.same({ region = "us-east-1", access_key = "k" }, json.decode(body.variables.data))
      assert.matches('"scopes":%[%]', graphql_requests()[#graphql_requests()].body)
      local list = assert(user:authentications{})
      assert.equal(1, #list.nodes)
      assert.equal("my sqs", list.nodes[1].name)
      assert.equal("aws-sqs", list.nodes[1].service.name)
      assert(user:remove_authentication{ authenticationId = created.authenticationId })
      assert.equal(0, #assert(user:authentications{}).nodes)
    end)

    it("the master token sees the organisation's own authentications, not end users'", function()
      local _, user = new_user(emb, "auth-2")
      assert(user:create_user_authentication{ name = "mine", serviceId = SQS.service,
        serviceEnvironmentId = SQS.env, data = "{}", scopes = {} })
      local org = assert(emb:authentications{})
      for _, a in ipairs(org.nodes) do assert.not_equal("mine", a.name) end
      assert.is_true(#org.nodes >= 1)
    end)
  end)

  describe("solutions and solution instances", function()
    it("solutions return every documented field, filtered by tags", function()
      local all = assert(emb:solutions{})
      assert.is_true(#all.nodes >= 3)
      local s = all.nodes[1]
      assert.is_string(s.title)
      assert.is_table(s.tags)
      assert.is_table(s.configSlots)
      assert.is_table(s.authSlots)
      local tagged = assert(emb:solutions{ criteria = { tags = { "onboarding" } } })
      assert.is_true(#tagged.nodes >= 1)
      for _, n in ipairs(tagged.nodes) do
        local has = false
        for _, t in ipairs(n.tags) do has = has or t == "onboarding" end
        assert.is_true(has)
      end
    end)

    it("create, enable, update config, upgrade and remove an instance", function()
      local owner, user = new_user(emb, "inst-1")
      local created = assert(user:create_solution_instance{
        solutionId = SOLUTION, instanceName = "Ada's instance",
        configValues = { { externalId = "external_limit", value = 10 },
                         { externalId = "external_map", value = { a = 1 } } },
        clientMutationId = "c1",
      })
      assert.equal("c1", created.clientMutationId)
      local inst = created.solutionInstance
      assert.is_false(inst.enabled)
      assert.equal(owner, inst.owner)
      assert.equal(SOLUTION, inst.solution.id)
      local values = {}
      for _, cv in ipairs(inst.configValues) do values[cv.externalId] = cv.value end
      assert.equal("10", values.external_limit)
      assert.same({ a = 1 }, json.decode(values.external_map))
      assert.is_true(#inst.workflows.edges >= 1)

      local enabled = assert(user:update_solution_instance{ solutionInstanceId = inst.id, enabled = true })
      assert.is_true(enabled.solutionInstance.enabled)

      local upgraded = assert(user:upgrade_solution_instance{ solutionInstanceId = inst.id,
        configValues = { { externalId = "external_limit", value = "20" } } })
      for _, cv in ipairs(upgraded.solutionInstance.configValues) do
        if cv.externalId == "external_limit" then assert.equal("20", cv.value) end
      end

      local mine = assert(user:solution_instances{})
      assert.equal(1, mine.totalCount)
      assert.equal(inst.id, mine.nodes[1].id)
      local by_solution = assert(emb:solution_instances{ criteria = { solutionId = SOLUTION, owner = owner } })
      assert.equal(1, by_solution.totalCount)

      assert(user:remove_solution_instance{ solutionInstanceId = inst.id })
      assert.equal(0, assert(user:solution_instances{}).totalCount)
    end)

    it("checks configValues shapes before any request", function()
      local _, user = new_user(emb, "inst-2")
      emu.clear_requests()
      local v, err = user:create_solution_instance{ solutionId = SOLUTION, instanceName = "x",
        configValues = { { id = "a", value = "b" } } }
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      assert.same({}, graphql_requests())
    end)
  end)

  describe("projects and workflows", function()
    it("export_project then import_project round-trips", function()
      local ex = assert(emb:export_project{ projectId = PROJECT, exportSolution = true })
      assert.is_string(ex.exportedProjectJson)
      assert.is_table(json.decode(ex.exportedProjectJson))
      local im = assert(emb:import_project{ exportedProjectJson = ex.exportedProjectJson,
        targetProjectId = PROJECT, clientMutationId = "p" })
      assert.equal("p", im.clientMutationId)
      assert.equal(ex.exportedProjectJson, assert(emb:export_project{ projectId = PROJECT,
        exportSolution = true }).exportedProjectJson)
    end)

    it("export_workflows then import_workflows", function()
      local ex = assert(emb:export_workflows{ workflowIds = WORKFLOWS })
      local doc = json.decode(ex.exportedWorkflowsJson)
      assert.equal(2, #doc.workflows)
      assert(emb:import_workflows{ exportedWorkflowsJson = ex.exportedWorkflowsJson, targetWorkflowIds = WORKFLOWS })
      local v, err = emb:import_workflows{ exportedWorkflowsJson = ex.exportedWorkflowsJson,
        targetWorkflowIds = { WORKFLOWS[1] } }
      assert.is_nil(v)
      assert.equal("graphql", err.kind)
    end)
  end)

  describe("call_connector", function()
    local function sqs_auth(user)
      return assert(user:create_user_authentication{ name = "sf", serviceId = "9b1d3f5a-7c2e-4a8b-9d0f-1e3a5c7b9d03",
        serviceEnvironmentId = "3c5e7a9b-1d2f-4e6a-8b0c-2d4f6a8c0e04", data = "{}", scopes = {} }).authenticationId
    end

    it("encodes a table input to the JSON string the API wants and decodes the output", function()
      local _, user = new_user(emb, "cc-1")
      local auth = sqs_auth(user)
      local input = { limit = 10, fields = { "Id", "Name" }, object = "Lead", conditions_type = "Match all conditions" }
      local r = assert(user:call_connector{ connector = "salesforce", version = "8.1", operation = "get_records",
        authId = auth, input = input })
      assert.is_table(r.output)
      assert.is_table(r.output.records)
      local sent = json.decode(graphql_requests()[#graphql_requests()].body).variables
      assert.equal("string", type(sent.input))
      assert.same(input, json.decode(sent.input))
    end)

    it("call_connectors sends several calls in one request and returns outputs by alias", function()
      local _, user = new_user(emb, "cc-2")
      local auth = sqs_auth(user)
      emu.clear_requests()
      local out = assert(user:call_connectors{
        listAllLeads = { connector = "salesforce", version = "4.0", operation = "find_records", authId = auth,
          input = { limit = 10, object = "Lead" } },
        listWarmLeads = { connector = "salesforce", version = "4.0", operation = "find_records", authId = auth,
          input = { object = "Lead", conditions = { { field = "Rating", operator = "Equal to", value = "Warm" } } } },
      })
      assert.equal(1, #graphql_requests())
      assert.is_table(out.listAllLeads.records)
      assert.is_table(out.listWarmLeads.records)
      local q = json.decode(graphql_requests()[1].body).query
      assert.matches("listAllLeads: callConnector", q)
      assert.matches("listWarmLeads: callConnector", q)
    end)

    it("call_connectors refuses an alias that is not a GraphQL name", function()
      local v, err = emb:call_connectors{ ["bad alias"] = { connector = "a", version = "1", operation = "o",
        authId = "x", input = {} } }
      assert.is_nil(v)
      assert.equal("usage", err.kind)
    end)

    it("an unknown operation is a graphql error", function()
      local v, err = emb:call_connector{ connector = "nope", version = "1.0", operation = "nothing",
        authId = "x", input = {} }
      assert.is_nil(v)
      assert.equal("graphql", err.kind)
    end)
  end)

  describe("URL builders", function()
    it("config_wizard_url percent-encodes every part", function()
      assert.equal(emu.url .. "/external/solutions/acme%2Fco/configure/i%3F1?code=a%26b",
        emb:config_wizard_url{ partnerId = "acme/co", solutionInstanceId = "i?1", authorizationCode = "a&b" })
    end)

    it("config_wizard_url needs every part", function()
      local v, err = emb:config_wizard_url{ partnerId = "p", authorizationCode = "c" }
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      assert.matches("solutionInstanceId", err.message)
    end)

    it("auth_dialog_url has the standalone create, create-for-slot and edit forms", function()
      assert.equal(emu.url .. "/external/auth/create/p?code=c&serviceId=s%2F1&serviceEnvironmentId=e",
        emb:auth_dialog_url{ partnerId = "p", authorizationCode = "c", serviceId = "s/1", serviceEnvironmentId = "e" })
      assert.equal(emu.url .. "/external/auth/create/p?code=c&serviceId=s&serviceEnvironmentId=e" ..
        "&scopes%5B%5D=chat%3Awrite&scopes%5B%5D=users.read",
        emb:auth_dialog_url{ partnerId = "p", authorizationCode = "c", serviceId = "s", serviceEnvironmentId = "e",
          scopes = { "chat:write", "users.read" } })
      assert.equal(emu.url .. "/external/auth/create/p?code=c&serviceId=s&serviceEnvironmentId=e&scopes%5B%5D=x",
        emb:auth_dialog_url{ partnerId = "p", authorizationCode = "c", serviceId = "s", serviceEnvironmentId = "e",
          scopes = "x" })
      assert.equal(emu.url .. "/external/auth/create/p/i/external_slack?code=c",
        emb:auth_dialog_url{ partnerId = "p", authorizationCode = "c", solutionInstanceId = "i",
          externalAuthId = "external_slack" })
      assert.equal(emu.url .. "/external/auth/edit/p/a%20b?code=c",
        emb:auth_dialog_url{ partnerId = "p", authorizationCode = "c", authId = "a b" })
      assert.is_nil((emb:auth_dialog_url{ partnerId = "p", authorizationCode = "c", solutionInstanceId = "i" }))
    end)

    it("auth_dialog_url refuses an incomplete or mixed form, naming what it needs", function()
      for _, case in ipairs({
        { a = { partnerId = "p", authorizationCode = "c" }, says = "serviceId and serviceEnvironmentId" },
        { a = { partnerId = "p", authorizationCode = "c", serviceId = "s" }, says = "serviceEnvironmentId" },
        { a = { partnerId = "p", authorizationCode = "c", serviceEnvironmentId = "e" }, says = "serviceId" },
        { a = { partnerId = "p", authorizationCode = "c", serviceId = "s", serviceEnvironmentId = "e",
                scopes = { "a", 5 } }, says = "scopes%[2%]" },
        { a = { partnerId = "p", authorizationCode = "c", serviceId = "s", serviceEnvironmentId = "e", scopes = 5 },
          says = "scopes is a list" },
        { a = { partnerId = "p", authorizationCode = "c", serviceId = "s", serviceEnvironmentId = "e",
                solutionInstanceId = "i", externalAuthId = "x" }, says = "do not go with" },
        { a = { partnerId = "p", authorizationCode = "c", authId = "a", serviceId = "s" }, says = "does not go with" },
      }) do
        local v, err = emb:auth_dialog_url(case.a)
        assert.is_nil(v)
        assert.equal("usage", err.kind)
        assert.matches(case.says, err.message)
      end
      assert.same({}, emu.requests())
    end)
  end)

  describe("errors", function()
    it("the documented rate-limit answer (HTTP 200) is kind rate_limited", function()
      emu.fault{ match = { operation = "users" }, mode = "graphql_rate_limit" }
      local v, err = emb:users{}
      assert.is_nil(v)
      assert.equal("rate_limited", err.kind)
      assert.equal("access_not_allowed", err.errors[1].extensions.code)
    end)

    it("a validation error of the server is kind graphql", function()
      local v, err = emb:query("query { users { nope } }")
      assert.is_nil(v)
      assert.equal("graphql", err.kind)
      assert.matches("Cannot query field", err.message)
    end)

    it("query runs any document with variables and returns data", function()
      emu.seed_users(3, "q-")
      local data = assert(emb:query("query ($n: Int) { users(first: $n) { edges { node { name } } } }", { n = 2 }))
      assert.equal(2, #data.users.edges)
    end)

    it("never carry a token", function()
      local _, user, token = new_user(emb, "sec-1")
      local _, e1 = user:users{}
      local _, e2 = emu.embedded{ master_token = "not-a-token" }:users{}
      local _, e3 = user:call_connector{ connector = "x", version = "1", operation = "y", authId = "z", input = {} }
      for _, e in ipairs({ e1, e2, e3 }) do
        assert.is_table(e)
        emu.assert_no_secret(e, { token, "not-a-token" })
      end
    end)
  end)

  describe("the docs' request samples", function()
    local f = assert(io.open("emulator/graphql/doc-samples.json"))
    local samples = assert(json.decode(f:read("*a")))
    f:close()
    local USER_ONLY = { createSolutionInstance = true, updateSolutionInstance = true,
                        upgradeSolutionInstance = true, removeSolutionInstance = true }

    -- every curl sample and inline example of the GraphQL text (slips fixed, see "fixed")
    for _, sample in ipairs(samples.samples) do
      do
        it("validate against the schema and run: " .. sample.name, function()
          local client = emb
          if USER_ONLY[sample.query:match("mutation[^{]*{%s*(%w+)") or ""] then
            local _, user = new_user(emb, "sample-" .. sample.name:gsub("%W", ""))
            client = user
          end
          local variables = sample.variables
          if variables ~= nil and next(variables) == nil then variables = nil end
          local data, err = client:query(sample.query, variables)
          if not data then
            assert.equal("graphql", err.kind)
            for _, e in ipairs(err.errors) do
              -- execution errors (placeholder ids not found ...) have a path; validation errors do not
              assert.is_table(e.path, "validation error: " .. tostring(e.message))
            end
          end
        end)
      end
    end

    it("the published slips are rejected as invalid GraphQL", function()
      local rejected = 0
      for _, slip in ipairs(samples.slips) do
        if not slip.validates then
          local data, err = emb:query(slip.query, next(slip.variables or {}) and slip.variables or nil)
          assert.is_nil(data, slip.name)
          assert.equal("graphql", err.kind)
          rejected = rejected + 1
        end
      end
      assert.is_true(rejected >= 3)
    end)
  end)
end)
