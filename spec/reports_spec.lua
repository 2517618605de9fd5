-- What a run reports about itself: each cause of a failure once (a full
-- disk met by every batch written after it is one message), and --stats
-- that tells the items carried from a journal apart from the items run.
local testing = require "luaworkq.testing"

local quote = testing.quote
local bin = assert(os.getenv("LUAWORKQ"), "LUAWORKQ is not set")

local numbers = require("support").numbers

local function count(s, plain)
  local n, at = 0, 1
  while true do
    local i = s:find(plain, at, true)
    if not i then return n end
    n, at = n + 1, i + #plain
  end
end

describe("a full disk", function()
  local dir
  setup(function()
    dir = testing.tmpdir()
    testing.write_file(dir .. "/ok.lua", "function process(s) return s end")
    testing.write_file(dir .. "/fail.lua", "function process(s) error('no') end")
    testing.write_file(dir .. "/items.txt", numbers(200000))
  end)
  teardown(function() testing.remove_tree(dir) end)

  -- {what the user does, the command's words after the binary, redirection}
  local cases = {
    {"standard output on a full disk", {"-j", "2", "ok.lua", "items.txt"}, ">/dev/full"},
    {"-o FILE on a full disk", {"-j", "2", "-o", "/dev/full", "ok.lua", "items.txt"}, ">/dev/null"},
    {"--errors FILE on a full disk",
      {"-j", "2", "-k", "--errors", "/dev/full", "fail.lua", "items.txt"}, ">/dev/null"},
  }
  for _, case in ipairs(cases) do
    it("is reported once for " .. case[1], function()
      local words = {quote(bin)}
      for _, w in ipairs(case[2]) do words[#words + 1] = quote(w) end
      local cmd = "cd " .. quote(dir) .. " && " .. table.concat(words, " ") .. " "
        .. case[3] .. " 2>" .. quote(dir .. "/err.txt")
      local ok, how, code = os.execute(cmd)
      local stderr = testing.read_file(dir .. "/err.txt")
      assert.are.equal(2, code)  -- an output that cannot be written
      assert.are.equal(1, count(stderr, "No space left on device"), stderr:sub(1, 2000))
      assert.matches("luaworkq: stopped: %d+ done, %d+ failed, %d+%+? not processed\n$", stderr)
    end)
  end
end)

describe("--stats on a resumed run", function()
  it("counts the items carried from the journal apart from those run", function()
    local dir = testing.tmpdir()
    local job = testing.write_file(dir .. "/job.lua", [[
      function process(s, i)
        if i == 500 and os.getenv("FAIL") then error("no") end
        return i
      end]])
    local input = testing.write_file(dir .. "/items.txt", numbers(1000))
    local args = {"--journal", dir .. "/j", "-j", "2", "--stats"}
    local first = testing.run{job = job, files = {input}, args = args, env = {FAIL = "1"}}
    assert.are.equal(1, first.code)
    local r = testing.run{job = job, files = {input}, args = args}
    assert.are.equal(0, r.code)
    local carried = tonumber(r.stderr:match("(%d+) carried from the journal;"))
    assert.truthy(carried and carried > 0 and carried < 1000, r.stderr)
    local run = 0
    for n in r.stderr:gmatch("luaworkq: worker %d+: (%d+) items") do run = run + tonumber(n) end
    assert.are.equal(1000 - carried, run)
    assert.matches("luaworkq: 1000 done %(" .. carried .. " from the journal%), 0 failed\n$",
                   r.stderr)
    testing.remove_tree(dir)
  end)
end)
