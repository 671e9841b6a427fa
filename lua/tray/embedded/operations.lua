--- The operations of the Embedded GraphQL API: one row per query and mutation (an internal
-- module of `tray.embedded`, whose `QUERIES` and `MUTATIONS` these are).
--
-- A row names the GraphQL field, the token it needs and the selection of its result. Argument
-- and input types are not written here: they are read from the generated schema table
-- (`tray.embedded.types`, from emulator/graphql/schema.graphql) when the module loads, so the
-- SDK's documents declare exactly the types the schema has.
-- @internal tray.embedded.operations

local T = require "tray.embedded.types"

local _M = {}

-- ---------------------------------------------------------------------------
-- Selections: every documented field of each result.

--- The Relay page info selected on a paged connection.
_M.PAGE_INFO = { "hasNextPage", "endCursor", "hasPreviousPage", "startCursor" }

local USER = { "name", "id", "externalUserId", "isTestUser" }

local AUTHENTICATION = {
  "id", "name", "customFields",
  service = { "id", "name", "icon", "title", "version" },
  serviceEnvironment = { "id", "title" },
}

local SOLUTION = {
  "id", "title", "description", "tags",
  customFields = { "key", "value" },
  configSlots = { "externalId", "title", "defaultValue" },
  authSlots = { "externalId", "title" },
}

local SOLUTION_INSTANCE = {
  "id", "name", "enabled", "owner", "created",
  solutionVersionFlags = { "hasNewerVersion", "requiresUserInputToUpdateVersion",
                           "requiresSystemInputToUpdateVersion" },
  solution = SOLUTION,
  workflows = { edges = { node = { "id", "triggerUrl", "sourceWorkflowId", "sourceWorkflowName" } } },
  authValues = { "externalId", "authId" },
  configValues = { "externalId", "value" },
}

-- ---------------------------------------------------------------------------
-- The operations. `token`: "master", "user" or "any".

--- Connection queries: `path` is the field path from the root; `node` the node selection;
-- `aliases` criteria names the SDK also takes (the docs' table calls the user id `id`);
-- `page_info` the pageInfo selection when not `PAGE_INFO`. Filled in from the schema:
-- `args` (argument -> type), `criteria` (field -> type, or nil), `paging` (the Relay
-- arguments the field takes), `paged` (it takes `first` and `after`), `edge_cursor`,
-- `total_count`.
_M.QUERIES = {
  users = { path = { "users" }, token = "master", node = USER, aliases = { id = "userId" } },
  -- the docs' selection: no edge cursor, no paging arguments (the schema has none)
  authentications = { path = { "viewer", "authentications" }, token = "any", node = AUTHENTICATION,
    page_info = { "hasNextPage", "hasPreviousPage" } },
  solutions = { path = { "viewer", "solutions" }, token = "master", node = SOLUTION },
  solution_instances = { path = { "viewer", "solutionInstances" }, token = "any", node = SOLUTION_INSTANCE },
}

--- Mutations: `field` is the GraphQL mutation, `payload` the selection of its result
-- (`clientMutationId` is added when the caller passes one, and always on a payload with no
-- other field). Filled in from the schema: `input` (input field -> type, `!` marking the
-- required ones), `input_type`.
_M.MUTATIONS = {
  create_external_user = { field = "createExternalUser", token = "master", payload = { "userId", "isTestUser" } },
  authorize = { field = "authorize", token = "master", payload = { "accessToken" } },
  generate_authorization_code = { field = "generateAuthorizationCode", token = "master",
    payload = { "authorizationCode" } },
  update_external_user = { field = "updateExternalUser", token = "master", payload = { user = USER } },
  remove_external_user = { field = "removeExternalUser", token = "master", payload = {} },
  create_user_authentication = { field = "createUserAuthentication", token = "any",
    payload = { "authenticationId" } },
  remove_authentication = { field = "removeAuthentication", token = "any", payload = {} },
  create_solution_instance = { field = "createSolutionInstance", token = "user",
    payload = { solutionInstance = SOLUTION_INSTANCE } },
  update_solution_instance = { field = "updateSolutionInstance", token = "user",
    payload = { solutionInstance = SOLUTION_INSTANCE } },
  upgrade_solution_instance = { field = "upgradeSolutionInstance", token = "user",
    payload = { solutionInstance = SOLUTION_INSTANCE } },
  remove_solution_instance = { field = "removeSolutionInstance", token = "user", payload = {} },
  import_project = { field = "importProject", token = "master", payload = {} },
  export_project = { field = "exportProject", token = "master", payload = { "exportedProjectJson" } },
  import_workflows = { field = "importWorkflows", token = "master", payload = {} },
  export_workflows = { field = "exportWorkflows", token = "master", payload = { "exportedWorkflowsJson" } },
  call_connector = { field = "callConnector", token = "any", payload = { "output" }, json_input = true },
}

--- The Relay arguments, in the order they are documented.
_M.PAGING = { "first", "after", "last", "before" }

-- ---------------------------------------------------------------------------
-- Filling the rows in from the schema (at load time; a row the schema does not have is a
-- build error, caught by the specs).

--- A type's name without list and non-null wrappers.
-- @tparam string t GraphQL type text
-- @treturn string
function _M.named(t)
  return (t:gsub("[%[%]!]", ""))
end
local named = _M.named

local function field_of(type_name, field)
  local obj = T.objects[type_name]
  local f = obj and obj[field]
  if not f then error("tray.embedded: the schema has no " .. type_name .. "." .. field, 0) end
  return f
end

for _, q in pairs(_M.QUERIES) do
  local type_name, f = T.roots.query, nil
  for _, step in ipairs(q.path) do
    f = field_of(type_name, step)
    type_name = named(f.type)
  end
  q.args = f.args or {}
  q.criteria = q.args.criteria and T.inputs[named(q.args.criteria)] or nil
  q.paging = {}
  for _, p in ipairs(_M.PAGING) do q.paging[p] = q.args[p] end
  q.paged = q.args.first ~= nil and q.args.after ~= nil
  q.connection = type_name
  q.edge = named(field_of(type_name, "edges").type)
  q.edge_cursor = T.objects[q.edge].cursor ~= nil
  q.total_count = T.objects[type_name].totalCount ~= nil
  q.page_info = q.page_info or _M.PAGE_INFO
end

for _, m in pairs(_M.MUTATIONS) do
  local f = field_of(T.roots.mutation, m.field)
  m.input_type = named(f.args.input)
  m.input = T.inputs[m.input_type]
  m.payload_type = named(f.type)
end

return _M
