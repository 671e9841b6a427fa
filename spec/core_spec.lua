-- tray.core: every REST method over real HTTP against the emulator.

local emu = require "spec.helpers.emulator"
local tray = require "tray"
local json = require "tray.json"

local SEED = {
  workspace = "6f1c2a9e-3b4d-4e8f-9a01-2b3c4d5e6f70",
  project = "c0ffee00-1234-4abc-8def-0123456789ab",
  auth = "5b7e2c1a-9d3f-4a6b-8c0e-1f2a3b4c5d6e",
}

-- every error a spec meets is kept here and scanned for tokens at the end
local seen_errors = {}
local function keep(err)
  if err ~= nil then seen_errors[#seen_errors + 1] = err end
  return err
end

local function call(client, name, ...)
  local v, err = client[name](client, ...)
  keep(err)
  return v, err
end

describe("tray.core", function()
  local core

  before_each(function()
    emu.reset()
    core = emu.core()
  end)

  describe("new", function()
    it("needs a token, as an option or TRAY_TOKEN", function()
      local c, err = tray.core.new{ base_url = emu.core_url, token = "" }
      assert.is_nil(c)
      assert.equal("usage", keep(err).kind)
      assert.matches("token is required", err.message)
    end)

    it("refuses a token with CR, LF or NUL before any request", function()
      emu.clear_requests()
      for _, bad in ipairs({ "abc\r\nX-Evil: 1", "abc\n", "a\0b" }) do
        local c, err = tray.core.new{ base_url = emu.core_url, token = bad }
        assert.is_nil(c)
        assert.equal("usage", keep(err).kind)
        assert.not_matches("Evil", tostring(err))
      end
      assert.same({}, emu.requests())
    end)

    it("knows the three regions and their base URLs", function()
      assert.equal("https://api.tray.io/core/v1", tray.regions.us.core)
      assert.equal("https://api.eu1.tray.io/core/v1", tray.regions.eu.core)
      assert.equal("https://api.ap1.tray.io/core/v1", tray.regions.apac.core)
      local c = assert(tray.core.new{ token = "t", region = "eu" })
      -- an explicit region wins over TRAY_CORE_URL (set by the test runner): explicit > environment
      assert.equal(tray.regions.eu.core, c.base_url)
    end)

    it("refuses an unknown region and a base_url that is not http(s)", function()
      local c, err = tray.core.new{ token = "t", region = "mars" }
      assert.is_nil(c)
      assert.equal("usage", keep(err).kind)
      c, err = tray.core.new{ token = "t", base_url = "ftp://example.com/core/v1" }
      assert.is_nil(c)
      assert.equal("usage", keep(err).kind)
    end)

    it("refuses option values of the wrong type", function()
      local c, err = tray.core.new{ token = "t", timeout = "soon" }
      assert.is_nil(c)
      assert.equal("usage", keep(err).kind)
      c, err = tray.core.new{ token = "t", rate_limit = 30 }
      assert.is_nil(c)
      assert.equal("usage", keep(err).kind)
    end)
  end)

  describe("requests", function()
    it("send the bearer token, JSON headers and the tray-lua User-Agent", function()
      assert(call(core, "list_workspaces"))
      local r = emu.last_request("/workspaces")
      assert.equal("GET", r.method)
      assert.equal("/core/v1/workspaces", r.path)
      assert.equal("Bearer " .. emu.master_token, r.headers.authorization)
      assert.equal("application/json", r.headers.accept)
      assert.matches("^tray%-lua/" .. tray.VERSION:gsub("%.", "%%.") .. "$", r.headers["user-agent"])
    end)

    it("send a JSON body with Content-Type: application/json and the documented field names", function()
      assert(call(core, "invite_user", { email = "ada@example.com", role = "member", workspaceId = SEED.workspace }))
      local r = emu.last_request("/users/invite")
      assert.equal("POST", r.method)
      assert.equal("application/json", r.headers["content-type"])
      assert.same({ email = "ada@example.com", role = "member", workspaceId = SEED.workspace }, json.decode(r.body))
    end)

    it("put a caller's user_agent before tray-lua/<version>", function()
      local c = emu.core{ user_agent = "onboarder/2.0" }
      assert(call(c, "list_users"))
      assert.equal("onboarder/2.0 tray-lua/" .. tray.VERSION, emu.last_request("/users").headers["user-agent"])
    end)

    it("reuse one connection for consecutive calls (keep-alive)", function()
      for _ = 1, 5 do assert(call(core, "list_triggers")) end
      local stats = emu.stats()
      assert.equal(5, stats.byRoute["GET /core/v1/triggers"])
      local ports = {}
      for _, r in ipairs(emu.requests()) do
        assert.is_number(r.remotePort)
        ports[r.remotePort] = true
      end
      local n = 0
      for _ in pairs(ports) do n = n + 1 end
      assert.equal(1, n)
    end)
  end)

  describe("connectors", function()
    it("list_connectors returns the catalogue in .elements", function()
      local body = assert(call(core, "list_connectors"))
      local found = {}
      for _, c in ipairs(body.elements) do found[c.name .. "@" .. c.version] = c.title end
      assert.equal("Outreach", found["outreach@3.2"])
      assert.equal("Twilio", found["twilio-output@2.1"])
    end)

    it("get_connector_version returns one version with its operations", function()
      local v = assert(call(core, "get_connector_version", "twilio-output", "2.1"))
      assert.equal("twilio-output", v.name)
      assert.equal("2.1", v.version)
      assert.equal("send_sms", v.operations[1].name)
      local r = emu.last_request()
      assert.equal("/core/v1/connectors/twilio-output/versions/2.1", r.path)
    end)

    it("get_connector_version also takes its documented argument names", function()
      local v = assert(call(core, "get_connector_version", { connectorName = "clearbit", connectorVersion = "2.0" }))
      assert.equal("clearbit", v.name)
    end)

    it("list_connector_operations returns the documented send_sms input schema", function()
      local body = assert(call(core, "list_connector_operations", "twilio-output", "2.1"))
      local op = body.elements[1]
      assert.equal("send_sms", op.name)
      assert.same({ "to", "from", "body" }, op.inputSchema.required)
      assert.equal("string", op.inputSchema.properties.media_url.type)
      assert.is_false(op.inputSchema.additionalProperties)
    end)

    it("get_connector_version of an unknown connector is not_found", function()
      local v, err = call(core, "get_connector_version", "no-such-connector", "1.0")
      assert.is_nil(v)
      assert.equal("not_found", err.kind)
      assert.equal(404, err.status)
      assert.equal("get_connector_version", err.operation)
    end)

    it("versions are strings: a number is a usage error, before any request", function()
      emu.clear_requests()
      local v, err = call(core, "get_connector_version", "twilio-output", 2.1)
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      assert.matches("connectorVersion", err.message)
      assert.same({}, emu.requests())
    end)
  end)

  describe("call_connector", function()
    local args = function(input)
      return { connector = "twilio-output", version = "2.1", operation = "send_sms", authId = SEED.auth,
               input = input }
    end

    it("POSTs operation, authId and input, and returns { outcome, output }", function()
      local out = assert(call(core, "call_connector",
        args({ to = "+15550001", from = "+15550002", body = "Hello" })))
      assert.equal("success", out.outcome)
      assert.equal("queued", out.output.status)
      local r = emu.last_request("/call")
      assert.equal("/core/v1/connectors/twilio-output/versions/2.1/call", r.path)
      assert.same({ operation = "send_sms", authId = SEED.auth,
                    input = { to = "+15550001", from = "+15550002", body = "Hello" } }, json.decode(r.body))
    end)

    it("an input that breaks the input schema comes back as an http error (400) with the server's message", function()
      local out, err = call(core, "call_connector", args({ to = "+15550001" }))
      assert.is_nil(out)
      assert.equal("http", err.kind)
      assert.equal(400, err.status)
      assert.matches("from", err.message)
      assert.matches("body", err.message)
    end)

    it("a connector that answers outcome = error is kind connector, with the output kept", function()
      local out, err = call(core, "call_connector", args({ to = "5550001", from = "+15550002", body = "x" }))
      assert.is_nil(out)
      assert.equal("connector", err.kind)
      assert.equal(21211, err.output.code)
      assert.matches("not a valid phone number", err.message)
    end)

    it("needs connector, version and operation", function()
      emu.clear_requests()
      for _, missing in ipairs({ "connector", "version", "operation" }) do
        local a = args({})
        a[missing] = nil
        local out, err = call(core, "call_connector", a)
        assert.is_nil(out)
        assert.equal("usage", err.kind)
        assert.matches(missing, err.message)
      end
      assert.same({}, emu.requests())
    end)

    it("refuses an argument it does not know (a typo is not sent silently)", function()
      local a = args({})
      a.authID = "x"
      local out, err = call(core, "call_connector", a)
      assert.is_nil(out)
      assert.equal("usage", err.kind)
      assert.matches('"authID"', err.message)
    end)

    it("sends an empty input marked with tray.json.array as []", function()
      assert(call(core, "call_connector", { connector = "trello", version = "2.0", operation = "get_board_by_id",
        authId = SEED.auth, input = { board_id = "b1", include_cards = "all", include_lists = "all",
        include_members = "none", include_labels = "none", fields = "all", include_actions = json.array() } }))
      assert.matches('"include_actions":%[%]', emu.last_request("/call").body)
    end)
  end)

  describe("authentications", function()
    it("create, get, list and delete round-trip", function()
      local created = assert(call(core, "create_authentication", {
        name = "Slack for Ada", serviceEnvironmentId = "env-slack-4",
        data = { access_token = "secret-value" }, scopes = json.array(),
      }))
      assert.is_string(created.id)
      assert.equal("Slack for Ada", created.name)
      assert.is_nil(created.data)
      local got = assert(call(core, "get_authentication", created.id))
      assert.equal(created.id, got.id)
      local list = assert(call(core, "list_authentications"))
      local ids = {}
      for _, a in ipairs(list.elements) do ids[a.id] = true end
      assert.is_true(ids[created.id])
      assert.is_true(call(core, "delete_authentication", created.id))
      local r = emu.last_request()
      assert.equal("DELETE", r.method)
      local gone, err = call(core, "get_authentication", created.id)
      assert.is_nil(gone)
      assert.equal("not_found", err.kind)
    end)

    it("create_authentication needs name and serviceEnvironmentId", function()
      local a, err = call(core, "create_authentication", { name = "x" })
      assert.is_nil(a)
      assert.equal("usage", err.kind)
      assert.matches("serviceEnvironmentId", err.message)
    end)
  end)

  describe("path segments", function()
    for _, id in ipairs({ "a/b", "what?x=1", "with space", "../../users", "hash#frag", "100%" }) do
      it(string.format("percent-encode %q so it stays one segment", id), function()
        local v, err = call(core, "get_authentication", id)
        assert.is_nil(v)
        assert.equal("not_found", err.kind)
        local r = emu.last_request()
        assert.equal(4, #r.segments)
        assert.same({ "core", "v1", "authentications", id }, r.segments)
        assert.equal("/core/v1/authentications/" .. require("tray.native").escape(id), r.path)
      end)
    end
  end)

  describe("triggers and subscriptions", function()
    it("list_triggers, then create and delete a subscription", function()
      local triggers = assert(call(core, "list_triggers"))
      local t
      for _, x in ipairs(triggers.elements) do if x.connectorName == "twilio-output" then t = x end end
      assert.is_table(t)
      local sub = assert(call(core, "create_subscription", {
        triggerName = t.name, connectorName = "twilio-output", connectorVersion = "2.1",
        authId = SEED.auth, input = { phone_number = "+15550001" },
      }))
      assert.equal("active", sub.status)
      assert.is_true(call(core, "delete_subscription", sub.id))
      local again, err = call(core, "delete_subscription", sub.id)
      assert.is_nil(again)
      assert.equal("not_found", err.kind)
    end)

    it("create_subscription checks all five documented fields", function()
      local sub, err = call(core, "create_subscription", { triggerName = "x" })
      assert.is_nil(sub)
      assert.equal("usage", err.kind)
    end)
  end)

  describe("users and workspaces", function()
    it("list_users returns the organisation's users", function()
      local users = assert(call(core, "list_users"))
      assert.is_true(#users.elements >= 1)
      assert.is_string(users.elements[1].email)
    end)

    it("invite_user returns the invited user", function()
      local u = assert(call(core, "invite_user", { email = "grace@example.com" }))
      assert.equal("grace@example.com", u.email)
      assert.equal("invited", u.status)
    end)

    it("list_workspaces and get_workspace", function()
      local list = assert(call(core, "list_workspaces"))
      assert.equal(2, #list.elements)
      local w = assert(call(core, "get_workspace", SEED.workspace))
      assert.equal("Development", w.name)
    end)
  end)

  describe("projects", function()
    it("export then import round-trips the exported data", function()
      local exported = assert(call(core, "export_project", SEED.project))
      assert.is_string(exported.exportedData)
      local r = emu.last_request("/export")
      assert.equal("POST", r.method)
      local imported = assert(call(core, "import_project", { exportedData = exported.exportedData,
        workspaceId = SEED.workspace }))
      assert.is_string(imported.projectId)
      assert.not_equal(SEED.project, imported.projectId)
      local again = assert(call(core, "export_project", imported.projectId))
      assert.equal(exported.exportedData, again.exportedData)
    end)

    it("import of data that is not JSON is an http 400", function()
      local v, err = call(core, "import_project", { exportedData = "not json" })
      assert.is_nil(v)
      assert.equal("http", err.kind)
      assert.equal(400, err.status)
    end)
  end)

  describe("each / all", function()
    it("all('list_connectors') returns every element", function()
      local all = assert(core:all("list_connectors"))
      assert.equal(#assert(call(core, "list_connectors")).elements, #all)
    end)

    it("each raises the error object when a page fails", function()
      local c = emu.core{ token = "wrong" }
      local ok, err = pcall(function() for _ in c:each("list_users") do end end)
      assert.is_false(ok)
      assert.equal("auth", keep(err).kind)
    end)
  end)

  describe("errors", function()
    it("401: kind auth, with the message of the { error, message } body", function()
      local c = emu.core{ token = "not-a-token" }
      local v, err = call(c, "list_users")
      assert.is_nil(v)
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      assert.matches("^tray: auth: .+ %[HTTP 401%] %(list_users%)$", tostring(err))
    end)

    it("reads the other documented body shape, { message, code }", function()
      emu.config{ restErrorStyle = "published" }
      local v, err = call(core, "get_workspace", "nope")
      assert.is_nil(v)
      assert.equal("not_found", err.kind)
      assert.equal("NOT_FOUND", err.code)
      assert.matches("nope", err.message)
    end)

    it("nothing listening: kind network", function()
      local c = emu.core{ base_url = emu.dead_url() }
      local v, err = call(c, "list_users")
      assert.is_nil(v)
      assert.equal("network", err.kind)
    end)

    it("a server slower than the timeout: kind timeout", function()
      emu.fault{ match = { path = "/core/v1/users" }, mode = "delay", delayMs = 2000 }
      local c = emu.core{ timeout = 0.3 }
      local v, err = call(c, "list_users")
      assert.is_nil(v)
      assert.equal("timeout", err.kind)
    end)

    it("a body that is not JSON: kind decode, with the body kept", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "malformed_json" }
      local v, err = call(core, "list_workspaces")
      assert.is_nil(v)
      assert.equal("decode", err.kind)
      assert.is_string(err.body)
    end)

    it("a 5xx: kind http with the status", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "status", status = 500 }
      local v, err = call(core, "list_workspaces")
      assert.is_nil(v)
      assert.equal("http", err.kind)
      assert.equal(500, err.status)
      assert.equal("Internal server error", err.message)
    end)

    it("a redirect is not followed and reported as http", function()
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "redirect" }
      local v, err = call(core, "list_workspaces")
      assert.is_nil(v)
      assert.equal("http", err.kind)
      assert.equal(307, err.status)
      for _, r in ipairs(emu.requests()) do assert.not_equal("alt", r.listener) end
    end)

    it("a 403 is kind forbidden", function()
      emu.fault{ match = { path = "/core/v1/users" }, mode = "status", status = 403 }
      local v, err = call(core, "list_users")
      assert.is_nil(v)
      assert.equal("forbidden", err.kind)
    end)

    it("no error ever holds a token", function()
      -- an echoing server: the message carries the token back
      local c = emu.core{ transport = function(req)
        return { status = 400, headers = { ["Content-Type"] = "application/json" },
                 body = json.encode({ error = "Bad", message = "you sent " .. req.headers.Authorization }) }
      end }
      local v, err = call(c, "list_users")
      assert.is_nil(v)
      assert.equal("http", err.kind)
      assert.matches("%[redacted%]", err.message)
      assert.is_true(#seen_errors > 20)
      for _, e in ipairs(seen_errors) do emu.assert_no_secret(e, { "not-a-token", "wrong" }) end
    end)
  end)

  describe("custom transport", function()
    it("gets method, url, headers (with Authorization) and body, and its answer is decoded", function()
      local seen
      local c = emu.core{ transport = function(req)
        seen = req
        return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = '{"elements":[]}' }
      end }
      local body = assert(call(c, "invite_user", { email = "x@example.com" }))
      assert.same({}, body.elements)
      assert.equal("POST", seen.method)
      assert.equal(emu.core_url .. "/users/invite", seen.url)
      assert.equal("Bearer " .. emu.master_token, seen.headers.Authorization)
      assert.equal("application/json", seen.headers["Content-Type"])
      assert.same({ email = "x@example.com" }, json.decode(seen.body))
    end)
  end)
  describe("array fields and paged lists (Tray's newer spec)", function()
    local function invite(n)
      for i = 1, n do assert(call(core, "invite_user", { email = "page" .. i .. "@example.com" })) end
    end

    local function get_count(path)
      local n = 0
      for _, r in ipairs(emu.requests()) do
        if r.method == "GET" and r.path:find(path, 1, true) then n = n + 1 end
      end
      return n
    end

    it("an empty Lua table in an array-typed field (scopes) is sent as []", function()
      local created = assert(call(core, "create_authentication", {
        name = "No scopes", serviceEnvironmentId = "env-slack-4", data = { access_token = "x" }, scopes = {} }))
      assert.same({}, created.scopes)
      local body = emu.last_request("/authentications").body
      assert.matches('"scopes":%[%]', body)
      assert.is_nil(body:find('"data":[]', 1, true))
    end)

    it("list methods take first and cursor/after and return the server's pageInfo", function()
      invite(5)
      local all = assert(call(core, "list_users")).elements
      assert.is_true(#all >= 5)
      local p1 = assert(call(core, "list_users", { first = 2 }))
      assert.equal(2, #p1.elements)
      assert.is_true(p1.pageInfo.hasNextPage)
      assert.same({ first = "2" }, emu.last_request("/users").query)
      local p2 = assert(call(core, "list_users", { first = 2, after = p1.pageInfo.endCursor }))
      assert.equal(all[3].id, p2.elements[1].id)
      local p2b = assert(call(core, "list_users", { first = 2, cursor = p1.pageInfo.endCursor }))
      assert.same(p2.elements, p2b.elements)
      -- positional path arguments still work on a list with paging
      assert(call(core, "list_connector_operations", "twilio-output", "2.1"))
    end)

    it("refuses bad paging arguments before any request", function()
      emu.clear_requests()
      for _, args in ipairs({ { first = 0 }, { first = 101 }, { first = 1.5 }, { first = "2" }, { cursor = "" },
                              { after = 3 }, { cursor = "a", after = "b" } }) do
        local v, err = call(core, "list_users", args)
        assert.is_nil(v)
        assert.equal("usage", err.kind)
      end
      assert.equal(0, get_count("/users"))
    end)

    it("each and all page through a paged list", function()
      invite(7)
      local want = assert(call(core, "list_users")).elements
      emu.clear_requests()
      local got = {}
      for u in core:each("list_users", { first = 3 }) do got[#got + 1] = u.id end
      assert.equal(#want, #got)
      for i, u in ipairs(want) do assert.equal(u.id, got[i]) end
      assert.equal(math.ceil(#want / 3), get_count("/users"))
      local all = assert(core:all("list_users", { first = 2 }))
      assert.equal(#want, #all)
    end)

    it("each on a list the server does not page yields its one page", function()
      local n = #assert(call(core, "list_connectors")).elements
      emu.clear_requests()
      local count = 0
      for _ in core:each("list_connectors") do count = count + 1 end
      assert.equal(n, count)
      assert.equal(1, get_count("/connectors"))
    end)
  end)
end)
