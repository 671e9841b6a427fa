rockspec_format = "3.0"
package = "tray"
version = "scm-1"
source = {
  url = "git+file:///work/main",
}
description = {
  summary = "Lua SDK for the Tray.io platform APIs (REST Connectivity API and Embedded GraphQL API)",
  detailed = [[
A C core on libcurl (HTTP, bearer header, regions, rate limiting) with thin Lua layers:
tray.core (REST), tray.embedded (GraphQL, Relay pagination), retries, concurrency.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}
external_dependencies = {
  CURL = { library = "curl" },
  HIREDIS = { header = "hiredis/hiredis.h", library = "hiredis" },
}
build = {
  type = "builtin",
  modules = {
    ["tray.native"] = {
      sources = { "csrc/http.c", "csrc/limiter.c", "csrc/module.c", "csrc/parse.c",
                  "csrc/redis.c", "csrc/redis_lua.c", "csrc/redis_url.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl", "hiredis", "pthread" },
      incdirs = { "$(HIREDIS_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(HIREDIS_LIBDIR)" },
    },
    ["tray"] = "lua/tray/init.lua",
    ["tray.cli"] = "lua/tray/cli.lua",
    ["tray.core"] = "lua/tray/core.lua",
    ["tray.csv"] = "lua/tray/csv.lua",
    ["tray.embedded"] = "lua/tray/embedded.lua",
    ["tray.errors"] = "lua/tray/errors.lua",
    ["tray.graphql"] = "lua/tray/graphql.lua",
    ["tray.json"] = "lua/tray/json.lua",
    ["tray.ngx"] = "lua/tray/ngx.lua",
    ["tray.ngx_worker"] = "lua/tray/ngx_worker.lua",
    ["tray.onboarding"] = "lua/tray/onboarding.lua",
    ["tray.pager"] = "lua/tray/pager.lua",
    ["tray.parallel"] = "lua/tray/parallel.lua",
    ["tray.redis"] = "lua/tray/redis.lua",
    ["tray.schema"] = "lua/tray/schema.lua",
    ["tray.store"] = "lua/tray/store.lua",
    ["tray.tokens"] = "lua/tray/tokens.lua",
    ["tray.transport"] = "lua/tray/transport.lua",
    ["tray.validate"] = "lua/tray/validate.lua",
  },
  install = {
    bin = { tray = "bin/tray" },
  },
}
