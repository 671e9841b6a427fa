-- bin/tray, run as a subprocess against the emulator: outputs and exit codes.

local emu = require "spec.helpers.emulator"
local json = require "tray.json"
local core_mod = require "tray.core"
local emb_mod = require "tray.embedded"

local ROOT = os.getenv("PWD") or "."

-- os.execute's success, on Lua 5.4 (true/nil) and LuaJIT (a status number)
local function sh(cmd)
  local a = os.execute(cmd)
  if type(a) == "number" then return a == 0 end
  return a == true
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  os.remove(path)
  return s
end

-- The environment of a run: the emulator's URLs and tokens (overridable; false unsets).
local function environment(extra)
  local e = {
    TRAY_TOKEN = emu.master_token, TRAY_MASTER_TOKEN = emu.master_token, TRAY_USER_TOKEN = false,
    TRAY_CORE_URL = emu.core_url, TRAY_GRAPHQL_URL = emu.graphql_url, TRAY_EMBEDDED_URL = emu.url,
    TRAY_REGION = false,
  }
  for k, v in pairs(extra or {}) do e[k] = v end
  local parts = {}
  for k, v in pairs(e) do
    if v == false then parts[#parts + 1] = "-u " .. k else parts[#parts + 1] = k .. "=" .. quote(v) end
  end
  table.sort(parts)
  return "env " .. table.concat(parts, " ")
end

--- Runs bin/tray with the arguments; returns the exit code, stdout and stderr.
local function tray(args, extra_env, program, dir)
  local out, err = os.tmpname(), os.tmpname()
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = quote(a) end
  local cmd = string.format("%s%s %s %s >%s 2>%s", dir and ("cd " .. quote(dir) .. " && ") or "",
    environment(extra_env), program or (ROOT .. "/bin/tray"), table.concat(quoted, " "), out, err)
  local a, _, c = os.execute(cmd)
  local code = type(a) == "number" and math.floor(a / 256) or (a and 0 or c)
  return code, slurp(out), slurp(err)
end

local function decoded(text)
  local v, why = json.decode(text)
  assert(v ~= nil, "not JSON: " .. tostring(why) .. ": " .. text:sub(1, 200))
  return v
end

describe("bin/tray", function()
  before_each(function()
    emu.reset()
  end)

  describe("help", function()
    it("lists every method of both clients, from the operation tables", function()
      local code, out = tray{ "help" }
      assert.equal(0, code)
      for _, op in ipairs(core_mod.OPERATIONS) do
        assert.matches("\n  " .. op.name .. " +" .. op.method .. " ", out)
      end
      for name in pairs(emb_mod.QUERIES) do assert.matches("\n  " .. name .. " +query ", out) end
      for name, m in pairs(emb_mod.MUTATIONS) do
        assert.matches("\n  " .. name .. " +mutation " .. m.field, out)
      end
    end)

    it("describes one method: arguments, types, token, --all", function()
      local code, out = tray{ "help", "users" }
      assert.equal(0, code)
      assert.matches("tray embedded users", out, 1, true)
      assert.matches("[--isTestUser true|false]", out, 1, true)
      assert.matches("criteria (as flags or --criteria JSON): externalUserId, isTestUser, name, userId", out, 1, true)
      assert.matches("token: master", out, 1, true)
      code, out = tray{ "help", "core", "get_connector_version" }
      assert.equal(0, code)
      assert.matches("tray core get_connector_version <connectorName> <connectorVersion>", out, 1, true)
      -- a name in both APIs: both are described
      code, out = tray{ "help", "call_connector" }
      assert.equal(0, code)
      assert.matches("tray core call_connector <connector> <version> --operation VALUE", out, 1, true)
      assert.matches("tray embedded call_connector", out, 1, true)
      code, out = tray{ "embedded", "create_solution_instance", "--help" }
      assert.equal(0, code)
      assert.matches("token: user", out, 1, true)
    end)

    it("exits 2 on unknown commands and methods, and without arguments", function()
      for _, args in ipairs({ {}, { "bogus" }, { "help", "nope" }, { "core", "nope" }, { "embedded", "nope" },
                              { "core" }, { "core", "list_users", "--bogus-flag" } }) do
        local code, out, err = tray(args)
        assert.equal(2, code)
        assert.equal("", out)
        assert.is_true(#err > 0)
      end
    end)
  end)

  describe("core", function()
    it("calls a method and prints its JSON (compact when not on a terminal)", function()
      local code, out, err = tray{ "core", "list_connectors" }
      assert.equal(0, code)
      assert.equal("", err)
      assert.equal(1, select(2, out:gsub("\n", "")))
      local expected = assert(emu.core():list_connectors())
      assert.equal(#expected.elements, #decoded(out).elements)
    end)

    it("takes path arguments positionally or by name", function()
      local id = "6f1c2a9e-3b4d-4e8f-9a01-2b3c4d5e6f70"
      local code, out = tray{ "core", "get_workspace", id }
      assert.equal(0, code)
      assert.equal("Development", decoded(out).name)
      code, out = tray{ "core", "get_workspace", "--workspaceId", id }
      assert.equal(0, code)
      assert.equal("Development", decoded(out).name)
      code, out = tray{ "core", "get_connector_version", "twilio-output", "2.1" }
      assert.equal(0, code)
      assert.equal("twilio-output", decoded(out).name)
      assert.matches("^/core/v1/connectors/twilio%-output/versions/2%.1$", emu.last_request().path)
    end)

    it("sends body fields, reading JSON-looking values as JSON, or --json", function()
      local code, out = tray{ "core", "call_connector", "twilio-output", "2.1", "--operation", "send_sms",
        "--input", '{"to":"+15550001","from":"+15550002","body":"hi"}' }
      assert.equal(0, code)
      assert.equal("queued", decoded(out).output.status)
      local body = decoded(emu.last_request().body)
      assert.same({ operation = "send_sms", input = { to = "+15550001", from = "+15550002", body = "hi" } }, body)
      code, out = tray{ "core", "invite_user", "--json", '{"email":"a@example.com","role":"member"}' }
      assert.equal(0, code)
      assert.equal("invited", decoded(out).status)
    end)

    it("pages through a list with --all and prints one JSON array", function()
      local code, out = tray{ "core", "list_workspaces", "--all" }
      assert.equal(0, code)
      local list = decoded(out)
      assert.equal(2, #list)
      assert.equal("Development", list[1].name)
      code = tray{ "core", "get_workspace", "x", "--all" }
      assert.equal(2, code)
    end)

    it("exits 1 on an API error with one line on stderr, 2 on usage errors", function()
      local code, out, err = tray{ "core", "get_workspace", "nope" }
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("^tray: not_found: [^\n]+%[HTTP 404%] %(get_workspace%)\n$", err)
      code, out, err = tray{ "core", "get_workspace", "a", "b" }
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("^tray: usage: ", err)
      code, out, err = tray({ "core", "list_users" }, { TRAY_TOKEN = false })
      assert.equal("", out)
      assert.equal(2, code)
      assert.matches("TRAY_TOKEN", err, 1, true)
      code = tray{ "core", "invite_user", "--json", "{not json" }
      assert.equal(2, code)
      code = tray{ "core", "call_connector", "twilio-output", "2.1" } -- operation is required
      assert.equal(2, code)
    end)

    it("never prints a token", function()
      local secret = "sekrit-token-0123456789"
      local code, out, err = tray({ "core", "list_users" }, { TRAY_TOKEN = secret })
      assert.equal(1, code)
      assert.matches("^tray: auth: ", err)
      assert.is_nil((out .. err):find(secret, 1, true))
      code, out, err = tray({ "embedded", "users" }, { TRAY_MASTER_TOKEN = secret })
      assert.equal(1, code)
      assert.is_nil((out .. err):find(secret, 1, true))
    end)
  end)

  describe("embedded", function()
    it("creates a user with typed flags, and finds it by criteria", function()
      local code, out = tray{ "embedded", "create_external_user", "--name", "Ada", "--externalUserId", "ada-1",
        "--isTestUser", "true" }
      assert.equal(0, code)
      local created = decoded(out)
      assert.is_true(created.isTestUser)
      code, out = tray{ "embedded", "users", "--externalUserId", "ada-1" }
      assert.equal(0, code)
      local page = decoded(out)
      assert.equal(1, #page.nodes)
      assert.equal(created.userId, page.nodes[1].id)
      assert.is_nil(page.edges)
      assert.equal(2, tray{ "embedded", "create_external_user", "--name", "B", "--externalUserId", "b",
        "--isTestUser", "maybe" })
      assert.equal(2, tray{ "embedded", "users", "--bogus", "1" })
    end)

    it("pages through every user with --all", function()
      emu.seed_users(150, "bulk-")
      emu.clear_requests()
      local code, out = tray{ "embedded", "users", "--all" }
      assert.equal(0, code)
      local all = decoded(out)
      assert.equal(150, #all)
      assert.equal("bulk-1", all[1].externalUserId)
      assert.equal("bulk-150", all[150].externalUserId)
      assert.equal(2, #emu.requests())   -- pages of 100
      code, out = tray{ "embedded", "users", "--all", "--first", "50", "--compact" }
      assert.equal(0, code)
      assert.equal(150, #decoded(out))
      assert.equal(2, tray{ "embedded", "authorize", "--userId", "x", "--all" })
    end)

    it("needs a user token for user methods, or --as-user with the master token", function()
      local user = assert(emu.embedded():create_external_user{ name = "U", externalUserId = "u" }).userId
      local args = { "embedded", "create_solution_instance", "--solutionId", "b3422397-XXXX-XXXX-XXXX-57e7e66771b3",
        "--instanceName", "mine", "--configValues", '[{"externalId":"external_limit","value":"5"}]' }
      local code, _, err = tray(args)
      assert.equal(2, code)
      assert.matches("TRAY_USER_TOKEN", err, 1, true)
      args[#args + 1] = "--as-user"
      args[#args + 1] = user
      local out
      code, out = tray(args)
      assert.equal(0, code)
      local inst = decoded(out).solutionInstance
      assert.equal("mine", inst.name)
      assert.same({ { externalId = "external_limit", value = "5" } }, inst.configValues)
      -- with a user token in the environment
      local token = emu.control("POST", "/token", { userId = user }).accessToken
      code, out = tray({ "embedded", "solution_instances" }, { TRAY_MASTER_TOKEN = false, TRAY_USER_TOKEN = token })
      assert.equal(0, code)
      assert.equal(1, decoded(out).totalCount)
      -- a master-only method with only a user token
      code, _, err = tray({ "embedded", "users" }, { TRAY_MASTER_TOKEN = false, TRAY_USER_TOKEN = token })
      assert.equal(2, code)
      assert.is_nil(err:find(token, 1, true))
    end)

    it("runs any document with query, and builds URLs without a request", function()
      assert(emu.embedded():create_external_user{ name = "Q", externalUserId = "q" })
      local code, out = tray{ "embedded", "query", "--variables", '{"n":1}',
        "--document", "query ($n: Int) { users(first: $n) { edges { node { name } } } }" }
      assert.equal(0, code)
      assert.equal("Q", decoded(out).users.edges[1].node.name)
      emu.clear_requests()
      code, out = tray({ "embedded", "config_wizard_url", "--partnerId", "acme", "--solutionInstanceId", "i 1",
        "--authorizationCode", "c" }, { TRAY_MASTER_TOKEN = false })
      assert.equal(0, code)
      assert.equal(emu.url .. "/external/solutions/acme/configure/i%201?code=c\n", out) -- a string: plain text
      assert.same({}, emu.requests())
    end)

    it("exits 1 on a GraphQL error", function()
      local code, out, err = tray{ "embedded", "authorize", "--userId", "no-such-user" }
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("^tray: graphql: [^\n]*%(authorize%)\n$", err)
    end)
  end)

  describe("output", function()
    it("is pretty with --pretty, and on a terminal", function()
      local code, out = tray{ "core", "get_workspace", "6f1c2a9e-3b4d-4e8f-9a01-2b3c4d5e6f70", "--pretty" }
      assert.equal(0, code)
      assert.matches('^{\n  "createdAt": "[^"]+",\n  "description": ', out)
      assert.equal("Development", decoded(out).name)
      assert.equal(2, tray{ "core", "list_users", "--pretty", "--compact" })
      if sh("command -v script >/dev/null 2>&1") then
        -- `script` gives the command a terminal
        local tmp = os.tmpname()
        local cmd = string.format("%s script -qec %s /dev/null > %s 2>&1 </dev/null", environment(),
          quote(ROOT .. "/bin/tray core get_workspace 6f1c2a9e-3b4d-4e8f-9a01-2b3c4d5e6f70"), tmp)
        os.execute(cmd)
        local text = slurp(tmp)
        assert.matches('{\r?\n  "createdAt": ', text)
      end
    end)

    it("prints empty arrays as [] and keeps / unescaped", function()
      local code, out = tray{ "embedded", "users", "--externalUserId", "nobody" }
      assert.equal(0, code)
      assert.matches('"nodes":[]', out, 1, true)
      code, out = tray({ "embedded", "config_wizard_url", "--partnerId", "p", "--solutionInstanceId", "i",
        "--authorizationCode", "c" })
      assert.equal(0, code)
      assert.matches("^http://", out)
    end)

    it("prints the server's JSON: arrays stay arrays (empty ones too), null stays null", function()
      local code, out = tray{ "core", "list_connector_operations", "trello", "2.0" }
      assert.equal(0, code)
      assert.matches('"authScopes":[]', out, 1, true)
      assert.matches('"advanced":[]', out, 1, true)
      assert.is_nil(out:find('"authScopes":{}', 1, true))
      code, out = tray{ "embedded", "users", "--externalUserId", "nobody" }
      assert.equal(0, code)
      assert.matches('"nodes":[]', out, 1, true)
      assert.matches('"endCursor":null', out, 1, true)
    end)

    it("escapes control characters and strips escape sequences from server text", function()
      local cli = require "tray.cli"
      local evil = "ok\27]0;title\7 \27[31mred\27[0m \194\155 31m \27P1$r\27\\ \1\127end"
      assert.equal("ok red  31m  end", cli.terminal_text(evil, true))
      assert.equal("a\nb", cli.terminal_text("a\r\nb\27[2J"))
      assert.equal('"\\u001b[31m\\u009b"', cli.encode("\27[31m\194\155"))
      assert(emu.embedded():create_external_user{ name = "\27]0;pwned\7\27[31mMallory", externalUserId = "m" })
      local code, out = tray{ "embedded", "users", "--externalUserId", "m" }
      assert.equal(0, code)
      assert.is_nil(out:find("\27", 1, true))
      assert.matches("\\u001b[31mMallory", out, 1, true)
      -- a server message echoing a C1 CSI (U+009B) that the SDK sent percent-encoded
      local err
      code, out, err = tray{ "core", "get_workspace", "\194\15531mX" }
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("^tray: not_found: Workspace 31mX not found", err)
      assert.is_nil(err:find("\194\155", 1, true))
    end)
  end)

  describe("for debugging", function()
    it("--debug prints one line per request (method, URL, status, duration, attempt) and no token", function()
      local code, out, err = tray{ "--debug", "embedded", "users", "--first", "1" }
      assert.equal(0, code)
      assert.is_table(decoded(out).nodes)
      local lines = {}
      for line in err:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.equal(1, #lines)
      local host_path = emu.graphql_url:gsub("^https?://", ""):gsub("%p", "%%%0")
      assert.matches("^tray: debug: POST %S*" .. host_path .. " %-> 200 in %d+ ms %(attempt 1%)$", lines[1])
      assert.is_nil(err:find(emu.master_token, 1, true))
      -- retries show, each attempt and the wait
      emu.fault{ match = { path = "/core/v1/workspaces" }, mode = "status", status = 503, count = 1 }
      code, out, err = tray{ "core", "list_workspaces", "--debug" }
      assert.equal(2, #decoded(out).elements)
      assert.equal(0, code)
      assert.matches("GET [^\n]*/core/v1/workspaces %-> 503 in %d+ ms %(attempt 1%)", err)
      assert.matches("retry: [^\n]*retry 1 of 3 in", err)
      assert.matches("GET [^\n]*/core/v1/workspaces %-> 200 in %d+ ms %(attempt 2[,)]", err)
      assert.is_nil(err:find(emu.master_token, 1, true))
    end)

    it("--debug hides the query's values", function()
      assert.equal("http://h/p?code=...&x=...", require("tray.cli").safe_url("http://h/p?code=secret&x=1"))
    end)

    it("--json-errors prints the whole error as one JSON line on stderr", function()
      local code, out, err = tray{ "--json-errors", "core", "get_workspace", "nope" }
      assert.equal(1, code)
      assert.equal("", out)
      assert.equal(1, select(2, err:gsub("\n", "")))
      local e = decoded(err)
      assert.equal("not_found", e.kind)
      assert.equal(404, e.status)
      assert.equal("get_workspace", e.operation)
      code, out, err = tray{ "embedded", "authorize", "--userId", "no-such-user", "--json-errors" }
      assert.equal("", out)
      assert.equal(1, code)
      e = decoded(err)
      assert.equal("graphql", e.kind)
      assert.is_table(e.errors)
      assert.is_string(e.errors[1].message)
      code, out, err = tray{ "--json-errors", "core", "get_workspace", "a", "b" }
      assert.equal("", out)
      assert.equal(2, code)
      assert.equal("usage", decoded(err).kind)
    end)

    it("reads any JSON argument from @file or - (standard input)", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write('{"name":"F","externalUserId":"from-file"}')
      f:close()
      local code, out = tray{ "embedded", "create_external_user", "--json", "@" .. path }
      os.remove(path)
      assert.equal(0, code)
      assert.is_string(decoded(out).userId)
      local tmp = os.tmpname()
      local cmd = string.format("echo '{\"name\":\"A\",\"externalUserId\":\"a\"}' | %s %s embedded " ..
        "create_external_user --json - > %s 2>&1", environment(), ROOT .. "/bin/tray", tmp)
      assert.is_true(sh(cmd))
      assert.is_string(decoded(slurp(tmp)).userId)
      assert.equal(1, #assert(emu.embedded():users{ criteria = { externalUserId = "a" } }).nodes)
      code = tray{ "embedded", "create_external_user", "--json", "@/no/such/file" }
      assert.equal(2, code)
    end)

    it("takes one plain string for a list, and a map for --configValues", function()
      local code, out = tray{ "embedded", "solutions", "--tags", "sales", "--debug" }
      assert.equal(0, code)
      assert.is_table(decoded(out).nodes)
      assert.same({ "sales" }, decoded(emu.last_request().body).variables.tags)
      local user = assert(emu.embedded():create_external_user{ name = "C", externalUserId = "c" }).userId
      code, out = tray{ "embedded", "create_solution_instance", "--solutionId", "b3422397-XXXX-XXXX-XXXX-57e7e66771b3",
        "--instanceName", "mapped", "--configValues", '{"external_limit":"7"}', "--as-user", user }
      assert.equal(0, code)
      assert.same({ { externalId = "external_limit", value = "7" } }, decoded(out).solutionInstance.configValues)
    end)

    it("sends any request with core request METHOD /path", function()
      local code, out = tray{ "core", "request", "GET", "/workspaces" }
      assert.equal(0, code)
      assert.equal("Development", decoded(out).elements[1].name)
      assert.equal("/core/v1/workspaces", emu.last_request().path)
      code, out = tray{ "core", "request", "post", "/users/invite",
        "--body", '{"email":"r@example.com","role":"member"}' }
      assert.equal(0, code)
      assert.equal("invited", decoded(out).status)
      assert.equal(1, tray{ "core", "request", "GET", "/workspaces/nope" })
      assert.equal(2, tray{ "core", "request", "GET", "http://elsewhere/x" })
      assert.equal(2, tray{ "core", "request", "FETCH", "/x" })
    end)

    it("generates bash completion from the operation tables", function()
      local code, out = tray{ "completion", "bash" }
      assert.equal(0, code)
      local script = os.tmpname()
      local f = assert(io.open(script, "w"))
      f:write(out)
      f:close()
      local function complete(words)
        local p = assert(io.popen(string.format("bash -c %s", quote(string.format(
          "source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _tray; echo \"${COMPREPLY[*]}\"", script,
          table.concat(words, " "), #words - 1)))))
        local line = p:read("*l")
        p:close()
        return line
      end
      assert.equal("get_workspace", complete{ "tray", "core", "get_works" })
      assert.equal("create_external_user", complete{ "tray", "embedded", "create_ext" })
      assert.equal("--externalUserId", complete{ "tray", "embedded", "users", "--extern" })
      assert.equal("--operation", complete{ "tray", "core", "call_connector", "--oper" })
      os.remove(script)
    end)

    it("runs tray.doctor's checks when it is there: one line each, exit 0 only when all pass", function()
      local code, out, err = tray{ "doctor" }
      if pcall(require, "tray.doctor") then
        assert.is_true(code == 0 or code == 1)
        assert.matches("^%S+ +%S", out)
        assert.is_nil((out .. err):find(emu.master_token, 1, true))
      else
        assert.equal(2, code)
        assert.matches("doctor is not available", err, 1, true)
      end
    end)
  end)

  describe("installed", function()
    it("runs from an installed tree (make install PREFIX=...)", function()
      local prefix = os.tmpname()
      os.remove(prefix)
      -- (-o: install the module the suite runs on; never rebuild it under the running specs)
      assert.is_true(sh(string.format("make -s -o all -o build/lua5.4/tray/native.so install PREFIX=%s " ..
        ">/dev/null 2>&1", quote(prefix))), "make install failed")
      local code, out = tray({ "core", "list_workspaces", "--all" }, {
        LUA_PATH = prefix .. "/share/lua/5.4/?.lua;" .. prefix .. "/share/lua/5.4/?/init.lua;;",
        LUA_CPATH = prefix .. "/lib/lua/5.4/?.so;;",
      }, prefix .. "/bin/tray", "/")
      os.execute("rm -rf " .. quote(prefix))
      assert.equal(0, code)
      assert.equal(2, #decoded(out))
    end)
  end)
end)
