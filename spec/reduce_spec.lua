-- reduce: a group-by whose keys are partitioned across the workers. The
-- output is the same bytes whatever -j, sharded or not, and the same bytes
-- as the merge job that combines tables key by key with the same function.
local testing = require "luaworkq.testing"
local support = require "support"

local WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
  "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar"}

-- n lines of 0 to 4 words (with numbers: about 45,000 distinct words),
-- and their counts.
local function corpus(path, n) return support.word_corpus(path, n, WORDS, 777, 3000) end

-- "1" .. "n", as items.
local function numbers(n)
  local t = {}
  for i = 1, n do t[i] = tostring(i) end
  return t
end

-- The keys of t in byte order.
local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local COUNT = [[
function process(line)
  local t = {}
  for w in line:gmatch("%S+") do t[w] = (t[w] or 0) + 1 end
  return t
end
]]
local REDUCE_COUNT = COUNT .. "function reduce(a, b) return a + b end\n"
local MERGE_COUNT = COUNT .. [[
function merge(a, b)
  for k, v in pairs(b) do a[k] = a[k] and a[k] + v or v end
  return a
end
]]

-- Each line i: key i % 7 gets "i"; reduce concatenates, so any value
-- folded out of input order shows.
local CONCAT = [[
function process(line, i) return {[tostring(i % 7)] = tostring(i)} end
function reduce(a, b) return a .. "," .. b end
]]

local function concat_expected(n)
  local lists = {}
  for i = 1, n do
    local k = tostring(i % 7)
    lists[k] = lists[k] and lists[k] .. "," .. i or tostring(i)
  end
  return lists
end

describe("reduce", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  it("counts words: the right object, the bytes of the merge job, the same with -j1, -j3 and -j16",
    function()
      local path = dir .. "/words.txt"
      local counts = corpus(path, 60000)
      local parts = {}
      for i, w in ipairs(sorted_keys(counts)) do parts[i] = ('"%s":%d'):format(w, counts[w]) end
      local expected = "{" .. table.concat(parts, ",") .. "}\n"
      local merged = testing.run{job_source = MERGE_COUNT, files = {path}, args = {"-j", "2"}}
      assert.are.same({0, "", expected}, {merged.code, merged.stderr, merged.stdout})
      for _, j in ipairs{"1", "3", "16"} do
        local r = testing.run{job_source = REDUCE_COUNT, files = {path}, args = {"-j", j}}
        assert.are.same({0, ""}, {r.code, r.stderr})
        assert.are.equal(expected, r.stdout, "-j" .. j)
      end
    end)

  it("builds an index of 50,000 distinct lines: the bytes of the merge job with -j1, -j3 and -j16",
    function()
      local lines = {}
      for i = 1, 50000 do lines[i] = WORDS[i % #WORDS + 1] .. "-" .. (i * 7919 % 50000) end
      local path = testing.write_file(dir .. "/index.txt", table.concat(lines, "\n") .. "\n")
      local process = "function process(line, i) return {[line] = i} end\n"
      local merged = testing.run{job_source = process
        .. "function merge(a, b) for k, v in pairs(b) do a[k] = v end return a end\n",
        files = {path}}
      assert.are.same({0, ""}, {merged.code, merged.stderr})
      assert.are.equal(50000, select(2, merged.stdout:gsub(":", "")))
      for _, j in ipairs{"1", "3", "16"} do
        local r = testing.run{job_source = process .. "function reduce(a, b) return b end\n",
                              files = {path}, args = {"-j", j}}
        assert.are.same({0, ""}, {r.code, r.stderr})
        assert.are.equal(merged.stdout, r.stdout, "-j" .. j)
      end
    end)

  it("folds each key's values in input order (concatenation), in every layout", function()
    local n = 30000
    local items = numbers(n)
    local lists = concat_expected(n)
    local json, ndjson, lines = {}, {}, {}
    for i, k in ipairs(sorted_keys(lists)) do
      json[i] = ('"%s":"%s"'):format(k, lists[k])
      ndjson[i] = ('["%s","%s"]\n'):format(k, lists[k])
      lines[i] = k .. "\t" .. lists[k] .. "\n"
    end
    local want = {json = "{" .. table.concat(json, ",") .. "}\n",
                  ndjson = table.concat(ndjson), lines = table.concat(lines)}
    for _, j in ipairs{"1", "3", "16"} do
      for format, expected in pairs(want) do
        local r = testing.run{job_source = CONCAT, items = items, args = {"-j", j, "-f", format}}
        assert.are.same({0, ""}, {r.code, r.stderr})
        assert.are.equal(expected, r.stdout, ("-j%s -f %s"):format(j, format))
      end
    end
  end)

  it("runs finish(key, value) once per key, in the workers: its value is written, nil drops the key",
    function()
      local r = testing.run{job_source = CONCAT .. [[
        function finish(key, value)
          if key == "3" then return nil end
          local n = select(2, value:gsub(",", "")) + 1
          return {n = n, worker = luaworkq.worker > 0}
        end]], items = numbers(700), args = {"-j", "3"}}
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.equal('{"0":{"n":100,"worker":true},"1":{"n":100,"worker":true},'
        .. '"2":{"n":100,"worker":true},"4":{"n":100,"worker":true},'
        .. '"5":{"n":100,"worker":true},"6":{"n":100,"worker":true}}\n', r.stdout)
    end)

  it("writes integer keys as the object's strings, in byte order, and {} for no key at all", function()
    local r = testing.run{job_source = [[
      function process(line, i) return {[i * 5] = 1, ["k" .. (i % 2)] = i} end
      function reduce(a, b) return a + b end]], items = {"a", "b", "c"}, args = {"-j", "2"}}
    assert.are.same({0, "", '{"10":1,"15":1,"5":1,"k0":2,"k1":4}\n'},
                    {r.code, r.stderr, r.stdout})
    local empty = testing.run{job_source = "function process() end\n"
      .. "function reduce(a, b) return a end\n", items = {"x", "y"}}
    assert.are.same({0, "", "{}\n"}, {empty.code, empty.stderr, empty.stdout})
  end)

  it("writes -f csv and -f tsv rows: key and value, or the columns of `columns`, key first",
    function()
      for _, j in ipairs{"1", "3"} do
        local lists, rows = concat_expected(70), {"key,value\n"}
        for _, k in ipairs(sorted_keys(lists)) do rows[#rows + 1] = k .. "," .. #lists[k] .. "\n" end
        local r = testing.run{job_source = CONCAT .. "function finish(k, v) return #v end\n",
                              items = numbers(70), args = {"-j", j, "-f", "csv"}}
        assert.are.same({0, "", table.concat(rows)}, {r.code, r.stderr, r.stdout})
        local t = testing.run{job_source = [[
          columns = {"group", "n", "first", "last"}
          function process(line, i) return {["g" .. i % 2] = {n = 1, first = i, last = i}} end
          function reduce(a, b) return {n = a.n + b.n, first = a.first, last = b.last} end]],
          items = numbers(9), args = {"-j", j, "-f", "tsv"}}
        assert.are.same({0, "", "group\tn\tfirst\tlast\ng0\t4\t2\t8\ng1\t5\t1\t9\n"},
                        {t.code, t.stderr, t.stdout})
      end
      local none = testing.run{job_source = "function process() end\n"
        .. "function reduce(a, b) return a end\n", items = {"x"}, args = {"-f", "csv"}}
      assert.are.same({0, "", ""}, {none.code, none.stderr, none.stdout})
    end)

  it("fails -f csv with a table value and no `columns`, naming the key", function()
    local r = testing.run{job_source = [[
      function process(line) return {[line] = {n = 1}} end
      function reduce(a, b) return {n = a.n + b.n} end]], items = {"a", "b"}, args = {"-f", "csv"}}
    assert.are.same({1, ""}, {r.code, r.stdout})
    assert.matches('value%["[ab]"%]%.n: not a column', r.stderr)
  end)

  for _, format in ipairs{"json", "csv"} do
    it("gives the same bytes from three shards merged as from one run, -f " .. format, function()
      local path = dir .. "/words.txt"
      corpus(path, 20000)
      local job = testing.write_file(dir .. "/job.lua", CONCAT)
      local whole = testing.run{job = job, files = {path}, args = {"-j", "2", "-f", format}}
      assert.are.same({0, ""}, {whole.code, whole.stderr})
      local journals = {}
      for k = 1, 3 do
        journals[k] = ("%s/part-%d"):format(dir, k)
        local r = testing.run{job = job, files = {path},
          args = {"-j", "2", "-f", format, "--shard", k .. "/3", "--journal", journals[k]}}
        assert.are.equal(0, r.code, r.stderr)
      end
      local merged = testing.run{job = job, files = journals, args = {"--merge", "-f", format}}
      assert.are.same({0, "", whole.stdout}, {merged.code, merged.stderr, merged.stdout})
    end)
  end

  it("merges shard journals across the workers: finish runs in each; a failed item names its shard",
    function()
      local job = testing.write_file(dir .. "/job.lua", [[
        function process(line, i)
          if i % 10 == 0 then error("bad " .. i) end
          return {["k" .. i % 50] = 1}
        end
        function reduce(a, b) return a + b end
        function finish(key, n) return {n = n, worker = luaworkq.worker} end]])
      local journals = {}
      for k = 1, 2 do
        journals[k] = ("%s/part-%d"):format(dir, k)
        local r = testing.run{job = job, items = numbers(500),
          args = {"-k", "--shard", k .. "/2", "--journal", journals[k]}}
        assert.are.equal(k == 1 and 0 or 1, r.code, r.stderr)  -- shard 2 has the tenths
      end
      local r = testing.run{job = job, files = journals, args = {"--merge", "-j", "3"}}
      assert.are.equal(1, r.code)
      local workers, keys = {}, 0
      for key, v in pairs(r.output) do
        keys = keys + 1
        assert.are_not.equal(0, key:match("k(%d+)") % 10, key)  -- those items all failed
        assert.are.equal(10, v.n, key)
        workers[v.worker] = true
      end
      assert.are.same({45, {true, true, true}}, {keys, workers})
      assert.matches("item 10 %(.-part%-2:10%) failed: %(shard 2/2%) [^\n]*bad 10", r.stderr)
      assert.matches("\nluaworkq: 450 done, 50 failed\n$", r.stderr)
    end)

  it("gives what luaworkq.testing's job.run gives", function()
    local job = testing.write_file(dir .. "/job.lua", CONCAT
      .. "function finish(k, v) return #v end\n")
    local items = numbers(500)
    local loaded = testing.load(job).run(items)
    local r = testing.run{job = job, items = items, args = {"-j", "3"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.are.same(loaded, r.output)
  end)
end)

describe("reduce's errors", function()
  local function run(source, items, args)
    return testing.run{job_source = source, items = items or {"a", "b", "c"},
                       args = args or {"-j", "2"}}
  end

  it("refuses a job with both merge and reduce (exit 2)", function()
    local r = run("function process() end\nfunction merge(a, b) return a end\n"
      .. "function reduce(a, b) return a end\n")
    assert.are.equal(2, r.code)
    assert.matches("defines both 'merge' and 'reduce'", r.stderr, 1, true)
  end)

  it("fails an item whose result is not a table, naming what it returned", function()
    local r = run("function process(s, i) if i == 2 then return s end return {[s] = 1} end\n"
      .. "function reduce(a, b) return a + b end\n", nil, {"-j", "1", "-k"})
    assert.are.equal(1, r.code)
    assert.are.equal("luaworkq: item 2 (stdin:2) failed: result: process returned a string; "
      .. "with reduce it returns a table of key -> value, or nil", support.first_line(r.stderr))
    assert.are.equal('{"a":1,"c":1}\n', r.stdout)
  end)

  it("fails an item with a key that is neither a string nor an integer", function()
    local r = run("function process(s) return {[1.5] = s} end\n"
      .. "function reduce(a, b) return a end\n", {"x"})
    assert.are.equal(1, r.code)
    assert.matches("result%[1%.5%]: a key of reduce is a string or an integer, not a float",
                   r.stderr)
  end)

  -- Whether the two values of "b" meet in the worker that ran them (one
  -- batch) or in the owner of "b" (two batches), the error is the same.
  for _, j in ipairs{"1", "2", "3"} do
    it("stops in order on an error in reduce (exit 1), naming the key, with -j" .. j, function()
      local source = "function process(s) return {[s:sub(1, 1)] = s} end\n"
        .. "function reduce(a, b) if b == 'b2' then error('no b2') end return a .. b end\n"
      local items = {"a1", "b1", "a2", "b2", "a3"}
      local r = run(source, items, {"-j", j, "--partial"})
      assert.are.same({1, ""}, {r.code, r.stdout})
      assert.matches('^luaworkq: reduce failed in worker %d: reduce of key "b": [^\n]*no b2',
                     r.stderr)
      assert.matches("no merged value written", r.stderr, 1, true)
    end)
  end

  it("stops when reduce returns nil, naming the key", function()
    local r = run("function process(s) return {[s:sub(1, 1)] = 1} end\n"
      .. "function reduce(a, b) return nil end\n", {"a1", "b1", "a2"}, {"-j", "2"})
    assert.are.same({1, ""}, {r.code, r.stdout})
    assert.matches('reduce of key "a": returned nil', r.stderr, 1, true)
  end)

  it("stops on an error in finish, naming the key; an unwritable value names it too", function()
    local r = run("function process(s) return {[s] = 1} end\n"
      .. "function reduce(a, b) return a + b end\n"
      .. "function finish(k, v) if k == 'b' then error('bad b') end return v end\n")
    assert.are.same({1, ""}, {r.code, r.stdout})
    assert.matches('finish failed in worker %d: finish of key "b": [^\n]*bad b', r.stderr)
    local nan = run("function process(s) return {[s] = 0/0} end\n"
      .. "function reduce(a, b) return a end\n", {"x"})
    assert.are.same({1, ""}, {nan.code, nan.stdout})
    assert.matches('value%["x"%]: cannot encode NaN', nan.stderr)
  end)

  it("refuses two keys written the same (1 and \"1\")", function()
    local r = run("function process(s, i) if i == 1 then return {[1] = 1} end "
      .. "return {['1'] = 2} end\nfunction reduce(a, b) return a + b end\n", {"x", "y"})
    assert.are.same({1, ""}, {r.code, r.stdout})
    assert.matches('two keys are both written "1"', r.stderr, 1, true)
  end)

  it("stops when reduce goes past --memory-limit, naming the key", function()
    local r = run("function process(s) return {big = s} end\n"
      .. "function reduce(a, b) return a .. string.rep(b, 1 << 20) end\n",
      {"xxxxxxxx", "yyyyyyyy", "zzzzzzzz"}, {"-j", "1", "--memory-limit", "16"})
    assert.are.same({1, ""}, {r.code, r.stdout})
    assert.matches('reduce of key "big": memory limit of 16 MB exceeded', r.stderr, 1, true)
  end)
end)
