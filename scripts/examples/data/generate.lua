-- Writes the synthetic sample data of the examples: sales.csv, access.log
-- and orders.jsonl. The same files every time (a fixed pseudo-random
-- sequence), so the committed copies can be regenerated and compared.
--   lua5.4 scripts/examples/data/generate.lua scripts/examples/data

local dir = arg[1] or "."

-- A linear congruential generator: random(m) is 1..m, random(a, b) a..b.
local seed = 20240601
local function random(a, b)
  if not b then a, b = 1, a end
  seed = (seed * 1103515245 + 12345) % 2147483648
  return a + (seed >> 8) % (b - a + 1)
end
local function pick(list) return list[random(#list)] end

local function write(name, lines)
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end

-- sales.csv: one sale a row, a header line first.
local function sales(n)
  local regions = {"north", "south", "east", "west"}
  local products = {"widget", "gadget", "gizmo", "sprocket", "flange"}
  local lines = {"date,region,product,units,price"}
  for _ = 1, n do
    lines[#lines + 1] = ("2024-%02d-%02d,%s,%s,%d,%d.%02d"):format(
      random(12), random(28), pick(regions), pick(products),
      random(50), random(0, 199), random(0, 99))
  end
  return lines
end

-- access.log: requests in common log format, with two lines that are not.
local function access_log(n)
  local months = {"Jan", "Feb", "Mar"}
  local users = {"-", "-", "-", "ana", "bo", "chen"}
  local methods = {"GET", "GET", "GET", "GET", "POST", "HEAD"}
  local paths = {"/", "/index.html", "/about", "/docs/start", "/docs/api",
    "/static/app.js", "/static/style.css", "/img/logo.png", "/search?q=lua",
    "/search?q=threads", "/api/items", "/api/items/7", "/login", "/missing"}
  local statuses = {200, 200, 200, 200, 200, 200, 304, 304, 301, 404, 500}
  local lines = {}
  for i = 1, n do
    local status, path = pick(statuses), pick(paths)
    if path == "/missing" then status = 404 end
    local bytes = status == 304 and "-" or tostring(random(120, 90000))
    lines[i] = ('10.%d.%d.%d - %s [%02d/%s/2024:%02d:%02d:%02d +0000] "%s %s HTTP/1.1" %d %s')
      :format(random(0, 3), random(0, 255), random(1, 254), pick(users),
              random(28), pick(months), random(0, 23), random(0, 59),
              random(0, 59), pick(methods), path, status, bytes)
  end
  lines[n // 3] = "-- log rotated --"
  lines[2 * n // 3] = ""
  return lines
end

-- orders.jsonl: one order a line; some have no items, a coupon or a note.
local function orders(n)
  local syllables = {"ka", "lo", "mi", "ne", "ra", "su", "to", "vi", "da", "ge"}
  local countries = {"DE", "FR", "NL", "SE", "PL", "ES", "IT"}
  local statuses = {"pending", "shipped", "shipped", "delivered", "delivered", "cancelled"}
  local lines = {}
  local function name()
    local s = pick(syllables) .. pick(syllables) .. pick(syllables)
    return s:sub(1, 1):upper() .. s:sub(2)
  end
  for i = 1, n do
    local first, last = name(), name()
    local items = {}
    for j = 1, random(10) <= 2 and 0 or random(4) do
      items[j] = ('{"sku":"%s-%d","qty":%d,"price_cents":%d}'):format(
        pick({"A", "B", "C"}), random(10, 99), random(5), random(99, 25000))
    end
    local coupon = random(4) == 1 and '"SPRING10"' or "null"
    local note = random(6) == 1 and ',"note":"leave at the door"' or ""
    lines[i] = ('{"id":%d,"created":"2024-%02d-%02dT%02d:%02d:00Z","status":"%s",'
      .. '"customer":{"name":"%s %s","email":"%s@example.com","country":"%s"},'
      .. '"items":[%s],"coupon":%s%s}')
      :format(1000 + i, random(12), random(28), random(0, 23), random(0, 59),
              pick(statuses), first, last, first:lower() .. "." .. last:lower(),
              pick(countries), table.concat(items, ","), coupon, note)
  end
  return lines
end

write("sales.csv", sales(1200))
write("access.log", access_log(1000))
write("orders.jsonl", orders(360))
