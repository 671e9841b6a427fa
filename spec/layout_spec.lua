-- The module layout: no require loops among lua/tray/*, and a transport that
-- knows nothing of where it runs. Read from the sources.

local read = require("spec.helpers.proc").read

local ROOT = (debug.getinfo(1, "S").source:match("^@(.*)spec/layout_spec%.lua$") or "./")

-- every module of lua/tray, name -> file
local function modules()
  local out = {}
  local p = assert(io.popen("cd " .. ROOT .. "lua && find tray -name '*.lua' | sort"))
  for file in p:lines() do
    local name = file:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
    out[name] = ROOT .. "lua/" .. file
  end
  p:close()
  return out
end

-- the modules a file requires (anywhere in it: at load time or inside a function)
local function requires(path)
  local out, seen = {}, {}
  local src = read(path):gsub("%-%-[^\n]*", "") -- comments do not count
  for _, pat in ipairs({ "require%s*%(?%s*\"([%w_.]+)\"", "require%s*%(?%s*'([%w_.]+)'" }) do
    for name in src:gmatch(pat) do
      if not seen[name] then
        seen[name] = true
        out[#out + 1] = name
      end
    end
  end
  table.sort(out)
  return out
end

describe("layout", function()
  it("tray.transport requires neither tray nor anything nginx-, Redis- or scheduler-specific", function()
    local reqs = requires(ROOT .. "lua/tray/transport.lua")
    assert.is_true(#reqs > 0)
    for _, name in ipairs(reqs) do
      assert.is_nil(({ tray = true, ["tray.ngx"] = true, ["tray.ngx_worker"] = true, ["tray.redis"] = true,
        ["tray.parallel"] = true, ["tray.backend.ngx"] = true, ["tray.backend.curl"] = true })[name],
        "transport.lua requires " .. name)
    end
    local src = read(ROOT .. "lua/tray/transport.lua"):gsub("%-%-[^\n]*", "")
    assert.not_matches("ngx", src)
    assert.not_matches("math.random", src)
  end)

  it("no require loops among lua/tray/*", function()
    local mods = modules()
    local graph = {}
    for name, path in pairs(mods) do
      graph[name] = {}
      for _, r in ipairs(requires(path)) do
        if mods[r] then graph[name][#graph[name] + 1] = r end
      end
    end
    local state, stack = {}, {}
    local function visit(n)
      state[n] = "open"
      stack[#stack + 1] = n
      for _, m in ipairs(graph[n]) do
        if state[m] == "open" then
          local from = 1
          for i, s in ipairs(stack) do if s == m then from = i end end
          local cycle = { table.unpack and table.unpack(stack, from) or unpack(stack, from) } -- luacheck: ignore 143
          cycle[#cycle + 1] = m
          error("require loop: " .. table.concat(cycle, " -> "))
        elseif not state[m] then
          visit(m)
        end
      end
      stack[#stack] = nil
      state[n] = "done"
    end
    local names = {}
    for n in pairs(graph) do names[#names + 1] = n end
    table.sort(names)
    for _, n in ipairs(names) do if not state[n] then visit(n) end end
  end)

  it("the C core knows nothing of Tray's hosts (the regions live in tray.regions)", function()
    local p = assert(io.popen("cat " .. ROOT .. "csrc/*.c " .. ROOT .. "csrc/*.h"))
    local src = p:read("*a")
    p:close()
    assert.is_true(#src > 0)
    assert.not_matches("tray%.io", src)
    assert.is_nil(require("tray.native").regions)
    assert.equal("https://api.eu1.tray.io/core/v1", require("tray").regions.eu.core)
  end)

  it("no math.random in any retry or backoff path", function()
    for name, path in pairs(modules()) do
      local src = read(path):gsub("%-%-[^\n]*", "")
      assert.not_matches("math%.random", src, nil, name)
    end
  end)
end)
