-- For stop-latency.py: each item waits on `sleep 100`, started the way
-- --set how=exec|os.execute|io.popen says.
local how = luaworkq.args.how
function process(item)
  if how == "exec" then luaworkq.exec({"sleep", "100"})
  elseif how == "os.execute" then os.execute("sleep 100")
  else io.popen("sleep 100"):read("a") end
end
