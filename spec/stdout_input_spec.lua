-- A standard output that is an input file: `luaworkq job.lua x > x` (the
-- shell has emptied x) or `>> x` (the results would grow the file being
-- read) is refused with exit 2 before anything is read or written, as
-- cat refuses it ("input file is output file").
local testing = require "luaworkq.testing"
local support = require "support"

local quote = testing.quote
local bin = assert(os.getenv("LUAWORKQ"), "LUAWORKQ is not set")

local JOB = "function process(s) return s end\n"
local ITEMS = "a\nb\n"

local dir
support.tmpdir_each(function(path) dir = path end)

-- Runs luaworkq in dir with args (words) and standard output redirected as
-- redirect says ("> items.txt"); returns the exit code and stderr.
local function run(args, redirect)
  testing.write_file(dir .. "/job.lua", JOB)
  testing.write_file(dir .. "/items.txt", ITEMS)
  local words = {quote(bin)}
  for _, a in ipairs(args) do words[#words + 1] = quote(a) end
  local code = support.sh("cd " .. quote(dir) .. " && " .. table.concat(words, " ")
                          .. " </dev/null " .. redirect .. " 2>" .. quote(dir .. "/err"))
  return code, testing.read_file(dir .. "/err")
end

local function message(role, name)
  return ("luaworkq: standard output is %s %s: input file is output file (a shell's > "
          .. "has already emptied it); send the output to another file\n"):format(role, name)
end

describe("standard output", function()
  it("that is the input, emptied by the shell's >, is refused with exit 2", function()
    local code, stderr = run({"job.lua", "items.txt"}, "> items.txt")
    assert.same({2, message("the input", "items.txt")}, {code, stderr})
    assert.equals("", testing.read_file(dir .. "/items.txt"))
  end)

  it("that is the input, appended to with >>, is refused and the input left as it was",
    function()
      local code, stderr = run({"-f", "lines", "job.lua", "items.txt"}, ">> items.txt")
      assert.same({2, message("the input", "items.txt")}, {code, stderr})
      assert.equals(ITEMS, testing.read_file(dir .. "/items.txt"))
      -- Another file, or /dev/null, is written as always.
      code, stderr = run({"-f", "lines", "job.lua", "items.txt"}, ">> other.txt")
      assert.same({0, ""}, {code, stderr})
      assert.equals(ITEMS, testing.read_file(dir .. "/other.txt"))
      code, stderr = run({"job.lua", "items.txt"}, "> /dev/null")
      assert.same({0, ""}, {code, stderr})
    end)

  it("that is the second input, or the job script, is refused too", function()
    local code, stderr = run({"job.lua", "/dev/null", "./items.txt"}, ">> items.txt")
    assert.same({2, message("the input", "./items.txt")}, {code, stderr})
    code, stderr = run({"--dry-run", "job.lua", "items.txt"}, ">> job.lua")
    assert.same({2, message("the job script", "job.lua")}, {code, stderr})
    assert.equals(JOB, testing.read_file(dir .. "/job.lua"))
  end)

  it("that is -o's file is refused: each output needs its own", function()
    local code, stderr = run({"-o", "out.json", "job.lua", "items.txt"}, "> out.json")
    assert.same({2, "luaworkq: standard output is -o out.json: each output needs its own file\n"},
                {code, stderr})
  end)

end)
