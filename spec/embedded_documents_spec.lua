-- tray.embedded builds each GraphQL document once per operation and argument
-- shape and reuses it: every call must still send the document of its own shape
-- and its own values, whatever calls came before it.

local emu = require "spec.helpers.emulator"
local json = require "tray.json"

local function graphql_bodies()
  local out = {}
  for _, r in ipairs(emu.requests()) do
    if r.path == "/graphql" then out[#out + 1] = r.body end
  end
  return out
end

describe("tray.embedded documents", function()
  local emb

  before_each(function()
    emu.reset()
    emb = emu.embedded()
  end)

  it("sends the same document with each call's own variables", function()
    emu.seed_users(5, "doc-")
    local a = assert(emb:users{ first = 2 })
    local b = assert(emb:users{ first = 3 })
    assert.equal(2, #a.nodes)
    assert.equal(3, #b.nodes)
    local bodies = graphql_bodies()
    local d1, d2 = json.decode(bodies[1]), json.decode(bodies[2])
    assert.equal(d1.query, d2.query)
    assert.same({ first = 2 }, d1.variables)
    assert.same({ first = 3 }, d2.variables)
  end)

  it("gives each argument shape its own document, in any order of calls", function()
    emu.seed_users(3, "doc-")
    local ada = assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-1" })
    local calls = {
      { first = 1 },
      { first = 10, criteria = { externalUserId = "ada-1" } },
      { first = 1 },
      { criteria = { userId = ada.userId } },
      { first = 10, criteria = { externalUserId = "doc-2" } },
      {},
    }
    local got = {}
    for i, opts in ipairs(calls) do got[i] = assert(emb:users(opts)) end
    assert.equal(1, #got[1].nodes)
    assert.equal("ada-1", got[2].nodes[1].externalUserId)
    assert.equal(1, #got[2].nodes)
    assert.equal(1, #got[3].nodes)
    assert.equal(ada.userId, got[4].nodes[1].id)
    assert.equal(1, #got[5].nodes)
    assert.not_equal("ada-1", got[5].nodes[1].externalUserId)
    assert.equal(4, #got[6].nodes)

    local docs = {}
    for i, body in ipairs(graphql_bodies()) do docs[i] = json.decode(body) end
    -- docs[1] is the mutation; the queries follow
    local q = function(i) return docs[i + 1] end
    assert.equal(q(1).query, q(3).query)
    assert.equal(q(2).query, q(5).query)
    assert.not_equal(q(1).query, q(2).query)
    assert.not_equal(q(2).query, q(4).query)
    assert.not_equal(q(1).query, q(6).query)
    assert.matches("externalUserId: %$externalUserId", q(2).query)
    assert.matches("userId: %$userId", q(4).query)
    assert.is_nil(q(1).query:find("criteria", 1, true))
    assert.same({ first = 10, externalUserId = "doc-2" }, q(5).variables)
    assert.same({ userId = ada.userId }, q(4).variables)
  end)

  it("tells apart shapes with as many arguments under other names", function()
    emu.seed_users(3, "doc-")
    local by_name = assert(emb:users{ criteria = { name = "doc-1" } })
    local by_external = assert(emb:users{ criteria = { externalUserId = "doc-2" } })
    local first = assert(emb:users{ first = 2 })
    local last = assert(emb:users{ last = 1 })
    assert.equal("doc-1", by_name.nodes[1].name)
    assert.equal(1, #by_name.nodes)
    assert.equal("doc-2", by_external.nodes[1].externalUserId)
    assert.equal(1, #by_external.nodes)
    assert.equal(2, #first.nodes)
    assert.equal(1, #last.nodes)
    assert.equal("doc-3", last.nodes[1].externalUserId)
    local docs = {}
    for i, body in ipairs(graphql_bodies()) do docs[i] = json.decode(body) end
    assert.matches("name: %$name", docs[1].query)
    assert.matches("externalUserId: %$externalUserId", docs[2].query)
    assert.matches("first: %$first", docs[3].query)
    assert.matches("last: %$last", docs[4].query)
  end)

  it("sends a mutation's optional field only when given, with its value", function()
    local a = assert(emb:create_external_user{ name = "A", externalUserId = "a-1" })
    local b = assert(emb:create_external_user{ name = "B", externalUserId = "b-1", isTestUser = true })
    local c = assert(emb:create_external_user{ name = "C", externalUserId = "c-1" })
    assert.is_false(a.isTestUser == true)
    assert.is_true(b.isTestUser)
    assert.is_false(c.isTestUser == true)
    local bodies = graphql_bodies()
    local d = {}
    for i = 1, 3 do d[i] = json.decode(bodies[i]) end
    assert.equal(d[1].query, d[3].query)
    assert.not_equal(d[1].query, d[2].query)
    assert.matches("isTestUser: %$isTestUser", d[2].query)
    assert.same({ name = "C", externalUserId = "c-1" }, d[3].variables)
    assert.same({ name = "B", externalUserId = "b-1", isTestUser = true }, d[2].variables)
  end)

  it("still refuses bad arguments before any request once the document is cached", function()
    assert(emb:users{ first = 1 })
    emu.clear_requests()
    local v, err = emb:users{ first = "ten" }
    assert.is_nil(v)
    assert.equal("usage", err.kind)
    v, err = emb:users{ first = 1, criteria = { nope = "x" } }
    assert.is_nil(v)
    assert.equal("usage", err.kind)
    assert.same({}, graphql_bodies())
  end)
  it("tells which operation of a document runs (the named one, or the only one)", function()
    local documents = require "tray.embedded.documents"
    local cases = {
      { "query { a }", nil, "query" },
      { "{ a }", nil, "query" },
      { "mutation { a }", nil, "mutation" },
      { "subscription { a }", nil, "subscription" },
      { "\239\187\191mutation { a }", nil, "mutation" },
      { "\239\187\191{ a }", nil, "query" },
      { "query Q { a } mutation M { b }", "M", "mutation" },
      { "query Q { a } mutation M { b }", "Q", "query" },
      { "query Q { a } mutation M { b }", nil, nil },
      { "query Q { a } mutation M { b }", "X", nil },
      { "query Q { a } query Q { b }", "Q", nil },
      { "fragment F on X { a } mutation { b }", nil, "mutation" },
      { "fragment F on X { a } query { ...F }", nil, "query" },
      { "# mutation { x }\nquery { a }", nil, "query" },
      { 'query { a(s: "} mutation {") }', nil, "query" },
      { 'query ($v: String = "}") { a(s: $v) }', nil, "query" },
      { 'query { a(s: """ } mutation { """) }', nil, "query" },
      { "query { a", nil, nil },
      { "query { a } }", nil, nil },
      { "", nil, nil },
    }
    for _, c in ipairs(cases) do
      assert.equal(c[3], documents.operation_kind(c[1], c[2]), c[1] .. " / " .. tostring(c[2]))
    end
  end)
end)
