-- tray.doctor against the emulator: all ok with introspection on and off; against an emulator
-- serving a deliberately wrong schema (a copy of schema.graphql with one type changed), it
-- names the operation and is not ok, on both paths; the run creates nothing.

local emu = require "spec.helpers.emulator"
local native = require "tray.native"
local doctor = require "tray.doctor"
local ops = require "tray.embedded.operations"
local json = require "tray.json"
local proc = require "spec.helpers.proc"

local read = proc.read

local function by_name(report)
  local out = {}
  for _, c in ipairs(report.checks) do out[c.name] = c end
  return out
end

-- one check per GraphQL operation the SDK can send
local function operation_names()
  local names = { "call_connectors" }
  for k in pairs(ops.QUERIES) do names[#names + 1] = k end
  for k in pairs(ops.MUTATIONS) do names[#names + 1] = k end
  return names
end

local function assert_all_ok(report)
  local bad = {}
  for _, c in ipairs(report.checks) do
    if c.status ~= "ok" then bad[#bad + 1] = c.name .. ": " .. c.status .. " " .. tostring(c.detail) end
  end
  assert.same({}, bad)
  assert.is_true(report.ok)
  local seen = by_name(report)
  for _, name in ipairs(operation_names()) do assert.truthy(seen[name], name .. " is not checked") end
  for _, name in ipairs({ "endpoint", "token", "clock" }) do assert.equal("ok", seen[name].status) end
end

describe("tray.doctor", function()
  before_each(function() emu.reset() end)

  it("all ok against the emulator with introspection on: a master token", function()
    local report = assert(doctor.run{ master_token = emu.master_token, endpoint = emu.graphql_url })
    assert_all_ok(report)
    assert.equal("master", report.token_kind)
    assert.matches("schema", by_name(report).call_connector.detail)
  end)

  it("checks the REST API too with core options, and knows a user token", function()
    local emb = emu.embedded()
    local u = assert(emb:create_external_user{ name = "Doc", externalUserId = "doc-1" })
    local token = assert(emb:authorize{ userId = u.userId }).accessToken
    emu.secrets[#emu.secrets + 1] = token
    local report = assert(doctor.run{ user_token = token, endpoint = emu.graphql_url, token = emu.master_token,
      base_url = emu.core_url })
    assert_all_ok(report)
    assert.equal("user", report.token_kind)
    assert.equal("ok", by_name(report).core.status)
  end)

  it("a refused token fails the token check, and nothing else is called ok", function()
    local report = assert(doctor.run{ master_token = "not-a-token", endpoint = emu.graphql_url })
    assert.is_false(report.ok)
    local c = by_name(report)
    assert.equal("ok", c.endpoint.status)
    assert.equal("fail", c.token.status)
    assert.equal("not checked", c.users.status)
    emu.assert_no_secret(report, { "not-a-token" })
  end)

  it("no server: the endpoint check fails", function()
    local report = assert(doctor.run{ master_token = "t", endpoint = emu.dead_url() .. "/graphql" })
    assert.is_false(report.ok)
    assert.equal("fail", by_name(report).endpoint.status)
  end)

  it("an endpoint that does not answer GraphQL fails the token check", function()
    local report = assert(doctor.run{ master_token = "t", endpoint = emu.graphql_url, transport = function()
      return { status = 200, headers = { ["Content-Type"] = "text/html" }, body = "<html></html>" }
    end })
    assert.is_false(report.ok)
    assert.equal("fail", by_name(report).token.status)
    assert.matches("GraphQL", by_name(report).token.detail)
  end)

  it("a clock more than a minute off is a mismatch; a server that runs anything is not trusted", function()
    local report = assert(doctor.run{ master_token = "t", endpoint = emu.graphql_url, transport = function()
      return { status = 200, headers = { Date = "Sun, 06 Nov 1994 08:49:37 GMT" },
               body = '{"data":{"__typename":"Query"}}' }
    end })
    assert.is_false(report.ok)
    local c = by_name(report)
    assert.equal("mismatch", c.clock.status)
    assert.matches("ahead of the server", c.clock.detail)
    assert.equal("fail", c.create_external_user.status)
  end)

  it("bad options are a usage error", function()
    local r, err = doctor.run{ master_token = "t", region = "mars" }
    assert.is_nil(r)
    assert.equal("usage", err.kind)
  end)

  it("reads HTTP dates", function()
    assert.equal(784111777, doctor.http_date("Sun, 06 Nov 1994 08:49:37 GMT"))
    assert.equal(951782400, doctor.http_date("Tue, 29 Feb 2000 00:00:00 GMT"))
    assert.is_nil(doctor.http_date("yesterday"))
  end)

  it("GraphQL's allowed-position rule", function()
    assert.is_true(doctor.accepts("String", "String!"))
    assert.is_false(doctor.accepts("String!", "String"))
    assert.is_false(doctor.accepts("String", "ID!"))
    assert.is_true(doctor.accepts("[AuthValue!]", "[AuthValue!]!"))
    assert.is_false(doctor.accepts("[String]", "String!"))
    assert.is_false(doctor.accepts("Json!", "String!"))
  end)

  describe("with introspection off", function()
    local url, stop
    setup(function() url, stop = emu.start("--no-introspection") end)
    teardown(function() stop() end)

    local function control(path)
      local session = assert(native.session{ timeout = 10 })
      local status, body = session:request("GET", url .. "/_emulator" .. path, { "Accept: application/json" })
      session:close()
      assert.equal(200, status)
      return assert(json.decode(body))
    end

    it("probes every document: all ok, and the server's state is unchanged", function()
      local stats, tokens = control("/stats"), control("/tokens")
      local report = assert(doctor.run{ master_token = emu.master_token, endpoint = url .. "/graphql" })
      assert_all_ok(report)
      assert.matches("introspection is off", by_name(report).create_external_user.detail)
      local after_stats, after_tokens = control("/stats"), control("/tokens")
      assert.is_true(after_stats.requests > stats.requests + #operation_names(), "the probes were sent")
      assert.same(stats.graphql, after_stats.graphql)          -- users, instances, auths, codes
      assert.same(stats.connectorCalls, after_stats.connectorCalls)
      assert.same(tokens.issued, after_tokens.issued)          -- no user token issued
    end)
  end)

  describe("against a server with a wrong type", function()
    local file = os.tmpname()
    local wrong, n = read("emulator/graphql/schema.graphql")
      :gsub("(input ConnectorCallInput {.-input: )Json!", "%1String!")
    assert.equal(1, n)
    local f = assert(io.open(file, "w"))
    f:write(wrong)
    f:close()
    local servers = {}
    setup(function()
      servers.on = { emu.start("--schema " .. file) }
      servers.off = { emu.start("--schema " .. file .. " --no-introspection") }
    end)
    teardown(function()
      servers.on[2]()
      servers.off[2]()
      os.remove(file)
    end)

    for _, mode in ipairs({ "on", "off" }) do
      it("names the operation and is not ok (introspection " .. mode .. ")", function()
        local url = servers[mode][1]
        local report = assert(doctor.run{ master_token = emu.master_token, endpoint = url .. "/graphql" })
        assert.is_false(report.ok)
        local c = by_name(report)
        for _, name in ipairs({ "call_connector", "call_connectors" }) do
          assert.equal("mismatch", c[name].status, name)
          assert.matches('"Json!" used in position expecting type "String!"', c[name].detail, 1, true)
        end
        assert.equal("ok", c.users.status)
        assert.equal("ok", c.create_external_user.status)
        if mode == "off" then
          -- the server's own message
          assert.matches('Variable "$input" of type "Json!" used in position expecting type "String!"',
            c.call_connector.detail, 1, true)
        end
      end)
    end
  end)
end)
