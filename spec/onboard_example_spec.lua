-- examples/onboard.lua, run as a subprocess against the emulator: the result CSV,
-- the summary, exit codes, a second run, and a run killed half-way and resumed.

local emu = require "spec.helpers.emulator"
local csv = require "tray.csv"
local native = require "tray.native"

local ROOT = os.getenv("PWD") or "."
local SALES = "b3422397-XXXX-XXXX-XXXX-57e7e66771b3"

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path, keep)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  if not keep then os.remove(path) end
  return s
end

-- os.execute's success, on Lua 5.4 (true/nil) and LuaJIT (a status number)
local function sh(cmd)
  local a = os.execute(cmd)
  if type(a) == "number" then return a == 0 end
  return a == true
end

local function environment()
  return "env -u TRAY_USER_TOKEN -u TRAY_PARTNER_ID TRAY_MASTER_TOKEN=" .. quote(emu.master_token) ..
    " TRAY_GRAPHQL_URL=" .. quote(emu.graphql_url) .. " TRAY_EMBEDDED_URL=" .. quote(emu.url)
end

local function command(args)
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = quote(a) end
  return string.format("%s lua5.4 %s/examples/onboard.lua %s", environment(), ROOT, table.concat(quoted, " "))
end

-- runs the example; returns its exit code, stdout, stderr
local function onboard(args)
  local out, err = os.tmpname(), os.tmpname()
  local a, _, c = os.execute(command(args) .. " >" .. out .. " 2>" .. err)
  local code = type(a) == "number" and math.floor(a / 256) or (a and 0 or c)
  return code, slurp(out) or "", slurp(err) or ""
end

local function write_csv(records)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(csv.encode(records))
  f:close()
  return path
end

local function read_results(path)
  local r = assert(csv.open(path))
  assert(r:header())
  local rows = {}
  for row in r:rows() do rows[#rows + 1] = row end
  r:close()
  return rows
end

local function users_csv(n, extra)
  local records = { { "externalUserId", "name", "isTestUser", "config.external_channel" } }
  for i = 1, n do records[#records + 1] = { "ex-" .. i, "User " .. i, i % 5 == 0 and "true" or "", "#c" .. i } end
  for _, r in ipairs(extra or {}) do records[#records + 1] = r end
  return write_csv(records)
end

local function creates()
  local by = emu.stats().byRoute
  return (by["POST /graphql createExternalUser"] or 0), (by["POST /graphql createSolutionInstance"] or 0)
end

describe("examples/onboard.lua", function()
  local input, out

  before_each(function()
    emu.reset()
    out = os.tmpname()
    os.remove(out)
  end)

  after_each(function()
    if input then os.remove(input) end
    os.remove(out)
    os.remove(out .. ".tmp")
  end)

  it("onboards every row, writes the result CSV, and exits 1 when a row failed", function()
    input = users_csv(6, {
      { "ex-q", 'O\'Brien, "Pat"\nEMEA', "no", "#sales, emea" },
      { "", "No Id", "", "#x" },
      { "ex-1", "User 1", "", "#c1" },                      -- a repeated row
    })
    local code, stdout, stderr = onboard{ input, "--solution", "sales,onboarding", "--partner-id", "acme",
      "--out", out, "--progress", "plain" }
    assert.equal(1, code)
    assert.matches("onboarded 9 rows in [%d.]+s %([%d.]+ rows/s%): 8 ok, 1 failed", stdout)
    assert.matches("users:     7 created, 0 updated, 1 existing", stdout, 1, true)
    assert.matches("instances: 7 created, 0 updated, 1 unchanged, 7 enabled", stdout, 1, true)
    assert.matches("created:   14 (users + instances)", stdout, 1, true)
    assert.matches("row 8 (line 10): usage: externalUserId is required", stdout, 1, true)
    assert.matches("progress: 9/9 rows, [%d.]+ rows/s, ETA 0s, 1 failed\n$", stderr)

    local rows = read_results(out)
    assert.equal(9, #rows)
    assert.equal("1", rows[1].row)
    assert.equal("ex-1", rows[1].externalUserId)
    assert.equal("created", rows[1].status)
    assert.equal("user created; instance created; enabled", rows[1].changes)
    assert.equal(emu.url .. "/external/solutions/acme/configure/" .. rows[1].instanceId .. "?code=",
      rows[1].wizardUrl:match("^(.-code=)"))
    assert.equal("ex-q", rows[7].externalUserId)
    assert.equal("failed", rows[8].status)
    assert.equal("usage: externalUserId is required", rows[8].error)
    assert.equal("unchanged", rows[9].status)
    assert.equal(rows[1].instanceId, rows[9].instanceId)
    -- the tricky name made it through the CSV intact
    local node = assert(emu.embedded():users{ criteria = { externalUserId = "ex-q" } }).nodes[1]
    assert.equal('O\'Brien, "Pat"\nEMEA', node.name)
    assert.is_false(node.isTestUser)
  end)

  it("writes values a spreadsheet would run as formulas as text (issue 14, item 12)", function()
    local evil = '=HYPERLINK("http://evil.example","x")'
    input = users_csv(1, { { evil, "Evil", "", "#c" }, { "@SUM(1+1)", "At", "", "#d" } })
    local code = onboard{ input, "--solution", "sales,onboarding", "--partner-id", "acme",
      "--out", out, "--progress", "plain" }
    assert.equal(0, code)
    local rows = read_results(out)
    assert.equal(3, #rows)
    assert.equal("'" .. evil, rows[2].externalUserId)
    assert.equal("'@SUM(1+1)", rows[3].externalUserId)
    local f = assert(io.open(out, "rb"))
    local text = f:read("*a")
    f:close()
    -- no cell of the file starts with = + - @ (a quoted cell: after its quote)
    for cell in (text:gsub("\r\n", ",")):gmatch("[^,]+") do
      assert.is_nil(cell:find('^"?[=+@]'), cell)
      assert.is_nil(cell:find('^"?%-%D'), cell)
    end
  end)

  it("changes nothing on a second run (0 created) and exits 0 when every row succeeds", function()
    input = users_csv(5)
    local code = onboard{ input, "--solution", SALES, "--out", out, "--progress", "none" }
    assert.equal(0, code)
    local users, instances = creates()
    assert.same({ 5, 5 }, { users, instances })
    local stdout
    code, stdout = onboard{ input, "--solution", SALES, "--out", out, "--progress", "none" }
    assert.equal(0, code)
    assert.matches("created:   0 (users + instances)", stdout, 1, true)
    assert.matches("(no --partner-id or TRAY_PARTNER_ID: no config wizard URLs)", stdout, 1, true)
    assert.same({ 5, 5 }, { creates() })
    for _, row in ipairs(read_results(out)) do
      assert.equal("unchanged", row.status)
      assert.equal("", row.wizardUrl)
    end
  end)

  it("exits 2 on usage errors, before onboarding anyone", function()
    input = users_csv(2)
    local bad_header = write_csv({ { "id", "name" }, { "1", "A" } })
    local bad_slot = write_csv({ { "externalUserId", "name", "config.nope" }, { "1", "A", "x" } })
    local malformed = write_csv({ { "externalUserId", "name" } })
    local f = assert(io.open(malformed, "ab"))
    f:write('a,"open\n')
    f:close()
    for _, case in ipairs({
      { { input }, "--solution is required" },
      { { "--solution", SALES }, "the CSV file is missing" },
      { { input, "--solution", "onboarding" }, "2 solutions carry the tags" },
      { { input, "--solution", "no-such-tag" }, "no solution has the id or all the tags" },
      { { "/nonexistent.csv", "--solution", SALES }, "cannot open" },
      { { bad_header, "--solution", SALES }, "the header has no externalUserId column" },
      { { bad_slot, "--solution", SALES }, 'has no config slot "nope"' },
      { { malformed, "--solution", SALES }, "a quoted field is not closed" },
      { { input, "--solution", SALES, "--concurrency", "0" }, "--concurrency" },
      { { input, "--solution", SALES, "--bogus" }, "unknown option --bogus" },
    }) do
      local code, _, stderr = onboard(case[1])
      assert.equal(2, code)
      assert.matches(case[2], stderr, 1, true)
    end
    os.remove(bad_header)
    os.remove(bad_slot)
    os.remove(malformed)
    assert.same({ 0, 0 }, { creates() })
  end)

  it("draws a progress bar with rate and ETA on a terminal", function()
    if not sh("command -v script >/dev/null 2>&1") then return pending("script(1) is not installed") end
    input = users_csv(3)
    local log = os.tmpname()
    os.execute(string.format("script -qec %s /dev/null > %s 2>&1 </dev/null",
      quote(command{ input, "--solution", SALES, "--out", out }), log))
    local text = slurp(log) or ""
    assert.matches("\r%[#+%] 3/3 100%%  [%d.]+ rows/s  ETA 0s", text)
  end)

  it("resumes a run killed half-way: the second run does only what is missing", function()
    local n = 24
    input = users_csv(n)
    local pidfile = os.tmpname()
    -- slow enough (20 requests/s) to be killed in the middle
    os.execute(command{ input, "--solution", SALES, "--out", out, "--rate", "20", "--concurrency", "4",
      "--progress", "none" } .. " >/dev/null 2>&1 & echo $! > " .. pidfile)
    local pid = assert(tonumber(slurp(pidfile)))
    local deadline = native.now() + 60
    while emu.stats().graphql.users < 6 and native.now() < deadline do native.sleep(0.05) end
    sh("kill -9 " .. pid .. " 2>/dev/null")
    while sh("kill -0 " .. pid .. " 2>/dev/null") and native.now() < deadline do native.sleep(0.02) end
    -- let the emulator finish what was already sent: until every request it logged has its
    -- answer, and the log stays the same over one more look
    local last, null = nil, require("tray.json").null
    while native.now() < deadline do
      local log, answered = emu.requests(), true
      for _, r in ipairs(log) do answered = answered and r.status ~= nil and r.status ~= null end
      if answered and last == #log then break end
      last = answered and #log or nil
      native.sleep(0.1)
    end
    local users_made, instances_made = emu.stats().graphql.users, emu.stats().graphql.instances
    assert.is_true(users_made >= 6 and users_made < n, "not killed half-way: " .. users_made .. " users")
    assert.is_nil(slurp(out, true)) -- no half-written result file

    local before_users, before_instances = creates()
    local code, stdout = onboard{ input, "--solution", SALES, "--out", out, "--rate", "500", "--progress", "none" }
    assert.equal(0, code)
    local after_users, after_instances = creates()
    assert.equal(n - users_made, after_users - before_users)
    assert.equal(n - instances_made, after_instances - before_instances)
    assert.equal(n, emu.stats().graphql.users)
    assert.equal(n, emu.stats().graphql.instances)
    assert.matches(string.format("users:     %d created, 0 updated, %d existing", n - users_made, users_made),
      stdout, 1, true)
    local done = 0
    for _, row in ipairs(read_results(out)) do
      assert.are_not.equal("failed", row.status)
      if row.status ~= "created" then done = done + 1 end -- user and instance were there
    end
    assert.equal(instances_made, done)
  end)
end)
