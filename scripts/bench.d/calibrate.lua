-- Calibrates the cpu workload: prints "K US", K the iterations of cpu.lua's
-- loop that take about TARGET_US microseconds of CPU time in this lua5.4
-- (best of a few tries, as the machine may be busy), and US what K takes.
--   lua5.4 calibrate.lua TARGET_US [K]   (with K: only measures it)
local target, fixed = tonumber(arg[1]) or 200, math.tointeger(tonumber(arg[2]))
luaworkq = {args = {iters = "10000"}}
dofile((arg[0]:gsub("[^/]*$", "")) .. "cpu.lua")
local best = math.huge
for _ = 1, 5 do
  local t = os.clock()
  for i = 1, 200 do process(tostring(i * 7919)) end
  best = math.min(best, (os.clock() - t) / 200 / 10000)   -- seconds an iteration
end
local k = fixed or math.max(100, math.floor(target * 1e-6 / best / 100 + 0.5) * 100)
print(k, string.format("%.0f", k * best * 1e6))
