-- Exact JSON: floats in the shortest form that reads back (as Python's
-- repr writes them, subnormals included), keys sorted by the bytes written,
-- and no object that holds a key twice.
local testing = require "luaworkq.testing"

local quote = testing.quote

-- n doubles from the bits of random 64-bit integers (seeded: the same every
-- run): a third subnormal, a tenth exact powers of two (whose neighbours are
-- not evenly spaced), the rest anything finite and nonzero.
local function random_doubles(n)
  math.randomseed(13)
  local list = {}
  while #list < n do
    local bits, kind = math.random(0), #list % 30
    if kind < 10 then
      bits = bits & ((1 << 52) - 1) | (bits & (1 << 63))
    elseif kind < 13 then
      bits = bits & ~((1 << 52) - 1)
    end
    local x = string.unpack("<d", string.pack("<i8", bits))
    if x == x and x ~= 0 and x ~= math.huge and x ~= -math.huge then
      list[#list + 1] = x
    end
  end
  return list
end

-- What Python's repr writes for each double of the file of hex floats.
local function python_repr(path)
  local p = assert(io.popen("python3 -c " .. quote(
    "import sys\nfor l in open(sys.argv[1]): print(repr(float.fromhex(l)))")
    .. " " .. quote(path)))
  local out = p:read("a")
  p:close()
  return out
end

-- n doubles read from random decimals of 1 to 15 digits (seeded): their
-- shortest form has at most 15 digits, and for about one in thirteen the
-- nearest 16-digit decimal reads back too but is not that form.
local function short_decimals(n)
  math.randomseed(17)
  local list = {}
  for i = 1, n do
    local digits = math.random(1, 15)
    list[i] = tonumber(("%de%d"):format(math.random(10 ^ (digits - 1), 10 ^ digits - 1),
                                        math.random(-30, 30)))
  end
  return list
end

-- Checks that the ndjson output of tonumber over the doubles is what
-- Python's repr writes, line by line, so that a failure names a value.
local function written_as_python_does(doubles)
  local dir = testing.tmpdir()
  local hex = {}
  for i, x in ipairs(doubles) do hex[i] = ("%a"):format(x) end
  local input = testing.write_file(dir .. "/floats.txt", table.concat(hex, "\n") .. "\n")
  local want = python_repr(input)
  assert.are.equal(#doubles, select(2, want:gsub("\n", "")))
  local r = testing.run{job_source = "function process(s) return tonumber(s) end",
                        args = {"-f", "ndjson"}, files = {input}}
  assert.are.equal(0, r.code)
  local got_lines = {}
  for line in r.stdout:gmatch("[^\n]*\n") do got_lines[#got_lines + 1] = line end
  local i = 0
  for line in want:gmatch("[^\n]*\n") do
    i = i + 1
    if got_lines[i] ~= line then
      assert.are.equal(hex[i] .. " " .. line, hex[i] .. " " .. tostring(got_lines[i]))
    end
  end
  assert.are.equal(i, #got_lines)
  testing.remove_tree(dir)
end

describe("floats in JSON", function()
  it("are written as Python's repr writes them, for random doubles", function()
    written_as_python_does(random_doubles(30000))
  end)

  it("are written as Python's repr writes them, for decimals of up to 15 digits", function()
    written_as_python_does(short_decimals(3000))
  end)

  -- {what process returns, as Lua; as written}
  local cases = {
    {"the smallest subnormal", "5e-324", "5e-324"},
    {"a subnormal", "2^-1074 * 3", "1.5e-323"},
    {"the smallest normal", "2^-1022", "2.2250738585072014e-308"},
    {"1e15 (positional, as repr)", "1e15", "1000000000000000.0"},
    {"1e16 (an exponent, as repr)", "1e16", "1e+16"},
    {"0.0001", "1e-4", "0.0001"},
    {"0.00001", "1e-5", "1e-05"},
  }
  for _, case in ipairs(cases) do
    it("writes " .. case[1] .. " as " .. case[3], function()
      local r = testing.run{job_source = "function process() return " .. case[2] .. " end",
                            items = {"x"}, args = {"-f", "ndjson"}}
      assert.are.same({0, case[3] .. "\n"}, {r.code, r.stdout})
    end)
  end
end)

describe("object keys in JSON", function()
  it("are sorted by the bytes written, invalid UTF-8 as U+FFFD", function()
    local r = testing.run{job_source = [[
      function process() return {["\u{FFFE}"] = 1, ["\xff"] = 2, ["\u{FFFC}"] = 3} end]],
      items = {"x"}, args = {"-f", "ndjson"}}
    assert.are.equal(0, r.code)
    assert.are.equal('{"\u{FFFC}":3,"\u{FFFD}":2,"\u{FFFE}":1}\n', r.stdout)
  end)

  -- {what the user does, the result as Lua, the key path and keys named}
  local collisions = {
    {"an integer key and the same digits as a string", "{n = {[1] = 1, ['1'] = 2}}",
      [[result.n: keys 1 and "1"]]},
    {"a boolean key and its name as a string", "{{[true] = 1, ['true'] = 2}}",
      [[result[1]: keys true and "true"]]},
    {"two keys whose invalid UTF-8 both becomes U+FFFD", [[{['\255'] = 1, ['\254'] = 2}]],
      [[result: keys "\xfe" and "\xff"]]},
  }
  for _, case in ipairs(collisions) do
    it("fail the item for " .. case[1], function()
      local r = testing.run{job_source = "function process() return " .. case[2] .. " end",
                            items = {"x"}, args = {"-f", "ndjson", "-k"}}
      assert.are.equal(1, r.code)
      assert.are.equal("", r.stdout)
      assert.truthy(r.stderr:find("item 1 (stdin:1) failed: " .. case[3]
        .. " are the same once written as JSON", 1, true), r.stderr)
    end)
  end

  it("fail the merged value with its key path", function()
    local r = testing.run{job_source = [[
      function process(s) return {[s] = 1} end
      function merge(a, b) for k, v in pairs(b) do a[k] = v end return a end
      function finish(t) t[2] = 0 return t end]],
      items = {"1", "2"}}
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.truthy(r.stderr:find('finish value: keys 2 and "2" are the same', 1, true), r.stderr)
  end)
end)

-- Objects of more keys than the encoder keeps on the Lua stack (1,024) take
-- another path: their keys are sorted through 16-byte prefixes.
describe("a large object", function()
  local LARGE = [[
function process()
  local t, n = {}, tonumber(luaworkq.args.n)
  for i = n, 1, -1 do
    -- long shared prefixes, and keys that differ only past byte 16
    t[("shared-prefix-0123456789-%05d"):format(i * 7919 % n)] = i
    t[("k%d"):format(i)] = i
  end
  for i = 1, 50 do t[i * 3] = -i end
  t[""] = 0
  t["k\0z"] = 1
  t["shared-prefix-01"] = 2
  if luaworkq.args.clash then t["27"] = "clash" end
  return t
end
]]

  -- The JSON text of a string key, as the encoder writes it.
  local function key_text(k)
    return type(k) == "number" and tostring(k) or k
  end

  it("is written with its keys in byte order of their text", function()
    local n = 3000
    local r = testing.run{job_source = LARGE, items = {"x"},
                          args = {"-f", "ndjson", "--set", "n=" .. n}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    local expected = {}
    for i = 0, n - 1 do expected[#expected + 1] = ("shared-prefix-0123456789-%05d"):format(i) end
    for i = 1, n do expected[#expected + 1] = ("k%d"):format(i) end
    for i = 1, 50 do expected[#expected + 1] = key_text(i * 3) end
    expected[#expected + 1] = ""
    expected[#expected + 1] = "k\0z"
    expected[#expected + 1] = "shared-prefix-01"
    table.sort(expected, function(a, b)  -- bytewise, whatever the locale
      for i = 1, math.min(#a, #b) do
        if a:byte(i) ~= b:byte(i) then return a:byte(i) < b:byte(i) end
      end
      return #a < #b
    end)
    local got = {}
    for k in r.stdout:gmatch('[{,]"(.-)":') do got[#got + 1] = k end  -- no key holds a quote
    for i, k in ipairs(expected) do expected[i] = k:gsub("%z", "\\u0000") end
    assert.are.equal(#expected, #got)
    assert.are.same(expected, got)
  end)

  it("that holds 27 and \"27\" fails with both keys named", function()
    local r = testing.run{job_source = LARGE, items = {"x"},
                          args = {"--set", "n=2000", "--set", "clash=1"}}
    assert.are.equal(1, r.code)
    assert.matches('keys 27 and "27" are the same once written as JSON', r.stderr, 1, true)
  end)
end)
