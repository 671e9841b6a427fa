-- The busted helper (.busted: helper = "spec/helpers/init.lua"), loaded once
-- before any spec file. It records every tray error object the whole run
-- creates and, when the suite ends, scans them all for the master token and
-- every user token the emulator issued (spec/helpers/error_scan.lua). The scan
-- is reported as one more test, "no error of the run holds a token": it fails
-- the run if any error held one.

local scan = require "spec.helpers.error_scan"
local busted = require "busted"

scan.install(require "tray.errors")

local function report()
  local n, findings, source = scan.report()
  local element = {
    descriptor = "it",
    name = string.format("no error of the run holds a token (%d errors scanned for %s)", n, source),
    trace = { short_src = "spec/helpers/init.lua", currentline = 0, traceback = "" },
    attributes = {},
  }
  busted.publish({ "test", "start" }, element, nil)
  local status = "success"
  if #findings > 0 then
    status = "failure"
    busted.publish({ "failure", "it" }, element, nil, table.concat(findings, "\n"), element.trace)
  end
  busted.publish({ "test", "end" }, element, nil, status)
end

-- priority 1: before the output handlers print their summary (TAP's "1..N")
busted.subscribe({ "suite", "end" }, function()
  report()
  return nil, true
end, { priority = 1 })
