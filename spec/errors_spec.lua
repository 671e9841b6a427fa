-- tray.errors: the error object and the mappings to kinds.

local errors = require "tray.errors"

describe("tray.errors", function()
  it("new makes an error whose tostring is one line with kind, message, status and operation", function()
    local e = errors.new("not_found", "Workspace x not found", { status = 404, operation = "get_workspace" })
    assert.equal("not_found", e.kind)
    assert.equal("tray: not_found: Workspace x not found [HTTP 404] (get_workspace)", tostring(e))
    assert.is_true(errors.is(e))
    assert.is_false(errors.is({ kind = "x" }))
  end)

  it("fail returns nil and the error", function()
    local v, e = errors.fail("usage", "bad")
    assert.is_nil(v)
    assert.equal("tray: usage: bad", tostring(e))
  end)

  it("refuses a kind that is not in the list", function()
    assert.has_error(function() errors.new("oops", "x") end)
    for kind in pairs(errors.KINDS) do assert.equal(kind, errors.new(kind, "m").kind) end
  end)

  it("keeps at most 4 KiB of a body", function()
    local e = errors.new("decode", "x", { body = string.rep("a", 10000) })
    assert.equal(4096, #e.body)
  end)

  it("maps statuses to kinds", function()
    assert.equal("auth", errors.kind_for_status(401))
    assert.equal("forbidden", errors.kind_for_status(403))
    assert.equal("not_found", errors.kind_for_status(404))
    assert.equal("rate_limited", errors.kind_for_status(429))
    assert.equal("http", errors.kind_for_status(400))
    assert.equal("http", errors.kind_for_status(502))
  end)

  it("reads both documented REST error bodies", function()
    assert.same({ "Bearer token missing", "Unauthorized" },
      { errors.rest_message({ error = "Unauthorized", message = "Bearer token missing" }) })
    assert.same({ "Not found", "NOT_FOUND" }, { errors.rest_message({ message = "Not found", code = "NOT_FOUND" }) })
    assert.same({ "Unauthorized" }, { errors.rest_message({ message = "Unauthorized" }) })
    assert.same({ "Bad", "Bad" }, { errors.rest_message({ error = "Bad" }) })
    assert.is_nil(errors.rest_message("text"))
    assert.is_nil(errors.rest_message({ something = "else" }))
  end)

  it("recognises the documented GraphQL rate-limit error", function()
    assert.is_true(errors.graphql_rate_limited({ { message = "Rate limit exceeded",
      extensions = { code = "access_not_allowed", name = "PreconditionError" } } }))
    assert.is_false(errors.graphql_rate_limited({ { message = "Forbidden",
      extensions = { code = "access_not_allowed" } } }))
    assert.is_false(errors.graphql_rate_limited({ { message = "Rate limit exceeded" } }))
  end)

  it("redact removes secrets from every string field, nested ones too", function()
    local e = errors.new("http", "you sent Bearer s3cr3t", { body = '{"echo":"s3cr3t"}',
      errors = { { message = "token s3cr3t is bad" } } })
    errors.redact(e, { "s3cr3t" })
    assert.equal("you sent Bearer [redacted]", e.message)
    assert.equal('{"echo":"[redacted]"}', e.body)
    assert.equal("token [redacted] is bad", e.errors[1].message)
  end)
  describe("a token echoed by a hostile server (issue 14, items 1 and 2)", function()
    local TOKEN = "ab/cd+ef/gh=ij/kl+mn/op=="

    it("is scrubbed from the whole body before the body is cut, whatever the offset", function()
      for offset = -2, #TOKEN + 2 do
        local body = string.rep("x", 4096 - offset) .. TOKEN .. "tail"
        local e = errors.redact(errors.new("http", "m", { body = body }), { TOKEN })
        assert.is_true(#e.body <= 4096)
        for n = 4, #TOKEN do
          assert.is_nil(e.body:find(TOKEN:sub(1, n), 1, true), "offset " .. offset .. ": " .. n .. " bytes left")
        end
      end
    end)

    it("is scrubbed in its JSON-escaped and URL-encoded forms", function()
      local url = "ab%2Fcd%2Bef%2Fgh%3Dij%2Fkl%2Bmn%2Fop%3D%3D"
      local text = "a " .. TOKEN:gsub("/", "\\/") .. " b " .. url .. " c " .. url:lower() ..
        " d " .. TOKEN:gsub("/", "\\u002f")
      assert.equal("a [redacted] b [redacted] c [redacted] d [redacted]", errors.scrub(text, { TOKEN }))
    end)

    it("drops accessToken and authorizationCode values from error data, keeping the shape", function()
      local e = errors.new("graphql", "m", { data = { authorize = { accessToken = "u-tok" } },
        errors = { { extensions = { authorizationCode = "code" } } },
        body = '{"data":{"authorize":{"accessToken":"u-tok"}}}' })
      assert.equal("[redacted]", e.data.authorize.accessToken)
      assert.equal("[redacted]", e.errors[1].extensions.authorizationCode)
      assert.is_nil(e.body:find("u-tok", 1, true))
    end)

    it("add_secret registers a token once, and a bounded number of them", function()
      local list = { "own" }
      errors.add_secret(list, "t1")
      errors.add_secret(list, "t1")
      errors.add_secret(list, "")
      errors.add_secret(list, 42)
      assert.same({ "own", "t1" }, list)
      for i = 1, errors.MAX_SECRETS + 10 do errors.add_secret(list, "x" .. i) end
      assert.equal(errors.MAX_SECRETS, #list)
      assert.equal("own", list[1])
      errors.add_secret_fields(list, { accessToken = "at", authorizationCode = "ac", other = "o" })
      local last = { [list[#list]] = true, [list[#list - 1]] = true }
      assert.same({ at = true, ac = true }, last)
    end)
  end)
end)
