-- Every ```lua block of README.md runs as written, on its own, against the emulator:
-- a reader who pastes one into a file gets no error. Each block runs in a fresh
-- interpreter (the suite's runtime) with the emulator's URLs and tokens in the
-- environment, after an emulator reset.

local emu = require "spec.helpers.emulator"
local proc = require "spec.helpers.proc"

local quote, read = proc.quote, proc.read

local INTERPRETER = rawget(_G, "jit") and "luajit" or "lua5.4"

-- Blocks known not to run yet, found by a piece of their text: each is reported as
-- pending (with the reason) until README.md is fixed; remove its entry then (an entry
-- that matches no block fails, so none outlives its fix).
local KNOWN = {}

local function known(code)
  for _, k in ipairs(KNOWN) do
    if code:find(k.text, 1, true) then
      k.used = true
      return k.why
    end
  end
  return nil
end

--- The ```lua blocks of a Markdown text: { { line =, code = } ... }.
local function lua_blocks(text)
  local blocks, current, n = {}, nil, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if current then
      if line:match("^```%s*$") then
        blocks[#blocks + 1] = current
        current = nil
      else
        current.code[#current.code + 1] = line
      end
    elseif line:match("^```lua%s*$") then
      current = { line = n + 1, code = {} }
    end
  end
  assert(current == nil, "README.md: a ```lua block is not closed")
  for _, b in ipairs(blocks) do b.code = table.concat(b.code, "\n") .. "\n" end
  return blocks
end

-- Runs a block (arg[1]: its file, arg[2]: its name) with strict globals: a sample that
-- reads a variable it never set (`auth_id`) fails instead of passing nil along. Only
-- the block's own code is strict (the SDK may look for `ngx`).
local RUNNER = [[
local f = assert(io.open(arg[1], "rb"))
local code = f:read("*a")
f:close()
local env = setmetatable({}, { __index = function(_, k)
  local v = _G[k]
  if v == nil then error("undefined variable " .. tostring(k), 2) end
  return v
end })
local fn
if setfenv then
  fn = assert(loadstring(code, "@" .. arg[2]))
  setfenv(fn, env)
else
  fn = assert(load(code, "@" .. arg[2], "t", env))
end
fn()
]]

local function run(code, name)
  local runner = os.tmpname()
  local r = assert(io.open(runner, "wb"))
  r:write(RUNNER)
  r:close()
  local file = os.tmpname()
  local f = assert(io.open(file, "wb"))
  f:write(code)
  f:close()
  local out = os.tmpname()
  -- the Redis sample reads TRAY_REDIS_URL: the suite's private Redis (spec/with-redis)
  local redis = os.getenv("TRAY_TEST_REDIS_URL")
  local env = string.format("env -u TRAY_USER_TOKEN -u TRAY_REGION -u TRAY_REDIS_URL TRAY_TOKEN=%s " ..
    "TRAY_MASTER_TOKEN=%s TRAY_CORE_URL=%s TRAY_GRAPHQL_URL=%s TRAY_EMBEDDED_URL=%s%s", quote(emu.master_token),
    quote(emu.master_token), quote(emu.core_url), quote(emu.graphql_url), quote(emu.url),
    redis and " TRAY_REDIS_URL=" .. quote(redis) or "")
  local a, _, c = os.execute(string.format("%s %s %s %s %s > %s 2>&1 </dev/null", env, INTERPRETER, quote(runner),
    quote(file), quote(name), out))
  local code_ = type(a) == "number" and math.floor(a / 256) or (a and 0 or c)
  local text = read(out)
  os.remove(out)
  os.remove(file)
  os.remove(runner)
  return code_, text
end

describe("README.md", function()
  local blocks = lua_blocks(read("README.md"))

  it("has Lua samples", function()
    assert.is_true(#blocks >= 3)
  end)

  for _, b in ipairs(blocks) do
    local name = string.format("line %d: %s", b.line, b.code:match("^[^\n]*"))
    local why = known(b.code)
    if why then
      pending(name .. " (" .. why .. ")")
    else
      it("runs the block at " .. name, function()
        emu.reset()
        local status, output = run(b.code, string.format("README.md block at line %d", b.line))
        assert(status == 0, string.format("README.md block at line %d exited %s:\n%s", b.line, tostring(status),
          output:sub(-2000)))
      end)
    end
  end

  it("has no stale entry in the list of blocks known not to run", function()
    for _, k in ipairs(KNOWN) do
      assert(k.used, "no README block holds " .. k.text .. ": remove it from KNOWN")
    end
  end)
end)
