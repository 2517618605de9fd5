-- A spec of a luaworkq job, as a user writes one (the README shows it).
-- Run it with: busted spec/user_spec_example_spec.lua
local testing = require "luaworkq.testing"

local JOB = "scripts/examples/wordcount.lua"

describe("wordcount.lua", function()
  it("counts the words of a line, and nothing for a line without words", function()
    local job = testing.load(JOB)
    assert.are.same({the = 2, cat = 1}, job.process("The cat, the", 1))
    assert.is_nil(job.process("  ...", 2))
  end)

  it("merges two counts by adding them", function()
    local job = testing.load(JOB)
    assert.are.same({a = 3, b = 1}, job.merge({a = 1}, {a = 2, b = 1}))
  end)

  it("writes the most frequent words when run by luaworkq on four threads", function()
    local r = testing.run{job = JOB, items = {"the cat", "", "The hat"}, args = {"-j", "4"}}
    assert.are.equal(0, r.code)
    assert.are.equal("", r.stderr)
    assert.are.same({words = 3, top = {{word = "the", count = 2},
                                       {word = "cat", count = 1},
                                       {word = "hat", count = 1}}}, r.output)
  end)
end)
