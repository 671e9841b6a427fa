#!/usr/bin/env lua5.4
--- Onboards the end users of a CSV file: for every row, the end user, a
-- solution instance with the row's config values, enabled, and a config wizard
-- URL. Safe to run again: what exists is left alone, so a second run after a
-- failure (or an interruption) only does what is missing.
--
--    lua5.4 examples/onboard.lua users.csv --solution <id-or-tags> [--out results.csv]
--        [--concurrency N] [--partner-id P] [--instance-name NAME] [--no-enable]
--        [--rate R] [--progress auto|bar|plain|none]
--
-- CSV columns: externalUserId, name, isTestUser (optional), instanceName (optional),
-- config.<externalId> (config values), auth.<externalId> (auth ids).
-- Environment: TRAY_MASTER_TOKEN, TRAY_REGION, TRAY_GRAPHQL_URL, TRAY_EMBEDDED_URL,
-- TRAY_PARTNER_ID (the default of --partner-id).
-- Exit status: 0 every row onboarded, 1 some row failed, 2 usage (arguments, CSV, solution).

-- Use the in-tree modules when run from a checkout.
do
  local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
  local f = io.open(dir .. "/../lua/tray/init.lua", "r")
  if f then
    f:close()
    local root = dir .. "/.."
    package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
    local abi = _VERSION == "Lua 5.4" and not rawget(_G, "jit") and "lua5.4" or "luajit"
    package.cpath = root .. "/build/" .. abi .. "/?.so;" .. package.cpath
  end
end

local tray = require "tray"
local csv = require "tray.csv"
local onboarding = require "tray.onboarding"
local native = require "tray.native"
-- server text (titles, error messages) is printed without its escape sequences
local terminal_text = require("tray.cli").terminal_text

local USAGE = [==[
usage: onboard.lua USERS.csv --solution ID|TAG[,TAG...] [--out results.csv] [--concurrency N]
                   [--partner-id P] [--instance-name NAME] [--no-enable] [--rate R]
                   [--progress auto|bar|plain|none]]==]

local function die(code, message)
  io.stderr:write("onboard: ", terminal_text(message), "\n")
  os.exit(code)
end

local function is_tty(fd)
  local r = os.execute("[ -t " .. fd .. " ]")
  return r == true or r == 0
end

-- ---------------------------------------------------------------------------
-- Arguments

local function parse_args(argv)
  local o = { concurrency = 8, enable = true, progress = "auto", out = "results.csv",
              partner_id = os.getenv("TRAY_PARTNER_ID") }
  local i = 1
  local function value(name)
    i = i + 1
    local v = argv[i]
    if v == nil then die(2, name .. " needs a value\n" .. USAGE) end
    return v
  end
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    if name then
      a = name
      table.insert(argv, i + 1, inline)
    end
    if a == "--solution" then o.solution = value(a)
    elseif a == "--out" then o.out = value(a)
    elseif a == "--concurrency" then o.concurrency = tonumber(value(a))
    elseif a == "--partner-id" then o.partner_id = value(a)
    elseif a == "--instance-name" then o.instance_name = value(a)
    elseif a == "--rate" then o.rate = tonumber(value(a))
    elseif a == "--progress" then o.progress = value(a)
    elseif a == "--no-enable" then o.enable = false
    elseif a == "-h" or a == "--help" then
      io.stdout:write(USAGE, "\n")
      os.exit(0)
    elseif a:sub(1, 1) == "-" and a ~= "-" then die(2, "unknown option " .. a .. "\n" .. USAGE)
    elseif o.input then die(2, "one CSV file only\n" .. USAGE)
    else o.input = a end
    i = i + 1
  end
  if not o.input then die(2, "the CSV file is missing\n" .. USAGE) end
  if not o.solution or o.solution == "" then die(2, "--solution is required\n" .. USAGE) end
  if not o.concurrency or o.concurrency < 1 or o.concurrency ~= math.floor(o.concurrency) then
    die(2, "--concurrency must be a whole number >= 1")
  end
  if o.rate ~= nil and not (o.rate and o.rate > 0) then die(2, "--rate must be a number > 0") end
  if o.progress == "auto" then
    o.progress = is_tty(2) and os.getenv("TERM") ~= "dumb" and "bar" or "plain"
  elseif o.progress ~= "bar" and o.progress ~= "plain" and o.progress ~= "none" then
    die(2, "--progress must be auto, bar, plain or none")
  end
  if o.partner_id == "" then o.partner_id = nil end
  return o
end

-- ---------------------------------------------------------------------------
-- Progress

local function duration(s)
  if s ~= s or s == math.huge then return "?" end
  if s < 60 then return string.format("%ds", math.floor(s + 0.5)) end
  return string.format("%dm%02ds", math.floor(s / 60), math.floor(s % 60))
end

local function progress(mode, total)
  local started, done, failed, last_draw, next_plain = native.now(), 0, 0, 0, 1
  local p = {}
  local function line()
    local elapsed = native.now() - started
    local rate = elapsed > 0 and done / elapsed or 0
    local eta = rate > 0 and (total - done) / rate or math.huge
    return rate, eta
  end
  function p.step(ok)
    done = done + 1
    if not ok then failed = failed + 1 end
    if mode == "bar" then
      local now = native.now()
      if now - last_draw < 0.1 and done < total then return end
      last_draw = now
      local rate, eta = line()
      local width = 30
      local fill = total > 0 and math.floor(width * done / total) or width
      io.stderr:write(string.format("\r[%s%s] %d/%d %3d%%  %.1f rows/s  ETA %s%s\27[K",
        string.rep("#", fill), string.rep(".", width - fill), done, total,
        total > 0 and math.floor(100 * done / total) or 100, rate, duration(eta),
        failed > 0 and string.format("  (%d failed)", failed) or ""))
      if done == total then io.stderr:write("\n") end
      io.stderr:flush()
    elseif mode == "plain" then
      -- one line at each quarter
      if done < total and done < next_plain * total / 4 then return end
      while next_plain <= 4 and done >= next_plain * total / 4 do next_plain = next_plain + 1 end
      local rate, eta = line()
      io.stderr:write(string.format("progress: %d/%d rows, %.1f rows/s, ETA %s, %d failed\n",
        done, total, rate, duration(done == total and 0 or eta), failed))
      io.stderr:flush()
    end
  end
  return p
end

-- ---------------------------------------------------------------------------
-- Main

local argv = {}
for i = 1, #arg do argv[i] = arg[i] end
local o = parse_args(argv)

local client_opts = { user_agent = "tray-onboard" }
if o.rate then client_opts.rate_limit = { rate = o.rate } end -- the burst follows the rate (tray.gcra)
if not os.getenv("TRAY_MASTER_TOKEN") or os.getenv("TRAY_MASTER_TOKEN") == "" then
  die(2, "TRAY_MASTER_TOKEN is not set (onboarding needs a master token)")
end
local emb, cerr = tray.embedded.new(client_opts)
if not emb then die(2, tostring(cerr)) end

-- the CSV, read whole (rows of one user must run in order, the rest concurrently)
local reader, rerr = csv.open(o.input)
if not reader then die(2, rerr.message) end
local header, herr = reader:header()
if not header then die(2, herr.message) end
local index = reader.index
for _, col in ipairs({ "externalUserId", "name" }) do
  if not index[col] then die(2, string.format("%s: the header has no %s column", o.input, col)) end
end

local solution, serr = onboarding.resolve_solution(emb, o.solution)
if not solution then die((serr.kind == "usage" or serr.kind == "not_found") and 2 or 1, tostring(serr)) end
local slots = { config = {}, auth = {} }
for _, s in ipairs(type(solution.configSlots) == "table" and solution.configSlots or {}) do
  slots.config[s.externalId] = true
end
for _, s in ipairs(type(solution.authSlots) == "table" and solution.authSlots or {}) do
  slots.auth[s.externalId] = true
end
for _, col in ipairs(header) do
  local kind, slot = col:match("^(%a+)%.(.+)$")
  if (kind == "config" or kind == "auth") and not slots[kind][slot] then
    local names = {}
    for k in pairs(slots[kind]) do names[#names + 1] = k end
    table.sort(names)
    die(2, string.format("column %s: %q has no %s slot %q (its slots: %s)", col, solution.title, kind, slot,
      #names > 0 and table.concat(names, ", ") or "none"))
  end
end

local rows, lines = {}, {}
while true do
  local record, info = reader:row()
  if not record then
    if info then die(2, info.message) end
    break
  end
  local row, why
  if info.fields ~= #header then
    row = { externalUserId = record.externalUserId,
            error = string.format("%d fields, the header has %d", info.fields, #header) }
  else
    row, why = onboarding.from_record(record)
    if not row then row = { externalUserId = record.externalUserId, error = why } end
  end
  rows[#rows + 1] = row
  lines[#rows] = info.line
end
reader:close()
if #rows == 0 then die(2, o.input .. " has no data rows") end

local pb = progress(o.progress, #rows)
local results, summary = onboarding.run(emb, rows, {
  solution = solution, partnerId = o.partner_id, instanceName = o.instance_name, enable = o.enable,
  concurrency = o.concurrency,
  on_result = function(_, _, err) pb.step(err == nil) end,
})

-- the result CSV (written next to its final name, then renamed: never half a file)
local function changes(rep)
  local c = {}
  if rep.user then c[#c + 1] = "user " .. rep.user end
  if rep.instance then c[#c + 1] = "instance " .. rep.instance end
  if rep.enabled == "enabled" then c[#c + 1] = "enabled" end
  return table.concat(c, "; ")
end

local tmp = o.out .. ".tmp"
local f, ferr = io.open(tmp, "wb")
if not f then die(2, "cannot write " .. tmp .. ": " .. tostring(ferr)) end
local w = assert(csv.writer(f))
w:write{ "row", "line", "externalUserId", "userId", "instanceId", "wizardUrl", "status", "changes", "error" }
for i, r in ipairs(results) do
  local rep = r.report or {}
  local row = rows[i]
  w:write{ i, lines[i], rep.externalUserId or row.externalUserId, rep.userId, rep.solutionInstanceId,
           rep.wizardUrl, r.err and "failed" or rep.status, changes(rep),
           r.err and (r.err.kind .. ": " .. r.err.message) or nil, n = 9 }
end
f:close()
local ok, mverr = os.rename(tmp, o.out)
if not ok then die(2, "cannot write " .. o.out .. ": " .. tostring(mverr)) end

-- the summary (one line each, what a server sent made safe for a terminal)
local function say(line)
  io.stdout:write(terminal_text(line, true), "\n")
end
local s = summary
say(string.format("onboarded %d rows in %.1fs (%.1f rows/s): %d ok, %d failed", s.rows, s.seconds,
  s.seconds > 0 and s.rows / s.seconds or 0, s.ok, s.failed))
say(string.format("  solution:  %s (%s)", tostring(solution.title), tostring(solution.id)))
say(string.format("  users:     %d created, %d updated, %d existing", s.users.created, s.users.updated,
  s.users.existing))
say(string.format("  instances: %d created, %d updated, %d unchanged, %d enabled", s.instances.created,
  s.instances.updated, s.instances.unchanged, s.enabled))
say(string.format("  created:   %d (users + instances)", s.created))
if s.failed > 0 then
  say("failed rows:")
  local shown = 0
  for i, r in ipairs(results) do
    if r.err then
      shown = shown + 1
      if shown > 10 then
        say(string.format("  ... and %d more (see %s)", s.failed - 10, o.out))
        break
      end
      say(string.format("  row %d (line %d): %s: %s", i, lines[i], r.err.kind, r.err.message))
    end
  end
end
if not o.partner_id then say("  (no --partner-id or TRAY_PARTNER_ID: no config wizard URLs)") end
say("results: " .. o.out)
os.exit(s.failed > 0 and 1 or 0)
