-- merge, finish and setup: combining results into one value.
local testing = require "luaworkq.testing"
local support = require "support"

local WORD_COUNT = support.WORD_COUNT

-- Writes n lines of 0 to 4 words drawn by a fixed linear congruential
-- generator and returns them with their word counts, counted here.
local WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
  "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar",
  "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor"}

local function corpus(path, n) return support.word_corpus(path, n, WORDS, 12345) end

-- The JSON object of counts, keys sorted, written here without the binary.
local function json_counts(counts)
  local words, parts = {}, {}
  for w in pairs(counts) do words[#words + 1] = w end
  table.sort(words)
  for i, w in ipairs(words) do parts[i] = ('"%s":%d'):format(w, counts[w]) end
  return "{" .. table.concat(parts, ",") .. "}\n"
end

describe("merge", function()
  local dir
  support.tmpdir_all(function(path) dir = path end)

  it("counts the words of 1,000,000 lines: the same bytes with -j1, -j2 and -j8, and the right counts",
    function()
      local path = dir .. "/words.txt"
      local expected = json_counts(corpus(path, 1000000))
      local outputs = {}
      for _, j in ipairs{"1", "2", "8"} do
        local r = testing.run{job_source = WORD_COUNT, files = {path}, args = {"-j", j}}
        assert.are.same({0, ""}, {r.code, r.stderr})
        outputs[#outputs + 1] = r.stdout
      end
      assert.are.equal(expected, outputs[1])
      assert.are.equal(outputs[1], outputs[2])
      assert.are.equal(outputs[1], outputs[3])
    end)

  it("builds an index of 20,000 lines: the same bytes with -j1, -j3 and -j16, and the right object",
    function()
      local path, lines, keys = dir .. "/index.txt", {}, {}
      for i = 1, 20000 do
        lines[i] = WORDS[i % #WORDS + 1] .. "-" .. (i * 7919 % 20000)
        keys[i] = lines[i]
      end
      testing.write_file(path, table.concat(lines, "\n") .. "\n")
      table.sort(keys)
      local where = {}
      for i, line in ipairs(lines) do where[line] = i end
      local parts = {}
      for i, k in ipairs(keys) do parts[i] = ('"%s":%d'):format(k, where[k]) end
      local expected = "{" .. table.concat(parts, ",") .. "}\n"
      local job = "function process(line, i) return {[line] = i} end\n"
        .. "function merge(a, b) for k, v in pairs(b) do a[k] = v end return a end\n"
      for _, j in ipairs{"1", "3", "16"} do
        local r = testing.run{job_source = job, files = {path}, args = {"-j", j}}
        assert.are.same({0, ""}, {r.code, r.stderr})
        assert.are.equal(expected, r.stdout, "-j" .. j)
      end
    end)

  -- String concatenation is associative but not commutative: the merged
  -- value shows any result folded out of input order.
  for _, j in ipairs{"1", "3", "8"} do
    it("folds results in input order with -j" .. j, function()
      local items, expected = {}, {}
      for i = 1, 20000 do
        items[i] = tostring(i)
        expected[i] = i .. ","
      end
      local r = testing.run{job_source = [[
        function process(item) return item .. "," end
        function merge(a, b) return a .. b end]], items = items, args = {"-j", j}}
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.equal('"' .. table.concat(expected) .. '"\n', r.stdout)
    end)
  end

  it("runs finish on the merged value and writes what it returns", function()
    local r = testing.run{job_source = WORD_COUNT .. [[
      function finish(counts)
        local total, distinct = 0, 0
        for _, n in pairs(counts) do total, distinct = total + n, distinct + 1 end
        return {total = total, distinct = distinct, top = counts.the}
      end]], items = {"the cat", "", "the hat and the bat"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.are.equal('{"distinct":5,"top":3,"total":7}\n', r.stdout)
  end)

  for _, format in ipairs{"json", "ndjson", "lines"} do
    it("-f " .. format .. " writes a string from finish as it is", function()
      local r = testing.run{job_source = WORD_COUNT .. [[
        function finish(counts) return ("the: %d\nend"):format(counts.the) end]],
        items = {"the cat", "the hat"}, args = {"-f", format}}
      assert.are.same({0, "the: 2\nend", ""}, {r.code, r.stdout, r.stderr})
    end)
  end

  for _, format in ipairs{"json", "ndjson"} do
    it("-f " .. format .. " writes null when there is nothing to merge", function()
      local r = testing.run{job_source = WORD_COUNT, input = "", args = {"-f", format}}
      assert.are.same({0, "null\n", ""}, {r.code, r.stdout, r.stderr})
    end)
  end

  it("writes null when every result is nil", function()
    local r = testing.run{job_source = [[
      function process() end
      function merge(a, b) return a + b end]], items = {"a", "b"}}
    assert.are.same({0, "null\n", ""}, {r.code, r.stdout, r.stderr})
  end)

  it("runs setup once in the host and hands its value to every init, which may copy it",
    function()
      local items = {}
      for i = 1, 2000 do items[i] = tostring(i) end
      local r = testing.run{job_source = [[
        local dir = luaworkq.args.dir
        local function append(name, line)
          local f = assert(io.open(dir .. "/" .. name, "a"))
          f:write(line, "\n")
          f:close()
        end
        function setup()
          append("setup", "worker " .. luaworkq.worker)
          return {n = 100, big = math.maxinteger, t = {s = "x\0y"}, list = {1, 2, 3}}
        end
        function init(shared)
          append("init-" .. luaworkq.worker, ("%d %s %s %d"):format(shared.n,
            math.type(shared.big), shared.t.s == "x\0y", #shared.list))
          shared = luaworkq.copy(shared)  -- shared itself is read-only
          shared.n = shared.n + luaworkq.worker -- no other worker sees this
          SHARED = shared
        end
        function process() return {luaworkq.worker, SHARED.n} end
      ]], items = items, args = {"-j", "4", "--set", "dir=" .. dir}}
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.equal("worker 0\n", testing.read_file(dir .. "/setup"))
      for w = 1, 4 do
        local init = testing.read_file(dir .. "/init-" .. w)
        assert.are.equal("100 integer true 3\n", init)
      end
      assert.are.equal(2000, #r.output)
      for _, result in ipairs(r.output) do
        assert.are.equal(100 + result[1], result[2])
      end
    end)
end)
