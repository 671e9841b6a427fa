-- Writes the method reference (docs/REFERENCE.md) from the operation tables, so
-- the reference can never drift from the code. `make reference` runs it; a spec
-- checks that the committed file is current.

local core = require "tray.core"
local embedded = require "tray.embedded"
local documents = require "tray.embedded.documents"

local out = {}
local function w(s) out[#out + 1] = s or "" end

local sorted = require("tray.graphql").sorted_string_keys

-- a selection table as compact GraphQL-ish text: { a b c { d e } }
local function selection(sel)
  local parts = {}
  for _, f in ipairs(sel) do parts[#parts + 1] = f end
  for _, k in ipairs(sorted(sel)) do parts[#parts + 1] = k .. " " .. selection(sel[k]) end
  return "{ " .. table.concat(parts, " ") .. " }"
end

w("# Method reference")
w()
w("Generated from the operation tables in `lua/tray/core.lua` and `lua/tray/embedded/operations.lua`")
w("(GraphQL types from `emulator/graphql/schema.graphql`) by `make reference`; do not edit by hand.")
w()
w("## tray.core (REST, `/core/v1`)")
w()
w("Path arguments can be given positionally in path order, or by name in one table.")
w("Body arguments are given in one table. `*` marks the arguments the API requires;")
w("every path argument is required and must be a non-empty string.")
w()
w("| method | request | arguments | returns |")
w("|---|---|---|---|")
for _, op in ipairs(core.OPERATIONS) do
  local args = {}
  local required = {}
  for _, r in ipairs(op.required or {}) do required[r] = true end
  for _, p in ipairs(op.params) do args[#args + 1] = "`" .. p .. "`*" end
  local arrays = {}
  for _, a in ipairs(op.arrays or {}) do arrays[a] = true end
  for _, f in ipairs(op.body or {}) do
    args[#args + 1] = "`" .. f .. "`" .. (required[f] and "*" or "") .. (arrays[f] and " (array)" or "")
  end
  for _, q in ipairs(op.query or {}) do args[#args + 1] = "`" .. q .. "` (query)" end
  local returns = op.method == "DELETE" and "`true`" or
    (op.list and "decoded body (`.elements`, `.pageInfo` when paged)" or "decoded body")
  w(string.format("| `%s` | `%s %s` | %s | %s |", op.name, op.method, op.path,
    #args > 0 and table.concat(args, ", ") or "none", returns))
end
w()
w("An empty table in an `(array)` field is sent as `[]`. List methods take `first` (1 to 100) and")
w("`cursor` or `after` (a page's `pageInfo.endCursor`) for servers that page.")
w()
w("Also: `core:each(list_method, ...)` (iterator over the elements of every page), `core:all(list_method, ...)`,")
w("`core:stats()`, `core:close()` (later calls return `nil, err`, kind `usage`), `core:describe()` (where the settings came from; never a token).")
w()
w("## tray.embedded (GraphQL)")
w()
w("### Queries")
w()
w("Each takes the arguments its GraphQL field takes, in one table (`{ criteria = {...}, first =,")
w("after =, last =, before = }`; `authentications` takes none) and returns the Relay connection")
w("(`edges`, `pageInfo`, `totalCount` where the schema has it) plus a `nodes` array.")
w()
w("| method | GraphQL field | token | criteria | paging | node fields |")
w("|---|---|---|---|---|---|")
for _, name in ipairs(sorted(embedded.QUERIES)) do
  local q = embedded.QUERIES[name]
  local crit = {}
  for _, k in ipairs(sorted(q.criteria or {})) do crit[#crit + 1] = "`" .. k .. ": " .. q.criteria[k] .. "`" end
  for _, k in ipairs(sorted(q.aliases or {})) do crit[#crit + 1] = "`" .. k .. "` (= `" .. q.aliases[k] .. "`)" end
  local paging = {}
  for _, k in ipairs(sorted(q.paging)) do paging[#paging + 1] = "`" .. k .. "`" end
  w(string.format("| `%s` | `%s`%s | %s | %s | %s | `%s` |", name, table.concat(q.path, "."),
    q.total_count and " (+ `totalCount`)" or "", q.token,
    #crit > 0 and table.concat(crit, ", ") or "none",
    #paging > 0 and table.concat(paging, ", ") or "none (one page)", selection(q.node)))
end
w()
w("### Mutations")
w()
w("Each takes the input fields of its schema type in one table (`!` marks the required ones; every")
w("mutation also takes `clientMutationId`, returned unchanged: it is selected on the payload when")
w("passed, and always on a payload with no other field) and returns the payload table.")
w()
w("| method | GraphQL mutation | token | input | payload |")
w("|---|---|---|---|---|")
for _, name in ipairs(sorted(embedded.MUTATIONS)) do
  local m = embedded.MUTATIONS[name]
  local input = {}
  for _, k in ipairs(sorted(m.input)) do
    if k ~= "clientMutationId" then input[#input + 1] = "`" .. k .. ": " .. m.input[k] .. "`" end
  end
  w(string.format("| `%s` | `%s` | %s | %s | `%s` |", name, m.field, m.token, table.concat(input, ", "),
    selection(documents.payload_selection(m, false))))
end
w()
w("Tokens: `master` needs a client made with `master_token`; `user` needs a user client")
w("(`emb:as_user(token)`); `any` takes either. A call made with the wrong kind of token fails")
w("with `kind = \"auth\"` before any request.")
w()
w("The client methods besides these tables, and every function of the public modules, are in")
w("the next section.")
w()

-- Every function of the public modules and of the two client classes, each with the
-- first sentence of its LDoc comment and its arguments, read from the source. A
-- function without an LDoc comment is listed as undocumented, which the reference
-- spec refuses.

local api = dofile("tools/reference_api.lua")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- name -> { summary =, args = } from the `---` comments of a source file: a comment
-- block followed by `function X.name(args)`, `function X:name(args)`, `X.name = ...`
-- or a table field `name = ...`.
local function ldoc(path)
  local docs = {}
  local block
  for line in (read(path) .. "\n"):gmatch("([^\n]*)\n") do
    local start = line:match("^%s*%-%-%-%s?(.*)$")
    if start and not line:match("^%s*%-%-%-%-") then
      block = { text = { start } }
    elseif block and line:match("^%s*%-%-") then
      block.text[#block.text + 1] = line:match("^%s*%-%-%s?(.*)$")
    elseif block then
      -- methods (`X:name`) are kept apart from module functions and fields
      local name, args = line:match("^%s*function%s+[%w_.]*:([%w_]+)%s*%(([^)]*)%)")
      if name then
        name = ":" .. name
      else
        name, args = line:match("^%s*function%s+[%w_.]*%.([%w_]+)%s*%(([^)]*)%)")
      end
      if not name then name = line:match("^%s*[%w_.]*%.([%w_]+)%s*=") or line:match("^%s*([%w_]+)%s*=") end
      if name and not docs[name] then
        local summary = {}
        for _, t in ipairs(block.text) do
          if t:match("^@") or t:match("^%s*$") or t:match("^   ") then break end
          summary[#summary + 1] = t
        end
        local text = table.concat(summary, " ")
        text = text:match("^(.-%.)%s") or text:match("^(.-%.)$") or text
        docs[name] = { summary = text, args = args }
      end
      block = nil
    end
  end
  return docs
end

w("## Modules and functions")
w()
w("Generated from the LDoc comments of the public modules (`make doc` builds the full LDoc")
w("pages). Internal modules (`tray.client`, `tray.transport`, `tray.native`, `tray.embedded.*`,")
w("`tray.backend.*`, `tray.cli`, ...) are not part of the API.")
for _, m in ipairs(api.entries()) do
  w()
  w("### `" .. m.title .. "`")
  w()
  local docs = {}
  for _, file in ipairs(m.files) do
    for k, v in pairs(ldoc(file)) do
      if not docs[k] then docs[k] = v end
    end
  end
  for _, name in ipairs(m.names) do
    local d = docs[(m.methods and ":" or "") .. name]
    local call = m.prefix .. name .. (m.values[name] and "" or "(" .. (d and d.args or "...") .. ")")
    w(string.format("- `%s`: %s", call, d and d.summary ~= "" and d.summary or api.UNDOCUMENTED))
  end
end

io.write(table.concat(out, "\n"), "\n")
