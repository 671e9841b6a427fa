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
      sources = { "csrc/http.c", "csrc/http1.c", "csrc/http1_lua.c", "csrc/limiter.c", "csrc/module.c", "csrc/parse.c",
                  "csrc/redis.c", "csrc/redis_lua.c", "csrc/redis_url.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl", "hiredis", "pthread" },
      incdirs = { "$(HIREDIS_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(HIREDIS_LIBDIR)" },
    },
    ["tray"] = "lua/tray/init.lua",
    ["tray.backend"] = "lua/tray/backend/init.lua",
    ["tray.backend.curl"] = "lua/tray/backend/curl.lua",
    ["tray.backend.ngx"] = "lua/tray/backend/ngx.lua",
    ["tray.backend.once"] = "lua/tray/backend/once.lua",
    ["tray.client"] = "lua/tray/client.lua",
    ["tray.core"] = "lua/tray/core.lua",
    ["tray.csv"] = "lua/tray/csv.lua",
    ["tray.doctor"] = "lua/tray/doctor.lua",
    ["tray.embedded"] = "lua/tray/embedded/init.lua",
    ["tray.embedded.documents"] = "lua/tray/embedded/documents.lua",
    ["tray.embedded.operations"] = "lua/tray/embedded/operations.lua",
    ["tray.embedded.types"] = "lua/tray/embedded/types.lua",
    ["tray.embedded.urls"] = "lua/tray/embedded/urls.lua",
    ["tray.embedded.values"] = "lua/tray/embedded/values.lua",
    ["tray.errors"] = "lua/tray/errors.lua",
    ["tray.gcra"] = "lua/tray/gcra.lua",
    ["tray.graphql"] = "lua/tray/graphql.lua",
    ["tray.json"] = "lua/tray/json.lua",
    ["tray.ngx"] = "lua/tray/ngx.lua",
    ["tray.onboarding"] = "lua/tray/onboarding.lua",
    ["tray.pager"] = "lua/tray/pager.lua",
    ["tray.parallel"] = "lua/tray/parallel.lua",
    ["tray.redis"] = "lua/tray/redis.lua",
    ["tray.regions"] = "lua/tray/regions.lua",
    ["tray.schema"] = "lua/tray/schema.lua",
    ["tray.store"] = "lua/tray/store.lua",
    ["tray.tokens"] = "lua/tray/tokens.lua",
    ["tray.transport"] = "lua/tray/transport.lua",
    ["tray.validate"] = "lua/tray/validate.lua",
    ["tray.version"] = "lua/tray/version.lua",
  },
  install = {
    bin = { tray = "bin/tray" },
  },
}
