-- What this process holds: open file descriptors and resident memory (Linux /proc),
-- and the specs' common chores: reading a file, running a command and capturing its output.
-- Used by the spec helpers, the specs, the leak checks of spec/faults_spec.lua and bench/soak.lua.

local M = {}

--- This process's pid (from /proc/self/stat), or nil where there is no /proc.
-- @treturn ?number
function M.pid()
  local f = io.open("/proc/self/stat", "r")
  if not f then return nil end
  local pid = f:read("*n")
  f:close()
  return pid
end

--- The whole content of a file, or nil when it cannot be read.
-- @tparam string path
-- @treturn ?string
function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- The whole content of a file; raises when it cannot be read.
-- @tparam string path
-- @treturn string
function M.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

--- A string quoted for the shell (single quotes).
-- @param s any value (tostring'd)
-- @treturn string
function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- What a shell command writes to its standard output (its standard error is not caught).
-- @tparam string cmd
-- @treturn string
function M.output(cmd)
  local p = assert(io.popen(cmd))
  local s = p:read("*a")
  p:close()
  return s
end

--- The lines a shell command writes to its standard output.
-- @tparam string cmd
-- @treturn {string,...}
function M.lines(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

--- Runs a shell command: whether it exited 0, and its output (both streams).
-- @tparam string cmd
-- @treturn boolean
-- @treturn string
function M.sh(cmd)
  local out = os.tmpname()
  local a = os.execute("(" .. cmd .. ") > " .. out .. " 2>&1")
  local ok = a == true or a == 0
  local text = M.read(out)
  os.remove(out)
  return ok, text
end

local ok_lfs, lfs = pcall(require, "lfs") -- lua-filesystem comes with busted (penlight)

--- Open file descriptors of this process (entries of /proc/self/fd).
-- @treturn number
function M.fds()
  local n = 0
  if ok_lfs then
    for name in lfs.dir("/proc/self/fd") do
      if name ~= "." and name ~= ".." then n = n + 1 end
    end
    return n - 1 -- the directory handle lfs.dir holds while listing
  end
  -- fallback: ls runs in a child, so name this process by its pid
  local p = assert(io.popen("ls /proc/" .. assert(M.pid()) .. "/fd"))
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n - 1 -- the pipe io.popen holds
end

--- Resident set size of this process, in KiB (VmRSS of /proc/self/status).
-- @treturn number
function M.rss_kib()
  local text = assert(M.read_file("/proc/self/status"))
  return tonumber(text:match("VmRSS:%s*(%d+)")) or 0
end

--- A full collection (twice: objects with finalizers are freed on the second).
function M.collect()
  collectgarbage("collect")
  collectgarbage("collect")
end

return M
