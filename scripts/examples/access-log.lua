-- Access-log summary: requests and bytes per status code and per path.
--   luaworkq scripts/examples/access-log.lua scripts/examples/data/access.log
-- A line looks like
--   10.0.0.7 - ana [02/Feb/2024:20:45:15 +0000] "GET /docs?q=1 HTTP/1.1" 200 3912
-- The path is counted without its query string; a size of "-" counts as 0.
-- Lines that do not parse are counted as "malformed", not failed: a log
-- with a torn line should still be summarised. Empty lines are skipped.

local PATTERN = '^%S+ %S+ %S+ %[[^%]]*%] "%u+ ([^ "]*)[^"]*" (%d%d%d) (%S+)$'

local function count(t, key, bytes)
  local c = t[key]
  if not c then c = {requests = 0, bytes = 0}; t[key] = c end
  c.requests = c.requests + 1
  c.bytes = c.bytes + bytes
end

function process(line)
  if line == "" then return nil end
  local s = {requests = 0, bytes = 0, malformed = 0, status = {}, paths = {}}
  local target, status, size = line:match(PATTERN)
  local bytes = size == "-" and 0 or math.tointeger(tonumber(size))
  if not bytes then
    s.malformed = 1
    return s
  end
  s.requests, s.bytes = 1, bytes
  count(s.status, status, bytes)                 -- "200": a string key
  count(s.paths, target:match("^[^?]*"), bytes)
  return s
end

local function add(into, from)
  for key, c in pairs(from) do
    local d = into[key]
    if d then
      d.requests = d.requests + c.requests
      d.bytes = d.bytes + c.bytes
    else
      into[key] = c
    end
  end
end

function merge(a, b)
  a.requests = a.requests + b.requests
  a.bytes = a.bytes + b.bytes
  a.malformed = a.malformed + b.malformed
  add(a.status, b.status)
  add(a.paths, b.paths)
  return a
end
