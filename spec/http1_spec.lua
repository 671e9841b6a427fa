-- The HTTP/1.1 framing of the C core (csrc/http1.c) that the nginx backend uses:
-- the request bytes, and the incremental response parser fed in every possible
-- way. Pure functions: no server needed.

local native = require "tray.native"

local unpack = table.unpack or unpack -- luacheck: ignore 143

local function request(...)
  return native.http1_request(...)
end

describe("native.http1_request", function()
  it("builds a GET: request line, Host, User-Agent, the lines, the bearer line, keep-alive", function()
    local bytes, scheme, host, port = request("GET", "http://api.example:8080/core/v1/users?limit=2#top",
      { "Accept: application/json" }, nil, "tok-123", "app/1 tray-lua/0.1")
    assert.equal("http", scheme)
    assert.equal("api.example", host)
    assert.equal(8080, port)
    assert.equal("GET /core/v1/users?limit=2 HTTP/1.1\r\n" ..
      "Host: api.example:8080\r\n" ..
      "User-Agent: app/1 tray-lua/0.1\r\n" ..
      "Accept: application/json\r\n" ..
      "Authorization: Bearer tok-123\r\n" ..
      "Connection: keep-alive\r\n\r\n", bytes)
  end)

  it("builds a POST with Content-Length and the body; https defaults to 443, http to 80", function()
    local bytes, scheme, host, port = request("POST", "https://Tray.example/graphql",
      { "Content-Type: application/json" }, '{"a":1}')
    assert.equal("https", scheme)
    assert.equal("Tray.example", host)
    assert.equal(443, port)
    assert.equal("POST /graphql HTTP/1.1\r\nHost: Tray.example\r\nContent-Type: application/json\r\n" ..
      "Content-Length: 7\r\nConnection: keep-alive\r\n\r\n{\"a\":1}", bytes)
    local _, _, _, p80 = request("GET", "http://h", {})
    assert.equal(80, p80)
    -- a POST without a body still says how long it is
    assert.matches("Content-Length: 0\r\n", (request("POST", "http://h/x", {})), 1, true)
  end)

  it("takes IPv6 literals, an empty path, and encodes bytes a request line cannot carry", function()
    local bytes, _, host, port = request("GET", "http://[::1]:9000?q=\xc3\xa9", {})
    assert.equal("::1", host)
    assert.equal(9000, port)
    local want = "GET /?q=%C3%A9 HTTP/1.1\r\nHost: [::1]:9000\r\n"
    assert.equal(want, bytes:sub(1, #want))
  end)

  it("refuses a token, a header or a User-Agent that could split the head, and says nothing of the token", function()
    for _, token in ipairs({ "a\r\nX-Evil: 1", "a\nb", "a\0b", "" }) do
      local v, kind, msg = request("GET", "http://h/", {}, nil, token)
      assert.is_nil(v)
      assert.equal("usage", kind)
      assert.matches("token", msg)
      if #token > 0 then assert.not_matches(token, msg, 1, true) end
    end
    for _, line in ipairs({ "X-A: 1\r\nX-B: 2", "X-A: \0", "no colon", ": empty name", "Bad Name: x" }) do
      local v, kind = request("GET", "http://h/", { line })
      assert.is_nil(v)
      assert.equal("usage", kind)
    end
    local v, kind = request("GET", "http://h/", {}, nil, nil, "ua\r\nX: 1")
    assert.is_nil(v)
    assert.equal("usage", kind)
  end)

  it("reads its arguments as session:request does: strings only, never converted, bounded", function()
    -- a number header would be converted into a string the table does not hold
    for _, lines in ipairs({ { 42 }, { "X-A: 1", 7 }, { true } }) do
      local v, kind, msg = request("GET", "http://h/", lines)
      assert.is_nil(v)
      assert.equal("usage", kind)
      assert.matches("header must be a string", msg)
    end
    local v, kind = request("GET", "http://h/" .. string.rep("a", 70 * 1024), {})
    assert.is_nil(v)
    assert.equal("usage", kind)
    v, kind = request("GET", "http://h/", {}, 42)
    assert.is_nil(v)
    assert.equal("usage", kind)
    assert.is_string((request("GET", "http://h/", { "X-A: 1" })))
  end)

  it("refuses header lines that would change the framing or carry credentials", function()
    for _, line in ipairs({ "Host: other", "authorization: Basic x", "Content-Length: 5",
                            "Transfer-Encoding: chunked", "Connection: close" }) do
      local v, kind, msg = request("GET", "http://h/", { line })
      assert.is_nil(v, line)
      assert.equal("usage", kind)
      assert.matches("may not set", msg)
    end
  end)

  it("refuses other methods and URLs that are not http(s)://host[:port]/...", function()
    assert.is_nil((request("TRACE", "http://h/", {})))
    assert.is_nil((request("GET\0", "http://h/", {})))
    for _, url in ipairs({ "ftp://h/", "http:/h", "http://", "http://user:pw@h/", "http://h:0/", "http://h:99999/",
                           "http://h:x/", "http://[::1/", "http://h/a b", "http://h/\r\n", "h/path" }) do
      local v, kind, msg = request("GET", url, {})
      assert.is_nil(v, url)
      assert.equal("usage", kind)
      assert.not_matches("pw", msg, 1, true)
    end
  end)
end)

-- Feeds `text` to a new parser in the pieces `cuts` gives (positions where a
-- piece ends), then EOF when `eof`. Returns "done", response... or "error", kind, message.
local function parse(text, cuts, opts)
  opts = opts or {}
  local p = native.http1_parser(opts.max_body or 1e6, opts.head_only)
  local from, done = 1, false
  local points = {}
  for _, c in ipairs(cuts or {}) do points[#points + 1] = c end
  points[#points + 1] = #text
  for _, to in ipairs(points) do
    if to >= from then
      local ok, kind, msg = p:feed(text:sub(from, to))
      if ok == nil then
        p:close()
        return "error", kind, msg
      end
      done = ok
      from = to + 1
    end
  end
  if opts.eof then
    local ok, kind, msg = p:eof()
    if ok == nil then
      p:close()
      return "error", kind, msg
    end
    done = ok
  end
  if not done then
    p:close()
    return "incomplete"
  end
  local status, body, headers, keepalive = p:response()
  p:close()
  return "done", status, body, headers, keepalive
end

-- The same result whole, byte by byte, and split in two at every byte.
local function parse_every_way(text, opts)
  local want = { parse(text, nil, opts) }
  local bytes = {}
  for i = 1, #text do bytes[i] = i end
  assert.same(want, { parse(text, bytes, opts) })
  for i = 1, #text - 1 do
    assert.same(want, { parse(text, { i }, opts) })
  end
  return unpack(want, 1, 5)
end

describe("native.http1_parser", function()
  it("reads a Content-Length answer, fed in every split", function()
    local state, status, body, headers, keepalive = parse_every_way(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nX-Trace:  a b \r\n\r\n{\"ok\":true}")
    assert.equal("done", state)
    assert.equal(200, status)
    assert.equal('{"ok":true}', body)
    assert.equal("application/json", headers["content-type"])
    assert.equal("a b", headers["x-trace"])
    assert.is_true(keepalive)
  end)

  it("reads chunks (sizes in hex, extensions, trailers), fed in every split", function()
    local state, status, body, headers, keepalive = parse_every_way(
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" ..
      "5;name=value\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Checksum: 1\r\n\r\n")
    assert.equal("done", state)
    assert.equal(201, status)
    assert.equal("hello, chunked!", body)
    assert.equal("gzip, chunked", headers["transfer-encoding"])
    assert.is_nil(headers["x-checksum"])
    assert.is_true(keepalive)
  end)

  it("skips 100 Continue and other 1xx answers", function()
    local state, status, body, headers = parse_every_way(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" ..
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert.equal("done", state)
    assert.equal(200, status)
    assert.equal("ok", body)
    assert.is_nil(headers.link)
  end)

  it("reads a body delimited by the connection's end, and never keeps that connection", function()
    local text = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
    assert.same({ "incomplete" }, { parse(text) })
    local state, status, body, _, keepalive = parse_every_way(text, { eof = true })
    assert.equal("done", state)
    assert.equal(200, status)
    assert.equal("until the end", body)
    assert.is_false(keepalive)
  end)

  it("knows when there is no body: HEAD, 204, 304", function()
    local state, status, body = parse_every_way("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", { head_only = true })
    assert.equal("done", state)
    assert.equal(200, status)
    assert.equal("", body)
    assert.equal(204, select(2, parse("HTTP/1.1 204 No Content\r\n\r\n")))
    assert.equal(304, select(2, parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n")))
  end)

  it("tells whether the connection can be reused", function()
    local function keep(text, opts) return select(5, parse(text, nil, opts)) end
    assert.is_true(keep("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    assert.is_false(keep("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
    assert.is_false(keep("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
    assert.is_true(keep("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"))
    -- bytes after the end of the answer: something is off, do not reuse
    assert.is_false(keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"))
  end)

  it("joins repeated fields with a comma, names in lower case", function()
    local _, _, _, headers = parse("HTTP/1.1 200 OK\r\nVary: a\r\nVARY: b\r\nvary: c\r\nContent-Length: 0\r\n\r\n")
    assert.equal("a, b, c", headers.vary)
  end)

  it("accepts bare LF line ends", function()
    local state, status, body = parse_every_way("HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
    assert.equal("done", state)
    assert.equal(200, status)
    assert.equal("ok", body)
  end)

  it("enforces max_body while reading: by Content-Length at once, chunked and close-delimited as they grow", function()
    local max = 10
    local function fails(text, opts)
      opts = opts or {}
      opts.max_body = max
      local state, kind, msg = parse_every_way(text, opts)
      assert.equal("error", state)
      assert.equal("decode", kind)
      assert.equal("the response body is larger than max_body", msg)
    end
    fails("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")  -- refused before any body byte
    fails("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n")
    fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n")
    fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n")
    fails("HTTP/1.1 200 OK\r\n\r\n0123456789x", { eof = true })
    -- exactly max_body is fine
    assert.equal("0123456789", select(3, parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", nil,
      { max_body = max })))
  end)

  it("bounds the head: 64 KiB of headers at most", function()
    local big = "HTTP/1.1 200 OK\r\n" .. ("X-Filler: " .. ("a"):rep(1000) .. "\r\n"):rep(70) .. "\r\n"
    local state, kind, msg = parse(big)
    assert.equal("error", state)
    assert.equal("network", kind)
    assert.matches("headers are too large", msg)
  end)

  it("refuses what is not HTTP/1.1", function()
    for _, text in ipairs({
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 099 Low\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 200OK\r\n\r\n",
      "SSH-2.0-OpenSSH\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" .. ("1"):rep(2000),
    }) do
      local state, kind = parse(text)
      assert.equal("error", state, text)
      assert.equal("network", kind, text)
    end
  end)

  it("an answer cut short by the peer is an error, not a short body", function()
    for _, text in ipairs({
      "", "HTTP/1.1 200 OK\r\nContent-Le",
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
    }) do
      local state, kind, msg = parse(text, nil, { eof = true })
      assert.equal("error", state, text)
      assert.equal("network", kind)
      assert.matches("closed before", msg)
    end
  end)

  it("is done with at close and garbage collection; a closed parser refuses use", function()
    local p = native.http1_parser(100)
    assert.is_false(p:feed("HTTP/1.1 200 OK\r\n"))
    p:close()
    p:close()
    assert.has_error(function() p:feed("x") end)
    assert.has_error(function() native.http1_parser(0) end)
    if _VERSION == "Lua 5.4" then
      local f = assert(load([[
        local native = ...
        local p <close> = native.http1_parser(100)
        p:feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        return p
      ]]))
      local closed = f(native)
      assert.has_error(function() closed:response() end)
    end
  end)
end)

describe("native.jitter", function()
  it("is a float in [0, 1) from a seeded generator", function()
    local seen, distinct, sum = {}, 0, 0
    for _ = 1, 1000 do
      local j = native.jitter()
      assert.is_true(j >= 0 and j < 1)
      if not seen[j] then distinct = distinct + 1 end
      seen[j] = true
      sum = sum + j
    end
    assert.is_true(distinct > 990)
    assert.is_true(sum > 400 and sum < 600)
  end)
end)
