-- Validated connector calls (tray.validate, wired into tray.core and tray.embedded): input
-- schemas fetched from the emulator's catalogue, cached, and checked before a call is sent.

local emu = require "spec.helpers.emulator"
local tray = require "tray"
local json = require "tray.json"
local schema = require "tray.schema"
local validate = require "tray.validate"

local SEED_AUTH = "5b7e2c1a-9d3f-4a6b-8c0e-1f2a3b4c5d6e"
local OPS_ROUTE = "GET /core/v1/connectors/{connectorName}/versions/{connectorVersion}/operations"
local CALL_ROUTE = "POST /core/v1/connectors/{connectorName}/versions/{connectorVersion}/call"

-- every error a spec meets is scanned for tokens
local function keep(...)
  local err = select(2, ...)
  if err ~= nil then emu.assert_no_secret(err) end
  return ...
end

local function lines(errs)
  local out = {}
  for i, e in ipairs(errs) do out[i] = e.path .. ": " .. e.message end
  return out
end

local function route_count(route)
  return emu.stats().byRoute[route] or 0
end

local function connector_calls()
  local n = 0
  for _, c in pairs(emu.stats().connectorCalls) do n = n + c end
  return n
end

local function count_requests(pattern)
  local n = 0
  for _, r in ipairs(emu.requests()) do
    if r.path:find(pattern) then n = n + 1 end
  end
  return n
end

local ENUM_ROLES = 'must be one of "ceo", "communications", "consulting", "customer_service", "education", ' ..
  '"engineering", "finance", "founder", "health_professional", "human_resources", "information_technology", ' ..
  '"legal", "marketing", "operations", "owner", "president", "product", "public_relations", "real_estate", ' ..
  '"recruiting", "research", "sales"'

-- Real operations of the catalogue: a valid input, an invalid one, and every violation expected.
-- `no_paths`: the server's error list is not comparable path by path (ajv names the oneOf
-- branches' errors too; a string input is refused by the REST body check before ajv).
local CASES = {
  { "twilio-output", "2.1", "send_sms",
    valid = { to = "+15550001", from = "+15550002", body = "Hello", media_url = "https://example.com/a.png",
              status_callback = "https://example.com/cb" },
    invalid = { media_url = 5, extra = true },
    errors = { "/to: required", "/from: required", "/body: required", "/extra: unexpected property",
               "/media_url: expected string, got number" } },
  { "clearbit", "2.0", "reveal_api", valid = { ip = "93.184.216.34" }, invalid = { ip = 1234 },
    errors = { "/ip: expected string, got number" } },
  { "clearbit", "2.0", "discovery_api",
    valid = { query = "tech:stripe", page = 2, page_size = 10, limit = 100, sort = "alexa_asc" },
    invalid = { page = 1.5, limit = "10" },
    errors = { "/query: required", "/limit: expected integer, got string", "/page: expected integer, got number" } },
  { "clearbit", "2.0", "company_by_domain", valid = { domain = "example.com" }, invalid = {},
    errors = { "/domain: required" } },
  { "clearbit", "2.0", "combined_by_email", valid = { email = "alex@example.com" }, invalid = { email = json.null },
    errors = { "/email: expected string, got null" } },
  { "clearbit", "2.0", "person_by_email", valid = { email = "alex@example.com" },
    invalid = { email = "alex@example.com", mail = "x" }, errors = { "/mail: unexpected property" } },
  { "clearbit", "2.0", "prospector_api",
    valid = { domain = "example.com", page_size = 5, page = 1, roles = { "ceo", "sales" },
              seniorities = { "director" }, suppression = "eu", cities = json.array(), api_version = "2019-12-19",
              titles = { "CTO" }, countries = { "US" }, states = { "CA" }, name = "Alex", query = "q" },
    invalid = { page_size = 5.5, roles = { "ceo", "king" }, suppression = "us", titles = "cto" },
    errors = { "/domain: required", "/page_size: expected integer, got number", "/roles/1: " .. ENUM_ROLES,
               '/suppression: must be one of "eu", "eu_strict"', "/titles: expected array, got string" } },
  { "clearbit", "2.1", "reveal_api", valid = { ip = "10.0.0.1" }, invalid = { ip = { "10.0.0.1" } },
    errors = { "/ip: expected string, got array" } },
  { "clearbit", "2.1", "person_by_email", no_paths = true, valid = { email = "a@b.example" },
    invalid = "alex@example.com",
    errors = { ": expected object, got string" } },
  { "trello", "2.0", "get_board_by_id",
    valid = { board_id = "b1", include_cards = "all", include_lists = "open", include_members = "none",
              include_labels = "all", fields = "all", include_actions = json.array() },
    invalid = { board_id = "b1", include_cards = "some", fields = "all", include_labels = "all",
                include_members = "all", include_lists = "all", include_actions = { 1 } },
    errors = { "/include_actions/0: expected string, got number",
               '/include_cards: must be one of "none", "all", "open", "closed", "visible"' } },
  { "trello", "2.0", "create_new_card",
    valid = { list_id = "l1", position = "top", board = "b1", labels = { "red", "blue" }, due_date = 1700000000,
              members = { "m1" }, name = "Card", description = "d" },
    invalid = { list_id = "l1", position = 1, board = "b1", due_date = 17.5, members = { "m1", true } },
    errors = { "/due_date: expected string or integer, got number", "/members/1: expected string, got boolean",
               "/position: expected string, got number" } },
  { "trello", "2.0", "update_card_custom_field", no_paths = true,
    valid = { card_id = "c1", custom_field_id = "f1", board_id = "b1", custom_field_value = { value = 2.5 } },
    invalid = { card_id = "c1", custom_field_id = "f1", board_id = "b1", custom_field_value = { value = true } },
    errors = { "/custom_field_value: must match exactly one schema in oneOf (matched 0)" } },
  { "trello", "2.0", "search",
    valid = { query = "q", data_type = "cards", items_limit = 10, board_ids = { "b1" }, partial = "true" },
    invalid = { query = "q", data_type = "everything", items_limit = "10", partial = false },
    errors = { '/data_type: must be one of "all", "actions", "boards", "cards", "members", "organizations"',
               "/items_limit: expected number, got string", "/partial: expected string, got boolean" } },
  { "trello", "2.0", "list_boards", valid = {}, invalid = { filter = { "open", "mine" } },
    errors = { '/filter/1: must be one of "all", "closed", "members", "open", "organization", "public", "starred"' } },
  { "trello", "2.0", "add_checklist_item",
    valid = { checklist_id = "k1", name = "Item", position = "bottom", is_checked = "false" },
    invalid = { checklist_id = "k1", name = json.array(), position = "bottom", is_checked = true },
    errors = { "/is_checked: expected string, got boolean", "/name: expected string, got array" } },
  { "trello", "2.0", "create_new_board",
    valid = { name = "Board", add_default_labels = "true", add_default_lists = "false" },
    invalid = { add_default_labels = "yes" },
    errors = { "/name: required", "/add_default_lists: required",
               '/add_default_labels: must be one of "true", "false"' } },
}

local function args_of(case, input)
  return { connector = case[1], version = case[2], operation = case[3], authId = SEED_AUTH, input = input }
end

describe("validated connector calls", function()
  local core

  before_each(function()
    emu.reset()
    core = emu.core{ validate = true }
  end)

  describe("the real schemas of the catalogue", function()
    for _, case in ipairs(CASES) do
      local name = case[1] .. " " .. case[2] .. " " .. case[3]

      it(name .. ": a valid input passes, is sent, and the server agrees", function()
        assert.is_true(keep(core:validate_input(args_of(case, case.valid))))
        local out = assert(keep(core:call_connector(args_of(case, case.valid))))
        assert.equal("success", out.outcome)
        assert.equal(1, emu.stats().connectorCalls[case[1] .. "/" .. case[2] .. "/" .. case[3]])
      end)

      it(name .. ": an invalid input lists every violation and is not sent", function()
        local ok, err = keep(core:validate_input(args_of(case, case.invalid)))
        assert.is_nil(ok)
        assert.equal("validation", err.kind)
        assert.same(case.errors, lines(err.errors))
        local out, err2 = keep(core:call_connector(args_of(case, case.invalid)))
        assert.is_nil(out)
        assert.equal("validation", err2.kind)
        assert.same(case.errors, lines(err2.errors))
        assert.equal(0, route_count(CALL_ROUTE))
        -- the server's ajv refuses it too, at the same places
        local plain = emu.core()
        local sent, http = keep(plain:call_connector(args_of(case, case.invalid)))
        assert.is_nil(sent)
        assert.equal("http", http.kind)
        assert.equal(400, http.status)
        if not case.no_paths then
          local server, ours = {}, {}
          for _, e in ipairs(json.decode(http.body).errors) do server[e.path == "/" and "" or e.path] = true end
          for _, e in ipairs(err.errors) do ours[e.path] = true end
          assert.same(ours, server)
        end
      end)
    end
  end)

  describe("the error", function()
    it("says which operation and lists each violation as path: message", function()
      local _, err = keep(core:call_connector{ connector = "twilio-output", version = "2.1", operation = "send_sms",
        input = { to = "+15550001", from = "+15550002", body = "hi", media_url = 5 } })
      assert.equal("validation", err.kind)
      assert.equal("input breaks the input schema of send_sms: /media_url: expected string, got number", err.message)
      assert.same({ { path = "/media_url", message = "expected string, got number" } }, err.errors)
      assert.equal("call_connector", err.operation)
      assert.equal("twilio-output", err.connector)
      assert.equal("2.1", err.version)
      assert.matches("^tray: validation: input breaks", tostring(err))
    end)

    it("spells out the first violations in the message and keeps them all in err.errors", function()
      local required, props = {}, {}
      for i = 1, 25 do
        required[i] = string.format("f%02d", i)
        props[required[i]] = { type = "string" }
      end
      local v = assert(validate.new{ schemas = { ["many@1.0/op"] = { type = "object", properties = props,
        required = required } } })
      local ok, err = v:check("many", "1.0", "op", {})
      assert.is_nil(ok)
      assert.equal(25, #err.errors)
      assert.matches("/f20: required %(and 5 more%)$", err.message)
      assert.not_matches("/f21", err.message)
    end)

    it("shows the root as (root) in the message", function()
      local _, err = keep(core:validate_input{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        input = "1.2.3.4" })
      assert.equal("input breaks the input schema of reveal_api: (root): expected object, got string", err.message)
      assert.equal("", err.errors[1].path)
    end)
  end)

  describe("an invalid input to a validated call", function()
    it("never reaches the server: only the schema is fetched, and only once", function()
      emu.clear_requests()
      local bad = { connector = "twilio-output", version = "2.1", operation = "send_sms", authId = SEED_AUTH,
                    input = { to = 15550001, body = json.array() } }
      for _ = 1, 3 do
        local out, err = keep(core:call_connector(bad))
        assert.is_nil(out)
        assert.equal("validation", err.kind)
        assert.same({ "/from: required", "/body: expected string, got array", "/to: expected string, got number" },
          lines(err.errors))
      end
      local log = emu.requests()
      assert.equal(1, #log)
      assert.equal("GET", log[1].method)
      assert.equal("/core/v1/connectors/twilio-output/versions/2.1/operations", log[1].path)
      assert.equal(0, count_requests("/call$"))
      assert.equal(0, connector_calls())
    end)

    it("is sent when the call says validate = false (and the server refuses it)", function()
      local out, err = keep(core:call_connector{ connector = "twilio-output", version = "2.1",
        operation = "send_sms", input = { to = "+1" }, validate = false })
      assert.is_nil(out)
      assert.equal("http", err.kind)
      assert.equal(400, err.status)
      assert.equal(1, route_count(CALL_ROUTE))
      assert.equal(0, route_count(OPS_ROUTE))
    end)
  end)

  describe("the flag", function()
    it("is off by default: the call goes to the server, unless the call asks", function()
      local plain = emu.core()
      local bad = { connector = "twilio-output", version = "2.1", operation = "send_sms", input = { to = "+1" } }
      local _, err = keep(plain:call_connector(bad))
      assert.equal("http", err.kind)
      bad.validate = true
      _, err = keep(plain:call_connector(bad))
      assert.equal("validation", err.kind)
      assert.same({ "/from: required", "/body: required" }, lines(err.errors))
      assert.equal(1, route_count(CALL_ROUTE))
    end)

    it("is taken, never sent in the body", function()
      assert(keep(core:call_connector{ connector = "twilio-output", version = "2.1", operation = "send_sms",
        authId = SEED_AUTH, input = { to = "+15550001", from = "+15550002", body = "hi" }, validate = true }))
      local sent = json.decode(emu.last_request("/call$").body)
      assert.is_nil(sent.validate)
      assert.same({ "authId", "input", "operation" }, (function()
        local keys = {}
        for k in pairs(sent) do keys[#keys + 1] = k end
        table.sort(keys)
        return keys
      end)())
    end)

    it("must be a boolean, per call and per client", function()
      emu.clear_requests()
      local _, err = keep(core:call_connector{ connector = "twilio-output", version = "2.1", operation = "send_sms",
        input = {}, validate = "yes" })
      assert.equal("usage", err.kind)
      assert.matches("validate must be a boolean", err.message)
      assert.same({}, emu.requests())
      for _, bad in ipairs({ { validate = 1 }, { schema_ttl = -1 }, { schema_ttl = "1" }, { schema_clock = 5 },
                             { schema_options = true }, { validator = 42 } }) do
        local opts = emu.options(bad)
        opts.token, opts.base_url = emu.master_token, emu.core_url
        local c, e = keep(tray.core.new(opts))
        assert.is_nil(c)
        assert.equal("usage", e.kind)
      end
    end)

    it("is refused by the other operations", function()
      local _, err = keep(core:list_connectors{ validate = true })
      assert.equal("usage", err.kind)
    end)
  end)

  describe("lookups", function()
    it("an operation the connector version does not have is not_found, and nothing is sent", function()
      emu.clear_requests()
      local _, err = keep(core:call_connector{ connector = "twilio-output", version = "2.1", operation = "send_mms",
        input = {} })
      assert.equal("not_found", err.kind)
      assert.equal("connector twilio-output 2.1 has no operation send_mms", err.message)
      assert.equal("call_connector", err.operation)
      assert.equal(0, count_requests("/call$"))
      _, err = keep(core:validate_input{ connector = "twilio-output", version = "2.1", operation = "send_mms" })
      assert.equal("not_found", err.kind)
    end)

    it("an unknown connector version is the not_found of the schema fetch", function()
      local _, err = keep(core:call_connector{ connector = "twilio-output", version = "9.9", operation = "send_sms",
        input = {} })
      assert.equal("not_found", err.kind)
      assert.equal(404, err.status)
      assert.equal("list_connector_operations", err.operation)
      assert.equal(0, route_count(CALL_ROUTE))
    end)

    it("a failed schema fetch is returned, nothing is sent, and it is not cached", function()
      emu.fault{ match = { path = "/core/v1/connectors/twilio-output/versions/2.1/operations" }, mode = "status",
        status = 500 }
      local good = { connector = "twilio-output", version = "2.1", operation = "send_sms", authId = SEED_AUTH,
                     input = { to = "+15550001", from = "+15550002", body = "hi" } }
      local _, err = keep(core:call_connector(good))
      assert.equal("http", err.kind)
      assert.equal(500, err.status)
      assert.equal(0, route_count(CALL_ROUTE))
      assert(keep(core:call_connector(good)))
      assert.equal(2, count_requests("/operations$")) -- (a request answered by a fault is not in byRoute)
      assert.equal(1, route_count(CALL_ROUTE))
    end)
  end)

  describe("validate_input", function()
    it("checks without calling, whatever the client's flag", function()
      local plain = emu.core()
      assert.is_true(keep(plain:validate_input{ connector = "clearbit", version = "2.0",
        operation = "company_by_domain", input = { domain = "example.com" } }))
      local ok, err = keep(plain:validate_input{ connector = "clearbit", version = "2.0",
        operation = "company_by_domain", input = { domain = "example.com", www = true } })
      assert.is_nil(ok)
      assert.same({ "/www: unexpected property" }, lines(err.errors))
      assert.equal("validate_input", err.operation)
      assert.equal(0, route_count(CALL_ROUTE))
    end)

    it("checks a missing input as {}, as the API does", function()
      local _, err = keep(core:validate_input{ connector = "twilio-output", version = "2.1", operation = "send_sms" })
      assert.same({ "/to: required", "/from: required", "/body: required" }, lines(err.errors))
      assert.is_true(keep(core:validate_input{ connector = "trello", version = "2.0", operation = "list_boards" }))
    end)

    it("takes a call_connector argument table as it is", function()
      assert.is_true(keep(core:validate_input{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        authId = SEED_AUTH, input = { ip = "1.1.1.1" }, returnOutputSchema = true, validate = false }))
    end)

    it("refuses missing or unknown arguments before any request", function()
      emu.clear_requests()
      for _, a in ipairs({ { version = "2.1", operation = "send_sms" }, { connector = "twilio-output",
          operation = "send_sms" }, { connector = "twilio-output", version = "2.1", operation = "" },
          { connector = "twilio-output", version = "2.1", operation = "send_sms", inputs = {} } }) do
        local ok, err = keep(core:validate_input(a))
        assert.is_nil(ok)
        assert.equal("usage", err.kind)
      end
      local ok, err = keep(core:validate_input("send_sms"))
      assert.is_nil(ok)
      assert.equal("usage", err.kind)
      assert.same({}, emu.requests())
    end)
  end)

  describe("the schema cache", function()
    it("fetches each connector version once within the TTL (counted at the emulator)", function()
      local calls = {
        { "twilio-output", "2.1", "send_sms", { to = "+15550001", from = "+15550002", body = "x" } },
        { "clearbit", "2.0", "reveal_api", { ip = "1.1.1.1" } },
        { "clearbit", "2.0", "company_by_domain", { domain = "example.com" } },
        { "clearbit", "2.1", "reveal_api", { ip = "1.1.1.1" } },
        { "trello", "2.0", "list_boards", {} },
      }
      for _ = 1, 3 do
        for _, c in ipairs(calls) do
          assert(keep(core:call_connector{ connector = c[1], version = c[2], operation = c[3], authId = SEED_AUTH,
            input = c[4] }))
        end
      end
      assert.equal(4, route_count(OPS_ROUTE))
      assert.equal(15, route_count(CALL_ROUTE))
      assert.equal(4, core.validator.stats.fetches)
      assert.equal(11, core.validator.stats.hits)
    end)

    it("fetches again once the TTL has passed (controllable clock)", function()
      local now = 1000
      local c = emu.core{ validate = true, schema_ttl = 60, schema_clock = function() return now end }
      local good = { connector = "clearbit", version = "2.0", operation = "reveal_api", input = { ip = "1.1.1.1" } }
      assert(keep(c:call_connector(good)))
      assert.equal(1, route_count(OPS_ROUTE))
      now = 1059.5
      assert(keep(c:call_connector(good)))
      assert.equal(1, route_count(OPS_ROUTE))
      now = 1060
      assert(keep(c:call_connector(good)))
      assert.equal(2, route_count(OPS_ROUTE))
      now = 1100
      assert(keep(c:validate_input(good)))
      assert.equal(2, route_count(OPS_ROUTE))
    end)

    it("fetches again once a short TTL has passed (real clock)", function()
      local c = emu.core{ validate = true, schema_ttl = 0.2 }
      local good = { connector = "clearbit", version = "2.0", operation = "reveal_api", input = { ip = "1.1.1.1" } }
      assert(keep(c:call_connector(good)))
      require("tray.native").sleep(0.3)
      assert(keep(c:call_connector(good)))
      assert.equal(2, route_count(OPS_ROUTE))
    end)

    it("defaults to 10 minutes, and 0 fetches every time", function()
      assert.equal(600, core.validator.ttl)
      assert.equal(600, validate.DEFAULT_TTL)
      local c = emu.core{ schema_ttl = 0 }
      for _ = 1, 3 do
        assert(keep(c:validate_input{ connector = "clearbit", version = "2.0", operation = "reveal_api",
          input = { ip = "x" } }))
      end
      assert.equal(3, route_count(OPS_ROUTE))
    end)

    it("can be cleared", function()
      local good = { connector = "clearbit", version = "2.0", operation = "reveal_api", input = { ip = "x" } }
      assert(keep(core:validate_input(good)))
      core.validator:clear("clearbit", "2.0")
      assert(keep(core:validate_input(good)))
      core.validator:clear()
      assert(keep(core:validate_input(good)))
      assert.equal(3, route_count(OPS_ROUTE))
    end)

    it("is fetched once by concurrent tasks in tray.parallel", function()
      local tasks = {}
      for i = 1, 6 do
        tasks[i] = function()
          return core:call_connector{ connector = "clearbit", version = "2.1", operation = "reveal_api",
            authId = SEED_AUTH, input = { ip = "10.0.0." .. i } }
        end
      end
      local results, errs = tray.parallel(tasks, { concurrency = 6 })
      for i = 1, 6 do
        assert.is_nil(keep(nil, errs[i]))
        assert.equal("success", results[i].outcome)
      end
      assert.equal(1, route_count(OPS_ROUTE))
      assert.equal(6, route_count(CALL_ROUTE))
    end)
  end)

  describe("operation_fields", function()
    it("gives the form fields of an operation: required first, then by name", function()
      local fields = assert(keep(core:operation_fields{ connector = "trello", version = "2.0", operation = "search" }))
      local paths = {}
      for i, f in ipairs(fields) do paths[i] = f.path end
      assert.same({ "/query", "/data_type", "/items_limit", "/board_ids", "/partial" }, paths)
      local data_type = fields[2]
      assert.equal("Data Type", data_type.title)
      assert.equal("Which type of data to search", data_type.description)
      assert.equal("string", data_type.type)
      assert.is_true(data_type.required)
      assert.equal("all", data_type.default)
      assert.same({ "all", "actions", "boards", "cards", "members", "organizations" }, data_type.enum)
      assert.same({ "All", "Actions", "Boards", "Cards", "Members", "Organizations" }, data_type.enum_labels)
      assert.is_false(fields[5].required)
      assert.equal("array", fields[4].type)
      assert.equal("string", fields[4].items[1].type)
      assert.equal(1, route_count(OPS_ROUTE))
    end)

    it("marks the advanced fields", function()
      local fields = assert(keep(core:operation_fields{ connector = "clearbit", version = "2.0",
        operation = "prospector_api" }))
      local advanced = {}
      for _, f in ipairs(fields) do
        if f.advanced then advanced[#advanced + 1] = f.name end
      end
      assert.same({ "api_version" }, advanced)
      assert.equal("domain", fields[1].name)
      assert.equal("page_size", fields[2].name)
      assert.equal(5, fields[2].default)
    end)

    it("gives the oneOf branches of a field", function()
      local fields = assert(keep(core:operation_fields{ connector = "trello", version = "2.0",
        operation = "update_card_custom_field" }))
      local value
      for _, f in ipairs(fields) do
        if f.name == "custom_field_value" then value = f end
      end
      local titles = {}
      for i, b in ipairs(value.one_of) do titles[i] = b.title end
      assert.same({ "Dropdown", "Text", "Date", "Checkbox", "Number" }, titles)
      assert.equal("/custom_field_value/value", value.one_of[1].fields[1].path)
    end)

    it("returns the lookup's error", function()
      local _, err = keep(core:operation_fields{ connector = "trello", version = "2.0", operation = "nope" })
      assert.equal("not_found", err.kind)
    end)
  end)

  describe("tray.embedded", function()
    local GRAPHQL = "^/graphql$"

    it("validates with a tray.core client, sharing its schema cache", function()
      local emb = emu.embedded{ validator = core }
      emu.clear_requests()
      local out, err = keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "person_by_email",
        authId = "any", input = { email = 5, name = "x" }, validate = true })
      assert.is_nil(out)
      assert.equal("validation", err.kind)
      assert.same({ "/email: expected string, got number", "/name: unexpected property" }, lines(err.errors))
      assert.equal(0, count_requests(GRAPHQL))
      out = assert(keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "person_by_email",
        authId = "any", input = { email = "alex@example.com" }, validate = true }))
      assert.equal("alex@example.com", out.output.email)
      assert.equal(1, count_requests(GRAPHQL))
      assert(keep(core:validate_input{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        input = { ip = "x" } }))
      assert.equal(1, route_count(OPS_ROUTE))
      assert.equal(emb.validator, core.validator)
    end)

    it("validates every call with validate = true, unless a call says false", function()
      local emb = emu.embedded{ validate = true, validator = core }
      emu.clear_requests()
      local bad = { connector = "clearbit", version = "2.0", operation = "reveal_api", authId = "any", input = {} }
      local _, err = keep(emb:call_connector(bad))
      assert.equal("validation", err.kind)
      assert.equal(0, count_requests(GRAPHQL))
      bad.validate = false
      _, err = keep(emb:call_connector(bad))
      -- the emulator's GraphQL callConnector checks the input with ajv too
      assert.equal("graphql", err.kind)
      assert.equal("BAD_USER_INPUT", err.errors[1].extensions.code)
      assert.same({ { path = "/ip", message = "must have required property 'ip'" } }, err.errors[1].extensions.errors)
      assert.equal(1, count_requests(GRAPHQL))
      assert.equal(0, connector_calls())
    end)

    it("decodes an input given as JSON text before checking it", function()
      local emb = emu.embedded{ validate = true, validator = core }
      local _, err = keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        authId = "any", input = '{"ip": 1}' })
      assert.same({ "/ip: expected string, got number" }, lines(err.errors))
      _, err = keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        authId = "any", input = "{not json" })
      assert.equal("validation", err.kind)
      assert.matches("^not JSON", err.errors[1].message)
      assert(keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        authId = "any", input = '{"ip": "1.1.1.1"}' }))
      assert.equal(1, emu.stats().connectorCalls["clearbit/2.0/reveal_api"])
    end)

    it("validates with a table of schemas, without any request", function()
      local s = { type = "object", required = { "ip" }, additionalProperties = false,
                  properties = { ip = { type = "string", minLength = 7 } } }
      local emb = emu.embedded{ validate = true, validator = { schemas = { ["clearbit@2.0/reveal_api"] = s } } }
      emu.clear_requests()
      local _, err = keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        authId = "any", input = { ip = "1.1", port = 80 } })
      assert.equal("validation", err.kind)
      assert.same({ "/ip: shorter than 7 characters", "/port: unexpected property" }, lines(err.errors))
      _, err = keep(emb:call_connector{ connector = "clearbit", version = "2.1", operation = "reveal_api",
        authId = "any", input = { ip = "1.1.1.1" } })
      assert.equal("not_found", err.kind)
      assert.matches("clearbit@2.1/reveal_api", err.message)
      assert.same({}, emu.requests())
      assert(keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        authId = "any", input = { ip = "1.1.1.1" } }))
      assert.equal(1, count_requests(GRAPHQL))
      assert.is_true(keep(emb:validate_input{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        input = '{"ip":"1.2.3.4"}' }))
      local fields = assert(keep(emb:operation_fields{ connector = "clearbit", version = "2.0",
        operation = "reveal_api" }))
      assert.equal("/ip", fields[1].path)
    end)

    it("looks in the schema table first, then asks the core client", function()
      local s = { type = "object", required = { "ip", "why" } }
      local emb = emu.embedded{ validate = true, validator = { schemas = { ["clearbit@2.0/reveal_api"] = s },
                                                              core = core } }
      local _, err = keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        authId = "any", input = { ip = "1.1.1.1" } })
      assert.same({ "/why: required" }, lines(err.errors))
      assert.equal(0, route_count(OPS_ROUTE))
      _, err = keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "company_by_domain",
        authId = "any", input = {} })
      assert.same({ "/domain: required" }, lines(err.errors))
      assert.equal(1, route_count(OPS_ROUTE))
    end)

    it("checks every call of call_connectors and reports them together; nothing is sent", function()
      local emb = emu.embedded{ validator = core }
      emu.clear_requests()
      local calls = {
        a = { connector = "clearbit", version = "2.0", operation = "reveal_api", authId = "any", input = {} },
        b = { connector = "clearbit", version = "2.0", operation = "company_by_domain", authId = "any",
              input = { domain = "example.com" } },
        c = { connector = "trello", version = "2.0", operation = "list_boards", authId = "any",
              input = { filter = { 1 } } },
      }
      local out, err = keep(emb:call_connectors(calls, { validate = true }))
      assert.is_nil(out)
      assert.equal("validation", err.kind)
      assert.equal(2, #err.errors)
      assert.same({ alias = "a", path = "/ip", message = "required" }, err.errors[1])
      assert.same({ alias = "c", path = "/filter/0", message = "expected string, got number" }, err.errors[2])
      assert.matches("a %(reveal_api%), c %(list_boards%)", err.message)
      assert.equal(0, count_requests(GRAPHQL))
      -- a call's own flag wins over the batch's
      calls.a.validate, calls.c.validate = false, false
      out, err = keep(emb:call_connectors(calls, { validate = true }))
      assert.is_nil(out)
      assert.equal("graphql", err.kind) -- the emulator refused a and c itself
      assert.equal("example.com", err.data.b.domain)
      calls.a.input, calls.c.input = { ip = "1.1.1.1" }, { filter = { "open" } }
      calls.a.validate, calls.c.validate = nil, nil
      out = assert(keep(emb:call_connectors(calls, { validate = true })))
      assert.equal("1.1.1.1", out.a.result.ip)
      assert.equal(2, count_requests(GRAPHQL))
    end)

    it("keeps its validator in as_user clients", function()
      local emb = emu.embedded{ validate = true, validator = core }
      local user = assert(emb:as_user(emu.control("POST", "/token", { userId = "u-1" }).accessToken))
      emu.clear_requests()
      local _, err = keep(user:call_connector{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        authId = "any", input = { ip = false } })
      assert.equal("validation", err.kind)
      assert.equal(0, count_requests(GRAPHQL))
    end)

    it("needs a validator to validate", function()
      local opts = emu.options{ validate = true, master_token = emu.master_token, endpoint = emu.graphql_url }
      local c, err = keep(tray.embedded.new(opts))
      assert.is_nil(c)
      assert.equal("usage", err.kind)
      assert.matches("needs a validator", err.message)
      local emb = emu.embedded()
      emu.clear_requests()
      local _, e = keep(emb:call_connector{ connector = "clearbit", version = "2.0", operation = "reveal_api",
        authId = "any", input = {}, validate = true })
      assert.equal("usage", e.kind)
      _, e = keep(emb:validate_input{ connector = "clearbit", version = "2.0", operation = "reveal_api" })
      assert.equal("usage", e.kind)
      assert.same({}, emu.requests())
      for _, bad in ipairs({ { schemas = 5 }, { schemas = { ["no-version/op"] = {} } }, { other = 1 },
                             { schemas = { ["a@1/b"] = "x" } } }) do
        opts = emu.options{ validator = bad, master_token = emu.master_token, endpoint = emu.graphql_url }
        c, err = keep(tray.embedded.new(opts))
        assert.is_nil(c)
        assert.equal("usage", err.kind)
      end
    end)
  end)

  describe("tray.validate", function()
    it("needs a source, and checks its options", function()
      for _, bad in ipairs({ {}, { core = {} }, { schemas = {}, ttl = -1 }, { schemas = {}, clock = 1 }, 5 }) do
        local v, err = validate.new(bad)
        assert.is_nil(v)
        assert.equal("usage", err.kind)
      end
      assert.is_true(validate.is(assert(validate.new{ schemas = {} })))
      assert.is_false(validate.is({}))
    end)

    it("uses tray.schema with strict oneOf, or the schema_options given", function()
      local s = { oneOf = { { type = "string" }, { type = "string", minLength = 1 } } }
      local strict = assert(validate.new{ schemas = { ["x@1/op"] = s } })
      local ok, err = strict:check("x", "1", "op", "a")
      assert.is_nil(ok)
      assert.same({ ": must match exactly one schema in oneOf (matched 2)" }, lines(err.errors))
      local loose = assert(validate.new{ schemas = { ["x@1/op"] = s }, schema_options = { one_of = "any" } })
      assert.is_true(loose:check("x", "1", "op", "a"))
    end)

    it("accepts any input for an operation without an input schema", function()
      local v = assert(validate.new{ core = { list_connector_operations = function()
        return { elements = { { name = "free" } } }
      end } })
      assert.is_true(v:check("x", "1", "free", { anything = true }))
      assert.equal(1, v.stats.fetches)
    end)

    it("tells apart tray.json arrays and objects, empty or not", function()
      local v = assert(validate.new{ schemas = { ["x@1/op"] = { type = "object", properties = {
        list = { type = "array" }, map = { type = "object" } } } } })
      assert.is_true(v:check("x", "1", "op", { list = json.array(), map = json.object() }))
      local _, err = v:check("x", "1", "op", { list = json.object(), map = json.array() })
      assert.same({ "/list: expected array, got object", "/map: expected object, got array" }, lines(err.errors))
      assert.is_true(schema.validate({ type = "array" }, json.array()))
      -- [] and {} are different JSON values (as ajv says); a plain empty table is either
      assert.is_true(schema.validate({ uniqueItems = true }, json.array{ json.array(), json.object() }))
      assert.is_false(schema.validate({ uniqueItems = true }, json.array{ json.array(), {} }))
      assert.is_false(schema.validate({ enum = { json.array() } }, json.object()))
      assert.is_false(schema.validate({ const = json.object() }, json.array()))
      assert.is_true(schema.validate({ const = json.object() }, {}))
    end)
  end)
end)
