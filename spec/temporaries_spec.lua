-- Temporary files of -o FILE: a run killed with SIGKILL leaves
-- FILE.luaworkq-XXXXXX behind; the next run with the same -o removes it,
-- and never the temporary file of a run that is still going, nor those of
-- another FILE.
local testing = require "luaworkq.testing"

local quote = testing.quote

local support = require "support"
local listdir, output_of = support.listdir, support.output_of

-- The names in dir that are temporary files of name.
local function temporaries(dir, name)
  local found = {}
  for _, n in ipairs(listdir(dir)) do
    if n:sub(1, #name + 10) == name .. ".luaworkq-" then found[#found + 1] = n end
  end
  return found
end

-- Items wait for the file go in dir, at most 30 s, so that a run can be
-- caught while it writes.
local WAITING = [[
function process(s)
  local deadline = os.time() + 30
  while os.time() < deadline do
    local f = io.open(luaworkq.args.dir .. "/go")
    if f then f:close() return s end
  end
  error("gave up waiting")
end
]]

-- Starts a run writing -o dir/out.json (or -o output, which leads to
-- dir/out.json) and waits until its temporary file is there; returns the
-- run.
local function start_writer(dir, items, output)
  local before = #temporaries(dir, "out.json")
  local run = testing.spawn{job_source = WAITING, items = items,
                            args = {"-j", "1", "-o", output or dir .. "/out.json",
                                    "--set", "dir=" .. dir}}
  assert(testing.wait_for(function() return #temporaries(dir, "out.json") > before end))
  return run
end

describe("temporary files of -o", function()
  it("left by a killed run are removed by the next run of the same -o", function()
    local dir = testing.tmpdir()
    local killed = start_writer(dir, {"a"})
    killed.kill("KILL")
    assert.are.equal(137, killed.wait().code)
    local left = temporaries(dir, "out.json")
    assert.are.equal(1, #left)
    -- Another output's leftover, and a name that only looks alike.
    testing.write_file(dir .. "/other.json.luaworkq-AbC123", "x")
    testing.write_file(dir .. "/out.json.luaworkq-AbC12", "x")
    local r = testing.run{job_source = "function process(s) return s end", items = {"b"},
                          args = {"-o", dir .. "/out.json"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.are.equal('["b"]\n', testing.read_file(dir .. "/out.json"))
    assert.are.same({"other.json.luaworkq-AbC123", "out.json", "out.json.luaworkq-AbC12"},
                    listdir(dir))
    testing.remove_tree(dir)
  end)

  it("of a run still going are left alone by another run", function()
    local dir = testing.tmpdir()
    local going = start_writer(dir, {"first"})
    local mine = temporaries(dir, "out.json")
    local r = testing.run{job_source = "function process(s) return s end", items = {"second"},
                          args = {"-o", dir .. "/out.json"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.are.same(mine, temporaries(dir, "out.json"))
    testing.write_file(dir .. "/go", "")
    assert.are.equal(0, going.wait().code)
    assert.are.equal('["first"]\n', testing.read_file(dir .. "/out.json"))
    assert.are.same({}, temporaries(dir, "out.json"))
    testing.remove_tree(dir)
  end)

  it("are readable by no one else while a private file is rewritten", function()
    local dir = testing.tmpdir()
    testing.write_file(dir .. "/out.json", "old\n")
    assert(os.execute("chmod 600 " .. quote(dir .. "/out.json")))
    local going = start_writer(dir, {"private"})
    local tmp = dir .. "/" .. temporaries(dir, "out.json")[1]
    assert.are.equal("600", output_of("stat -c %a " .. quote(tmp)))
    testing.write_file(dir .. "/go", "")
    assert.are.equal(0, going.wait().code)
    assert.are.equal('["private"]\n', testing.read_file(dir .. "/out.json"))
    assert.are.equal("600", output_of("stat -c %a " .. quote(dir .. "/out.json")))
    testing.remove_tree(dir)
  end)

  it("for -o through a link lie beside the link's target, and are removed there",
     function()
    local dir = testing.tmpdir()
    local real = dir .. "/real"
    assert(os.execute("mkdir " .. quote(real) .. " && ln -s real/out.json " ..
                      quote(dir .. "/link")))
    local killed = start_writer(real, {"a"}, dir .. "/link")
    killed.kill("KILL")
    assert.are.equal(137, killed.wait().code)
    assert.are.equal(1, #temporaries(real, "out.json"))
    local r = testing.run{job_source = "function process(s) return s end", items = {"b"},
                          args = {"-o", dir .. "/link"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.are.equal('["b"]\n', testing.read_file(real .. "/out.json"))
    assert.are.same({"out.json"}, listdir(real))
    assert.are.same({"link", "real"}, listdir(dir))
    testing.remove_tree(dir)
  end)

  it("of --errors FILE left by a killed run are removed too", function()
    local dir = testing.tmpdir()
    testing.write_file(dir .. "/errors.json.luaworkq-Zz9999", "")
    local r = testing.run{job_source = "function process(s) error('no') end", items = {"b"},
                          args = {"-k", "--errors", dir .. "/errors.json", "-q"}}
    assert.are.equal(1, r.code)
    assert.are.same({"errors.json"}, listdir(dir))
    testing.remove_tree(dir)
  end)
end)
