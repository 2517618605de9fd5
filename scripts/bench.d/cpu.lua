-- cpu workload: pure-Lua integer arithmetic, K iterations per item
-- (--set iters=K; scripts/bench calibrates K to ~200 us per item on lua5.4).
local K = math.tointeger(tonumber(luaworkq.args.iters)) or error("needs --set iters=K")

function process(item)
  local x, s = math.tointeger(tonumber(item)), 0
  for _ = 1, K do
    x = (x * 1103515245 + 12345) % 2147483648
    s = s + (x >> 16)
  end
  return {h = s}
end
