-- skew workload: cpu.lua's arithmetic, ~10 us an item, except the items
-- marked "slow SEED" (gen.lua skew), which cost SLOW_MS milliseconds.
-- --set iters=K: iterations in ~200 us (scripts/bench calibrates K);
-- --set slow_ms=MS.
local K = math.tointeger(tonumber(luaworkq.args.iters)) or error("needs --set iters=K")
local slow_ms = math.tointeger(tonumber(luaworkq.args.slow_ms)) or error("needs --set slow_ms=MS")
local fast, slow = math.max(1, K // 20), K * 5 * slow_ms

function process(item)
  local seed, n = item:match("^slow (%d+)$"), slow
  if not seed then seed, n = item, fast end
  local x, s = math.tointeger(tonumber(seed)), 0
  for _ = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    s = s + (x >> 16)
  end
  return {h = s}
end
