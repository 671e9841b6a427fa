--- A small RFC 4180 CSV reader and writer.
--
--    local csv = require "tray.csv"
--    local r = assert(csv.open("users.csv"))
--    local header = assert(r:header())          -- the first record, as field names
--    while true do
--      local row, info = r:row()                -- { name = value, ... } keyed by the header
--      if not row then break end                -- (nil at the end; nil, err on malformed input)
--      print(info.line, row.externalUserId)
--    end
--    r:close()
--
--    local w = csv.writer(io.stdout)
--    w:write{ "id", "note" }
--    w:write{ "1", 'say "hi", then\nleave' }    -- quoted as needed
--
-- Fields are separated by commas; a field in double quotes may hold commas,
-- doubled quotes (`""`) and line breaks. Records end with CRLF, LF or a lone CR.
-- A UTF-8 byte order mark at the start is skipped. Input is read in chunks, so
-- a large file is never held in memory at once. Fields are strings; nothing is
-- trimmed or converted.
-- @module tray.csv

local errors = require "tray.errors"
local client = require "tray.client"

local _M = {}

local CHUNK = 64 * 1024
local BOM = "\239\187\191"

--- Defaults: `max_row`, the most bytes one record may take (a longer one is a
-- `decode` error: the reader never holds more than about twice this much).
_M.DEFAULTS = { max_row = 1024 * 1024 }

local Reader = {}
Reader.__index = Reader

-- The separator as a pattern item (punctuation escaped).
local function pattern_char(sep)
  if sep:find("%p") then return "%" .. sep end
  return sep
end

local function malformed(line, message)
  return errors.fail("decode", string.format("csv: line %d: %s", line, message))
end

--- Creates a reader.
-- @param source the CSV text (a string), an open file (anything with `:read(n)`),
-- or a function returning the next chunk (nil at the end)
-- @tparam[opt] table opts `{ separator = ",", max_row = 1 MiB }` (the separator: one
-- character other than `"`, CR or LF; `max_row`: the most bytes of one record)
-- @treturn ?table the reader
-- @treturn ?table a `usage` error
function _M.reader(source, opts)
  opts = opts or {}
  local sep = opts.separator or ","
  if type(sep) ~= "string" or #sep ~= 1 or sep:find('["\r\n]') then
    return errors.fail("usage", "csv: separator must be one character other than a quote, CR or LF")
  end
  local max_row = opts.max_row or _M.DEFAULTS.max_row
  if type(max_row) ~= "number" or max_row ~= max_row or max_row < 1 then
    return errors.fail("usage", "csv: max_row must be a positive number of bytes")
  end
  local next_chunk
  if type(source) == "string" then
    local done = false
    next_chunk = function()
      if done then return nil end
      done = true
      return source
    end
  elseif type(source) == "function" then
    next_chunk = source
  elseif (type(source) == "userdata" or type(source) == "table") and source.read then
    next_chunk = function() return source:read(CHUNK) end
  else
    return errors.fail("usage", "csv.reader takes a string, a file or a function")
  end
  return setmetatable({
    next_chunk = next_chunk, buf = "", pos = 1, eof = false, line = 1, started = false,
    sep = sep, unquoted = "^[^" .. pattern_char(sep) .. "\r\n\"]*", stop = "[" .. pattern_char(sep) .. "\r\n]",
    source = source, records = 0, max_row = max_row,
  }, Reader)
end

--- Opens a file and returns a reader of it (`reader:close()` closes the file).
-- @tparam string path
-- @tparam[opt] table opts as for `reader`
-- @treturn ?table the reader
-- @treturn ?table a `usage` error when the file cannot be opened
function _M.open(path, opts)
  local f, why = io.open(path, "rb")
  if not f then return errors.fail("usage", "csv: cannot open " .. tostring(path) .. ": " .. tostring(why)) end
  local r, err = _M.reader(f, opts)
  if not r then
    f:close()
    return nil, err
  end
  r.file = f
  return r
end

-- Reads chunks until at least `want` bytes are buffered from pos on (or the
-- input ends), joined once: a long record costs linear time, not a copy per
-- chunk. Returns false when not one byte was added (the end of the input).
function Reader:fill(want)
  if self.eof then return false end
  local have = #self.buf - self.pos + 1
  local parts, added = { self.buf:sub(self.pos) }, false
  repeat
    local chunk = self.next_chunk()
    -- a function source may return "" only at the end; a file returns nil
    if type(chunk) ~= "string" or chunk == "" then
      self.eof = true
      break
    end
    parts[#parts + 1] = chunk
    have = have + #chunk
    added = true
  until have >= want
  if added then
    self.buf = table.concat(parts)
    self.pos = 1
  end
  return added
end

-- CRLF, LF and a lone CR each end a line.
local function count_newlines(s)
  local _, n = s:gsub("\r?\n", "")
  local _, cr = s:gsub("\r[^\n]", "")
  if s:sub(-1) == "\r" then cr = cr + 1 end
  return n + cr
end


-- Tries to parse one record from the buffer at pos. Returns the fields and the
-- position after the record, or "more" when the buffer ends too early, or
-- nil, message on malformed input.
local function parse_record(buf, pos, sep, unquoted, stop, eof)
  local fields, n = {}, 0
  local len = #buf
  while true do
    local c = buf:sub(pos, pos)
    local value
    if c == '"' then
      local parts, p = {}, pos + 1
      while true do
        local q = buf:find('"', p, true)
        if not q then
          if eof then return nil, "a quoted field is not closed" end
          return "more"
        end
        parts[#parts + 1] = buf:sub(p, q - 1)
        if q == len and not eof then return "more" end
        if buf:sub(q + 1, q + 1) == '"' then
          parts[#parts + 1] = '"'
          p = q + 2
        else
          pos = q + 1
          break
        end
      end
      value = table.concat(parts)
      c = buf:sub(pos, pos)
      if c ~= sep and c ~= "\r" and c ~= "\n" and c ~= "" then
        return nil, "unexpected character after a closing quote"
      end
    else
      local a, b = buf:find(unquoted, pos)
      value = buf:sub(a, b)
      pos = b + 1
      c = buf:sub(pos, pos)
      if c == '"' then
        -- a quote inside an unquoted field (RFC 4180 does not allow it): keep it literally
        local rest = buf:find(stop, pos)
        if not rest then
          if not eof then return "more" end
          rest = len + 1
        end
        value = value .. buf:sub(pos, rest - 1)
        pos = rest
        c = buf:sub(pos, pos)
      end
    end
    n = n + 1
    fields[n] = value
    if c == sep then
      pos = pos + 1
      if pos > len and not eof then return "more" end
    elseif c == "\n" then
      return fields, pos + 1
    elseif c == "\r" then
      if pos == len and not eof then return "more" end
      if buf:sub(pos + 1, pos + 1) == "\n" then return fields, pos + 2 end
      return fields, pos + 1
    elseif c == "" then
      if not eof then return "more" end
      return fields, pos
    end
  end
end

--- The next record, as an array of strings.
-- @treturn ?table the fields (nil at the end of the input)
-- @treturn ?number|table the line the record starts on, or the error (`kind = "decode"`,
-- the message names the line) when the input is malformed
function Reader:read()
  if self.failed then return nil, self.failed end
  if not self.started then
    self:fill(3)
    self.started = true
    if self.buf:sub(self.pos, self.pos + 2) == BOM then self.pos = self.pos + 3 end
  end
  while true do
    if self.pos > #self.buf and not self:fill(1) then return nil end
    local fields, pos = parse_record(self.buf, self.pos, self.sep, self.unquoted, self.stop, self.eof)
    local have = #self.buf - self.pos + 1
    if fields == "more" then
      if have > self.max_row then
        fields, pos = nil, string.format("a record is longer than max_row (%d bytes)", self.max_row)
      elseif not self:fill(2 * have) then
        -- the input ended: parse again knowing it is the end. Otherwise the
        -- buffer has at least doubled before the next try: linear in all.
        fields, pos = parse_record(self.buf, self.pos, self.sep, self.unquoted, self.stop, true)
      end
    elseif fields and pos - self.pos > self.max_row then
      fields, pos = nil, string.format("a record is longer than max_row (%d bytes)", self.max_row)
    end
    if fields == nil then
      local _, err = malformed(self.line, pos)
      self.failed = err
      return nil, err
    end
    if fields ~= "more" then
      local line = self.line
      self.line = line + count_newlines(self.buf:sub(self.pos, pos - 1))
      self.pos = pos
      self.records = self.records + 1
      return fields, line
    end
  end
end

--- Reads the first record as the header (field names). Call it before `row`.
-- @treturn ?table the names
-- @treturn ?table the error (`decode`: empty input, malformed, or a repeated name)
function Reader:header()
  local names, line = self:read()
  if not names then
    if line then return nil, line end
    return errors.fail("decode", "csv: the input is empty (no header row)")
  end
  local seen = {}
  for i, name in ipairs(names) do
    if seen[name] then
      return malformed(line, string.format("the header repeats the column %q", name))
    end
    seen[name] = i
  end
  self.names = names
  self.index = seen
  return names
end

--- The next data row, keyed by the header's names (after `header`). Blank lines
-- are skipped.
-- @treturn ?table the row (nil at the end of the input)
-- @treturn ?table `{ line = first line, record = n, fields = the field count, values = the array }`,
-- or the error on malformed input. A row whose field count differs from the
-- header's is still returned: compare `info.fields` with `#reader.names`.
function Reader:row()
  if not self.names then return errors.fail("usage", "csv: call reader:header() before reader:row()") end
  while true do
    local fields, line = self:read()
    if not fields then return nil, line end
    if not (#fields == 1 and fields[1] == "") then
      local row = {}
      for i, name in ipairs(self.names) do row[name] = fields[i] end
      return row, { line = line, record = self.records, fields = #fields, values = fields }
    end
  end
end

--- An iterator over the data rows (reads the header first if needed).
--    for row, info in reader:rows() do ... end
-- @treturn function
-- @raise the error object on malformed input
function Reader:rows()
  if not self.names then
    local ok, err = self:header()
    if not ok then error(err, 2) end
  end
  return function()
    local row, info = self:row()
    if not row and info then error(info, 0) end
    return row, info
  end
end

--- Closes the file of `csv.open` (a no-op for other sources).
function Reader:close()
  if self.file then
    self.file:close()
    self.file = nil
  end
end

--- Parses a whole CSV text.
-- @tparam string text
-- @tparam[opt] table opts as for `reader`
-- @treturn ?table an array of records (arrays of strings)
-- @treturn ?table the error
function _M.parse(text, opts)
  local r, err = _M.reader(text, opts)
  if not r then return nil, err end
  local out = {}
  while true do
    local fields, e = r:read()
    if not fields then
      if type(e) == "table" then return nil, e end
      return out
    end
    out[#out + 1] = fields
  end
end

-- ---------------------------------------------------------------------------
-- Writing

-- A text cell a spreadsheet would run as a formula starts with one of these
-- (the OWASP CSV-injection rule): = + - @ tab CR.
local FORMULA_START = "^[=+%-@\t\r]"

local function field_text(v, sep, keep_formulas)
  if v == nil then return "" end
  local s = tostring(v)
  if not keep_formulas and type(v) ~= "number" and s:find(FORMULA_START) then
    s = "'" .. s -- shown as text, not run
  end
  if s:find('[\r\n"]') or s:find(sep, 1, true) then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

--- Formats one record (without the line ending). Fields holding the separator,
-- a quote, CR or LF are quoted, quotes doubled. nil becomes an empty field
-- (give `n` in the table when the last fields may be nil). A text field that
-- starts with `=`, `+`, `-`, `@`, a tab or CR gets a leading `'`, so that a
-- spreadsheet shows it rather than running it as a formula (numbers are left
-- as they are); `keep_formulas` turns that off.
-- @tparam table fields array of values (strings, numbers, booleans or nil)
-- @tparam[opt] string separator ","
-- @tparam[opt] boolean keep_formulas write such fields unchanged
-- @treturn string
function _M.format(fields, separator, keep_formulas)
  local sep = separator or ","
  local n = fields.n or #fields
  local out = {}
  for i = 1, n do out[i] = field_text(fields[i], sep, keep_formulas) end
  return table.concat(out, sep)
end

local Writer = {}
Writer.__index = Writer

--- Creates a writer.
-- @param sink an open file (anything with `:write(s)`) or a function(s)
-- @tparam[opt] table opts `{ separator = ",", eol = "\r\n", keep_formulas = false }` (RFC 4180 ends
-- records with CRLF; `keep_formulas`: see `format`)
-- @treturn ?table the writer
-- @treturn ?table a `usage` error
function _M.writer(sink, opts)
  opts = opts or {}
  local write
  if type(sink) == "function" then
    write = sink
  elseif (type(sink) == "userdata" or type(sink) == "table") and sink.write then
    write = function(s) return sink:write(s) end
  else
    return errors.fail("usage", "csv.writer takes a file or a function")
  end
  local sep, eol = opts.separator or ",", opts.eol or "\r\n"
  if type(sep) ~= "string" or #sep ~= 1 or sep:find('["\r\n]') then
    return errors.fail("usage", "csv: separator must be one character other than a quote, CR or LF")
  end
  if eol ~= "\r\n" and eol ~= "\n" then return errors.fail("usage", 'csv: eol must be "\\r\\n" or "\\n"') end
  return setmetatable({ out = write, sep = sep, eol = eol, keep_formulas = opts.keep_formulas == true }, Writer)
end

--- Writes one record.
-- @tparam table fields as for `format`
-- @treturn ?boolean true
-- @treturn ?table the error when the sink failed
function Writer:write(fields)
  local ok, why = self.out(_M.format(fields, self.sep, self.keep_formulas) .. self.eol)
  if ok == nil and why then return errors.fail("usage", "csv: cannot write: " .. tostring(why)) end
  return true
end

Writer.write = client.protect(Writer.write, "csv write")

--- Formats a whole table of records.
-- @tparam table records array of arrays
-- @tparam[opt] table opts as for `writer`
-- @treturn string
function _M.encode(records, opts)
  local parts = {}
  local w = assert(_M.writer(function(s) parts[#parts + 1] = s return true end, opts))
  for _, rec in ipairs(records) do w:write(rec) end
  return table.concat(parts)
end

return _M
