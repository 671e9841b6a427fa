--- The benchmark behind `make bench`: measures, prints one table, never asserts.
--
--    make bench          (builds, starts the emulator and bench/fixed_server, runs this)
--
-- Run by bench/run as `lua5.4 bench/bench.lua` with TRAY_EMULATOR_URL (the
-- emulator), BENCH_SERVER_URL (bench/fixed_server) and BENCH_BIN (the
-- directory of curl_loop and spawn_loop) set. The parts that need a fresh
-- process (a fresh rate-limiter bucket, a fresh peak RSS, the LuaJIT row) run
-- `<lua> bench/bench.lua case <name> ...`, which prints one JSON line.
--
-- BENCH_QUICK=1 makes every part smaller (a smoke run, not a measurement).

local native = require "tray.native"
local json = require "tray.json"

local unpack = table.unpack or unpack -- luacheck: ignore 143

local QUICK = os.getenv("BENCH_QUICK") == "1"
local TOKEN = "bench-token-not-a-secret-0123456789abcdef"  -- the fixed server checks no token
local UA = "tray-lua/" .. native.VERSION

-- ---------------------------------------------------------------------------
-- Small helpers.

local control_session = assert(native.session{ timeout = 120 })

local function http(method, url, body)
  local headers = { "Accept: application/json" }
  local text
  if body ~= nil then
    text = assert(json.encode(body))
    headers[2] = "Content-Type: application/json"
  end
  local status, rbody = control_session:request(method, url, headers, text)
  assert(status, "bench: " .. method .. " " .. url .. " failed: " .. tostring(rbody))
  assert(status < 300, "bench: " .. url .. " answered " .. tostring(status) .. ": " .. tostring(rbody))
  return rbody
end

local function emu(method, path, body)
  local url = assert(os.getenv("TRAY_EMULATOR_URL"), "TRAY_EMULATOR_URL is not set (run through make bench)")
  local text = http(method, url .. "/_emulator" .. path, body)
  if text == "" then return true end
  return assert(json.decode(text))
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_command(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true or code == 0
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function vm_status_kb(field)
  local s = read_file("/proc/self/status") or ""
  return tonumber(s:match(field .. ":%s*(%d+)%s*kB"))
end

local function sorted(samples)
  local s = {}
  for i = 1, #samples do s[i] = samples[i] end
  table.sort(s)
  return s
end

local function percentile(s, p)
  if #s == 0 then return 0 / 0 end
  local k = math.max(1, math.min(#s, math.floor(p * (#s - 1) + 1.5)))
  return s[k]
end

local function median(s)
  local n = #s
  if n == 0 then return 0 / 0 end
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

local function parse_samples(text)
  local out = {}
  for v in text:gmatch("[%d%.]+") do out[#out + 1] = tonumber(v) end
  return out
end

local function append_all(dst, src)
  for i = 1, #src do dst[#dst + 1] = src[i] end
end

-- ---------------------------------------------------------------------------
-- The clients of the per-request part (all against the fixed server).

local function sdk_client(url)
  local tray = require "tray"
  -- rate_limit = false: the default 30/s would measure the limiter's waits, not the client
  return assert(tray.embedded.new{ master_token = TOKEN, endpoint = url .. "/graphql", rate_limit = false,
    embedded_url = url })
end

-- n measured calls of emb:users{ first = 1 } after `warm` unmeasured ones; microseconds each.
local function sdk_loop(emb, n, warm)
  local now = native.now
  local samples = {}
  for i = 1, warm + n do
    local t0 = now()
    local conn, err = emb:users{ first = 1 }
    local t1 = now()
    if not conn then error("bench: SDK call failed: " .. tostring(err)) end
    assert(conn.nodes[1].id, "bench: the SDK answer has no user")
    if i > warm then samples[i - warm] = (t1 - t0) * 1e6 end
  end
  return samples
end

-- What a Lua user would otherwise write: LuaSocket's socket.http and lua-cjson,
-- the document as a constant string, the same header lines as the SDK sends.
local function luasocket_client(url, document, header_lines)
  local socket_http = require "socket.http"
  local ltn12 = require "ltn12"
  local cjson = require "cjson"
  local fixed = {}
  for _, line in ipairs(header_lines) do
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    local lname = name and name:lower()
    if lname and lname ~= "host" and lname ~= "content-length" and lname ~= "expect" then
      fixed[lname] = value
    end
  end
  local endpoint = url .. "/graphql"
  -- the document is a constant: encode it once; the body's keys in the SDK's order
  local prefix = '{"query":' .. cjson.encode(document) .. ',"variables":'
  return function(first)
    local body = prefix .. cjson.encode({ first = first }) .. "}"
    local headers = { ["content-length"] = tostring(#body) }
    for k, v in pairs(fixed) do headers[k] = v end
    local chunks = {}
    local ok, code = socket_http.request{
      url = endpoint, method = "POST", headers = headers,
      source = ltn12.source.string(body), sink = ltn12.sink.table(chunks),
    }
    if not ok or code ~= 200 then error("bench: LuaSocket request failed: " .. tostring(code)) end
    local doc = cjson.decode(table.concat(chunks))
    local conn = doc.data.users
    local nodes = {}
    for i, edge in ipairs(conn.edges) do nodes[i] = edge.node end
    return nodes
  end
end

local function luasocket_loop(call, n, warm)
  local now = native.now
  local samples = {}
  for i = 1, warm + n do
    local t0 = now()
    local nodes = call(1)
    local t1 = now()
    assert(nodes[1].id, "bench: the LuaSocket answer has no user")
    if i > warm then samples[i - warm] = (t1 - t0) * 1e6 end
  end
  return samples
end

-- The C core alone: tray.native's session:request with the SDK's header lines and body.
local native_session
local function native_loop(url, body, n, warm)
  native_session = native_session or assert(native.session{ user_agent = UA })
  local headers = { "Accept: application/json", "Content-Type: application/json" }
  local endpoint = url .. "/graphql"
  local now = native.now
  local samples = {}
  for i = 1, warm + n do
    local t0 = now()
    local status = native_session:request("POST", endpoint, headers, body, TOKEN)
    local t1 = now()
    if status ~= 200 then error("bench: tray.native request failed") end
    if i > warm then samples[i - warm] = (t1 - t0) * 1e6 end
  end
  return samples
end

-- CPU microseconds per call of f: the best of 7 batches of n (os.clock, this process only).
local function cpu_cost(n, f)
  for _ = 1, math.max(1, math.floor(n / 10)) do f() end
  local best = math.huge
  for _ = 1, 7 do
    local t0 = os.clock()
    for _ = 1, n do f() end
    local dt = (os.clock() - t0) / n * 1e6
    if dt < best then best = dt end
  end
  return best
end

-- Where the SDK's own time goes: its stages timed alone, without HTTP.
local function breakdown(answer, n)
  local tray = require "tray"
  local gql = require "tray.graphql"
  local canned = { status = 200, body = answer, headers = { ["Content-Type"] = "application/json" } }
  local emb = assert(tray.embedded.new{ master_token = TOKEN, endpoint = "http://127.0.0.1:9/graphql",
    embedded_url = "http://127.0.0.1:9", rate_limit = false, transport = function() return canned end })
  local limited = assert(tray.embedded.new{ master_token = TOKEN, endpoint = "http://127.0.0.1:9/graphql",
    embedded_url = "http://127.0.0.1:9", rate_limit = { rate = 1e9, burst = 1e9 },
    transport = function() return canned end })
  local user = { "name", "id", "externalUserId", "isTestUser" }
  local page_info = { "hasNextPage", "endCursor", "hasPreviousPage", "startCursor" }
  local vars = { first = 1 }
  local lim = assert(native.limiter("bench-breakdown", 1e9, 1e9))
  return {
    { "the whole SDK call, HTTP replaced by a canned answer (a custom `transport` function)",
      cpu_cost(n, function() assert(emb:users{ first = 1 }) end) },
    { "the same with the limiter on (rate 1e9: it never waits)",
      cpu_cost(n, function() assert(limited:users{ first = 1 }) end) },
    { "of which: json.decode of the answer", cpu_cost(n, function() return json.decode(answer) end) },
    { "of which: json.encode of the variables", cpu_cost(n, function() return json.encode(vars) end) },
    { "limiter:reserve() alone", cpu_cost(n * 5, function() return lim:reserve() end) },
    { "not paid any more: gql.build of the document (now built once per argument shape)",
      cpu_cost(n, function()
        return gql.build{ operation = "query", name = "TrayUsers", select = { { "users",
          args = { first = gql.value(1, "Int!") }, select = { edges = { "cursor", node = user },
          pageInfo = page_info } } } }
      end) },
  }
end

-- ---------------------------------------------------------------------------
-- Cases run in a fresh process: `bench.lua case NAME ...` prints one JSON line.

local CASES = {}

-- The SDK row for another interpreter (LuaJIT).
function CASES.sdk(url, n, warm)
  local emb = sdk_client(url)
  return { samples = sdk_loop(emb, tonumber(n), tonumber(warm)) }
end

local function emulator_client(extra)
  local tray = require "tray"
  local o = { master_token = os.getenv("TRAY_MASTER_TOKEN"), endpoint = os.getenv("TRAY_GRAPHQL_URL"),
              embedded_url = os.getenv("TRAY_EMBEDDED_URL") }
  for k, v in pairs(extra or {}) do o[k] = v end
  return assert(tray.embedded.new(o))
end

-- 300 (or n) create_external_user through the default limiter, sequential or concurrent.
function CASES.rate(concurrency, n, tag)
  local tray = require "tray"
  concurrency, n = tonumber(concurrency), tonumber(n)
  local emb = emulator_client()        -- default rate_limit { rate = 30, burst = 30 }, max_retries 3
  local function create(i)
    return emb:create_external_user{ name = "Bench " .. i, externalUserId = tag .. "-" .. i }
  end
  local results = {}
  local t0 = native.now()
  if concurrency <= 1 then
    for i = 1, n do results[i] = create(i) end
  else
    local tasks = {}
    for i = 1, n do tasks[i] = function() return create(i) end end
    results = tray.parallel(tasks, { concurrency = concurrency })
  end
  local wall = native.now() - t0
  local errs = 0                       -- an error returned or raised: no created user in the results
  for i = 1, n do
    if type(results[i]) ~= "table" or type(results[i].userId) ~= "string" then errs = errs + 1 end
  end
  local st = emb:stats()
  return { wall = wall, errors = errs, requests = st.requests, retries = st.retries }
end

-- n users{ first = 1 } at the given concurrency, no client rate limit.
function CASES.conc(concurrency, n)
  local tray = require "tray"
  concurrency, n = tonumber(concurrency), tonumber(n)
  local emb = emulator_client{ rate_limit = false }
  local tasks = {}
  for i = 1, n do tasks[i] = function() return emb:users{ first = 1 } end end
  local t0 = native.now()
  local results = tray.parallel(tasks, { concurrency = concurrency })
  local wall = native.now() - t0
  local errs = 0
  for i = 1, n do
    if type(results[i]) ~= "table" then errs = errs + 1 end
  end
  return { wall = wall, errors = errs }
end

-- Iterates every user with each("users", { first = 100 }); peak RSS of this process.
function CASES.mem(expected)
  local emb = emulator_client{ rate_limit = false }
  collectgarbage("collect")
  local base = vm_status_kb("VmRSS")
  local count, ids = 0, 0
  local t0 = native.now()
  for user in emb:each("users", { first = 100 }) do
    count = count + 1
    if type(user.id) == "string" then ids = ids + 1 end
  end
  local wall = native.now() - t0
  return { count = count, ids = ids, expected = tonumber(expected), base_kb = base,
           hwm_kb = vm_status_kb("VmHWM"), wall = wall }
end

local function run_case(lua, name, ...)
  local args = { ... }
  for i = 1, #args do args[i] = shell_quote(args[i]) end
  local cmd = string.format("%s bench/bench.lua case %s %s", lua, name, table.concat(args, " "))
  local out, ok = read_command(cmd)
  local line = out:match("BENCHRESULT (.-)\n")
  if not ok or not line then error("bench: case " .. name .. " failed:\n" .. out) end
  return assert(json.decode(line))
end

-- ---------------------------------------------------------------------------
-- Part 1: per-request cost.

local function per_request()
  local server = assert(os.getenv("BENCH_SERVER_URL"), "BENCH_SERVER_URL is not set")
  local bin = assert(os.getenv("BENCH_BIN"), "BENCH_BIN is not set")
  local rounds = QUICK and 2 or 10
  local n_fast = QUICK and 200 or 1000           -- per round and client (the `curl` command: n_cli)
  local n_cli = QUICK and 5 or 30
  local warm = QUICK and 50 or 200

  http("GET", server .. "/_bench/reset")
  local emb = sdk_client(server)
  sdk_loop(emb, 1, warm)                         -- its first request becomes the reference
  local raw = http("GET", server .. "/_bench/reference/raw")
  local head, body = raw:match("^(.-)\r\n\r\n(.*)$")
  assert(head and body, "bench: no reference request")
  local header_lines = {}
  for line in head:gmatch("[^\r\n]+") do header_lines[#header_lines + 1] = line end
  table.remove(header_lines, 1)                  -- the request line
  local document = assert(json.decode(body)).query
  local info = assert(json.decode(http("GET", server .. "/_bench/reference")))
  local body_file = os.tmpname()
  local f = assert(io.open(body_file, "wb"))
  f:write(body)
  f:close()
  http("GET", server .. "/_bench/stats")        -- start counting

  local ls_call = luasocket_client(server, document, header_lines)
  local curl_args = { "curl", "-s", "-f", "-o", "/dev/null", "--compressed", "-A", UA,
    "-H", "Accept: application/json", "-H", "Content-Type: application/json", "-H", "Expect:",
    "-H", "Authorization: Bearer " .. TOKEN, "--data-binary", "@" .. body_file, server .. "/graphql" }
  for i = 1, #curl_args do curl_args[i] = shell_quote(curl_args[i]) end
  local luajit = os.getenv("BENCH_LUAJIT")

  local rows = {
    { key = "sdk", name = "tray SDK, Lua 5.4 (`emb:users{ first = 1 }`)", samples = {} },
    { key = "sdkjit", name = "tray SDK, LuaJIT 2.1 (same call)", samples = {}, skip = not luajit },
    { key = "native", name = "tray.native `session:request` alone (the C core from Lua 5.4, same bytes)",
      samples = {} },
    { key = "c", name = "C + libcurl, one reused easy handle (bench/curl_loop.c, -O2)", samples = {} },
    { key = "cmin", name = "C + libcurl, minimal: reused handle, POSTFIELDS, discarding callback (BENCH_MINIMAL=1)",
      samples = {} },
    { key = "luasocket", name = "LuaSocket socket.http + lua-cjson, Lua 5.4", samples = {} },
    { key = "cli", name = "`curl` command per request (posix_spawn, no shell)", samples = {} },
  }
  for _, r in ipairs(rows) do
    r.check = { requests = 0, exact = 0, same = 0, mismatch = 0 }
    r.round_medians = {}
  end
  local function count(row)
    local st = assert(json.decode(http("GET", server .. "/_bench/stats")))
    for k in pairs(row.check) do row.check[k] = row.check[k] + (st[k] or 0) end
  end
  local runners = {
    sdk = function() return sdk_loop(emb, n_fast, warm) end,
    native = function() return native_loop(server, body, n_fast, warm) end,
    sdkjit = function() return run_case(luajit, "sdk", server, n_fast, warm).samples end,
    cmin = function()
      local cmd = string.format("BENCH_MINIMAL=1 BENCH_TOKEN=%s %s/curl_loop %s %s %d %d %s", shell_quote(TOKEN),
        bin, shell_quote(server .. "/graphql"), shell_quote(body_file), n_fast, warm, shell_quote(UA))
      local text, ok = read_command(cmd)
      if not ok then error("bench: curl_loop (minimal) failed") end
      return parse_samples(text)
    end,
    c = function()
      local cmd = string.format("BENCH_TOKEN=%s %s/curl_loop %s %s %d %d %s", shell_quote(TOKEN), bin,
        shell_quote(server .. "/graphql"), shell_quote(body_file), n_fast, warm, shell_quote(UA))
      local text, ok = read_command(cmd)
      if not ok then error("bench: curl_loop failed") end
      return parse_samples(text)
    end,
    luasocket = function() return luasocket_loop(ls_call, n_fast, warm) end,
    cli = function()
      local cmd = string.format("%s/spawn_loop %d %d %s", bin, n_cli, 3, table.concat(curl_args, " "))
      local text, ok = read_command(cmd)
      if not ok then error("bench: spawn_loop curl failed") end
      return parse_samples(text)
    end,
  }
  for round = 1, rounds do
    -- rotate the order so no client always runs first or last in a round
    for k = 0, #rows - 1 do
      local row = rows[(round + k - 1) % #rows + 1]
      if not row.skip then
        local samples = runners[row.key]()
        append_all(row.samples, samples)
        row.round_medians[#row.round_medians + 1] = median(sorted(samples))
        count(row)
      end
    end
  end
  os.remove(body_file)

  local base, c_rounds
  for _, r in ipairs(rows) do
    if r.key == "c" then c_rounds = r.round_medians end
  end
  for _, r in ipairs(rows) do
    local s = sorted(r.samples)
    r.samples = nil
    r.median, r.p90, r.n = median(s), percentile(s, 0.9), #s
    -- the ratio to the C loop within each round (same load), then the median of those
    local ratios = {}
    for i, m in ipairs(r.round_medians) do ratios[i] = m / c_rounds[i] end
    r.ratio = median(sorted(ratios))
    local rm = sorted(r.round_medians)
    r.round_min, r.round_max, r.round_medians = rm[1], rm[#rm], nil
    if r.key == "c" then base = r.median end
  end
  -- the fixed answer, for the breakdown (one more request with the same bytes)
  local _, answer = native_session:request("POST", server .. "/graphql",
    { "Accept: application/json", "Content-Type: application/json" }, body, TOKEN)
  return { rows = rows, base = base, rounds = rounds, n_fast = n_fast, n_cli = n_cli, warm = warm,
           body_bytes = #body, head_bytes = #head, answer_bytes = info.answer, cpu = os.getenv("BENCH_CPU"),
           breakdown = breakdown(answer, QUICK and 2000 or 20000) }
end

-- Run in its own process, pinned by bench/run to the fixed server's CPU.
CASES.per_request = per_request

-- ---------------------------------------------------------------------------
-- Parts 2-4 against the emulator.

local function per_request_part(out)
  local pin = os.getenv("BENCH_PIN") or ""
  out.per_request = run_case(pin .. "lua5.4", "per_request")
end

local function rate_adherence(out)
  local n = QUICK and 80 or 300
  local rate, burst = 30, 50
  local res = {}
  for _, c in ipairs({ 1, 8 }) do
    emu("POST", "/reset", {})
    emu("POST", "/config", { rateLimit = { rate = rate, burst = burst } })
    local r = run_case("lua5.4", "rate", c, n, "rate" .. c)
    local st = emu("GET", "/stats")
    r.rate_limited = st.rateLimited
    r.concurrency = c
    res[#res + 1] = r
  end
  emu("POST", "/reset", {})
  out.rate = { n = n, rate = rate, burst = burst, min = (n - burst) / rate, runs = res }
end

local function concurrency(out)
  local n = QUICK and 64 or 400
  local res = {}
  for _, c in ipairs({ 1, 4, 16 }) do
    emu("POST", "/reset", {})
    emu("POST", "/config", { latencyMs = 50 })
    local r = run_case("lua5.4", "conc", c, n)
    r.concurrency = c
    r.rps = n / r.wall
    res[#res + 1] = r
  end
  emu("POST", "/reset", {})
  out.conc = { n = n, runs = res }
end

local function memory(out)
  local res = {}
  for _, count in ipairs(QUICK and { 1000, 10000 } or { 1000, 100000 }) do
    emu("POST", "/reset", {})
    local t0 = native.now()
    emu("POST", "/seed/users", { count = count, prefix = "mem" })
    local seeded = native.now() - t0
    local r = run_case("lua5.4", "mem", count)
    r.users = count
    r.seed_wall = seeded
    res[#res + 1] = r
  end
  emu("POST", "/reset", {})
  out.mem = { runs = res }
end

-- N concurrent SDK calls vs N plain cosocket requests in one nginx worker (bench/nginx.lua).
local function nginx_part(out)
  local n = QUICK and 200 or 1000
  local text = read_command("lua5.4 bench/nginx.lua " .. n .. " 2>&1")
  local line = text:match("BENCHRESULT (%b{})")
  if not line then
    io.stderr:write("bench: nginx part failed:\n", text, "\n")
    return
  end
  out.nginx = assert(json.decode(line))
  emu("POST", "/reset", {})
end

-- ---------------------------------------------------------------------------
-- The table.

local function first_line(cmd)
  local text = read_command(cmd .. " 2>&1")
  return (text:match("[^\n]*") or ""):gsub("%s+$", "")
end

local function machine()
  local cpuinfo = read_file("/proc/cpuinfo") or ""
  local model = cpuinfo:match("model name%s*:%s*([^\n]+)") or "unknown"
  local cores = 0
  for _ in cpuinfo:gmatch("\nprocessor%s*:") do cores = cores + 1 end
  if cpuinfo:match("^processor%s*:") then cores = cores + 1 end
  return {
    cpu = model, cores = cores,
    kernel = first_line("uname -sr"),
    lua = first_line("lua5.4 -v"):match("^Lua [%d.]+") or "Lua 5.4",
    luajit = first_line("luajit -v"):match("^LuaJIT %S+") or "no LuaJIT",
    curl = native.curl_version():match("^libcurl/%S+ %S+") or native.curl_version(),
    node = first_line("node --version"),
  }
end

local function fmt(x, digits)
  if x ~= x then return "n/a" end
  return string.format("%." .. (digits or 0) .. "f", x)
end

local function render(res)
  local L = {}
  local function add(s) L[#L + 1] = s or "" end
  local m = res.machine
  add("# tray benchmark")
  add()
  if QUICK then add("**QUICK run: smaller counts, a smoke test, not a measurement.**") add() end
  add("- Date: " .. res.date .. " (`make bench`, " .. fmt(res.total, 0) .. " s)")
  add(string.format("- Machine: %s, %d cores (/proc/cpuinfo), %s", m.cpu, m.cores, m.kernel))
  add(string.format("- Software: %s, %s, %s, emulator on Node %s", m.lua, m.luajit, m.curl, m.node))
  local pr, rt, cc, mm = res.per_request, res.rate, res.conc, res.mem
  -- the issue's goals, as measured (reported, never asserted)
  local goals = {}
  local function goal(what, measured, met)
    goals[#goals + 1] = string.format("| %s | %s | %s |", what, measured, met and "met" or "**missed**")
  end
  if pr then
    local by = {}
    for _, r in ipairs(pr.rows) do by[r.key] = r end
    local sdk, ls = by.sdk.ratio, by.luasocket.ratio
    local jit = by.sdkjit and not by.sdkjit.skip and by.sdkjit.ratio
    goal("SDK per request within 1.3x of the C libcurl loop, and faster than LuaSocket",
      string.format("Lua 5.4 %sx%s; LuaSocket %sx", fmt(sdk, 2), jit and (", LuaJIT " .. fmt(jit, 2) .. "x") or "",
        fmt(ls, 2)), sdk <= 1.3 and by.sdk.median < by.luasocket.median)
    if by.cmin and by.cmin.ratio then
      local msdk, mjit = sdk / by.cmin.ratio, jit and jit / by.cmin.ratio
      goal("SDK per request within 1.3x (Lua 5.4) / 1.15x (LuaJIT) of the minimal libcurl loop",
        string.format("Lua 5.4 %sx%s", fmt(msdk, 2), mjit and (", LuaJIT " .. fmt(mjit, 2) .. "x") or ""),
        msdk <= 1.3 and (not mjit or mjit <= 1.15))
    end
  end
  if rt then
    local worst, errs = 0, 0
    for _, r in ipairs(rt.runs) do
      worst = math.max(worst, r.wall / rt.min)
      errs = errs + r.errors
    end
    goal(string.format("%d limited mutations within 10%% of the theoretical minimum, 0 errors", rt.n),
      string.format("worst %sx, %d errors", fmt(worst, 3), errs), worst <= 1.1 and errs == 0)
  end
  if cc then
    local last = cc.runs[#cc.runs]
    goal("concurrency 16 at 50 ms latency at least 12x concurrency 1",
      fmt(last.rps / cc.runs[1].rps, 2) .. "x", last.rps / cc.runs[1].rps >= 12)
  end
  if mm and #mm.runs == 2 then
    local r = mm.runs[2].hwm_kb / mm.runs[1].hwm_kb
    goal(string.format("peak RSS for %d users within 1.5x of %d users", mm.runs[2].users, mm.runs[1].users),
      fmt(r, 2) .. "x", r <= 1.5)
  end
  if #goals > 0 then
    add()
    add("| goal (issue 4) | measured | |")
    add("|---|---|---|")
    for _, g in ipairs(goals) do add(g) end
  end
  if pr then
    add()
    add("## Per-request cost")
    add()
    add(string.format("Endpoint: bench/fixed_server.c on loopback, a minimal C HTTP/1.1 keep-alive server that " ..
      "answers every request with the same %d-byte GraphQL body (one user), so the numbers are client cost, " ..
      "not server cost (the Node emulator's own time per request would dominate them, and vary). Request: " ..
      "`emb:users{ first = 1 }` (a query), POST /graphql, %d-byte body, identical bytes for every client " ..
      "(checked by the server, last column). %d rounds, clients interleaved (the order rotates); per round and " ..
      "client %d measured requests (`curl` command: %d) after %d warm-up. Median: of all the rounds' requests; " ..
      "vs C loop: the median over rounds of (client's median / C loop's median in the same round), since the " ..
      "load other processes put on the machine changes from round to round. SDK: rate_limit = false (the " ..
      "default 30/s limiter would time the waits). %s",
      pr.answer_bytes, pr.body_bytes, pr.rounds, pr.n_fast, pr.n_cli, pr.warm,
      pr.cpu and ("Server and clients pinned to CPU " .. pr.cpu .. " (taskset): on this VM a wakeup across CPUs " ..
        "costs more than a client's own work and flips from run to run, so unpinned medians are bimodal; on one " ..
        "CPU a request's time is the client's work plus the server's plus two context switches.")
      or "Not pinned (no taskset or one CPU)."))
    add()
    add("| client | median µs/request | p90 µs | round medians, min-max | vs C loop | requests checked: " ..
      "identical / same header lines in another order / differing |")
    add("|---|---:|---:|---:|---:|---|")
    for _, r in ipairs(pr.rows) do
      if not r.skip then
        local c = r.check
        add(string.format("| %s | %s | %s | %s-%s | %sx | %d / %d / %d |", r.name, fmt(r.median, 1),
          fmt(r.p90, 1), fmt(r.round_min, 1), fmt(r.round_max, 1), fmt(r.ratio, 2),
          c.exact, c.same, c.mismatch))
      end
    end
    add()
    add("Where the SDK's own time goes (Lua 5.4, CPU µs per call of this process, best of 7 batches; " ..
      "no HTTP, so these add to the tray.native row):")
    add()
    add("| stage | CPU µs |")
    add("|---|---:|")
    for _, b in ipairs(pr.breakdown) do add(string.format("| %s | %s |", b[1], fmt(b[2], 2))) end
  end
  if rt then
    add()
    add("## Rate adherence")
    add()
    add(string.format("%d `create_external_user` mutations through the default limiter (rate_limit { rate = 30, " ..
      "burst = 30 }, max_retries 3) against the emulator limiting at %d/s, burst %d. Theoretical minimum " ..
      "(%d - %d) / %d = %.2f s; with the client's own burst of 30 its floor is (%d - 30) / 30 = %.2f s.",
      rt.n, rt.rate, rt.burst, rt.n, rt.burst, rt.rate, rt.min, rt.n, (rt.n - 30) / 30))
    add()
    add("| run | wall s | vs minimum | rate-limit answers (server) | client retries | errors to the caller |")
    add("|---|---:|---:|---:|---:|---:|")
    for _, r in ipairs(rt.runs) do
      add(string.format("| %s | %s | %sx | %d | %d | %d |",
        r.concurrency == 1 and "sequential" or ("tray.parallel, concurrency " .. r.concurrency),
        fmt(r.wall, 2), fmt(r.wall / rt.min, 3), r.rate_limited, r.retries, r.errors))
    end
  end
  if cc then
    add()
    add("## Concurrency")
    add()
    add(string.format("%d `emb:users{ first = 1 }` through tray.parallel against the emulator answering " ..
      "after 50 ms (latencyMs), rate_limit = false.", cc.n))
    add()
    add("| concurrency | wall s | requests/s | speed-up vs 1 | errors |")
    add("|---:|---:|---:|---:|---:|")
    local base = cc.runs[1].rps
    for _, r in ipairs(cc.runs) do
      add(string.format("| %d | %s | %s | %sx | %d |", r.concurrency, fmt(r.wall, 2), fmt(r.rps, 1),
        fmt(r.rps / base, 2), r.errors))
    end
  end
  if mm then
    add()
    add("## Memory")
    add()
    add("`for u in emb:each(\"users\", { first = 100 })` over all users (seeded with /_emulator/seed/users), " ..
      "Lua 5.4, a fresh process per case, rate_limit = false; peak RSS = VmHWM of /proc/self/status at the end.")
    add()
    add("| users | iterated | pages | RSS before, MiB | peak RSS, MiB | vs 1,000 | wall s |")
    add("|---:|---:|---:|---:|---:|---:|---:|")
    local base = mm.runs[1].hwm_kb
    for _, r in ipairs(mm.runs) do
      add(string.format("| %d | %d | %d | %s | %s | %sx | %s |", r.users, r.count, math.ceil(r.users / 100),
        fmt(r.base_kb / 1024, 1), fmt(r.hwm_kb / 1024, 1), fmt(r.hwm_kb / base, 2), fmt(r.wall, 1)))
    end
  end
  local nx = res.nginx
  if nx and nx.skipped then
    add()
    add("## nginx")
    add()
    add("Not run: " .. nx.skipped .. ".")
  elseif nx then
    add()
    add("## nginx: SDK calls on cosockets")
    add()
    add(string.format("%d concurrent requests to one nginx worker (no thread_pool directive), each making one " ..
      "call to the emulator answering after 1 s (latencyMs = 1000): `/sdk` is `emb:users{ first = 1 }` on the " ..
      "worker's client (rate_limit = false), `/plain` the same POST written by hand on `ngx.socket.tcp` " ..
      "(keep-alive pool, Content-Length framing, nothing else). Runs alternate plain, sdk, plain, sdk. " ..
      "/health: the slowest of up to 5 requests to a plain nginx location while at least a quarter of the " ..
      "calls were at the emulator, unanswered.", nx.n))
    add()
    add("| run | wall s | errors | /health while in flight, worst ms |")
    add("|---|---:|---:|---:|")
    local best = {}
    for _, r in ipairs(nx.runs) do
      add(string.format("| %s (round %d) | %s | %d | %s |", r.path, r.round, fmt(r.wall, 2), r.errors,
        r.health_ms and fmt(r.health_ms, 1) or "not sampled"))
      if not best[r.path] or r.wall < best[r.path] then best[r.path] = r.wall end
    end
    if best["/sdk"] and best["/plain"] then
      add()
      add(string.format("SDK / plain wall time (best of each): **%sx**.", fmt(best["/sdk"] / best["/plain"], 2)))
    end
  end
  return table.concat(L, "\n") .. "\n"
end

-- ---------------------------------------------------------------------------

local function main(args)
  if args[1] == "case" then
    local fn = CASES[args[2]]
    if not fn then error("bench: unknown case " .. tostring(args[2])) end
    local r = fn(unpack(args, 3))
    io.write("BENCHRESULT ", assert(json.encode(r)), "\n")
    return
  end
  local parts = {
    { "per-request", per_request_part }, { "rate", rate_adherence }, { "concurrency", concurrency },
    { "memory", memory }, { "nginx", nginx_part },
  }
  local only, known = {}, {}
  for _, p in ipairs(parts) do known[p[1]] = true end
  for _, a in ipairs(args) do
    if not known[a] then
      io.stderr:write("usage: bench/run [per-request] [rate] [concurrency] [memory] [nginx]   (default: all)\n")
      os.exit(2)
    end
    only[a] = true
  end
  local function wanted(name) return next(only) == nil or only[name] end
  local t0 = native.now()
  local res = { date = os.date("!%Y-%m-%d %H:%M UTC"), machine = machine() }
  for _, p in ipairs(parts) do
    if wanted(p[1]) then
      io.stderr:write("bench: ", p[1], " ...\n")
      p[2](res)
    end
  end
  res.total = native.now() - t0
  local text = render(res)
  io.write(text)
  local path = os.getenv("BENCH_RESULTS") or "bench/results.md"
  if path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
  end
end

main({ ... })
