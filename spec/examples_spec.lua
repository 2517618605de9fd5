-- The example jobs in scripts/examples/: each runs on its sample data through
-- the real binary and gives what this spec computes on its own, in plain Lua.
local testing = require "luaworkq.testing"
local support = require "support"
local cjson = require "cjson"

local root = os.getenv("LUAWORKQ_SRC") or "."
local EXAMPLES = root .. "/scripts/examples/"
local DATA = EXAMPLES .. "data/"

local function lines_of(path)
  local lines = {}
  for line in assert(io.open(path, "rb")):lines() do lines[#lines + 1] = line end
  return lines
end

-- Runs an example over files; it must succeed without a word on stderr.
local function run(example, files, args)
  local r = testing.run{job = EXAMPLES .. example, files = files, args = args}
  assert.are.same({0, ""}, {r.code, r.stderr})
  return r
end

-- SHA-256 of a file, by sha256sum reading it on stdin.
local function sha256(path)
  local p = assert(io.popen("sha256sum < " .. testing.quote(path)))
  local h = p:read("a"):match("^%x+")
  p:close()
  return h
end

describe("the examples", function()
  local dir
  support.tmpdir_all(function(path) dir = path end)

  it("wordcount counts the words of the sample text and lists the ten most frequent",
    function()
      local counts, words = {}, {}
      for _, line in ipairs(lines_of(DATA .. "text.txt")) do
        for w in line:lower():gmatch("%a+") do counts[w] = (counts[w] or 0) + 1 end
      end
      for w, n in pairs(counts) do words[#words + 1] = {word = w, count = n} end
      table.sort(words, function(x, y)
        return x.count > y.count or x.count == y.count and x.word < y.word
      end)
      local r = run("wordcount.lua", {DATA .. "text.txt"})
      assert.are.same({words = #words, top = {table.unpack(words, 1, 10)}}, r.output)
    end)

  for _, case in ipairs{{column = "price", by = "region"},
                        {column = "units", by = "product"}} do
    it(("csv-stats gives count, min, max, mean of %s and rows per %s")
         :format(case.column, case.by), function()
      local rows = lines_of(DATA .. "sales.csv")
      local names = {}
      for name in rows[1]:gmatch("[^,]+") do names[#names + 1] = name end
      local s = {column = case.column, by = case.by, count = 0, categories = {}}
      local sum = 0
      for i = 2, #rows do
        local row = {}
        for k, field in ipairs{rows[i]:match("^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*)$")} do
          row[names[k]] = field
        end
        local x = tonumber(row[case.column])
        s.count, sum = s.count + 1, sum + x
        s.min = math.min(s.min or x, x)
        s.max = math.max(s.max or x, x)
        s.categories[row[case.by]] = (s.categories[row[case.by]] or 0) + 1
      end
      local r = run("csv-stats.lua", {DATA .. "sales.csv"},
                    {"--set", "column=" .. case.column, "--set", "by=" .. case.by})
      local out = r.output
      assert.is_near(sum / s.count, out.mean, 1e-9)
      out.mean = nil
      assert.are.same(s, out)
    end)
  end

  it("csv-stats refuses a CSV with another header, naming it", function()
    local csv = testing.write_file(dir .. "/other.csv", "day,amount\n1,2\n")
    -- Its row fails too (no price column). On one worker the header is
    -- first to fail, and that failure stops the run; on two, either may be.
    local r = testing.run{job = EXAMPLES .. "csv-stats.lua", files = {csv}, args = {"-j", "1"}}
    assert.are.equal(1, r.code)
    assert.matches("item 1 %(.-other.csv:1%) failed: unexpected header: day,amount", r.stderr)
    assert.matches("1 failed, 1 not processed", r.stderr)
  end)

  it("inverted-index lists the lines of each word, in order", function()
    local index = {}
    for i, line in ipairs(lines_of(DATA .. "text.txt")) do
      local seen = {}
      for w in line:lower():gmatch("%a+") do
        if not seen[w] then
          seen[w] = true
          index[w] = index[w] or {}
          index[w][#index[w] + 1] = i
        end
      end
    end
    for _, j in ipairs{"1", "3"} do
      local r = run("inverted-index.lua", {DATA .. "text.txt"}, {"-j", j})
      assert.are.same(index, r.output)
    end
  end)

  it("csv-groupby gives rows, total and mean of price per product, and of units per region",
    function()
      local rows = lines_of(DATA .. "sales.csv")
      for _, case in ipairs{{column = "price", by = "product", at = 5, key = 3},
                            {column = "units", by = "region", at = 4, key = 2}} do
        local groups = {}
        for i = 2, #rows do
          local f = {}
          for field in rows[i]:gmatch("[^,]+") do f[#f + 1] = field end
          local g = groups[f[case.key]] or {rows = 0, cents = 0}
          g.rows, g.cents = g.rows + 1, g.cents + math.floor(tonumber(f[case.at]) * 100 + 0.5)
          groups[f[case.key]] = g
        end
        local r = run("csv-groupby.lua", {DATA .. "sales.csv"},
          {"--csv", "--header", "--set", "column=" .. case.column, "--set", "by=" .. case.by})
        for name, g in pairs(groups) do
          local out = r.output[name]
          assert.are.same({g.rows, g.cents / 100}, {out.rows, out.total})
          assert.is_near(g.cents / 100 / g.rows, out.mean, 1e-9)
          r.output[name] = nil
        end
        assert.are.same({}, r.output)
      end
    end)

  it("access-log sums requests and bytes per status and per path", function()
    local s = {requests = 0, bytes = 0, malformed = 0, status = {}, paths = {}}
    local function add(t, key, bytes)
      t[key] = t[key] or {requests = 0, bytes = 0}
      t[key].requests, t[key].bytes = t[key].requests + 1, t[key].bytes + bytes
    end
    for _, line in ipairs(lines_of(DATA .. "access.log")) do
      local request, status, size = line:match('"([^"]*)" (%d+) ([%d-]+)$')
      if request then
        local path = request:match("^%S+ (%S+)"):gsub("%?.*", "")
        local bytes = size == "-" and 0 or tonumber(size)
        s.requests, s.bytes = s.requests + 1, s.bytes + bytes
        add(s.status, status, bytes)
        add(s.paths, path, bytes)
      elseif line ~= "" then
        s.malformed = s.malformed + 1
      end
    end
    assert.is_true(s.malformed > 0 and s.requests > 900)  -- the sample has both
    assert.are.same(s, run("access-log.lua", {DATA .. "access.log"}).output)
  end)

  it("hash-files gives the size and SHA-256 of each file", function()
    local paths, expected, seed = {}, {}, 7
    for i, size in ipairs{0, 1, 1000, 200000} do
      local bytes = {}
      for k = 1, size do
        seed = (seed * 1103515245 + 12345) % 2147483648
        bytes[k] = string.char(seed >> 16 & 255)
      end
      paths[i] = testing.write_file(("%s/file %d.bin"):format(dir, i), table.concat(bytes))
      expected[i] = {path = paths[i], bytes = size, sha256 = sha256(paths[i])}
    end
    local list = testing.write_file(dir .. "/list.txt", table.concat(paths, "\n") .. "\n")
    local r = run("hash-files.lua", {list}, {"-f", "ndjson"})
    assert.are.same(expected, r.output)
  end)

  it("hash-files takes names with quotes, spaces, $, a backslash and a leading dash as "
     .. "they are", function()
    local names = {"it's.txt", 'a "quoted" name', "-n", "--help", "$(touch pwned)",
                   "back\\slash", " space first"}
    local sub = dir .. "/names"
    assert.is_true(os.execute("mkdir " .. testing.quote(sub)))
    local expected = {}
    for i, name in ipairs(names) do
      testing.write_file(sub .. "/" .. name, name)
      expected[i] = {path = name, bytes = #name, sha256 = sha256(sub .. "/" .. name)}
    end
    -- Run in that folder, so that each item is the bare name.
    local list = testing.write_file(dir .. "/names.txt", table.concat(names, "\n") .. "\n")
    local out, err = dir .. "/names.out", dir .. "/names.err"
    local lw = os.getenv("LUAWORKQ") or "luaworkq"
    local job = require("support").SRC .. "/scripts/examples/hash-files.lua"
    local ok = os.execute(("cd %s && %s -f ndjson %s %s >%s 2>%s"):format(
      testing.quote(sub), testing.quote(lw), testing.quote(job),
      testing.quote(list), testing.quote(out), testing.quote(err)))
    assert.are.same({true, ""}, {ok, testing.read_file(err)})
    local got = {}
    for line in testing.read_file(out):gmatch("[^\n]+") do got[#got + 1] = cjson.decode(line) end
    assert.are.same(expected, got)
    assert.is_nil(testing.read_file(sub .. "/pwned"))
  end)

  it("hash-files fails a missing file with -k and hashes the others", function()
    local a = testing.write_file(dir .. "/a.txt", "a")
    local list = testing.write_file(dir .. "/list2.txt", a .. "\n" .. dir .. "/nope\n")
    local r = testing.run{job = EXAMPLES .. "hash-files.lua", files = {list},
                          args = {"-k", "-f", "ndjson"}}
    assert.are.equal(1, r.code)
    assert.are.same({{path = a, bytes = 1, sha256 = sha256(a)}}, r.output)
    assert.matches("item 2 %(.-list2.txt:2%) failed: .-/nope: No such file or directory", r.stderr)
  end)

  it("hash-files-chunked hashes up to N files with one sha256sum, one array per chunk",
     function()
    local paths, expected = {}, {}
    for i = 1, 5 do
      paths[i] = testing.write_file(("%s/chunked %d.txt"):format(dir, i), ("x"):rep(i))
      expected[i] = {path = paths[i], sha256 = sha256(paths[i])}
    end
    paths[6] = dir .. "/back\\slash"
    testing.write_file(paths[6], "b")
    expected[6] = {path = paths[6], sha256 = sha256(paths[6])}
    local list = testing.write_file(dir .. "/chunked.txt", table.concat(paths, "\n") .. "\n")
    local r = run("hash-files-chunked.lua", {list}, {"--chunk", "4", "-f", "ndjson"})
    assert.are.same({{expected[1], expected[2], expected[3], expected[4]},
                     {expected[5], expected[6]}}, r.output)
  end)

  it("hash-files-chunked fails a chunk with a missing file, naming it, and hashes the others",
     function()
    local a = testing.write_file(dir .. "/ca.txt", "a")
    local b = testing.write_file(dir .. "/cb.txt", "b")
    local list = testing.write_file(dir .. "/list3.txt", ("%s\n%s/gone\n%s\n"):format(a, dir, b))
    local r = testing.run{job = EXAMPLES .. "hash-files-chunked.lua", files = {list},
                          args = {"-k", "--chunk", "2", "-f", "ndjson"}}
    assert.are.equal(1, r.code)
    assert.are.same({{{path = b, sha256 = sha256(b)}}}, r.output)
    assert.matches("item 1 %(.-list3.txt:1%) failed: sha256sum: .-/gone: No such file or directory",
                   r.stderr)
  end)

  it("hash-files' sample list names files of this repository", function()
    local listed = lines_of(DATA .. "files.txt")
    for i, path in ipairs(listed) do listed[i] = root .. "/" .. path end
    local list = testing.write_file(dir .. "/files.txt", table.concat(listed, "\n") .. "\n")
    local r = run("hash-files.lua", {list})
    assert.are.equal(#listed, #r.output)
    for i, record in ipairs(r.output) do
      assert.are.equal(#testing.read_file(listed[i]), record.bytes)
    end
  end)

  it("jsonl-transform reshapes the orders that were not cancelled", function()
    local expected, cancelled = {}, 0
    for _, line in ipairs(lines_of(DATA .. "orders.jsonl")) do
      local o = cjson.decode(line)
      if o.status == "cancelled" then
        cancelled = cancelled + 1
      else
        local skus, total = {}, 0
        for i, item in ipairs(o.items) do
          skus[i], total = item.sku, total + item.qty * item.price_cents
        end
        expected[#expected + 1] = {
          id = o.id, date = o.created:match("^[^T]+"), customer = o.customer.name,
          country = o.customer.country, status = o.status, total_cents = total,
          skus = skus, coupon = o.coupon ~= cjson.null and o.coupon or nil}
      end
    end
    local r = run("jsonl-transform.lua", {DATA .. "orders.jsonl"}, {"--ndjson-in", "-f", "ndjson"})
    assert.is_true(cancelled > 0)
    assert.are.same(expected, r.output)
    -- cjson reads [] and {} alike: the bytes show the empty lists are arrays.
    assert.matches('"skus":%[%]', r.stdout)
    assert.is_nil(r.stdout:find('"skus":{}', 1, true))
    assert.is_nil(r.stdout:find("null", 1, true))
  end)

  it("csv-filter keeps the rows of one region, header and bytes as they were", function()
    for _, region in ipairs{"north", "west"} do
      local rows = lines_of(DATA .. "sales.csv")
      local kept = {rows[1]}
      for i = 2, #rows do
        if rows[i]:match("^[^,]*,([^,]*),") == region then kept[#kept + 1] = rows[i] end
      end
      local r = run("csv-filter.lua", {DATA .. "sales.csv"},
                    {"--csv", "--header", "-f", "csv", "--set", "value=" .. region})
      assert.is_true(#kept > 100)
      assert.are.equal(table.concat(kept, "\n") .. "\n", r.stdout)
    end
  end)

  it("the sample data is what data/generate.lua writes", function()
    local ok = os.execute(("lua5.4 %s %s"):format(testing.quote(DATA .. "generate.lua"),
                                                  testing.quote(dir)))
    assert.is_true(ok)
    for _, name in ipairs{"sales.csv", "access.log", "orders.jsonl"} do
      assert.are.equal(testing.read_file(DATA .. name), testing.read_file(dir .. "/" .. name))
    end
  end)

  for _, example in ipairs{"wordcount.lua", "csv-stats.lua", "access-log.lua",
                           "hash-files.lua", "hash-files-chunked.lua", "jsonl-transform.lua",
                           "csv-filter.lua"} do
    it(example .. " passes --check and starts with a usage line", function()
      local r = testing.run{job = EXAMPLES .. example, args = {"--check"}}
      assert.are.same({0, ""}, {r.code, r.stderr})
      local usage = testing.read_file(EXAMPLES .. example):match("^[^\n]*\n([^\n]*)")
      assert.matches("^%-%-   luaworkq .*scripts/examples/" .. example:gsub("%-", "%%-"), usage)
    end)
  end

  -- Whatever -j, the same bytes: each example's merge is associative on
  -- exact values (csv-stats sums integers for that reason).
  for _, case in ipairs{
    {"wordcount.lua", "text.txt", {}},
    {"csv-stats.lua", "sales.csv", {"--set", "column=price"}},
    {"access-log.lua", "access.log", {}},
    {"hash-files.lua", "files.txt", {"-f", "ndjson"}},
    {"jsonl-transform.lua", "orders.jsonl", {"--ndjson-in", "-f", "ndjson"}},
    {"csv-filter.lua", "sales.csv", {"--csv", "--header", "-f", "csv"}},
  } do
    local example, data, args = table.unpack(case)
    it(example .. " writes the same bytes with -j1 and -j4", function()
      if example == "hash-files.lua" then
        -- The sample's paths are relative to the repository root.
        local paths = lines_of(DATA .. data)
        for i, p in ipairs(paths) do paths[i] = root .. "/" .. p end
        data = testing.write_file(dir .. "/rooted.txt", table.concat(paths, "\n") .. "\n")
      else
        data = DATA .. data
      end
      local out = {}
      for _, j in ipairs{"1", "4"} do
        local r = run(example, {data}, {"-j", j, table.unpack(args)})
        out[#out + 1] = r.stdout
      end
      assert.is_true(#out[1] > 100)
      assert.are.equal(out[1], out[2])
    end)
  end
end)
