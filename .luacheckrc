-- luacheck settings: `make lint`
std = "max"
max_line_length = 120
exclude_files = { "emulator/node_modules", "build" }
files["spec"] = { std = "+busted" }
files["lua/tray/ngx.lua"] = { read_globals = { "ngx" } }
files["examples/openresty"] = { read_globals = { "ngx" } }
