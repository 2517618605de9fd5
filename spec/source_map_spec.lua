-- The README's source map: every module of src/ (each .c or .h file, named
-- without its ending) has a row in the module table of "How it works".
local testing = require "luaworkq.testing"
local support = require "support"

describe("the README's module table", function()
  it("has a row for every file of src/", function()
    local readme = assert(testing.read_file(support.SRC .. "/README.md"))
    local rows = {}
    for name in readme:gmatch("\n| `([%w_]+)` |") do rows[name] = true end
    local missing = {}
    for _, file in ipairs(support.listdir(support.SRC .. "/src")) do
      local module = file:match("^([%w_]+)%.[ch]$")
      if module and not rows[module] then
        missing[#missing + 1] = file
      end
    end
    assert.are.same({}, missing)
  end)
end)
