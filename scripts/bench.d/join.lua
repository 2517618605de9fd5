-- The join workload: setup builds the reference data, SIZE keys
-- ("u0000000"...) each to a record; an item is three keys (gen.lua join),
-- its result a field of each of their records.
--   --set size=N     the keys of the reference data (default 2M)
--   --set copy=1     each worker copies the data into its own tables
--                    (luaworkq.copy): one copy per worker, as before the
--                    data was shared
--   --set items=N    logs "clock setup T" as setup returns, "clock first T"
--                    as item 1 is done and "clock last T" as item N is (T:
--                    date +%s.%N), so that the start-up and the rate after
--                    it can be measured without setup's time
local args = luaworkq.args
local size = math.tointeger(tonumber(args.size or "2000000"))
local last = math.tointeger(tonumber(args.items or ""))
local countries = {"ar", "br", "ca", "de", "es", "fr", "in", "it", "jp", "ke",
                   "mx", "ng", "nl", "no", "pl", "pt", "se", "uk", "us", "za"}
local format, match = string.format, string.match

local function clock(what)
  if not last then return end
  local t
  if luaworkq.exec then
    t = select(2, luaworkq.exec({"date", "+%s.%N"}))
  else                                  -- ref.lua: plain lua5.4
    local p = io.popen("date +%s.%N")
    t = p:read("a")
    p:close()
  end
  luaworkq.log("clock " .. what .. " " .. t:gsub("%s+$", ""))
end

function setup()
  local users = {}
  for i = 0, size - 1 do
    users[format("u%07d", i)] = {name = "name" .. i, score = i * 7919 % 1000,
                                 country = countries[i % #countries + 1]}
  end
  clock("setup")
  return {users = users}
end

local users
function init(shared)
  users = args.copy and luaworkq.copy(shared.users) or shared.users
end

function process(item, index)
  local a, b, c = match(item, "^(%S+) (%S+) (%S+)$")
  local r = users[a].country .. " " .. users[b].country .. " " .. users[c].name
  if index == 1 then clock("first") elseif index == last then clock("last") end
  return r
end
