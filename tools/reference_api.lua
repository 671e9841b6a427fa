-- The public API, by reflection: every function (and userdata value, such as
-- `tray.json.null`) reachable from the public modules' tables and from the two
-- client classes. tools/reference.lua documents each from its LDoc comment;
-- spec/reference_spec.lua checks that docs/REFERENCE.md documents each.
-- (A tool, not part of the installed SDK: load it with dofile from the repository root.)

local _M = {}

--- What the reference writes for a function without an LDoc comment (the spec refuses it).
_M.UNDOCUMENTED = "UNDOCUMENTED"

--- The public modules, in reference order, with their source files. Everything else
-- under lua/tray is internal.
_M.MODULES = {
  { name = "tray", files = { "lua/tray/init.lua" } },
  { name = "tray.core", files = { "lua/tray/core.lua" } },
  { name = "tray.embedded", files = { "lua/tray/embedded/init.lua" } },
  { name = "tray.errors", files = { "lua/tray/errors.lua" } },
  { name = "tray.json", files = { "lua/tray/json.lua" } },
  { name = "tray.schema", files = { "lua/tray/schema.lua" } },
  { name = "tray.validate", files = { "lua/tray/validate.lua" } },
  { name = "tray.graphql", files = { "lua/tray/graphql.lua" } },
  { name = "tray.parallel", files = { "lua/tray/parallel.lua" } },
  { name = "tray.tokens", files = { "lua/tray/tokens.lua" } },
  { name = "tray.store", files = { "lua/tray/store.lua" } },
  { name = "tray.onboarding", files = { "lua/tray/onboarding.lua" } },
  { name = "tray.csv", files = { "lua/tray/csv.lua" } },
  { name = "tray.doctor", files = { "lua/tray/doctor.lua" } },
  { name = "tray.regions", files = { "lua/tray/regions.lua" } },
}

--- The client classes: their methods besides the operation rows (which the tables document).
_M.CLASSES = {
  { module = "tray.core", title = "core:<method> (tray.core clients)", prefix = "core:",
    files = { "lua/tray/core.lua", "lua/tray/client.lua" },
    rows = function(m) return m.by_name end },
  { module = "tray.embedded", title = "emb:<method> (tray.embedded clients)", prefix = "emb:",
    files = { "lua/tray/embedded/init.lua", "lua/tray/client.lua" },
    rows = function(m)
      local t = {}
      for k in pairs(m.QUERIES) do t[k] = true end
      for k in pairs(m.MUTATIONS) do t[k] = true end
      return t
    end },
}

local function keys(t, keep)
  local out = {}
  for k, v in pairs(t) do
    if type(k) == "string" and keep(k, v) then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

local function listed(v) return type(v) == "function" or type(v) == "userdata" end

--- The reference's entries: `{ title =, prefix =, files =, names =, values =, methods = }` per
-- module and class, `names` sorted; `values[name]` is true for a value that is not a function;
-- `methods` marks a class (its functions are `X:name` methods).
function _M.entries()
  local out = {}
  for _, m in ipairs(_M.MODULES) do
    local t = require(m.name)
    local names = keys(t, function(_, v) return listed(v) end)
    local kinds = {}
    for _, n in ipairs(names) do kinds[n] = type(t[n]) ~= "function" end
    out[#out + 1] = { title = m.name, prefix = m.name .. ".", files = m.files, names = names, values = kinds }
  end
  for _, c in ipairs(_M.CLASSES) do
    local m = require(c.module)
    local rows = c.rows(m)
    out[#out + 1] = { title = c.title, prefix = c.prefix, files = c.files, values = {}, methods = true,
      names = keys(m.Client, function(k, v) return type(v) == "function" and not rows[k] end) }
  end
  return out
end

return _M
