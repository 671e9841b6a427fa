-- Fidelity to Tray's published GraphQL types (issue 12's table): each call succeeds against the
-- emulator, which enforces emulator/graphql/schema.graphql, and sends the variable types and
-- selections that schema declares. Changing a type or a selection back fails here twice: the
-- emulator refuses the document, and the document checks below see the old text.
-- Also: emb:query retries by the operation that runs; unexpected connection shapes are `decode`.

local emu = require "spec.helpers.emulator"
local json = require "tray.json"

local SOLUTION = "b3422397-XXXX-XXXX-XXXX-57e7e66771b3"

local function last_graphql()
  local log = emu.requests()
  for i = #log, 1, -1 do
    if log[i].path == "/graphql" then return assert(json.decode(log[i].body)) end
  end
end

local function graphql_count()
  local n = 0
  for _, r in ipairs(emu.requests()) do if r.path == "/graphql" then n = n + 1 end end
  return n
end

local function new_user(emb, external)
  local u = assert(emb:create_external_user{ name = external, externalUserId = external })
  local auth = assert(emb:authorize{ userId = u.userId })
  emu.secrets[#emu.secrets + 1] = auth.accessToken
  return u.userId, emb:as_user(auth.accessToken)
end

local CALL = { connector = "text-helpers", version = "1.0", operation = "change_case", input = { text = "ab" } }

describe("tray.embedded against Tray's published types", function()
  local emb

  before_each(function()
    emu.reset()
    emb = emu.embedded()
  end)

  describe("call_connector", function()
    it("sends input as Json! (the stringified JSON of the docs), without authId when not given", function()
      local r = assert(emb:call_connector(CALL))
      assert.same({ result = "AB" }, r.output)
      local sent = last_graphql()
      assert.matches("%$input: Json!", sent.query)
      assert.is_nil(sent.query:find("authId", 1, true))
      assert.is_nil(sent.variables.authId)
      assert.equal("string", type(sent.variables.input))
      assert.same({ text = "ab" }, json.decode(sent.variables.input))
    end)

    it("declares authId String when given", function()
      local r, err = emb:call_connector{ connector = "text-helpers", version = "1.0", operation = "change_case",
        authId = "no-such-auth", input = { text = "a" } }
      assert.is_nil(r)
      assert.equal("graphql", err.kind) -- refused by the resolver (no such auth), not by validation
      assert.matches("Authentication", err.message)
      assert.matches("%$authId: String!", last_graphql().query)
    end)

    it("decodes output whether the server sends a JSON string or the JSON value", function()
      emu.config{ connectorOutput = "value" }
      local r = assert(emb:call_connector(CALL))
      assert.same({ result = "AB" }, r.output)
      local many = assert(emb:call_connectors{ a = CALL, b = CALL })
      assert.same({ result = "AB" }, many.a)
      emu.config{ connectorOutput = "string" }
      many = assert(emb:call_connectors{ a = CALL, b = CALL })
      assert.same({ result = "AB" }, many.b)
      assert.matches("%$b_input: Json!", last_graphql().query)
    end)
  end)

  describe("authentications", function()
    it("uses the docs' selection: no edge cursor, no paging arguments", function()
      local conn = assert(emb:authentications{})
      assert.is_table(conn.nodes)
      assert.is_true(#conn.nodes > 0)
      local q = last_graphql().query
      assert.is_nil(q:find("cursor", 1, true))
      assert.is_nil(q:find("first", 1, true))
      assert.matches("authentications {", q, 1, true)
      local v, err = emb:authentications{ first = 10 }
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      assert.matches("takes no arguments", err.message)
    end)

    it("each yields the one page, in one request", function()
      local want = assert(emb:authentications()).nodes
      emu.clear_requests()
      local got = {}
      for a in emb:each("authentications") do got[#got + 1] = a.id end
      assert.equal(#want, #got)
      assert.equal(1, graphql_count())
      assert.same(got, (function() local t = {} for i, n in ipairs(want) do t[i] = n.id end return t end)())
    end)
  end)

  describe("criteria", function()
    it("users: userId, externalUserId, name, isTestUser (and the id alias), all as the schema types them", function()
      local ada = assert(emb:create_external_user{ name = "Ada", externalUserId = "ada-1", isTestUser = true })
      assert(emb:create_external_user{ name = "Bob", externalUserId = "bob-1" })
      local by_id = assert(emb:users{ criteria = { userId = ada.userId } })
      assert.equal(1, #by_id.nodes)
      assert.equal(ada.userId, by_id.nodes[1].id)
      assert.matches("%$userId: String!", last_graphql().query)
      local alias = assert(emb:users{ criteria = { id = ada.userId } })
      assert.equal(ada.userId, alias.nodes[1].id)
      assert.same({ userId = ada.userId }, last_graphql().variables)
      assert.equal("ada-1", assert(emb:users{ criteria = { externalUserId = "ada-1" } }).nodes[1].externalUserId)
      assert.equal("Bob", assert(emb:users{ criteria = { name = "Bob" } }).nodes[1].name)
      local tests = assert(emb:users{ criteria = { isTestUser = true } })
      assert.equal(1, #tests.nodes)
      assert.equal("Ada", tests.nodes[1].name)
      local v, err = emb:users{ criteria = { id = "a", userId = "b" } }
      assert.is_nil(v)
      assert.equal("usage", err.kind)
    end)

    it("solution_instances: id, name, owner, solutionId, all String", function()
      local owner, user = new_user(emb, "si-owner")
      local inst = assert(user:create_solution_instance{ solutionId = SOLUTION, instanceName = "one" })
        .solutionInstance
      assert(user:create_solution_instance{ solutionId = SOLUTION, instanceName = "two" })
      local by_solution = assert(emb:solution_instances{ criteria = { solutionId = SOLUTION, owner = owner } })
      assert.equal(2, #by_solution.nodes)
      assert.equal(2, by_solution.totalCount)
      local q = last_graphql().query
      assert.matches("%$solutionId: String!", q)
      assert.matches("%$owner: String!", q)
      local by_id = assert(emb:solution_instances{ criteria = { id = inst.id } })
      assert.equal(1, #by_id.nodes)
      assert.matches("%$id: String!", last_graphql().query)
      local by_name = assert(user:solution_instances{ criteria = { name = "two" } })
      assert.equal("two", by_name.nodes[1].name)
      assert.matches("%$name: String!", last_graphql().query)
    end)
  end)

  describe("clientMutationId", function()
    it("is selected only when passed, and always on a payload with no other field", function()
      assert(emb:create_external_user{ name = "A", externalUserId = "a-1" })
      assert.is_nil(last_graphql().query:find("clientMutationId", 1, true))
      local b = assert(emb:create_external_user{ name = "B", externalUserId = "b-1", clientMutationId = "cm" })
      assert.equal("cm", b.clientMutationId)
      local sent = last_graphql()
      assert.matches("clientMutationId: %$clientMutationId", sent.query)
      assert.equal("cm", sent.variables.clientMutationId)
      local removed = assert(emb:remove_external_user{ userId = b.userId })
      assert.equal(json.null, removed.clientMutationId)
      assert.matches("{%s*clientMutationId%s*}", last_graphql().query)
    end)
  end)

  it("values stay variables", function()
    local marker = "value-" .. os.time()
    assert(emb:create_external_user{ name = marker, externalUserId = marker .. "-x" })
    local sent = last_graphql()
    assert.is_nil(sent.query:find(marker, 1, true))
    assert.equal(marker, sent.variables.name)
  end)

  describe("emb:query retries by the operation that runs", function()
    local function attempts(document, operation_name)
      local c = emu.embedded{ max_retries = 2, retry_base = 0.001, retry_cap = 0.002 }
      emu.clear_requests()
      emu.fault{ match = { path = "/graphql" }, mode = "status", status = 503, count = -1 }
      local v, err = c:query(document, nil, operation_name)
      emu.clear_faults()
      assert.is_nil(v)
      assert.equal(503, err.status)
      return graphql_count()
    end

    it("a mutation named in a document that starts with a query is sent once", function()
      assert.equal(1, attempts("query Q { users { pageInfo { hasNextPage } } }\n" ..
        "mutation M { removeExternalUser(input: { userId: \"x\" }) { clientMutationId } }", "M"))
    end)

    it("a mutation after a fragment, or after a BOM, is sent once", function()
      assert.equal(1, attempts("fragment F on User { id }\nmutation { authorize(input: { userId: \"x\" }) " ..
        "{ accessToken } }"))
      assert.equal(1, attempts("\239\187\191mutation { authorize(input: { userId: \"x\" }) { accessToken } }"))
      assert.equal(1, attempts("# query { users }\n mutation { authorize(input: { userId: \"x\" }) { accessToken } }"))
    end)

    it("a document whose operation cannot be told is sent once", function()
      assert.equal(1, attempts("query A { users { pageInfo { hasNextPage } } } mutation B { x }"))
      assert.equal(1, attempts("query A { users { pageInfo { hasNextPage } } }", "Nope"))
    end)

    it("the query that runs is retried", function()
      assert.equal(3, attempts("query Q { users { pageInfo { hasNextPage } } }\n" ..
        "mutation M { removeExternalUser(input: { userId: \"x\" }) { clientMutationId } }", "Q"))
      assert.equal(3, attempts("\239\187\191{ users { pageInfo { hasNextPage } } }"))
      assert.equal(3, attempts("query ($a: String = \"}{ mutation\") " ..
        "{ users(after: $a) { pageInfo { hasNextPage } } }"))
    end)
  end)

  describe("unexpected shapes are decode errors, never a raise", function()
    local function answer(data)
      local body = assert(json.encode({ data = data }))
      local c = emu.embedded{ transport = function()
        return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = body }
      end }
      return c:users{}
    end

    for _, case in ipairs({
      { "a number edge", { users = { edges = { 1 } } } },
      { "a null edge", { users = { edges = { json.null } } } },
      { "a boolean edge", { users = { edges = { true } } } },
      { "an edge without a node", { users = { edges = { { cursor = "c" } } } } },
      { "a string node", { users = { edges = { { node = "x" } } } } },
      { "edges as an object", { users = { edges = { a = { node = {} } } } } },
      { "edges as a string", { users = { edges = "x" } } },
      { "a string connection", { users = "x" } },
      { "pageInfo as a number", { users = { edges = {}, pageInfo = 3 } } },
      { "a list for the connection", { users = { { node = {} } } } },
    }) do
      it(case[1], function()
        local ok, v, err = pcall(answer, case[2])
        assert.is_true(ok, tostring(v))
        assert.is_nil(v)
        assert.equal("decode", err.kind)
      end)
    end

    it("a mutation payload that is not an object", function()
      for _, payload in ipairs({ "x", 1, true, { 1 } }) do
        local body = assert(json.encode({ data = { createExternalUser = payload } }))
        local c = emu.embedded{ transport = function() return { status = 200, headers = {}, body = body } end }
        local ok, v, err = pcall(c.create_external_user, c, { name = "a", externalUserId = "b" })
        assert.is_true(ok, tostring(v))
        assert.is_nil(v)
        assert.equal("decode", err.kind)
      end
    end)

    it("each raises the decode error (an iterator), the error object, not a Lua error", function()
      local body = assert(json.encode({ data = { users = { edges = { 1 } } } }))
      local c = emu.embedded{ transport = function() return { status = 200, headers = {}, body = body } end }
      local ok, err = pcall(function() for _ in c:each("users") do end end)
      assert.is_false(ok)
      assert.equal("decode", err.kind)
      local all, aerr = c:all("users")
      assert.is_nil(all)
      assert.equal("decode", aerr.kind)
    end)
  end)
end)
