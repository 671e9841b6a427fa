-- What this process holds: open file descriptors and resident memory (Linux /proc).
-- Used by the leak checks of spec/faults_spec.lua and by bench/soak.lua.

local M = {}

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
  local f = assert(io.open("/proc/self/stat", "r"))
  local pid = f:read("*n")
  f:close()
  local p = assert(io.popen("ls /proc/" .. pid .. "/fd"))
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n - 1 -- the pipe io.popen holds
end

--- Resident set size of this process, in KiB (VmRSS of /proc/self/status).
-- @treturn number
function M.rss_kib()
  local f = assert(io.open("/proc/self/status", "r"))
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+)")) or 0
end

--- A full collection (twice: objects with finalizers are freed on the second).
function M.collect()
  collectgarbage("collect")
  collectgarbage("collect")
end

return M
