-- docs/REFERENCE.md is generated from the operation tables: it must be current.

describe("docs/REFERENCE.md", function()
  it("matches the operation tables (run `make reference` after changing them)", function()
    local f = assert(io.open("docs/REFERENCE.md"))
    local committed = f:read("*a")
    f:close()
    -- the Lua 5.4 build, whichever interpreter runs this spec
    local p = assert(io.popen("LUA_CPATH='./build/lua5.4/?.so;;' lua5.4 tools/reference.lua"))
    local fresh = p:read("*a")
    p:close()
    assert.is_true(#fresh > 1000)
    assert.equal(fresh, committed)
  end)
end)
