-- The attack surface: header injection, path traversal, GraphQL injection,
-- redirects, TLS verification and token leaks, over real HTTP against the emulator.

local emu = require "spec.helpers.emulator"
local tray = require "tray"
local json = require "tray.json"
local native = require "tray.native"
local core_mod = require "tray.core"

-- Control bytes a header must never carry (HTAB is allowed in header values).
local BAD = { "abc\r\nX-Evil: 1", "abc\nX-Evil: 1", "abc\rX-Evil: 1", "a\0b", "\0", "ctl\1x", "del\127x" }

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- Every string inside v (keys too) that holds one of the secrets fails the test.
local function assert_clean(v, secrets, where)
  local seen = {}
  local function scan(x, at)
    if type(x) == "string" then
      for _, s in ipairs(secrets) do
        assert(not x:find(s, 1, true), "a token appears in " .. at)
      end
    elseif type(x) == "table" and not seen[x] then
      seen[x] = true
      for k, y in pairs(x) do
        scan(k, at .. " (a key)")
        scan(y, at .. "." .. tostring(k))
      end
    end
  end
  scan(v, where or "the value")
  scan(tostring(v), "tostring(" .. (where or "the value") .. ")")
end

-- Creates an external user and returns a user token for it (issued by the emulator).
local n_users = 0
local function user_token(emb)
  n_users = n_users + 1
  local created = assert(emb:create_external_user{ name = "Sec", externalUserId = "sec-" .. n_users })
  return assert(emb:authorize{ userId = created.userId }).accessToken
end

local function main_log()
  local out = {}
  for _, r in ipairs(emu.requests()) do
    if r.listener == "main" then out[#out + 1] = r end
  end
  return out
end

describe("security", function()
  before_each(function()
    emu.reset()
  end)

  describe("CR, LF, NUL and other control characters are refused with kind usage, before any request", function()
    it("in a token: core, embedded (master and user token), as_user", function()
      local emb = emu.embedded()
      for _, bad in ipairs(BAD) do
        local attempts = {
          function() return tray.core.new{ base_url = emu.core_url, token = bad } end,
          function() return tray.embedded.new{ endpoint = emu.graphql_url, master_token = bad } end,
          function() return tray.embedded.new{ endpoint = emu.graphql_url, user_token = bad } end,
          function() return emb:as_user(bad) end,
        }
        for i, attempt in ipairs(attempts) do
          local c, err = attempt()
          assert.is_nil(c, "attempt " .. i)
          assert.equal("usage", err.kind)
          assert.not_matches("Evil", tostring(err))
          assert.is_nil(err.message:find(bad, 1, true))
        end
      end
      assert.same({}, emu.requests())
    end)

    it("in the User-Agent option of both clients", function()
      for _, bad in ipairs(BAD) do
        local c, err = tray.core.new{ base_url = emu.core_url, token = emu.master_token, user_agent = bad }
        assert.is_nil(c)
        assert.equal("usage", err.kind)
        c, err = tray.embedded.new{ endpoint = emu.graphql_url, master_token = emu.master_token, user_agent = bad }
        assert.is_nil(c)
        assert.equal("usage", err.kind)
      end
      assert.same({}, emu.requests())
    end)

    it("in an id of every REST operation that has one", function()
      local core = emu.core()
      local n = 0
      for _, op in ipairs(core_mod.OPERATIONS) do
        for _, param in ipairs(op.params) do
          for _, bad in ipairs(BAD) do
            local args = { operation = op.body and "x" or nil }
            for _, p in ipairs(op.params) do args[p] = "ok-id" end
            for _, f in ipairs(op.required or {}) do if args[f] == nil then args[f] = "x" end end
            args[param] = bad
            local v, err = core[op.name](core, args)
            assert.is_nil(v)
            assert.equal("usage", err.kind, op.name .. " " .. param)
            assert.matches(param, err.message)
            n = n + 1
          end
        end
      end
      assert.is_true(n >= 13 * #BAD)
      assert.same({}, emu.requests())
    end)

    it("in a GraphQL ID and in the parts of the embedded URLs", function()
      local emb = emu.embedded()
      for _, bad in ipairs(BAD) do
        for _, attempt in ipairs({
          function() return emb:authorize{ userId = bad } end,
          function() return emb:remove_external_user{ userId = bad } end,
          function()
            return emb:config_wizard_url{ partnerId = "p", solutionInstanceId = bad, authorizationCode = "c" }
          end,
          function()
            return emb:auth_dialog_url{ partnerId = bad, authorizationCode = "c", serviceId = "s",
              serviceEnvironmentId = "e" }
          end,
          function()
            return emb:auth_dialog_url{ partnerId = "p", authorizationCode = bad, serviceId = "s",
              serviceEnvironmentId = "e" }
          end,
          function()
            return emb:auth_dialog_url{ partnerId = "p", authorizationCode = "c", serviceId = bad,
              serviceEnvironmentId = "e", scopes = { "a" } }
          end,
          function()
            return emb:auth_dialog_url{ partnerId = "p", authorizationCode = "c", serviceId = "s",
              serviceEnvironmentId = "e", scopes = { bad } }
          end,
        }) do
          local v, err = attempt()
          assert.is_nil(v)
          assert.equal("usage", err.kind)
        end
      end
      assert.same({}, emu.requests())
    end)

    it("in a header or the token given to the native module directly (the C check)", function()
      local s = assert(native.session{})
      local m = assert(native.multi())
      for _, bad in ipairs(BAD) do
        local url = emu.core_url .. "/workspaces"
        local status, kind = s:request("GET", url, { "Accept: application/json" }, nil, bad)
        assert.is_nil(status)
        assert.equal("usage", kind)
        status, kind = s:request("GET", url, { "X-Note: " .. bad }, nil, emu.master_token)
        assert.is_nil(status)
        assert.equal("usage", kind)
        local ok
        ok, kind = m:add(s, 1, "GET", url, {}, nil, bad)
        assert.is_nil(ok)
        assert.equal("usage", kind)
        ok, kind = native.session{ user_agent = "ua " .. bad }
        assert.is_nil(ok)
        assert.equal("usage", kind)
      end
      -- a header line that is not "Name: value"
      local status, kind = s:request("GET", emu.core_url .. "/workspaces", { "no colon here" }, nil, "t")
      assert.is_nil(status)
      assert.equal("usage", kind)
      m:close()
      s:close()
      assert.same({}, emu.requests())
    end)

    it("a base URL with a user name or password is refused", function()
      local c, err = tray.core.new{ token = "t", base_url = "http://user:secret@127.0.0.1:9/core/v1" }
      assert.is_nil(c)
      assert.equal("usage", err.kind)
      assert.not_matches("secret", tostring(err))
      c, err = tray.embedded.new{ master_token = "t", endpoint = "https://x@127.0.0.1/graphql" }
      assert.is_nil(c)
      assert.equal("usage", err.kind)
    end)
  end)

  describe("ids that look like paths are percent-encoded and never change the route", function()
    local HOSTILE = { "../../users", "..", ".", "a/b", "/", "what?x=1", "hash#frag", "100%", "%2e%2e",
                      "..%2F..%2Fusers", "a b", "semi;colon", "at@host", "back\\slash", "ünïcødé", "~user" }

    local function shape(route) return (route:gsub("{[^}]*}", "{}")) end

    it("for every path parameter of every REST operation", function()
      local core = emu.core()
      for _, op in ipairs(core_mod.OPERATIONS) do
        for _, param in ipairs(op.params) do
          for _, id in ipairs(HOSTILE) do
            emu.clear_requests()
            local before = emu.stats().byRoute
            local args = {}
            for _, p in ipairs(op.params) do args[p] = "ok-id" end
            for _, f in ipairs(op.required or {}) do if args[f] == nil then args[f] = "x" end end
            args[param] = id
            core[op.name](core, args)
            local log = main_log()
            assert.equal(1, #log, op.name .. " " .. id)
            local r = log[1]
            -- the segments the server decoded: the template's, with exactly our values
            local expect = { "core", "v1" }
            for seg in op.path:gmatch("[^/]+") do
              local name = seg:match("^{(%w+)}$")
              expect[#expect + 1] = name and args[name] or seg
            end
            assert.same(expect, r.segments, op.name .. " " .. id)
            assert.same({}, r.query)
            -- and the route it matched is this operation's
            local after, moved = emu.stats().byRoute, {}
            for k, v in pairs(after) do
              if v ~= (before[k] or 0) then moved[#moved + 1] = k end
            end
            assert.same({ shape(op.method .. " /core/v1" .. op.path) }, { shape(moved[1] or "") },
              op.name .. " " .. id)
            assert.equal(1, #moved)
          end
        end
      end
    end)

    it("in the config wizard and auth dialog URLs", function()
      local emb = emu.embedded()
      for _, id in ipairs(HOSTILE) do
        local url = assert(emb:config_wizard_url{ partnerId = "acme", solutionInstanceId = id, authorizationCode = id })
        local path, query = url:sub(#emu.url + 1):match("^([^?#]*)%?([^#]*)$")
        assert.is_string(path, url)
        local segs = {}
        for s in path:gmatch("[^/]+") do segs[#segs + 1] = percent_decode(s) end
        assert.same({ "external", "solutions", "acme", "configure", id }, segs)
        assert.equal("code=" .. native.escape(id), query)
        assert.equal(id, percent_decode(query:sub(6)))
        url = assert(emb:auth_dialog_url{ partnerId = id, authId = id, authorizationCode = "c" })
        path = url:sub(#emu.url + 1):match("^([^?#]*)%?code=c$")
        segs = {}
        for s in path:gmatch("[^/]+") do segs[#segs + 1] = percent_decode(s) end
        assert.same({ "external", "auth", "edit", id, id }, segs)
      end
    end)

    it("in a page cursor (query string)", function()
      -- a server-sent cursor goes back in ?after=: it cannot add parameters or a fragment
      local cursor = "c&first=1#x?y=../z"
      local core = emu.core{ transport = function(req)
        if not req.url:find("after=", 1, true) then
          return { status = 200, headers = {}, body = json.encode({ elements = { 1 },
            pageInfo = { hasNextPage = true, endCursor = cursor } }) }
        end
        local q = req.url:match("%?(.*)$")
        assert.is_nil(q:find("#", 1, true))
        local params = {}
        for k, v in q:gmatch("([^&=]+)=([^&]*)") do params[#params + 1] = { k, percent_decode(v) } end
        assert.same({ { "first", "100" }, { "after", cursor } }, params)
        return { status = 200, headers = {}, body = json.encode({ elements = { 2 } }) }
      end }
      assert.same({ 1, 2 }, assert(core:all("list_users")))
    end)
  end)

  describe("GraphQL values cannot change the document", function()
    local HOSTILE = {
      'He said "hi"', 'x"}) { evil }', '"}) { x', "{ users { edges { node { id } } } }", "$name",
      "# not a comment", "line\nbreak\r\nand more", "back\\slash\\", "\\u0022 quote", "ünïcødé ✓ \240\157\132\158",
      "zero\226\128\139width", "}}}}", "mutation { removeExternalUser(input: {userId: \"x\"}) { clientMutationId } }",
    }

    local function last_graphql()
      local log = main_log()
      local r = log[#log]
      assert.equal("/graphql", r.path)
      return json.decode(r.body)
    end

    it("mutation input: same text whatever the value; the value arrives and is stored intact", function()
      local emb = emu.embedded()
      assert(emb:create_external_user{ name = "plain", externalUserId = "plain-1" })
      local doc = last_graphql().query
      for i, v in ipairs(HOSTILE) do
        local created = assert(emb:create_external_user{ name = v, externalUserId = v .. i })
        local sent = last_graphql()
        assert.equal(doc, sent.query)
        assert.equal(v, sent.variables.name)
        assert.equal(v .. i, sent.variables.externalUserId)
        -- the server read it back as the same string
        local found = assert(emb:users{ criteria = { userId = created.userId } })
        assert.equal(v, found.nodes[1].name)
        assert.equal(v .. i, found.nodes[1].externalUserId)
      end
    end)

    it("query criteria and paging: same text whatever the value", function()
      local emb = emu.embedded()
      assert(emb:users{ criteria = { name = "plain" }, first = 5 })
      local doc = last_graphql().query
      for _, v in ipairs(HOSTILE) do
        local conn = assert(emb:users{ criteria = { name = v }, first = 5 })
        assert.same({}, conn.nodes)
        local sent = last_graphql()
        assert.equal(doc, sent.query)
        assert.equal(v, sent.variables.name)
        assert.equal(5, sent.variables.first)
      end
    end)

    it("a connector input (JSON text) travels as one variable", function()
      local emb = emu.embedded()
      local input = { to = "+15550001", from = "+15550002", body = 'x"}) { evil } \n' }
      emb:call_connector{ connector = "twilio-output", version = "2.1", operation = "send_sms",
        authId = "5b7e2c1a-9d3f-4a6b-8c0e-1f2a3b4c5d6e", input = input }
      local sent = last_graphql()
      assert.not_matches("evil", sent.query)
      assert.same(input, json.decode(sent.variables.input))
    end)

    it("names (aliases, operation names) that are not GraphQL names are refused", function()
      local emb = emu.embedded()
      local v, err = emb:call_connectors{ ['a: users { id } b'] = { connector = "c", version = "1",
        operation = "o", authId = "a", input = {} } }
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      v, err = emb:query("query A { viewer { id } }", nil, "A { x }")
      assert.is_nil(v)
      assert.equal("usage", err.kind)
      assert.same({}, emu.requests())
    end)
  end)

  describe("redirects are never followed: Authorization never reaches another host", function()
    for _, status in ipairs({ 301, 302, 303, 307, 308 }) do
      it("answered " .. status .. ": both clients, GET and POST, blocking and parallel", function()
        emu.fault{ mode = "redirect", status = status, count = -1 }
        local core = emu.core{ max_retries = 3, retry_base = 0.01 }
        local emb = emu.embedded{ max_retries = 3, retry_base = 0.01 }
        local calls = {
          function() return core:list_workspaces() end,
          function() return core:invite_user{ email = "ada@example.com" } end,
          function() return emb:users{ first = 1 } end,
          function() return emb:create_external_user{ name = "R", externalUserId = "r-" .. status } end,
        }
        for _, call in ipairs(calls) do
          local v, err = call()
          assert.is_nil(v)
          assert.equal("http", err.kind)
          assert.equal(status, err.status)
          assert.matches("redirects are not followed", err.message)
        end
        local values, errs = tray.parallel(calls, { concurrency = 4 })
        for i = 1, #calls do
          assert.is_nil(values[i])
          assert.equal(status, errs[i].status)
        end
        local log = emu.requests()
        assert.equal(8, #log)
        for _, r in ipairs(log) do
          assert.equal("main", r.listener)
          assert.equal(status, r.status)
        end
      end)
    end
  end)

  -- A request without certificate verification, made by curl(1) for the spec's own set-up.
  local function insecure(method, url)
    local p = assert(io.popen("curl -sk -X " .. method .. " -w '\\n%{http_code}' '" .. url .. "'"))
    local out = p:read("*a")
    p:close()
    local body, status = out:match("^(.*)\n(%d+)$")
    return tonumber(status), body
  end

  describe("TLS", function()
    local tls_url, stop_tls, ca_file

    setup(function()
      -- a second emulator with a self-signed certificate, on a free port
      tls_url, stop_tls = emu.start("--tls")
      assert.matches("^https://", tls_url)
      -- its certificate, fetched once without verification (by curl(1): the SDK has no
      -- switch that turns verification off)
      local status, pem = insecure("GET", tls_url .. "/_emulator/ca.pem")
      assert.equal(200, status)
      assert.matches("BEGIN CERTIFICATE", pem)
      ca_file = os.tmpname()
      local w = assert(io.open(ca_file, "w"))
      w:write(pem)
      w:close()
    end)

    teardown(function()
      if stop_tls then stop_tls() end
      if ca_file then os.remove(ca_file) end
    end)

    local function tls_requests()
      local status, body = insecure("GET", tls_url .. "/_emulator/requests")
      assert.equal(200, status)
      return json.decode(body)
    end

    it("is verified by default: a self-signed certificate is refused, and nothing is sent", function()
      insecure("DELETE", tls_url .. "/_emulator/requests")
      local core = emu.core{ base_url = tls_url .. "/core/v1" }
      local emb = emu.embedded{ endpoint = tls_url .. "/graphql" }
      for _, call in ipairs({ function() return core:list_workspaces() end,
                              function() return emb:users{ first = 1 } end }) do
        local v, err = call()
        assert.is_nil(v)
        assert.equal("network", err.kind)
        assert.matches("certificate", err.message)
      end
      local _, errs = tray.parallel({ function() return core:list_workspaces() end })
      assert.matches("certificate", errs[1].message)
      assert.same({}, tls_requests())
    end)

    it("succeeds with the certificate given as ca_file", function()
      local core = emu.core{ base_url = tls_url .. "/core/v1", ca_file = ca_file }
      local emb = emu.embedded{ endpoint = tls_url .. "/graphql", ca_file = ca_file }
      assert.equal(2, #assert(core:list_workspaces()).elements)
      assert.is_table(assert(emb:users{ first = 1 }).nodes)
      local values = tray.parallel({ function() return core:list_workspaces() end,
                                     function() return emb:users{ first = 1 } end })
      assert.is_table(values[1])
      assert.is_table(values[2])
    end)

    it("a ca_file that does not exist or holds another certificate is an error, not a fallback", function()
      local missing = emu.core{ base_url = tls_url .. "/core/v1", ca_file = "/nonexistent/ca.pem" }
      local v, err = missing:list_workspaces()
      assert.is_nil(v)
      assert.equal("network", err.kind)
      -- the system store does not hold the emulator's certificate either
      local other = emu.core{ base_url = tls_url .. "/core/v1", ca_file = "/etc/ssl/certs/ca-certificates.crt" }
      v, err = other:list_workspaces()
      assert.is_nil(v)
      assert.equal("network", err.kind)
    end)
  end)

  describe("no token in errors, logs, URLs or the User-Agent", function()
    it("the User-Agent and URLs of every request hold no token", function()
      local emb = emu.embedded()
      local token = user_token(emb)
      local user = assert(emb:as_user(token))
      local core = emu.core{ user_agent = "job/1" }
      local user_core = emu.core{ token = token }
      assert(core:list_workspaces())
      assert(user_core:list_workspaces())
      assert(emb:users{ first = 1 })
      assert(user:authentications())
      local log = main_log()
      assert.is_true(#log >= 6)
      for _, r in ipairs(log) do
        assert.matches("tray%-lua/", r.headers["user-agent"])
        for name, value in pairs(r.headers) do
          if name ~= "authorization" then assert_clean(value, { emu.master_token, token }, "header " .. name) end
        end
        assert_clean({ r.url, r.path, r.query }, { emu.master_token, token }, "the URL")
      end
    end)

    it("the log callback's messages hold no token", function()
      local messages = {}
      local opts = { max_retries = 3, retry_base = 0.01,
                     log = function(level, message) messages[#messages + 1] = level .. " " .. message end }
      local emb = emu.embedded(opts)
      local token = user_token(emb)
      local user = assert(emb:as_user(token))
      local core = emu.core(opts)
      emu.fault{ match = { operation = "viewer" }, mode = "status", status = 503, count = 2 }
      emu.fault{ match = { operation = "users" }, mode = "graphql_rate_limit", count = 2 }
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "429", retryAfter = 0, count = 2 }
      assert(user:authentications())
      assert(emb:users{ first = 1 })
      assert(core:list_workspaces())
      assert.equal(6, #messages)
      assert_clean(messages, { emu.master_token, token }, "the log")
    end)

    it("an echoing server: every error field is scrubbed, at any depth, keys included", function()
      local master = emu.master_token
      local token
      do
        local emb = emu.embedded()
        token = user_token(emb)
      end
      local function echo(auth)
        local deep = { secret = auth }
        for _ = 1, 12 do deep = { nested = deep } end
        return {
          { status = 400, body = json.encode({ error = "Bad", message = "you sent " .. auth }) },
          { status = 200, body = json.encode({ errors = { { message = "bad token " .. auth,
              extensions = { deep = deep, [auth] = "as a key" } } }, data = { echo = auth } }) },
          { status = 200, body = "not json " .. auth },
          { status = 503, body = json.encode({ message = auth }) },
          { status = 200, body = json.encode({ outcome = "error", output = { message = auth, token = auth } }) },
          { status = 302, headers = { location = "https://evil.example/?t=" .. auth }, body = "" },
        }
      end
      local function client_set(transport)
        local emb = assert(tray.embedded.new{ endpoint = emu.graphql_url, master_token = master,
          transport = transport, rate_limit = false, max_retries = 1, retry_base = 0.001 })
        local core = assert(tray.core.new{ base_url = emu.core_url, token = master,
          transport = transport, rate_limit = false, max_retries = 1, retry_base = 0.001 })
        return core, emb, assert(emb:as_user(token)), assert(tray.core.new{ base_url = emu.core_url, token = token,
          transport = transport, rate_limit = false, max_retries = 1, retry_base = 0.001 })
      end
      local n = 0
      for i = 1, 6 do
        local transport = function(req)
          local auth = req.headers.Authorization
          local r = echo(auth)[i]
          r.headers = r.headers or { ["content-type"] = "application/json" }
          return r
        end
        local core, emb, user, user_core = client_set(transport)
        local results = {
          { core:list_workspaces() },
          { core:call_connector{ connector = "c", version = "1", operation = "o", input = {} } },
          { emb:users{ first = 1 } },
          { emb:create_external_user{ name = "a", externalUserId = "b" } },
          { user:authentications() },
          { user_core:list_workspaces() },
          { emb:call_connectors{ a = { connector = "c", version = "1", operation = "o", authId = "x", input = {} } } },
        }
        for j, r in ipairs(results) do
          if r[2] ~= nil then
            n = n + 1
            assert_clean(r[2], { master, token }, "error " .. j .. " of echo " .. i)
          end
        end
      end
      assert.is_true(n >= 30)
      -- a custom transport failing with the token in its message
      local core = select(1, client_set(function(req)
        return nil, "network", "could not send " .. req.headers.Authorization
      end))
      local v, err = core:list_workspaces()
      assert.is_nil(v)
      assert.equal("network", err.kind)
      assert.matches("%[redacted%]", err.message)
      assert_clean(err, { master }, "the transport's error")
    end)

    it("errors from the emulator itself, for master and user tokens, hold no token", function()
      local emb = emu.embedded()
      local token = user_token(emb)
      local user = assert(emb:as_user(token))
      local errs = {}
      local function keep(_, err) if err then errs[#errs + 1] = err end end
      keep(user:users{ first = 1 })                         -- a master-only query with a user token
      keep(emu.core{ token = token .. "x" }:list_users())   -- an unknown token
      keep(emu.embedded{ user_token = token .. "x" }:authentications())
      emu.fault{ mode = "malformed_json" }
      keep(user:authentications())
      emu.fault{ mode = "html" }
      keep(emu.core{ token = token }:list_users())
      emu.advance(3 * 24 * 3600)                             -- the user token expires
      keep(user:authentications())
      assert.equal(6, #errs)
      for i, e in ipairs(errs) do assert_clean(e, { emu.master_token, token }, "error " .. i) end
    end)
  end)
end)
