-- Scans every error object the test run creates for tokens.
--
-- `install()` (called once by spec/helpers/init.lua, the busted helper named in
-- .busted) replaces `tray.errors.new` with a wrapper that keeps each error it
-- creates (`errors.fail` goes through `errors.new`). `flush()` scans what was
-- kept against the master token and every user token the emulator has issued
-- (GET /_emulator/tokens: the list survives emulator resets) and forgets the
-- errors; findings are kept and `report()` gives them at the end of the run.
--
-- An error is scanned when it is flushed, not when it is created: the client
-- scrubs a token out of an error (`errors.redact`) just before returning it, so
-- a spec that flushes does so when no request of its own is in flight. Without
-- a flush, everything is scanned at the end of the run.
--
-- Errors that a spec builds by hand with a token in them must be redacted
-- (that is the rule this scan checks: no error object may hold a token).

local M = {}

local pending = {}      -- errors not yet scanned: { err, where }
local findings = {}     -- strings describing each error that held a token (never the token)
local scanned = 0
local installed = false

-- The first spec frame that led to the error, "spec/x_spec.lua:12", for the report.
local function where()
  for level = 3, 40 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    local src = info.short_src or ""
    if src:find("_spec%.lua$") or src:find("/fixtures/") then return src .. ":" .. tostring(info.currentline) end
  end
  return "(outside a spec file)"
end

--- Wraps `tray.errors.new` so that every error created from now on is kept.
-- Library code is not changed: the module table's function is replaced.
function M.install(errors)
  errors = errors or require("tray.errors")
  if installed then return end
  installed = true
  local new = errors.new
  errors.new = function(...)
    local e = new(...)
    pending[#pending + 1] = { e, where() }
    return e
  end
end

--- The tokens to look for: the master token and every user token the emulator
-- issued since it started (nothing shorter than 16 bytes: a fake token such as
-- "t" in a usage test would match everything).
function M.tokens()
  local list = { os.getenv("TRAY_EMULATOR_MASTER_TOKEN") or "emulator-master-token" }
  local source = "the master token"
  if os.getenv("TRAY_EMULATOR_URL") then
    local emu = require "spec.helpers.emulator"
    local t = emu.control("GET", "/tokens")
    list = { t.master }
    for _, tok in ipairs(t.issued or {}) do list[#list + 1] = tok end
    source = "the master token and " .. #(t.issued or {}) .. " issued user token(s)"
  end
  local out = {}
  for _, tok in ipairs(list) do
    if type(tok) == "string" and #tok >= 16 then out[#out + 1] = tok end
  end
  return out, source
end

-- Returns the path of the first string inside v (keys included) that holds a token.
local function find_token(v, tokens, path, seen)
  if type(v) == "string" then
    for _, tok in ipairs(tokens) do
      if v:find(tok, 1, true) then return path end
    end
    return nil
  end
  if type(v) ~= "table" or seen[v] then return nil end
  seen[v] = true
  for k, x in pairs(v) do
    local hit = find_token(k, tokens, path .. "[key]", seen)
      or find_token(x, tokens, path .. "." .. tostring(k), seen)
    if hit then return hit end
  end
  return nil
end

--- Scans every error kept so far and forgets them.
-- @treturn number how many errors were scanned by this call
function M.flush()
  if #pending == 0 then return 0 end
  local tokens = M.tokens()
  local batch = pending
  pending = {}
  for _, item in ipairs(batch) do
    local e, at = item[1], item[2]
    local hit = find_token(e, tokens, "err", {})
    if not hit then
      local ok, text = pcall(tostring, e)
      if ok and find_token(text, tokens, "tostring(err)", {}) then hit = "tostring(err)" end
    end
    if hit then
      findings[#findings + 1] = string.format("a token is in %s of a %s error created at %s",
        hit, tostring(rawget(e, "kind")), at)
    end
  end
  scanned = scanned + #batch
  return #batch
end

--- Scans what is left and reports.
-- @treturn number errors scanned during the whole run
-- @treturn table findings (empty when no error held a token)
-- @treturn string what was looked for
function M.report()
  local ok, err = pcall(M.flush)
  local _, _, source = pcall(M.tokens)
  if not ok then
    findings[#findings + 1] = "the scan itself failed: " .. tostring(err)
  end
  return scanned, findings, type(source) == "string" and source or "the tokens"
end

--- Forgets the errors kept so far without scanning them (for a spec that
-- checks this module itself).
function M.discard()
  pending = {}
end

return M
