-- The GCRA cases every bucket must pass (spec/gcra_spec.lua), and the runner
-- that plays them. The algorithm is described in docs/DESIGN.md ("The rate
-- limiter (GCRA)"). Loaded by busted and, inside nginx, by
-- spec/fixtures/nginx/gcra.lua: it needs nothing but plain Lua.
--
-- A case is a bucket (rate, burst) and steps: at `at` seconds after the case
-- starts (on a fresh bucket), one reserve() for each entry of `waits`, which
-- is the wait that reserve() must answer. The waits are worked out by hand
-- from the description, not by a second implementation.
--
-- Buckets that read a real clock cannot be called at exactly `at`: a call made
-- d seconds late moves every later answer by at most d (each step of the
-- algorithm is 1-Lipschitz in the times of the calls), so a real-clock answer
-- may differ from the table by the largest lateness so far (measured, after
-- the call returned) plus the bucket's own resolution. No bound is put on how
-- long anything takes.

local M = {}

M.CASES = {
  { name = "a full bucket lets the burst through at once, then one per interval; a waiting slot stays taken",
    rate = 40, burst = 3,
    steps = { { at = 0, waits = { 0, 0, 0, 0.025, 0.05 } },
              { at = 0.05, waits = { 0.025 } } } },
  { name = "burst 1: each reservation one interval after the one before",
    rate = 40, burst = 1,
    steps = { { at = 0, waits = { 0, 0.025 } },
              { at = 0.1, waits = { 0, 0.025 } } } },
  { name = "reservations spaced at the rate never wait and leave the bucket full",
    rate = 40, burst = 3,
    steps = { { at = 0, waits = { 0 } }, { at = 0.025, waits = { 0 } }, { at = 0.05, waits = { 0 } },
              { at = 0.075, waits = { 0, 0, 0, 0.025 } } } },
  { name = "idle time refills the bucket: partly, then up to the burst and no further",
    rate = 20, burst = 4,
    steps = { { at = 0, waits = { 0, 0, 0, 0 } },
              { at = 0.1, waits = { 0, 0, 0.05 } },
              { at = 0.5, waits = { 0, 0, 0, 0, 0.05 } } } },
  { name = "a fractional rate (12.5/s)",
    rate = 12.5, burst = 2,
    steps = { { at = 0, waits = { 0, 0, 0.08, 0.16 } },
              { at = 0.2, waits = { 0.04 } } } },
  { name = "Tray's rate (30/s): an interval that is no binary fraction",
    rate = 30, burst = 2,
    steps = { { at = 0, waits = { 0, 0, 1 / 30, 2 / 30 } },
              { at = 0.1, waits = { 0, 1 / 30 } } } },
  { name = "a fractional burst (2.5): the half token is half an interval early",
    rate = 20, burst = 2.5,
    steps = { { at = 0, waits = { 0, 0, 0.025, 0.075 } } } },
  { name = "a rate below one per second",
    rate = 0.5, burst = 1,
    steps = { { at = 0, waits = { 0, 2, 4 } } } },
  { name = "a large burst",
    rate = 100, burst = 10,
    steps = { { at = 0, waits = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.01, 0.02 } } } },
}

--- Plays one case against a bucket `{ reserve = fn() -> wait | nil, kind, msg,
-- now = fn() -> seconds, sleep = fn(seconds) }` (a fresh bucket at the case's
-- rate and burst). Returns one observation per reserve():
-- `{ at =, want =, got =, err =, late =, elapsed = }` (late: the largest
-- lateness so far; elapsed: seconds since the case started).
function M.run(case, bucket)
  local obs = {}
  local t0 = bucket.now()
  local late = 0
  for _, step in ipairs(case.steps) do
    local due = t0 + step.at
    local ahead = due - bucket.now()
    if ahead > 0 then bucket.sleep(ahead) end
    for _, want in ipairs(step.waits) do
      local got, kind, msg = bucket.reserve()
      local after = bucket.now()
      if after - due > late then late = after - due end
      obs[#obs + 1] = {
        at = step.at, want = want, got = got, late = late, elapsed = after - t0,
        err = got == nil and (tostring(kind) .. ": " .. tostring(msg)) or nil,
      }
    end
  end
  return obs
end

--- The observations that do not match, as lines (empty when all do).
-- `resolution(i)`: the bucket's own rounding after i reservations, in seconds.
-- A real clock also drifts against the runner's (the buckets that read the
-- wall clock: at most 500 ppm while NTP slews it).
function M.mismatches(obs, resolution, real)
  local bad = {}
  for i, o in ipairs(obs) do
    local tol = o.late + resolution(i) + (real and 5e-4 * o.elapsed or 0) + 1e-9
    if type(o.got) ~= "number" then
      bad[#bad + 1] = string.format("reserve %d (at %.3f s): %s", i, o.at, o.err or "no number")
    elseif math.abs(o.got - o.want) > tol then
      bad[#bad + 1] = string.format("reserve %d (at %.3f s): waits %.6f s, expected %.6f s (+/- %.6f)",
        i, o.at, o.got, o.want, tol)
    end
  end
  return bad
end

return M
