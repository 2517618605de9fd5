-- The exec workload: each item runs `true ITEM`, a program that does nothing.
local exec = luaworkq.exec
function process(item)
  local code = exec({"true", item})
  if code ~= 0 then error("true exited with " .. code) end
end
