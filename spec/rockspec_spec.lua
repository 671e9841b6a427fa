-- The rockspec lists every Lua module and every C file: a luarocks build must not
-- miss one when a file is added.

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("*a")
  f:close()
  return s
end

local function list(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

describe("tray-scm-1.rockspec", function()
  local rockspec = read("tray-scm-1.rockspec")

  it("names every module in lua/tray", function()
    local files = list("ls lua/tray/*.lua lua/tray/*/*.lua")
    assert.is_true(#files > 10)
    for _, file in ipairs(files) do
      local name = file:match("lua/tray/(.-)%.lua$"):gsub("/init$", ""):gsub("/", ".")
      local module = name == "init" and "tray" or "tray." .. name
      assert.is_truthy(rockspec:find('["' .. module .. '"] = "' .. file .. '"', 1, true), module .. " is missing")
    end
  end)

  it("compiles every C file of csrc", function()
    for _, file in ipairs(list("ls csrc/*.c")) do
      assert.is_truthy(rockspec:find('"' .. file .. '"', 1, true), file .. " is missing")
    end
  end)
end)
