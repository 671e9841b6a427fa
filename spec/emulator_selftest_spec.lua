-- The emulator's own tests (emulator/graphql/test.js, emulator/test/smoke.js) run
-- with the suite: each is a node program that exits non-zero on a failure.

local function run(script)
  local out = os.tmpname()
  local a, _, c = os.execute(string.format("cd emulator && node %s > %s 2>&1", script, out))
  local code = type(a) == "number" and math.floor(a / 256) or (a and 0 or c)
  local f = assert(io.open(out, "rb"))
  local text = f:read("*a")
  f:close()
  os.remove(out)
  return code, text
end

describe("the emulator's own tests", function()
  for _, script in ipairs({ "graphql/test.js", "test/smoke.js" }) do
    it("pass: node emulator/" .. script, function()
      local code, text = run(script)
      assert(code == 0, "node emulator/" .. script .. " exited " .. tostring(code) .. ":\n" .. text:sub(-3000))
      assert.matches("passed", text)
    end)
  end
end)
