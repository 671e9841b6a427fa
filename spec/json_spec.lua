-- tray.json: cjson with an explicit empty-array marker.

local json = require "tray.json"

describe("tray.json", function()
  it("encodes a table marked with json.array as [] even when empty", function()
    assert.equal("[]", json.encode(json.array()))
    assert.equal('{"scopes":[]}', json.encode({ scopes = json.array() }))
    assert.equal('[1,[],[2]]', json.encode({ 1, json.array(), { 2 } }))
  end)

  it("encodes an unmarked empty table as an object", function()
    assert.equal("{}", json.encode({}))
    assert.equal("{}", json.encode(json.object()))
  end)

  it("does not change the caller's tables while encoding", function()
    local t = { a = json.array(), b = { c = json.array() } }
    json.encode(t)
    assert.is_true(json.is_array(t.a))
    assert.is_true(json.is_array(t.b.c))
  end)

  it("leaves strings that look like the internal placeholder alone only when they are not it", function()
    assert.equal('{"s":"trayemptyarray"}', json.encode({ s = "trayemptyarray" }))
  end)

  it("returns nil and a reason for values JSON cannot hold", function()
    local text, err = json.encode({ f = function() end })
    assert.is_nil(text)
    assert.is_string(err)
    text, err = json.encode(0 / 0)
    assert.is_nil(text)
    assert.is_string(err)
  end)

  it("decodes, and returns nil and a reason for text that is not JSON", function()
    assert.same({ a = { 1, 2 } }, json.decode('{"a":[1,2]}'))
    assert.equal(json.null, json.decode('{"a":null}').a)
    local v, err = json.decode('{"a":')
    assert.is_nil(v)
    assert.is_string(err)
    v, err = json.decode(nil)
    assert.is_nil(v)
    assert.is_string(err)
  end)
end)
