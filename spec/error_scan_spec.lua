-- The suite-wide token scan (spec/helpers/init.lua, spec/helpers/error_scan.lua):
-- a child busted run with the same helper must fail when an error of the run
-- holds a token, and pass when the token was redacted.

local emu = require "spec.helpers.emulator"
local scan = require "spec.helpers.error_scan"
local errors = require "tray.errors"

-- Runs busted on one fixture in a child process; returns its exit status and output.
local function child(fixture)
  local lua = (type(jit) == "table") and "luajit" or "lua5.4"
  local cmd = string.format("busted --lua=%s -o TAP spec/fixtures/error_scan/%s 2>&1; echo \"exit=$?\"",
    lua, fixture)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("exit=(%d+)%s*$")), out
end

describe("the suite-wide token scan", function()
  before_each(function()
    emu.reset()
  end)

  it("records the errors this run creates (errors.new is wrapped by the helper)", function()
    local e = errors.new("usage", "recorded")
    assert.is_true(errors.is(e))
    -- the wrapper returns the same object errors.new made
    assert.equal("recorded", e.message)
    assert.is_function(scan.flush)
    assert.is_true(scan.flush() >= 1)
  end)

  it("fails a run in which an error holds the master token or an issued user token", function()
    local status, out = child("leak.lua")
    assert.not_equal(0, status, out)
    assert.matches("not ok %d+ %- no error of the run holds a token", out)
    assert.matches("a token is in err%.message of a http error created at spec/fixtures/error_scan/leak%.lua:9", out)
    assert.matches("a token is in err%.errors%.1%.extensions%.echo%.1 of a graphql error created at " ..
      "spec/fixtures/error_scan/leak%.lua:15", out)
    -- the report names where, never the token itself
    assert.is_nil(out:find(emu.master_token, 1, true))
  end)

  it("passes a run whose errors were redacted", function()
    local status, out = child("clean.lua")
    assert.equal(0, status, out)
    assert.matches("ok %d+ %- no error of the run holds a token %(1 errors scanned", out)
  end)
end)
