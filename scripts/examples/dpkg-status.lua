-- Installed Debian packages per section, their size and the largest ones.
--   luaworkq --paragraph scripts/examples/dpkg-status.lua scripts/examples/data/dpkg-status
-- dpkg's status file holds one paragraph per package; the real one works
-- the same way: luaworkq --paragraph dpkg-status.lua
-- /var/lib/dpkg/status. A field's continuation lines (Description,
-- Conffiles) start with a space and belong to the field above them.

local TOP = 5

-- The fields of one paragraph: name -> value, continuation lines joined
-- with "\n".
local function fields(block)
  local t, last = {}, nil
  for line in block:gmatch("[^\n]+") do
    local name, value = line:match("^([%w%-]+):%s?(.*)$")
    if name then
      t[name], last = value, name
    elseif last then
      t[last] = t[last] .. "\n" .. line:sub(2)
    end
  end
  return t
end

function process(block)
  local f = fields(block)
  if not (f.Status or ""):find("installed$") then return nil end
  local kb = math.tointeger(tonumber(f["Installed-Size"] or "0")) or 0
  local section = f.Section or "unknown"
  return {packages = 1, kb = kb, sections = {[section] = 1},
          largest = {{name = f.Package, kb = kb}}}
end

-- Keeps the TOP largest, by size and then name, so that any grouping of
-- the merges gives the same list.
local function top(list)
  table.sort(list, function(x, y) return x.kb > y.kb or x.kb == y.kb and x.name < y.name end)
  for i = #list, TOP + 1, -1 do list[i] = nil end
  return list
end

function merge(a, b)
  a.packages, a.kb = a.packages + b.packages, a.kb + b.kb
  for s, n in pairs(b.sections) do a.sections[s] = (a.sections[s] or 0) + n end
  for _, p in ipairs(b.largest) do a.largest[#a.largest + 1] = p end
  a.largest = top(a.largest)
  return a
end
