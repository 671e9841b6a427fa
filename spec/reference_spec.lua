-- docs/REFERENCE.md is generated (tools/reference.lua, `make reference`) from the operation
-- tables and the LDoc comments of the public modules: it must be current, and it must
-- document every public function (tools/reference_api.lua finds them by reflection).

local api = dofile("tools/reference_api.lua")
local proc = require "spec.helpers.proc"

local read = proc.read

-- tools/reference.lua's output, on the Lua 5.4 build whichever interpreter runs this spec;
-- `pre` is Lua run first (a probe).
local function generate(pre)
  return proc.output("LUA_CPATH='./build/lua5.4/?.so;;' lua5.4 " ..
    (pre and "-e '" .. pre .. "' " or "") .. "tools/reference.lua")
end

-- The line documenting `call` (e.g. "tray.csv.open", "emb:for_user"), or nil.
local function entry(text, call)
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, #call + 3) == "- `" .. call and line:sub(#call + 4, #call + 4):match("[(`]") then
      return line
    end
  end
  return nil
end

describe("docs/REFERENCE.md", function()
  local committed = read("docs/REFERENCE.md")

  it("matches the operation tables and the LDoc comments (run `make reference` after changing them)", function()
    local fresh = generate()
    assert.is_true(#fresh > 1000)
    assert.equal(fresh, committed)
  end)

  it("documents every function of the public modules and every client method", function()
    local missing, n = {}, 0
    for _, m in ipairs(api.entries()) do
      for _, name in ipairs(m.names) do
        n = n + 1
        local line = entry(committed, m.prefix .. name)
        if not line or line:find(api.UNDOCUMENTED, 1, true) then missing[#missing + 1] = m.prefix .. name end
      end
    end
    assert.is_true(n > 80)
    assert.same({}, missing)
    for _, call in ipairs({ "emb:for_user", "core:validate_input", "emb:validate_input", "core:operation_fields",
        "emb:config_wizard_url", "emb:auth_dialog_url", "tray.onboarding.run", "tray.parallel",
        "tray.csv.reader", "tray.store.redis", "tray.json.null", "tray.json.is_null", "tray.doctor.run" }) do
      assert(entry(committed, call), call .. " is not in docs/REFERENCE.md")
    end
  end)

  it("lists a public function without an LDoc comment as undocumented (so the check above fails)", function()
    local text = generate('require("tray.csv").zz_probe = function() end')
    local line = entry(text, "tray.csv.zz_probe")
    assert.truthy(line)
    assert.truthy(line:find(api.UNDOCUMENTED, 1, true))
    assert.is_nil(entry(committed, "tray.csv.zz_probe"))
  end)

  it("agrees with LDoc on which modules are public: `@module` exactly for those, `@internal` for the rest", function()
    local public = {}
    for _, m in ipairs(api.MODULES) do public[m.files[1]] = m.name end
    local p = assert(io.popen("find lua/tray -name '*.lua' | sort"))
    local seen, wrong = 0, {}
    for file in p:lines() do
      seen = seen + 1
      local text = read(file)
      local tag, name = text:match("\n%-%- @(%a+) (tray[%w_.]*)\n")
      if public[file] then
        if tag ~= "module" or name ~= public[file] then
          wrong[#wrong + 1] = file .. " should say @module " .. public[file]
        end
      elseif tag ~= "internal" then
        wrong[#wrong + 1] = file .. " should say @internal (or be listed in tools/reference_api.lua)"
      end
    end
    p:close()
    assert.is_true(seen > 20)
    assert.same({}, wrong)
  end)
end)
