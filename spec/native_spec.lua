-- tray.native: the C core seen from Lua (sessions, multi, parsers).

local emu = require "spec.helpers.emulator"
local native = require "tray.native"

describe("tray.native", function()
  before_each(function()
    emu.reset()
  end)

  it("reports its version and the curl it runs on", function()
    assert.matches("^%d+%.%d+%.%d+$", native.VERSION)
    assert.equal(require("tray").VERSION, native.VERSION) -- csrc/tray.h and lua/tray/init.lua agree
    assert.matches("libcurl/", native.curl_version())
  end)

  describe("session:request", function()
    it("returns status, body and lowercase headers", function()
      local s = assert(native.session{})
      local status, body, headers = s:request("GET", emu.core_url .. "/workspaces",
        { "Accept: application/json" }, nil, emu.master_token)
      assert.equal(200, status)
      assert.matches('"elements"', body)
      assert.matches("application/json", headers["content-type"])
    end)

    it("builds the bearer header from the token", function()
      local s = assert(native.session{})
      assert(s:request("GET", emu.core_url .. "/users", {}, nil, "tok-123"))
      assert.equal("Bearer tok-123", emu.last_request().headers.authorization)
    end)

    it("sends no Authorization header without a token, and no Expect: 100-continue", function()
      local s = assert(native.session{})
      local big = string.rep("x", 200000)
      assert(s:request("POST", emu.core_url .. "/users/invite", { "Content-Type: application/json" }, big, nil))
      local r = emu.last_request()
      assert.is_nil(r.headers.authorization)
      assert.is_nil(r.headers.expect)
      assert.equal(200000, r.bodyBytes)
    end)

    for _, bad in ipairs({ "a\rb", "a\nb", "a\0b", "" }) do
      it(string.format("refuses the token %q with kind usage", bad), function()
        local s = assert(native.session{})
        emu.clear_requests()
        local ok, kind = s:request("GET", emu.core_url .. "/users", {}, nil, bad)
        assert.is_nil(ok)
        assert.equal("usage", kind)
        assert.same({}, emu.requests())
      end)
    end

    it("refuses a header line with CR/LF", function()
      local s = assert(native.session{})
      local ok, kind = s:request("GET", emu.core_url .. "/users", { "X-A: b\r\nX-Injected: 1" }, nil, "t")
      assert.is_nil(ok)
      assert.equal("usage", kind)
    end)

    it("refuses an unsupported method and a non-http URL", function()
      local s = assert(native.session{})
      local ok, kind = s:request("BREW", emu.core_url .. "/users", {}, nil, "t")
      assert.is_nil(ok)
      assert.equal("usage", kind)
      ok, kind = s:request("GET", "file:///etc/passwd", {}, nil, "t")
      assert.is_nil(ok)
      assert.equal("usage", kind)
    end)

    it("maps a refused connection to network with detail unsent", function()
      local s = assert(native.session{ connect_timeout = 2 })
      local ok, kind, msg, detail = s:request("GET", emu.dead_url(), {}, nil, "t")
      assert.is_nil(ok)
      assert.equal("network", kind)
      assert.is_string(msg)
      assert.equal("unsent", detail)
    end)

    it("maps a slow answer to timeout", function()
      emu.fault{ match = { path = "/core/v1/users" }, mode = "delay", delayMs = 1500 }
      local s = assert(native.session{ timeout = 0.3 })
      local ok, kind, _, detail = s:request("GET", emu.core_url .. "/users", {}, nil, "t")
      assert.is_nil(ok)
      assert.equal("timeout", kind)
      assert.is_nil(detail) -- the request was sent: not safe to repeat blindly
    end)

    it("refuses a body over max_body with kind decode", function()
      emu.fault{ match = { path = "/core/v1/users" }, mode = "huge", bytes = 300000 }
      local s = assert(native.session{ max_body = 100000 })
      local ok, kind, msg = s:request("GET", emu.core_url .. "/users", {}, nil, "t")
      assert.is_nil(ok)
      assert.equal("decode", kind)
      assert.matches("max_body", msg)
    end)

    it("can be closed twice, and refuses use after close", function()
      local s = assert(native.session{})
      s:close()
      s:close()
      assert.is_true(s:closed())
      assert.has_error(function() s:request("GET", emu.core_url .. "/users", {}, nil, "t") end)
    end)

    it("is closed by a to-be-closed variable on Lua 5.4", function()
      if _VERSION ~= "Lua 5.4" then return end
      local chunk = assert(load([[
        local native = ...
        local kept
        do
          local s <close> = native.session{}
          kept = s
        end
        return kept:closed()
      ]]))
      assert.is_true(chunk(native))
    end)

    it("refuses bad options with kind usage", function()
      local s, kind = native.session{ timeout = 0 }
      assert.is_nil(s)
      assert.equal("usage", kind)
      s, kind = native.session{ user_agent = "x\r\ny" }
      assert.is_nil(s)
      assert.equal("usage", kind)
    end)
  end)

  describe("multi", function()
    it("runs transfers at once and reports each by id", function()
      emu.config{ latencyMs = 200 }
      local s = assert(native.session{})
      local m = assert(native.multi())
      for id = 1, 5 do assert(m:add(s, id, "GET", emu.core_url .. "/users", {}, nil, emu.master_token)) end
      assert.equal(5, m:count())
      local got, started = {}, native.now()
      while m:count() > 0 and native.now() - started < 30 do
        for _, r in ipairs(m:poll(0.5)) do got[r.id] = r.status end
      end
      assert.same({ 200, 200, 200, 200, 200 }, got)
      m:close()
    end)

    it("frees transfers still in flight when the multi and the session are collected", function()
      local open_fds = require("spec.helpers.proc").fds
      emu.config{ latencyMs = 2000 }
      collectgarbage("collect")
      local before = open_fds()
      do
        local s = assert(native.session{})
        local m = assert(native.multi())
        for id = 1, 3 do assert(m:add(s, id, "GET", emu.core_url .. "/users", {}, nil, "t")) end
        m:poll(0.05)
        s:close() -- the owner goes first: the transfers keep the session alive
        assert.is_true(open_fds() >= before + 3, "three connections are open")
      end
      collectgarbage("collect")
      collectgarbage("collect")
      -- the three connections are gone; the spec helper's own keep-alive connection to the
      -- emulator may have been replaced meanwhile, hence one descriptor of slack
      assert.is_true(open_fds() <= before + 1, "descriptors before " .. before .. ", after " .. open_fds())
    end)

    it("reports a refused connection as an error result", function()
      local s = assert(native.session{})
      local m = assert(native.multi())
      assert(m:add(s, 7, "GET", emu.dead_url(), {}, nil, "t"))
      local r
      local deadline = native.now() + 30
      repeat r = m:poll(0.1)[1] until r or native.now() > deadline
      assert.equal(7, r.id)
      assert.equal("network", r.kind)
      assert.equal("unsent", r.detail)
      m:close()
    end)
  end)

  describe("parsers", function()
    it("escape keeps RFC 3986 unreserved characters and encodes the rest", function()
      assert.equal("AZaz09-._~", native.escape("AZaz09-._~"))
      assert.equal("a%2Fb%3Fc%23d%20e%25", native.escape("a/b?c#d e%"))
      assert.equal("..%2F..%2Fusers", native.escape("../../users"))
      assert.equal("%C3%A9%00", native.escape("é\0"))
      local long = string.rep("/", 1000)
      assert.equal(string.rep("%2F", 1000), native.escape(long))
    end)

    it("retry_after reads delta-seconds and the three HTTP-date forms", function()
      local now = 784111777 - 10 -- 10 s before Sun, 06 Nov 1994 08:49:37 GMT
      assert.equal(120, native.retry_after("120"))
      assert.equal(0, native.retry_after("0"))
      assert.equal(10, native.retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now))
      assert.equal(10, native.retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now))
      assert.equal(10, native.retry_after("Sun Nov  6 08:49:37 1994", now))
      assert.equal(0, native.retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 100)) -- in the past
      assert.equal(86400, native.retry_after("999999999999"))                     -- capped at a day
    end)

    for _, bad in ipairs({ "", "soon", "-1", "1.5", "12abc", "Sun, 06 Nov 1994 08:49:37 UTC",
                           "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT" }) do
      it(string.format("retry_after refuses %q", bad), function()
        assert.is_nil(native.retry_after(bad))
      end)
    end

    it("header_safe refuses control characters except tab", function()
      assert.is_true(native.header_safe("Bearer abc.DEF-123_~+/="))
      assert.is_true(native.header_safe("a\tb"))
      for _, c in ipairs({ "\r", "\n", "\0", "\1", "\127" }) do
        assert.is_false(native.header_safe("a" .. c .. "b"))
      end
    end)

    it("digest is stable and does not contain its input", function()
      assert.equal(native.digest("abc"), native.digest("abc"))
      assert.not_equal(native.digest("abc"), native.digest("abd"))
      assert.matches("^%x+$", native.digest("secret-token"))
      assert.equal(16, #native.digest("secret-token"))
    end)
  end)
end)
