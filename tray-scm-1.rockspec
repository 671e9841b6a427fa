-- The project's canonical repository, declared once: the source of this rockspec
-- and, through `make dist`, of the release rockspec (its tarball).
local REPOSITORY = "https://github.com/tray-lua/tray"

rockspec_format = "3.0"
package = "tray"
version = "scm-1"
source = {
  url = "git+" .. REPOSITORY .. ".git",
}
description = {
  summary = "Lua SDK for the Tray.io platform APIs (REST Connectivity API and Embedded GraphQL API)",
  detailed = [[
A C core on libcurl (HTTP, bearer header, regions, rate limiting) with thin Lua layers:
tray.core (REST), tray.embedded (GraphQL, Relay pagination), retries, concurrency.
]],
  homepage = REPOSITORY,
  license = "MIT",
  labels = { "tray.io", "sdk", "graphql", "rest" },
}
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}
external_dependencies = {
  CURL = { library = "curl" },
}
-- The native module is built by the Makefile, so it links as `make` does (-z nodelete,
-- hiredis when pkg-config finds it, the version from lua/tray) and is compiled straight
-- into the rock's directory: no object file is left in the source tree.
build = {
  type = "make",
  build_pass = false,
  build_variables = { CFLAGS = "$(CFLAGS)" },
  install_target = "install-rock",
  install_variables = {
    LIBDIR = "$(LIBDIR)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    CC = "$(CC)",
    CFLAGS = "$(CFLAGS)",
  },
  install = {
    lua = {
      ["tray"] = "lua/tray/init.lua",
      ["tray.backend"] = "lua/tray/backend/init.lua",
      ["tray.backend.curl"] = "lua/tray/backend/curl.lua",
      ["tray.backend.ngx"] = "lua/tray/backend/ngx.lua",
      ["tray.backend.once"] = "lua/tray/backend/once.lua",
      ["tray.cli"] = "lua/tray/cli.lua",
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
    bin = { tray = "bin/tray" },
  },
}
