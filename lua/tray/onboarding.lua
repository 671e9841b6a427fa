--- Idempotent onboarding of end users: each helper looks first and changes only
-- what differs, so running it twice changes nothing the second time.
--
--    local onboarding = require "tray.onboarding"
--    local sol = assert(onboarding.resolve_solution(emb, "sales,onboarding"))  -- an id, or tags
--    local report, err = onboarding.onboard(emb, {
--      externalUserId = "acme-42", name = "Ada Lovelace",
--      configValues = { external_channel = "#ada" },
--    }, { solution = sol, partnerId = "acme" })
--    -- report.user = "created" | "existing" | "updated"
--    -- report.instance = "created" | "updated" | "unchanged", report.enabled = "enabled" | "unchanged"
--    -- report.userId, report.solutionInstanceId, report.wizardUrl, report.status
--
-- An end user is identified by `externalUserId`; a solution instance by its
-- owner, its solution and its name. `run` onboards many rows concurrently
-- (`tray.parallel`, within the client's rate limit); rows of the same
-- `externalUserId` run one after the other, in order.
-- @module tray.onboarding

local errors = require "tray.errors"
local json = require "tray.json"
local parallel = require "tray.parallel"

local _M = {}

local function usage(message, operation)
  return errors.fail("usage", message, { operation = operation })
end

local function nonempty(v)
  return type(v) == "string" and v ~= ""
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- ---------------------------------------------------------------------------
-- Users

--- Looks an end user up by `externalUserId`.
-- @tparam table emb a master `tray.embedded` client
-- @tparam string external_user_id
-- @treturn ?table|boolean the user node (`id`, `name`, `externalUserId`, `isTestUser`), or false
-- @treturn ?table the error
function _M.find_user(emb, external_user_id)
  if not nonempty(external_user_id) then return usage("externalUserId is required", "find_user") end
  local conn, err = emb:users{ criteria = { externalUserId = external_user_id }, first = 2 }
  if not conn then return nil, err end
  for _, u in ipairs(conn.nodes) do
    if u.externalUserId == external_user_id then return u end
  end
  return false
end

--- Makes sure an end user exists: looks it up by `externalUserId`, creates it
-- when missing, and sets `isTestUser` when it is given and differs (the name of
-- an existing user is left as it is: the API cannot change it).
-- @tparam table emb a master client
-- @tparam table u `{ externalUserId =, name =, isTestUser = }` (`name` is needed to create)
-- @treturn ?table the user (`id`, `name`, `externalUserId`, `isTestUser`)
-- @treturn string|table "created", "existing" or "updated"; or the error
function _M.ensure_user(emb, u)
  if type(u) ~= "table" then return usage("ensure_user takes a table", "ensure_user") end
  if not nonempty(u.externalUserId) then return usage("externalUserId is required", "ensure_user") end
  if not nonempty(u.name) then return usage("name is required", "ensure_user") end
  if u.isTestUser ~= nil and type(u.isTestUser) ~= "boolean" then
    return usage("isTestUser must be true or false", "ensure_user")
  end
  local found, err = _M.find_user(emb, u.externalUserId)
  if found == nil then return nil, err end
  if not found then
    local created
    created, err = emb:create_external_user{ name = u.name, externalUserId = u.externalUserId,
      isTestUser = u.isTestUser }
    if created then
      return { id = created.userId, name = u.name, externalUserId = u.externalUserId,
               isTestUser = created.isTestUser }, "created"
    end
    -- someone else may have created it meanwhile (another process, a lost answer): look again
    if err.kind ~= "graphql" then return nil, err end
    found = _M.find_user(emb, u.externalUserId)
    if not found then return nil, err end
  end
  if u.isTestUser ~= nil and found.isTestUser ~= u.isTestUser then
    local updated
    updated, err = emb:update_external_user{ userId = found.id, isTestUser = u.isTestUser }
    if not updated then return nil, err end
    found.isTestUser = u.isTestUser
    return found, "updated"
  end
  return found, "existing"
end

-- ---------------------------------------------------------------------------
-- Solutions

--- Finds a solution by id, or by tags: `"sales"` or `"sales,onboarding"` (the
-- one solution carrying all of them; `viewer.solutions` with `criteria.tags`).
-- @tparam table emb a master client
-- @tparam string id_or_tags
-- @treturn ?table the solution (`id`, `title`, `tags`, `configSlots`, `authSlots` ...)
-- @treturn ?table the error: `not_found` when nothing matches, `usage` when several tagged
-- solutions match (the message lists them)
function _M.resolve_solution(emb, id_or_tags)
  if not nonempty(id_or_tags) then return usage("a solution id or tag is required", "resolve_solution") end
  local all, err = emb:all("solutions")
  if not all then return nil, err end
  for _, s in ipairs(all) do
    if s.id == id_or_tags then return s end
  end
  local tags = {}
  for t in id_or_tags:gmatch("[^,]+") do
    t = t:match("^%s*(.-)%s*$")
    if t ~= "" then tags[#tags + 1] = t end
  end
  if #tags == 0 then return usage("a solution id or tag is required", "resolve_solution") end
  local tagged
  tagged, err = emb:all("solutions", { criteria = { tags = tags } })
  if not tagged then return nil, err end
  if #tagged == 1 then return tagged[1] end
  if #tagged == 0 then
    return errors.fail("not_found", string.format("no solution has the id or all the tags %q", id_or_tags),
      { operation = "resolve_solution" })
  end
  local names = {}
  for i, s in ipairs(tagged) do names[i] = string.format("%s (%s)", tostring(s.id), tostring(s.title)) end
  return usage(string.format("%d solutions carry the tags %q: %s; give its id or more tags", #tagged,
    id_or_tags, table.concat(names, ", ")), "resolve_solution")
end

-- ---------------------------------------------------------------------------
-- Solution instances

-- Config or auth values given as an array of { externalId, <field> } or as a
-- map { externalId = value }; returns a sorted array, or nil, message.
local function values_list(v, field, what)
  if v == nil then return {} end
  if type(v) ~= "table" then return nil, what .. " must be a table" end
  local out = {}
  if v[1] ~= nil or json.is_array(v) then
    for i, e in ipairs(v) do
      if type(e) ~= "table" or not nonempty(e.externalId) or e[field] == nil then
        return nil, string.format("%s[%d] needs externalId and %s", what, i, field)
      end
      out[#out + 1] = { externalId = e.externalId, [field] = e[field] }
    end
  else
    for _, k in ipairs(sorted_keys(v)) do
      if not nonempty(k) then return nil, what .. " keys must be externalIds (strings)" end
      out[#out + 1] = { externalId = k, [field] = v[k] }
    end
  end
  for _, e in ipairs(out) do
    if field == "authId" and not nonempty(e.authId) then
      return nil, string.format("%s: the authId of %s must be a non-empty string", what, e.externalId)
    end
  end
  return out
end

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then
    if type(a) == "number" and type(b) == "number" then return a == b end
    return false
  end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- Does the instance's value (a string, as the API returns config values)
-- already say what the caller asked for?
local function same_value(wanted, have)
  if have == nil or have == json.null then return false end
  if type(wanted) == "string" then return wanted == have end
  local decoded = json.decode(have)
  if decoded == nil then return false end
  return deep_equal(wanted, decoded)
end

local function changed_values(wanted, current, field)
  local have = {}
  for _, e in ipairs(type(current) == "table" and current or {}) do
    if type(e) == "table" and e.externalId ~= nil then have[e.externalId] = e[field] end
  end
  for _, e in ipairs(wanted) do
    if field == "value" then
      if not same_value(e.value, have[e.externalId]) then return true end
    elseif e[field] ~= have[e.externalId] then
      return true
    end
  end
  return false
end

--- The user's instance of a solution with a given name (the first, oldest, if several).
-- @tparam table user a user client (`emb:for_user(id)` or `emb:as_user(token)`)
-- @tparam string solution_id
-- @tparam string instance_name
-- @treturn ?table|boolean the instance node, or false
-- @treturn ?table the error
function _M.find_instance(user, solution_id, instance_name)
  local list, err = user:all("solution_instances", { criteria = { solutionId = solution_id } })
  if not list then return nil, err end
  for _, inst in ipairs(list) do
    if inst.name == instance_name then return inst end
  end
  return false
end

--- Makes sure the user has an instance of a solution with this name and these
-- values: creates it when missing; when it exists and a given config or auth
-- value differs from what the API returns, updates it with the given values
-- (values not given are left alone). With `enabled` given, also sets that (in
-- the same update, or right after creating: a new instance starts disabled).
-- @tparam table user a user client
-- @tparam table spec `{ solutionId =, instanceName =, configValues =, authValues =, enabled = }`;
-- values as arrays of `{ externalId =, value = }` / `{ externalId =, authId = }` or as maps
-- `{ [externalId] = value }`; a config value that is not a string is sent as JSON
-- @treturn ?table the instance
-- @treturn string|table "created", "updated" or "unchanged"; or the error
-- @treturn ?string with `enabled`: "enabled"/"disabled" when it changed it, else "unchanged"
function _M.ensure_instance(user, spec)
  local op = "ensure_instance"
  if type(spec) ~= "table" then return usage("ensure_instance takes a table", op) end
  if not nonempty(spec.solutionId) then return usage("solutionId is required", op) end
  if not nonempty(spec.instanceName) then return usage("instanceName is required", op) end
  if spec.enabled ~= nil and type(spec.enabled) ~= "boolean" then return usage("enabled must be a boolean", op) end
  local config, why = values_list(spec.configValues, "value", "configValues")
  if not config then return usage(why, op) end
  local auth
  auth, why = values_list(spec.authValues, "authId", "authValues")
  if not auth then return usage(why, op) end

  local inst, err = _M.find_instance(user, spec.solutionId, spec.instanceName)
  if inst == nil then return nil, err end
  local status = "unchanged"
  if not inst then
    local created
    created, err = user:create_solution_instance{ solutionId = spec.solutionId, instanceName = spec.instanceName,
      configValues = #config > 0 and config or nil, authValues = #auth > 0 and auth or nil }
    if not created then return nil, err end
    inst, status = created.solutionInstance, "created"
  end
  local update = { solutionInstanceId = inst.id }
  local needed = false
  if status ~= "created" then
    if changed_values(config, inst.configValues, "value") then update.configValues, needed = config, true end
    if changed_values(auth, inst.authValues, "authId") then update.authValues, needed = auth, true end
    if needed then status = "updated" end
  end
  local enabled_status = spec.enabled ~= nil and "unchanged" or nil
  if spec.enabled ~= nil and inst.enabled ~= spec.enabled then
    if status == "created" and (spec.enable_delay or 0) > 0 then user.transport:wait(spec.enable_delay) end
    update.enabled, needed = spec.enabled, true
    enabled_status = spec.enabled and "enabled" or "disabled"
  end
  if needed then
    local updated
    updated, err = user:update_solution_instance(update)
    if not updated then
      -- the instance exists: report it with the error, so a caller can show it
      err.solutionInstanceId = inst.id
      return nil, err
    end
    inst = updated.solutionInstance or inst
  end
  return inst, status, enabled_status
end

--- Enables an instance unless it already is.
-- @tparam table user a user client
-- @tparam table|string instance the instance node (its `enabled` is trusted), or its id
-- @treturn ?table the instance (as `update_solution_instance` returns it, or as given)
-- @treturn string|table "enabled" or "unchanged"; or the error
function _M.enable(user, instance)
  if type(instance) == "table" and instance.enabled == true then return instance, "unchanged" end
  local id = type(instance) == "table" and instance.id or instance
  if not nonempty(id) then return usage("enable takes an instance or its id", "enable") end
  local updated, err = user:update_solution_instance{ solutionInstanceId = id, enabled = true }
  if not updated then return nil, err end
  return updated.solutionInstance, "enabled"
end

--- A config wizard URL with a fresh authorization code (single use, valid for
-- five minutes: make it when you are about to hand it over).
-- @tparam table emb a master client
-- @tparam table a `{ partnerId =, solutionInstanceId =, userId = }`
-- @treturn ?string the URL
-- @treturn ?table the error
function _M.wizard_url(emb, a)
  if type(a) ~= "table" then return usage("wizard_url takes a table", "wizard_url") end
  for _, k in ipairs({ "partnerId", "solutionInstanceId", "userId" }) do
    if not nonempty(a[k]) then return usage("wizard_url needs " .. k, "wizard_url") end
  end
  local code, err = emb:generate_authorization_code{ userId = a.userId }
  if not code then return nil, err end
  return emb:config_wizard_url{ partnerId = a.partnerId, solutionInstanceId = a.solutionInstanceId,
    authorizationCode = code.authorizationCode }
end

-- ---------------------------------------------------------------------------
-- One row, many rows

local function row_status(r)
  if r.user == "created" or r.instance == "created" then return "created" end
  if r.user == "updated" or r.instance == "updated" or r.enabled == "enabled" or r.enabled == "disabled" then
    return "updated"
  end
  return "unchanged"
end

local function check_row(row, opts)
  if type(row) ~= "table" then return "a row must be a table" end
  if not nonempty(row.externalUserId) then return "externalUserId is required" end
  if not nonempty(row.name) then return "name is required" end
  if row.isTestUser ~= nil and type(row.isTestUser) ~= "boolean" then return "isTestUser must be true or false" end
  if row.instanceName ~= nil and not nonempty(row.instanceName) then
    return "instanceName must be a non-empty string"
  end
  if type(opts) ~= "table" then return "onboard takes a table of options" end
  local sol = opts.solution
  if not (type(sol) == "table" and nonempty(sol.id)) and not nonempty(opts.solutionId) then
    return "opts.solution (from resolve_solution) or opts.solutionId is required"
  end
  if opts.partnerId ~= nil and not nonempty(opts.partnerId) then return "partnerId must be a non-empty string" end
  return nil
end

--- Onboards one end user: the user, a token, the instance (created or updated),
-- enabled, and a config wizard URL when `opts.partnerId` is given.
-- @tparam table emb a master client
-- @tparam table row `{ externalUserId =, name =, isTestUser =, instanceName =, configValues =, authValues = }`
-- @tparam table opts `solution` (a node from `resolve_solution`) or `solutionId`; `instanceName`
-- (the default name; else the solution's title); `partnerId`; `enable` (default true);
-- `enable_delay` (seconds to wait between creating and enabling; default 0); `tokens`
-- (options for `emb:for_user`, e.g. `{ store = ... }`)
-- @treturn ?table the report: `externalUserId`, `userId`, `solutionInstanceId`, `wizardUrl`,
-- `user`, `instance`, `enabled`, `status` ("created", "updated" or "unchanged")
-- @treturn ?table the error
-- @treturn ?table on failure, the report of what was done before it
function _M.onboard(emb, row, opts)
  opts = opts or {}
  local bad = check_row(row, opts)
  if bad then
    local report = { externalUserId = type(row) == "table" and row.externalUserId or nil }
    local _, err = usage(bad, "onboard")
    return nil, err, report
  end
  local sol = type(opts.solution) == "table" and opts.solution or nil
  local solution_id = sol and sol.id or opts.solutionId
  local instance_name = row.instanceName or opts.instanceName or (sol and sol.title) or "Solution instance"
  local report = { externalUserId = row.externalUserId }

  local user, ustatus = _M.ensure_user(emb, row)
  if not user then return nil, ustatus, report end
  report.userId, report.user = user.id, ustatus

  local client, err = emb:for_user(user.id, opts.tokens)
  if not client then return nil, err, report end

  local enable = opts.enable
  if enable == nil then enable = true end
  local inst, istatus, estatus = _M.ensure_instance(client, {
    solutionId = solution_id, instanceName = instance_name, configValues = row.configValues,
    authValues = row.authValues, enabled = enable and true or nil, enable_delay = opts.enable_delay,
  })
  if not inst then
    report.solutionInstanceId = type(istatus) == "table" and istatus.solutionInstanceId or nil
    return nil, istatus, report
  end
  report.solutionInstanceId, report.instance, report.enabled = inst.id, istatus, estatus or "unchanged"

  if opts.partnerId then
    local url
    url, err = _M.wizard_url(emb, { partnerId = opts.partnerId, solutionInstanceId = inst.id, userId = user.id })
    if not url then return nil, err, report end
    report.wizardUrl = url
  end
  report.status = row_status(report)
  return report
end

--- Onboards many rows concurrently (`tray.parallel`), within the client's rate
-- limit. Rows with the same `externalUserId` run in one task, in order, so a
-- repeated row finds what the first one made.
-- @tparam table emb a master client
-- @tparam table rows an array of rows as for `onboard`; a row with an `error` field
-- (e.g. set by the caller while parsing it) is not sent and fails with that message
-- @tparam table opts as for `onboard`, plus `concurrency` (default 8) and
-- `on_result = function(index, report, err)` (called as each row ends)
-- @treturn table results: `results[i] = { report =, err = }` (`report` also on failure:
-- what was done)
-- @treturn table the summary: `rows`, `ok`, `failed`, `created` (users + instances created),
-- `users = { created, updated, existing }`, `instances = { created, updated, unchanged }`,
-- `enabled`, `seconds`
function _M.run(emb, rows, opts)
  opts = opts or {}
  local native = require "tray.native"
  local started = native.now()
  local groups, order = {}, {}
  for i, row in ipairs(rows) do
    local id = type(row) == "table" and row.error == nil and nonempty(row.externalUserId)
      and row.externalUserId or ("\0row" .. i)
    if not groups[id] then
      groups[id] = {}
      order[#order + 1] = id
    end
    local g = groups[id]
    g[#g + 1] = i
  end
  local results = {}
  local function finish(i, report, err)
    results[i] = { report = report, err = err }
    if opts.on_result then opts.on_result(i, report, err) end
  end
  local tasks = {}
  for _, id in ipairs(order) do
    local g = groups[id]
    tasks[#tasks + 1] = function()
      for _, i in ipairs(g) do
        local row = rows[i]
        if type(row) == "table" and row.error ~= nil then
          local _, err = usage(tostring(row.error), "onboard")
          finish(i, { externalUserId = row.externalUserId }, err)
        else
          local ok, report, err, partial = pcall(_M.onboard, emb, row, opts)
          if not ok then
            local _, e = usage("onboard raised: " .. tostring(report), "onboard")
            finish(i, {}, e)
          elseif report then
            finish(i, report, nil)
          else
            finish(i, partial or {}, err)
          end
        end
      end
      return true
    end
  end
  parallel.run(tasks, { concurrency = opts.concurrency or 8 })

  local s = { rows = #rows, ok = 0, failed = 0, created = 0, enabled = 0,
              users = { created = 0, updated = 0, existing = 0 },
              instances = { created = 0, updated = 0, unchanged = 0 } }
  for i = 1, #rows do
    local r = results[i] or { report = {}, err = errors.new("usage", "the row did not run") }
    results[i] = r
    local rep = r.report or {}
    if r.err then s.failed = s.failed + 1 else s.ok = s.ok + 1 end
    if s.users[rep.user] then s.users[rep.user] = s.users[rep.user] + 1 end
    if s.instances[rep.instance] then s.instances[rep.instance] = s.instances[rep.instance] + 1 end
    if rep.enabled == "enabled" then s.enabled = s.enabled + 1 end
  end
  s.created = s.users.created + s.instances.created
  s.seconds = native.now() - started
  return results, s
end

--- Turns a CSV row (strings keyed by column) into an onboarding row. Columns:
-- `externalUserId`, `name`, `isTestUser` (true/false, yes/no, 1/0, or empty),
-- `instanceName` (optional), `config.<externalId>` (config values; an empty cell
-- is left out) and `auth.<externalId>` (auth ids).
-- @tparam table record a row from `tray.csv` (`reader:row()`)
-- @treturn ?table the onboarding row
-- @treturn ?string why the record is not a valid row
function _M.from_record(record)
  local row = { externalUserId = record.externalUserId, name = record.name }
  if row.externalUserId ~= nil then row.externalUserId = row.externalUserId:match("^%s*(.-)%s*$") end
  if not nonempty(row.externalUserId) then return nil, "externalUserId is required" end
  if not nonempty(row.name) or not row.name:find("%S") then return nil, "name is required" end
  local t = record.isTestUser
  if t ~= nil then
    local v = t:lower():match("^%s*(.-)%s*$")
    if v == "true" or v == "yes" or v == "1" then
      row.isTestUser = true
    elseif v == "false" or v == "no" or v == "0" then
      row.isTestUser = false
    elseif v ~= "" then
      return nil, string.format("isTestUser must be true or false, not %q", t)
    end
  end
  if nonempty(record.instanceName) then row.instanceName = record.instanceName end
  for _, k in ipairs(sorted_keys(record)) do
    local v = record[k]
    local slot = type(k) == "string" and k:match("^config%.(.+)$")
    if slot and nonempty(v) then
      row.configValues = row.configValues or {}
      row.configValues[slot] = v
    end
    slot = type(k) == "string" and k:match("^auth%.(.+)$")
    if slot and nonempty(v) then
      row.authValues = row.authValues or {}
      row.authValues[slot] = v
    end
  end
  return row
end

return _M
