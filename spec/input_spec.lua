-- Input: how luaworkq splits files and standard input into items.
local testing = require "luaworkq.testing"
local support = require "support"

-- Writes each item with its index, bytes outside printable ASCII as \xHH, so
-- that every byte of every item shows in the output.
local ECHO = [[
function process(item, index)
  return index .. " " .. (item:gsub("[^\32-\126]", function(c)
    return ("\\x%02X"):format(c:byte())
  end))
end
]]

local function lines(list)
  return #list > 0 and table.concat(list, "\n") .. "\n" or ""
end

describe("input", function()
  local dir
  support.tmpdir_all(function(path) dir = path end)

  -- Writes each content to a file of its own and returns their paths; "-"
  -- stays "-" (standard input).
  local function files(contents)
    local paths = {}
    for i, content in ipairs(contents or {}) do
      paths[i] = content == "-" and "-"
        or testing.write_file(("%s/items-%d.txt"):format(dir, i), content)
    end
    return paths
  end

  -- {what the user does, input on stdin, files, options, items as ECHO shows them}
  local cases = {
    {"gives a file: one line is one item", files = {"a\nb\nc\n"},
      {"1 a", "2 b", "3 c"}},
    {"gives several files: they are one stream, in order",
      files = {"a\nb\n", "c\n", "d\ne\n"}, {"1 a", "2 b", "3 c", "4 d", "5 e"}},
    {"gives no file: standard input is read", input = "a\nb\n",
      {"1 a", "2 b"}},
    {"gives -: standard input is read", input = "a\nb\n", files = {"-"},
      {"1 a", "2 b"}},
    {"gives - between files: standard input is read in its place",
      input = "b\n", files = {"a\n", "-", "c\n"}, {"1 a", "2 b", "3 c"}},
    {"gives an empty file among others: it adds no item",
      files = {"a\n", "", "b\n"}, {"1 a", "2 b"}},
    {"has empty lines: each is an item", input = "a\n\n\nb\n\n",
      {"1 a", "2 ", "3 ", "4 b", "5 "}},
    {"has a lone newline: one empty item", input = "\n", {"1 "}},
    {"has CRLF line ends: both bytes are removed", input = "a\r\nb\r\n",
      {"1 a", "2 b"}},
    {"has other \\r bytes: only a \\r right before \\n is removed",
      input = "a\r\r\nb\rc\n\r\n", {"1 a\\x0D", "2 b\\x0Dc", "3 "}},
    {"ends without \\n: the last line is an item", input = "a\nb",
      {"1 a", "2 b"}},
    {"ends with \\r and no \\n: the \\r is kept", input = "a\r",
      {"1 a\\x0D"}},
    {"has NUL bytes inside lines: they are kept", input = "a\0b\n\0\n",
      {"1 a\\x00b", "2 \\x00"}},
    {"uses -0: items are separated by NUL", args = {"-0"}, input = "a\0b\0",
      {"1 a", "2 b"}},
    {"uses -0: newlines and \\r stay inside items", args = {"-0"},
      input = "a\nb\0c\r\n\0", {"1 a\\x0Ab", "2 c\\x0D\\x0A"}},
    {"uses -0: a last record without NUL is an item", args = {"-0"},
      input = "a\0b", {"1 a", "2 b"}},
    {"uses -0: empty records are items", args = {"-0"}, input = "\0\0a\0",
      {"1 ", "2 ", "3 a"}},
    {"uses --null: the same as -0", args = {"--null"}, input = "a\0b\0",
      {"1 a", "2 b"}},
    {"gives empty input: no item", input = "", {}},
  }

  for _, case in ipairs(cases) do
    it(case[1], function()
      local args = {"-j", "3", "-f", "lines"}
      for _, a in ipairs(case.args or {}) do args[#args + 1] = a end
      local r = testing.run{job_source = ECHO, args = args,
                            input = case.input, files = files(case.files)}
      assert.are.equal("", r.stderr)
      assert.are.equal(0, r.code)
      assert.are.equal(lines(case[2]), r.stdout)
    end)
  end

  it("gives empty input: the JSON output is []", function()
    local r = testing.run{job_source = ECHO, input = ""}
    assert.are.same({0, "[]\n", ""}, {r.code, r.stdout, r.stderr})
    r = testing.run{job_source = ECHO, files = files{""}}
    assert.are.same({0, "[]\n", ""}, {r.code, r.stdout, r.stderr})
  end)

  it("has a 20 MB line: it is one item, whole", function()
    local long = string.rep("0123456789", 2097152)
    local r = testing.run{
      job_source = "function process(item) return {#item, item:sub(-3)} end",
      input = "a\n" .. long .. "\nb\n", args = {"-j", "2"}}
    assert.are.equal(0, r.code)
    assert.are.equal('[[1,"a"],[20971520,"789"],[1,"b"]]\n', r.stdout)
  end)

  it("has invalid UTF-8 in items: JSON output has U+FFFD in its place",
    function()
      local items = {"a\xffb", "\x80", "caf\xc3", "\xc3(", "ok é€😀"}
      local r = testing.run{job_source = "function process(item) return item end",
                            items = items}
      assert.are.equal(0, r.code)
      assert.are.same({"a\u{FFFD}b", "\u{FFFD}", "caf\u{FFFD}", "\u{FFFD}(",
                       "ok é€😀"}, r.output)
    end)

  it("reads 20,000 lines from two files with -j4: index counts over the whole input from 1",
    function()
      local first, second, expected = {}, {}, {}
      for i = 1, 20000 do
        local list = i <= 12345 and first or second
        list[#list + 1] = "line" .. i
        expected[i] = ('[%d,"line%d"]'):format(i, i)
      end
      local r = testing.run{
        job_source = "function process(item, index) return {index, item} end",
        args = {"-j", "4"}, files = files{lines(first), lines(second)}}
      assert.are.equal(0, r.code)
      assert.are.equal("[" .. table.concat(expected, ",") .. "]\n", r.stdout)
    end)
end)
