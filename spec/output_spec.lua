-- Output: the json, ndjson and lines formats, -o, and the order of results.
local testing = require "luaworkq.testing"
local support = require "support"
local cjson = require "cjson"

-- Runs a job whose process returns the Lua expression expr for one item.
local function returning(expr, args)
  return testing.run{job_source = "function process() return " .. expr .. " end",
                     items = {"x"}, args = args}
end

local listdir = support.listdir

describe("json output", function()
  -- {what the process returns, as Lua, as JSON}
  local cases = {
    {"a string", [["hi"]], [["hi"]]},
    {"booleans", "{true, false}", "[true,false]"},
    {"an integer", "42", "42"},
    {"a negative integer", "-7", "-7"},
    {"math.maxinteger", "math.maxinteger", "9223372036854775807"},
    {"math.mininteger", "math.mininteger", "-9223372036854775808"},
    {"the float 0.1", "0.1", "0.1"},
    {"the float 1.0", "1.0", "1.0"},
    {"a negative float", "-2.5", "-2.5"},
    {"a float that needs 17 digits", "0.1 + 0.2", "0.30000000000000004"},
    {"a large float with an integral value", "2.0^53", "9007199254740992.0"},
    {"luaworkq.null", "luaworkq.null", "null"},
    {"an empty table", "{}", "{}"},
    {"an empty table marked with luaworkq.array", "luaworkq.array({})", "[]"},
    {"a list", "{1, 2, 3}", "[1,2,3]"},
    {"a list marked with luaworkq.array", "luaworkq.array({1, 2})", "[1,2]"},
    {"a list with a hole", "{1, nil, 3}", [[{"1":1,"3":3}]]},
    {"a list that does not start at 1", "{[2] = 'b', [3] = 'c'}",
      [[{"2":"b","3":"c"}]]},
    {"a list with other keys", "{10, 20, x = 1}", [[{"1":10,"2":20,"x":1}]]},
    {"an object: keys sorted bytewise",
      [[{b = 1, a = 2, B = 3, aa = 4, ["é"] = 5, [""] = 6}]],
      [[{"":6,"B":3,"a":2,"aa":4,"b":1,"é":5}]]},
    {"integer keys among others: sorted as strings",
      "{[9] = 'nine', [10] = 'ten', x = 0}", [[{"10":"ten","9":"nine","x":0}]]},
    {"nested tables", "{a = {b = {1, {c = luaworkq.null}}}, e = luaworkq.array({})}",
      [[{"a":{"b":[1,{"c":null}]},"e":[]}]]},
    {"one table twice (not a cycle)", "(function() local s = {1} return {a = s, b = s} end)()",
      [[{"a":[1],"b":[1]}]]},
    {"quotes, backslashes and a newline in a string", [['say "hi" \\ bye\n']],
      [["say \"hi\" \\ bye\n"]]},
  }
  for _, case in ipairs(cases) do
    it("writes " .. case[1] .. " as " .. case[3], function()
      local r = returning(case[2])
      assert.are.equal("", r.stderr)
      assert.are.equal(0, r.code)
      assert.are.equal("[" .. case[3] .. "]\n", r.stdout)
    end)
  end

  -- {what the process returns, as Lua; the value read back from the JSON}
  local exact = {
    {"every ASCII byte", [[(function()
        local t = {} for b = 0, 127 do t[#t + 1] = string.char(b) end
        return table.concat(t) end)()]],
      (function()
        local t = {} for b = 0, 127 do t[#t + 1] = string.char(b) end
        return table.concat(t) end)()},
    {"multi-byte UTF-8", [["é€😀"]], "é€😀"},
    {"invalid UTF-8 (replaced by U+FFFD)", [["a\xffb\x80"]], "a\u{FFFD}b\u{FFFD}"},
    {"a float near the largest", "1.7976931348623157e308", 1.7976931348623157e308},
    {"the smallest subnormal float", "5e-324", 5e-324},
    {"pi", "math.pi", math.pi},
    {"2^63 as a float", "2.0^63", 2.0^63},
    {"a tiny negative float", "-1.25e-7", -1.25e-7},
  }
  for _, case in ipairs(exact) do
    it("writes " .. case[1] .. " so that it reads back the same", function()
      local r = returning(case[2])
      assert.are.equal(0, r.code)
      assert.are.equal(1, #r.output)
      assert.are.equal(case[3], r.output[1])
    end)
  end

  it("skips nil results", function()
    local r = testing.run{job_source = [[
      function process(item, index) if index % 2 == 1 then return index end end]],
      items = {"a", "b", "c", "d", "e", "f"}, args = {"-j", "2"}}
    assert.are.same({0, "[1,3,5]\n", ""}, {r.code, r.stdout, r.stderr})
  end)

  it("writes [] when every result is nil", function()
    local r = testing.run{job_source = "function process() end", items = {"a", "b"}}
    assert.are.same({0, "[]\n", ""}, {r.code, r.stdout, r.stderr})
  end)
end)

describe("ndjson and lines output", function()
  local JOB = [[
    local results = {1, "a", {k = {1}}, luaworkq.null, nil, 2.5, "", 1.0}
    function process(item, index) return results[index] end
  ]]
  local ITEMS = {"1", "2", "3", "4", "5", "6", "7", "8"}

  it("-f ndjson writes one JSON document per line, nil skipped", function()
    local r = testing.run{job_source = JOB, items = ITEMS, args = {"-f", "ndjson"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.are.equal('1\n"a"\n{"k":[1]}\nnull\n2.5\n""\n1.0\n', r.stdout)
  end)

  it("--format=ndjson is the same as -f ndjson", function()
    local r = testing.run{job_source = JOB, items = ITEMS, args = {"--format=ndjson"}}
    assert.are.equal('1\n"a"\n{"k":[1]}\nnull\n2.5\n""\n1.0\n', r.stdout)
  end)

  it("-f lines writes strings as they are and numbers as tostring does",
    function()
      local r = testing.run{job_source = [[
        local results = {"a b", 42, 1.5, 1.0, "", "tab\there", 1e100, "é"}
        function process(item, index) return results[index] end
      ]], items = ITEMS, args = {"-f", "lines"}}
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.equal("a b\n42\n1.5\n1.0\n\ntab\there\n1e+100\né\n", r.stdout)
    end)

  it("-f lines writes strings with any bytes as they are", function()
    local r = testing.run{job_source = [[function process() return "\0\xff\r" end]],
                          items = {"x"}, args = {"-f", "lines"}}
    assert.are.same({0, "\0\xff\r\n"}, {r.code, r.stdout})
  end)

  it("-f lines fails an item whose result is a table", function()
    local r = testing.run{job_source = "function process() return {} end",
                          items = {"x"}, args = {"-f", "lines"}}
    assert.are.equal(1, r.code)
    assert.matches("^luaworkq: item 1 %(stdin:1%) failed: [^\n]+", r.stderr)
  end)

  for _, format in ipairs{"ndjson", "lines"} do
    it("-f " .. format .. " writes nothing when every result is nil", function()
      local r = testing.run{job_source = "function process() end",
                            items = {"a", "b"}, args = {"-f", format}}
      assert.are.same({0, "", ""}, {r.code, r.stdout, r.stderr})
    end)
  end
end)

describe("-o FILE", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  for _, option in ipairs{"-o", "--output"} do
    it(option .. " FILE writes the output to FILE and nothing to stdout",
      function()
        local out = dir .. "/out.json"
        local r = testing.run{job_source = "function process(item) return item end",
                              items = {"a", "b", "c"}, args = {option, out}}
        assert.are.same({0, "", ""}, {r.code, r.stdout, r.stderr})
        assert.are.equal('["a","b","c"]\n', testing.read_file(out))
        assert.are.same({"out.json"}, listdir(dir))
      end)
  end

  it("-o FILE replaces what FILE held", function()
    local out = testing.write_file(dir .. "/out.txt", "old content\n")
    local r = testing.run{job_source = "function process(item) return item end",
                          items = {"new"}, args = {"-f", "lines", "-o", out}}
    assert.are.equal(0, r.code)
    assert.are.equal("new\n", testing.read_file(out))
  end)

  it("-o FILE holds a well-formed array when an item fails", function()
    local out = dir .. "/out.json"
    local r = testing.run{job_source = [[
      function process(item, index)
        if index == 3 then error("boom") end
        return index
      end]], items = {"a", "b", "c", "d", "e"}, args = {"-j", "1", "-o", out}}
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("[1,2]\n", testing.read_file(out))
    assert.are.same({"out.json"}, listdir(dir))
  end)
end)

describe("order of results", function()
  it("-j4 writes results in input order even when the first item is slow",
    function()
      local dir = testing.tmpdir()
      -- Item 1 finishes only after some later item has finished (or after
      -- 5 s, so that a run that hands all items to one worker still ends).
      local r = testing.run{job_source = [[
        local marker = luaworkq.args.marker
        function process(item, index)
          if index == 1 then
            local deadline = os.time() + 5
            while os.time() < deadline do
              local f = io.open(marker)
              if f then f:close() break end
            end
          else
            assert(io.open(marker, "a")):close()
          end
          return index
        end]], items = (function()
          local items = {} for i = 1, 2000 do items[i] = tostring(i) end
          return items end)(),
        args = {"-j", "4", "--set", "marker=" .. dir .. "/marker"}}
      testing.remove_tree(dir)
      local expected = {}
      for i = 1, 2000 do expected[i] = tostring(i) end
      assert.are.equal(0, r.code)
      assert.are.equal("[" .. table.concat(expected, ",") .. "]\n", r.stdout)
    end)

  -- Items take different times, so that workers finish out of order.
  local UNEVEN = [[
    function process(item, index)
      local x = 0
      for i = 1, (index * 7919) % 5000 do x = x + i end
      return index * 2
    end]]
  local function items(n)
    local list = {}
    for i = 1, n do list[i] = tostring(i) end
    return list
  end

  for _, format in ipairs{"json", "ndjson", "lines"} do
    it("--unordered -f " .. format .. " writes the same results in some order",
      function()
        local r = testing.run{job_source = UNEVEN, items = items(20000),
                              args = {"--unordered", "-j", "4", "-f", format}}
        assert.are.same({0, ""}, {r.code, r.stderr})
        local got = {}
        for i, v in ipairs(r.output) do got[i] = math.tointeger(tonumber(v)) end
        table.sort(got)
        local expected = {}
        for i = 1, 20000 do expected[i] = i * 2 end
        assert.are.same(expected, got)
      end)
  end

  it("without --unordered, -j1 and -j4 write the results in input order", function()
    local expected = {}
    for i = 1, 20000 do expected[i] = tostring(i * 2) end
    expected = "[" .. table.concat(expected, ",") .. "]\n"
    for _, j in ipairs{"1", "4"} do
      local r = testing.run{job_source = UNEVEN, items = items(20000), args = {"-j", j}}
      assert.are.same({0, expected}, {r.code, r.stdout})
    end
  end)
end)

describe("-o FILE that is not a regular file", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)
  local ID = "function process(s) return s end"

  it("writes into a FIFO as it is, without replacing it", function()
    local fifo = dir .. "/fifo"
    assert.is_true(os.execute("mkfifo " .. testing.quote(fifo)))
    local reader = assert(io.popen("cat " .. testing.quote(fifo)))
    local r = testing.run{job_source = ID, items = {"a", "b"}, args = {"-o", fifo}}
    local got = reader:read("a")
    reader:close()
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.are.equal('["a","b"]\n', got)
    assert.is_true(os.execute("test -p " .. testing.quote(fifo)))
  end)

  it("writes into a character device as it is, without replacing it", function()
    local dev = dir .. "/null"
    if not os.execute("mknod " .. testing.quote(dev) .. " c 1 3 2>/dev/null") then
      pending("mknod needs root")
      return
    end
    local r = testing.run{job_source = ID, items = {"a"}, args = {"-o", dev}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.is_true(os.execute("test -c " .. testing.quote(dev)))
  end)

  it("refuses a directory before running anything", function()
    local r = testing.run{job_source = "function process(s) error('ran') end",
                          items = {"a"}, args = {"-o", dir}}
    assert.are.equal(2, r.code)
    assert.are.equal("luaworkq: " .. dir .. ": is a directory\n", r.stderr)
    assert.are.equal("", r.stdout)
  end)
end)
