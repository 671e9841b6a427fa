-- tray.csv: the RFC 4180 reader and writer.

local emu = require "spec.helpers.emulator"
local csv = require "tray.csv"

-- a reader's source function: `text` in chunks of `size` bytes, then nil
local function chunks(text, size)
  local i = 1
  return function()
    if i > #text then return nil end
    local c = text:sub(i, i + size - 1)
    i = i + size
    return c
  end
end

-- every record of `text`, read in chunks of `size` bytes
local function chunked(text, size)
  local r = assert(csv.reader(chunks(text, size)))
  local out = {}
  while true do
    local fields, err = r:read()
    if not fields then
      if err then return nil, err end
      return out
    end
    out[#out + 1] = fields
  end
end

describe("tray.csv", function()
  before_each(function()
    emu.reset() -- (no requests here; every spec file starts from a reset emulator)
  end)

  describe("reading", function()
    local CASES = {
      { "plain, LF", "a,b,c\n1,2,3\n", { { "a", "b", "c" }, { "1", "2", "3" } } },
      { "CRLF, no final line break", "a,b\r\n1,2", { { "a", "b" }, { "1", "2" } } },
      { "lone CR", "a\rb\r", { { "a" }, { "b" } } },
      { "quoted comma", 'x,"a,b"\n', { { "x", "a,b" } } },
      { "doubled quotes", '"say ""hi"""\n', { { 'say "hi"' } } },
      { "line breaks inside quotes", '"two\nlines","and\r\ncrlf"\nnext\n',
        { { "two\nlines", "and\r\ncrlf" }, { "next" } } },
      { "empty fields", ',,\n"",x\n', { { "", "", "" }, { "", "x" } } },
      { "trailing separator", "a,b,\n", { { "a", "b", "" } } },
      { "byte order mark", "\239\187\191id,name\n1,A\n", { { "id", "name" }, { "1", "A" } } },
      { "blank line", "a\n\nb\n", { { "a" }, { "" }, { "b" } } },
      { "stray quote in an unquoted field is kept", 'ab"c,d\n', { { 'ab"c', "d" } } },
      { "UTF-8", "naïve,日本\n", { { "naïve", "日本" } } },
      { "empty input", "", {} },
    }
    for _, case in ipairs(CASES) do
      it("parses: " .. case[1], function()
        assert.same(case[3], assert(csv.parse(case[2])))
        -- the same, however the input is cut into chunks
        for _, size in ipairs({ 1, 2, 3, 7 }) do
          assert.same(case[3], assert(chunked(case[2], size)))
        end
      end)
    end

    it("reports malformed input with its line", function()
      local r, err = csv.parse('a,b\n"open\nstill open')
      assert.is_nil(r)
      assert.equal("decode", err.kind)
      assert.equal("csv: line 2: a quoted field is not closed", err.message)
      r, err = csv.parse('a\n"x\ny"z,1\n')
      assert.is_nil(r)
      assert.equal("csv: line 2: unexpected character after a closing quote", err.message)
      r, err = chunked('a\nb\n"x"z', 1)
      assert.is_nil(r)
      assert.matches("line 3", err.message)
    end)

    it("counts lines through quoted line breaks", function()
      local r = assert(csv.reader('h\n"a\nb\r\nc"\nnext\n'))
      assert.same({ "h" }, r:read())
      local _, line = r:read()
      assert.equal(2, line)
      local rec, line2 = r:read()
      assert.same({ "next" }, rec)
      assert.equal(5, line2)
    end)

    it("reads rows keyed by the header, skipping blank lines, and reports field counts", function()
      local r = assert(csv.reader('id,name,note\n1,"Ada, Countess",x\n\n2,Bob\n3,C,y,extra\n'))
      assert.same({ "id", "name", "note" }, assert(r:header()))
      local row, info = r:row()
      assert.same({ id = "1", name = "Ada, Countess", note = "x" }, row)
      assert.same({ line = 2, record = 2, fields = 3, values = { "1", "Ada, Countess", "x" } }, info)
      row, info = r:row()
      assert.same({ id = "2", name = "Bob" }, row)
      assert.equal(2, info.fields)
      assert.equal(4, info.line)
      row, info = r:row()
      assert.equal(4, info.fields)
      assert.equal("3", row.id)
      assert.is_nil(r:row())
    end)

    it("refuses a header that repeats a name, and an empty input", function()
      local r = assert(csv.reader("a,b,a\n"))
      local h, err = r:header()
      assert.is_nil(h)
      assert.matches('repeats the column "a"', err.message)
      h, err = assert(csv.reader("")):header()
      assert.is_nil(h)
      assert.equal("decode", err.kind)
    end)

    it("iterates rows, raising the error object on malformed input", function()
      local r = assert(csv.reader('k\n1\n2\n"bad'))
      local seen = {}
      local ok, err = pcall(function()
        for row in r:rows() do seen[#seen + 1] = row.k end
      end)
      assert.is_false(ok)
      assert.same({ "1", "2" }, seen)
      assert.equal("decode", err.kind)
    end)

    it("opens files and reads them in chunks", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      local big = {}
      f:write("n,text\r\n")
      for i = 1, 5000 do
        local text = string.rep("x", i % 50) .. ',"q"' .. "\n" .. i
        big[i] = text
        f:write(csv.format({ tostring(i), text }), "\r\n")
      end
      f:close()
      local r = assert(csv.open(path))
      assert(r:header())
      local n = 0
      for row in r:rows() do
        n = n + 1
        assert.equal(tostring(n), row.n)
        assert.equal(big[n], row.text)
      end
      r:close()
      os.remove(path)
      assert.equal(5000, n)
      local missing, err = csv.open(path)
      assert.is_nil(missing)
      assert.equal("usage", err.kind)
    end)

    it("takes another separator", function()
      assert.same({ { "a", "b,c" } }, assert(csv.parse("a;b,c\n", { separator = ";" })))
      assert.same({ { "a", "b" } }, assert(csv.parse("a|b\n", { separator = "|" })))
      local r, err = csv.reader("x", { separator = '"' })
      assert.is_nil(r)
      assert.equal("usage", err.kind)
    end)
  end)

  describe("writing", function()
    it("quotes only what needs it", function()
      assert.equal('plain,"a,b","say ""hi""","two\nlines",,3,true',
        csv.format({ "plain", "a,b", 'say "hi"', "two\nlines", nil, 3, true, n = 7 }))
      assert.equal('"cr\rhere"', csv.format({ "cr\rhere" }))
    end)

    it("writes CRLF records (or LF when asked) to a file or a function", function()
      local parts = {}
      local w = assert(csv.writer(function(s) parts[#parts + 1] = s return true end))
      w:write{ "a", "b" }
      w:write{ "1", "x,y" }
      assert.equal('a,b\r\n1,"x,y"\r\n', table.concat(parts))
      assert.equal("a\n", csv.encode({ { "a" } }, { eol = "\n" }))
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      assert(csv.writer(f)):write{ "z" }
      f:close()
      f = assert(io.open(path, "rb"))
      assert.equal("z\r\n", f:read("*a"))
      f:close()
      os.remove(path)
      assert.is_nil(csv.writer(42))
    end)

    it("round-trips awkward fields", function()
      local alphabet = { "a", ",", '"', "\n", "\r", " ", "é", ";", "" }
      math.randomseed(7)
      local records = {}
      for i = 1, 200 do
        local rec = {}
        for j = 1, 1 + i % 5 do
          local s = {}
          for k = 1, math.random(0, 6) do s[k] = alphabet[math.random(#alphabet)] end
          rec[j] = table.concat(s)
        end
        -- a record of one empty field reads back as a blank line; keep it unambiguous
        if #rec == 1 and rec[1] == "" then rec[1] = "x" end
        records[i] = rec
      end
      -- (keep_formulas: a field starting with CR would otherwise gain a leading ')
      local text = csv.encode(records, { keep_formulas = true })
      assert.same(records, assert(csv.parse(text)))
      assert.same(records, assert(chunked(text, 3)))
    end)
  end)

  describe("hostile input (issue 14, items 11 and 12)", function()
    -- Work, not time: the Lua VM instructions the reader runs (a count hook;
    -- the JIT is off meanwhile so that LuaJIT counts too).
    local function work(bytes, chunk)
      local row = '"' .. string.rep('a""', math.floor(bytes / 3)) .. '",x\n'
      local r = assert(csv.reader(chunks(row, chunk), { max_row = 16 * 1024 * 1024 }))
      local count = 0
      if jit then jit.off() jit.flush() end
      debug.sethook(function() count = count + 1 end, "", 100)
      local fields, err = r:read()
      debug.sethook()
      if jit then jit.on() end
      assert(fields, err)
      assert.equal(2, #fields)
      assert.equal(math.floor(bytes / 3) * 2, #fields[1])
      return count
    end

    it("reads a long record in linear work, however it is chunked (item 11)", function()
      for _, chunk in ipairs({ 1024, 64 * 1024 }) do
        local small, large = work(64 * 1024, chunk), work(256 * 1024, chunk)
        -- four times the bytes: about four times the work (it was sixteen)
        assert.is_true(large / small < 6, string.format("chunk %d: %d then %d", chunk, small, large))
      end
    end)

    it("refuses a record longer than max_row with a clear error (item 11)", function()
      local big = string.rep("x", 2 * 1024 * 1024)
      for _, source in ipairs({ "a,b\n" .. big .. ",1\n", "a,b\n\"" .. big }) do
        local rows, err = csv.parse(source)
        assert.is_nil(rows)
        assert.equal("decode", err.kind)
        assert.matches("line 2: a record is longer than max_row %(1048576 bytes%)", err.message)
      end
      local rows = assert(csv.parse("a\n" .. string.rep("y", 100) .. "\n", { max_row = 101 }))
      assert.equal(2, #rows)
      local _, err = csv.parse("a\n" .. string.rep("y", 100) .. "\n", { max_row = 50 })
      assert.equal("decode", err.kind)
      assert.is_nil(csv.reader("x", { max_row = 0 }))
    end)

    it("neutralises formulas when writing: = + - @ tab CR get a leading quote (item 12)", function()
      local text = csv.encode({
        { "=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "=HYPERLINK(\"http://x\",\"y\")" },
        { "plain", -5, 3.5, "a=b", "", "'=already", "x@y" },
      })
      local rows = assert(csv.parse(text))
      assert.same({ "'=1+2", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tx", "'\rx", "'=HYPERLINK(\"http://x\",\"y\")" },
        rows[1])
      assert.same({ "plain", "-5", "3.5", "a=b", "", "'=already", "x@y" }, rows[2])
      -- no text cell of the file starts with a formula character (-5 is a number)
      for _, cell in ipairs(rows[1]) do assert.is_nil(cell:find("^[=+%-@\t\r]")) end
      -- opting out writes them as they are
      assert.equal("=1+2,-x\r\n", csv.encode({ { "=1+2", "-x" } }, { keep_formulas = true }))
      assert.equal("'=1+2", csv.format({ "=1+2" }))
    end)
  end)
end)

