-- tray.graphql: documents from tables, values only as variables.

local gql = require "tray.graphql"

describe("tray.graphql", function()
  describe("build", function()
    it("writes the operation, its variables and a nested selection", function()
      local doc, vars = gql.build{
        operation = "mutation", name = "CreateUser",
        select = {
          { "createExternalUser",
            args = { input = { name = gql.value("Dwight", "String!"), externalUserId = gql.value("d-1", "String!") } },
            select = { "userId", "clientMutationId" } },
        },
      }
      assert.equal(table.concat({
        "mutation CreateUser($externalUserId: String!, $name: String!) {",
        "  createExternalUser(input: { externalUserId: $externalUserId, name: $name }) {",
        "    userId",
        "    clientMutationId",
        "  }",
        "}",
      }, "\n"), doc)
      assert.same({ name = "Dwight", externalUserId = "d-1" }, vars)
    end)

    it("puts array fields first, then the hash part's fields sorted by name", function()
      local doc = assert(gql.build{ select = { { "viewer", select = {
        "id", service = { "title", "id" }, auth = { "x" } } } } })
      assert.equal(table.concat({
        "query {",
        "  viewer {",
        "    id",
        "    auth {",
        "      x",
        "    }",
        "    service {",
        "      title",
        "      id",
        "    }",
        "  }",
        "}",
      }, "\n"), doc)
    end)

    it("is deterministic: the same input gives the same text", function()
      local function spec()
        return { operation = "query", select = { { "users",
          args = { first = gql.value(5, "Int!"), after = gql.value("c", "String!"),
                   criteria = { name = gql.value("n", "String!"), isTestUser = gql.value(true, "Boolean!") } },
          select = { edges = { node = { "id", "name" }, "cursor" }, pageInfo = { "hasNextPage" } } } } }
      end
      local first = assert(gql.build(spec()))
      for _ = 1, 20 do assert.equal(first, (gql.build(spec()))) end
    end)

    it("writes aliases and keeps each alias's variables apart", function()
      local doc, vars = gql.build{ operation = "mutation", select = {
        { "callConnector", alias = "a", args = { input = { connector = gql.value("x", "String!") } },
          select = { "output" } },
        { "callConnector", alias = "b", args = { input = { connector = gql.value("y", "String!") } },
          select = { "output" } },
      } }
      assert.matches("a: callConnector%(input: { connector: %$connector }%)", doc)
      assert.matches("b: callConnector%(input: { connector: %$b_connector }%)", doc)
      assert.same({ connector = "x", b_connector = "y" }, vars)
    end)

    it("refers to a caller's variable with var(), declaring it once", function()
      local doc, vars = gql.build{ select = {
        { "users", alias = "one", args = { first = gql.var("n", "Int") }, select = { "x" } },
        { "users", alias = "two", args = { first = gql.var("n", "Int") }, select = { "x" } },
      } }
      assert.matches("^query%(%$n: Int%) {", doc)
      assert.same({}, vars)
    end)

    for _, value in ipairs({ 'He said "hi"', 'x"}) { evil }', "line\nbreak", "back\\slash", "ünïcødé ✓", "$var" }) do
      it(string.format("never writes a value into the text (%q)", value), function()
        local doc, vars = gql.build{ operation = "mutation", select = {
          { "createExternalUser", args = { input = { name = gql.value(value, "String!") } }, select = { "userId" } } } }
        local plain = assert(gql.build{ operation = "mutation", select = {
          { "createExternalUser", args = { input = { name = gql.value("plain", "String!") } },
            select = { "userId" } } } })
        assert.equal(plain, doc)
        assert.equal(value, vars.name)
      end)
    end

    it("refuses a raw value as an argument: values travel as variables", function()
      local doc, err = gql.build{ select = { { "users", args = { first = 5 }, select = { "x" } } } }
      assert.is_nil(doc)
      assert.matches("values travel as variables", err)
    end)

    for _, bad in ipairs({ "bad name", "a-b", "1x", "x{y}", "" }) do
      it(string.format("refuses %q as a field, alias or argument name", bad), function()
        assert.is_nil((gql.build{ select = { bad } }))
        assert.is_nil((gql.build{ select = { { "users", alias = bad, select = { "x" } } } }))
        assert.is_nil((gql.build{ select = { { "users", args = { [bad] = gql.value(1, "Int") }, select = { "x" } } } }))
      end)
    end

    it("refuses a type that is not a GraphQL type", function()
      local doc, err = gql.build{ select = { { "users", args = { first = gql.value(1, "Int) { x") },
        select = { "x" } } } }
      assert.is_nil(doc)
      assert.matches("invalid GraphQL type", err)
    end)

    it("refuses an empty selection and an unknown operation type", function()
      assert.is_nil((gql.build{ select = {} }))
      assert.is_nil((gql.build{ operation = "subscription", select = { "x" } }))
    end)
  end)
end)
