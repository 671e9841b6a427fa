-- What this process holds: open file descriptors and resident memory (Linux /proc).
-- Used by the spec helpers, the leak checks of spec/faults_spec.lua and bench/soak.lua.

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
