-- One file for two roles: an output given twice, or an output that is the
-- job script or an input, is refused with exit 2 before anything is
-- written, so nothing the user had is clobbered.
local testing = require "luaworkq.testing"

local quote = testing.quote

local JOB = "function process(s) return s end\n"
local ITEMS = "a\nb\n"

local support = require "support"
local listdir, run_in = support.listdir, support.run_in

describe("the same file for two roles", function()
  -- {what the user does, setup(dir) (optional), args, words in the message}
  local refused = {
    {"--journal x.j -o x.j", nil, {"--journal", "x.j", "-o", "x.j", "job.lua", "items.txt"},
      "-o x.j and --journal x.j are the same file"},
    {"--errors o.txt -o ./o.txt", nil,
      {"-k", "--errors", "o.txt", "-o", "./o.txt", "job.lua", "items.txt"},
      "-o ./o.txt and --errors o.txt are the same file"},
    {"-k --errors job.lua job.lua", nil, {"-k", "--errors", "job.lua", "job.lua", "items.txt"},
      "--errors job.lua is the job script job.lua"},
    {"-o items.txt over its own input", nil, {"-o", "items.txt", "job.lua", "items.txt"},
      "-o items.txt is the input items.txt"},
    {"--journal on the second of two inputs", function(dir)
        testing.write_file(dir .. "/more.txt", "c\n")
      end, {"--journal", "more.txt", "job.lua", "items.txt", "more.txt"},
      "--journal more.txt is the input more.txt"},
    {"-o through a symbolic link to the job", function(dir)
        os.execute("ln -s job.lua " .. quote(dir .. "/link.lua"))
      end, {"-o", "link.lua", "job.lua", "items.txt"},
      "-o link.lua is the job script job.lua"},
    {"-o through a hard link to an input", function(dir)
        os.execute("ln " .. quote(dir .. "/items.txt") .. " " .. quote(dir .. "/hard.txt"))
      end, {"-o", "hard.txt", "job.lua", "items.txt"},
      "-o hard.txt is the input items.txt"},
    {"two names of a file not yet there", function(dir)
        os.execute("mkdir " .. quote(dir .. "/sub"))
      end, {"-o", "sub/../new.out", "--journal", "new.out", "job.lua", "items.txt"},
      "-o sub/../new.out and --journal new.out are the same file"},
    {"--journal through a link to the -o file, not yet there", function(dir)
        os.execute("ln -s new.out " .. quote(dir .. "/j.link"))
      end, {"-o", "new.out", "--journal", "j.link", "job.lua", "items.txt"},
      "-o new.out and --journal j.link are the same file"},
  }
  for _, case in ipairs(refused) do
    it("is refused with exit 2 for " .. case[1], function()
      local dir = testing.tmpdir()
      testing.write_file(dir .. "/job.lua", JOB)
      testing.write_file(dir .. "/items.txt", ITEMS)
      if case[2] then case[2](dir) end
      local before = listdir(dir)
      local code, stderr = run_in(dir, case[3])
      assert.are.equal(2, code)
      assert.truthy(stderr:find(case[4], 1, true), stderr)
      assert.are.equal(1, select(2, stderr:gsub("\n", "")))
      assert.are.same(before, listdir(dir))
      assert.are.equal(JOB, testing.read_file(dir .. "/job.lua"))
      assert.are.equal(ITEMS, testing.read_file(dir .. "/items.txt"))
      testing.remove_tree(dir)
    end)
  end

  -- {what the user does, args}: no file is written twice or overwritten.
  local allowed = {
    {"-o and --errors both /dev/null", {"-k", "-o", "/dev/null", "--errors", "/dev/null",
      "job.lua", "items.txt"}},
    {"one input given twice", {"-o", "out.json", "job.lua", "items.txt", "items.txt"}},
    {"an input that is /dev/null, -o /dev/null", {"-o", "/dev/null", "job.lua", "/dev/null"}},
  }
  for _, case in ipairs(allowed) do
    it("is allowed for " .. case[1], function()
      local dir = testing.tmpdir()
      testing.write_file(dir .. "/job.lua", JOB)
      testing.write_file(dir .. "/items.txt", ITEMS)
      local code, stderr = run_in(dir, case[2])
      assert.are.same({0, ""}, {code, stderr})
      testing.remove_tree(dir)
    end)
  end
end)
