-- --retry-failed with --journal: after a -k run in which some items failed
-- on a bug, the fixed script runs only those items again, keeps the other
-- results, and gives the output of a clean run; the options and the input
-- must still be those of the journal.
local testing = require "luaworkq.testing"
local support = require "support"

-- Each version of the job notes the indexes it processes in ran-W (W: its
-- worker), so the spec sees which items a run processed.
local NOTE = [[
local function note(index)
  local f = assert(io.open(luaworkq.args.dir .. "/ran-" .. luaworkq.worker, "a"))
  f:write(index, "\n")
  f:close()
end
]]
local BUGGY = NOTE .. [[
function process(s, index)
  note(index)
  if s:find("bug") then error("cannot handle " .. s) end
  return s:upper()
end
]]
local FIXED = NOTE .. [[
function process(s, index)
  note(index)
  return s:upper()
end
]]
-- Items 3 and 7 hit the bug.
local ITEMS = {"a", "b", "bug c", "d", "e", "f", "bug g", "h", "i", "j"}
local CLEAN = '["A","B","BUG C","D","E","F","BUG G","H","I","J"]\n'

describe("--retry-failed", function()
  local dir, job, items, journal
  support.tmpdir_each(function(path)
    dir = path
    job, journal = dir .. "/job.lua", dir .. "/run.journal"
    items = testing.write_file(dir .. "/items.txt", table.concat(ITEMS, "\n") .. "\n")
  end)

  -- The indexes processed since the last call, sorted (the notes are removed).
  local function ran()
    local t = {}
    for w = 1, 2 do
      local path = dir .. "/ran-" .. w
      for i in (testing.read_file(path) or ""):gmatch("%d+") do t[#t + 1] = tonumber(i) end
      os.remove(path)
    end
    table.sort(t)
    return t
  end

  -- Runs the job (with source) over items with the journal and args.
  local function run(source, args, files)
    testing.write_file(job, source)
    local all = {"-j", "2", "--journal", journal, "--set", "dir=" .. dir}
    for _, a in ipairs(args or {}) do all[#all + 1] = a end
    return testing.run{job = job, files = files or {items}, args = all}
  end

  -- The buggy run: items 3 and 7 fail, the others are journaled.
  local function buggy_run()
    local r = run(BUGGY, {"-k"})
    assert.are.same({1, '["A","B","D","E","F","H","I","J"]\n'}, {r.code, r.stdout})
    assert.are.same({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, ran())
  end

  it("runs only the failed items with the fixed script, giving a clean run's output",
     function()
    buggy_run()
    local r = run(FIXED, {"--retry-failed"})
    assert.are.same({0, CLEAN, "luaworkq: --retry-failed: 8 results kept from the journal, "
                     .. "2 failed items run again\n"}, {r.code, r.stdout, r.stderr})
    assert.are.same({3, 7}, ran())
    -- The journal now belongs to the fixed script: the same command without
    -- --retry-failed resumes it, with nothing left to run.
    r = run(FIXED)
    assert.are.same({0, CLEAN, ""}, {r.code, r.stdout, r.stderr})
    assert.are.same({}, ran())
  end)

  it("is needed to take a journal of another script, as the refusal says", function()
    buggy_run()
    local r = run(FIXED)
    assert.are.same({2, ""}, {r.code, r.stdout})
    assert.are.equal("luaworkq: journal " .. journal .. " was made by another job script\n"
      .. "luaworkq: --retry-failed reruns its failed items with this script, keeping its "
      .. "other results\n", r.stderr)
    assert.are.same({}, ran())
  end)

  it("is a plain resume when no item failed", function()
    local r = run(FIXED)
    assert.are.same({0, CLEAN}, {r.code, r.stdout})
    ran()
    r = run(FIXED, {"--retry-failed"})
    assert.are.same({0, CLEAN, "luaworkq: --retry-failed: 10 results kept from the journal, "
                     .. "0 failed items run again\n"}, {r.code, r.stdout, r.stderr})
    assert.are.same({}, ran())
  end)

  it("is refused (exit 2) when the options changed", function()
    buggy_run()
    local r = run(FIXED, {"--retry-failed", "-f", "ndjson"})
    assert.are.same({2, ""}, {r.code, r.stdout})
    assert.matches("^luaworkq: journal [^\n]* was made with other options: format json "
                   .. "%(this run: format ndjson%)\n$", r.stderr)
    assert.are.same({}, ran())
  end)

  it("is refused (exit 2) when the input changed", function()
    buggy_run()
    local changed = testing.write_file(dir .. "/changed.txt",
      table.concat(ITEMS, "\n"):gsub("^a\n", "A\n") .. "\n")
    local r = run(FIXED, {"--retry-failed"}, {changed})
    assert.are.same({2, "[]\n"}, {r.code, r.stdout})
    assert.truthy(r.stderr:find("luaworkq: item 1 (" .. changed .. ":1) differs from the one "
      .. "journal " .. journal .. " recorded: the input changed\n", 1, true), r.stderr)
    assert.are.same({}, ran())
  end)

  it("gives a merge job's value of a clean run", function()
    local merge = "\nfunction merge(a, b) return a .. b end\n"
    local r = run(BUGGY .. merge, {"-k"})
    assert.are.same({1, '"ABDEFHIJ"\n'}, {r.code, r.stdout})
    ran()
    r = run(FIXED .. merge, {"--retry-failed"})
    assert.are.same({0, '"ABBUG CDEFBUG GHIJ"\n'}, {r.code, r.stdout})
    assert.are.same({3, 7}, ran())
  end)

  it("needs --journal", function()
    testing.write_file(job, FIXED)
    local r = testing.run{job = job, files = {items}, args = {"--retry-failed"}}
    assert.are.same({2, "", "luaworkq: --retry-failed reruns what a journal records as "
                     .. "failed: it needs --journal\n"}, {r.code, r.stdout, r.stderr})
  end)
end)
