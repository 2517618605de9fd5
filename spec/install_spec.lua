-- cmake --install: the binary, the man page and the testing module land in
-- a prefix where they work. The build installed is the one that built
-- $LUAWORKQ (BUILD/luaworkq).
local testing = require "luaworkq.testing"
local quote = testing.quote

local BIN = assert(os.getenv("LUAWORKQ"), "set LUAWORKQ to BUILD/luaworkq")
local BUILD = BIN:match("^(.*)/[^/]*$") or "."
local support = require "support"

-- Runs a shell command; returns its exit code, stdout and stderr.
local function capture(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local ok, how, n = os.execute(("(%s) >%s 2>%s"):format(cmd, quote(out), quote(err)))
  local code = how == "exit" and n or 128 + n
  local stdout, stderr = testing.read_file(out), testing.read_file(err)
  os.remove(out)
  os.remove(err)
  return code, stdout, stderr
end

describe("cmake --install --prefix", function()
  local prefix
  setup(function()
    prefix = testing.tmpdir()
    local code, _, err = capture(("cmake --install %s --prefix %s"):format(quote(BUILD), quote(prefix)))
    assert(code == 0, "cmake --install failed: " .. err)
  end)
  teardown(function() testing.remove_tree(prefix) end)

  it("puts luaworkq in bin/, the same version as the build's", function()
    local code, installed = capture(quote(prefix .. "/bin/luaworkq") .. " --version")
    local _, built = capture(quote(BIN) .. " --version")
    assert.are.equal(0, code)
    assert.matches("^luaworkq %d+%.%d+%.%d+", installed)
    assert.are.equal(built, installed)
  end)

  it("installs a luaworkq that runs a job", function()
    support.runs_a_job(prefix .. "/bin/luaworkq")
  end)

  it("installs the man page in share/man/man1, which man renders without warnings",
    function()
      if capture("command -v man") ~= 0 then
        pending("man is not installed")
        return
      end
      local page = prefix .. "/share/man/man1/luaworkq.1"
      local code, text, warnings = capture("MANWIDTH=80 man --warnings -l " .. quote(page))
      assert.are.same({0, ""}, {code, warnings})
      assert.matches("luaworkq %- run a Lua script", text)
      assert.matches("EXIT STATUS", text)
    end)

  it("installs luaworkq.testing where lua5.4 finds it with LUA_PATH", function()
    support.finds_testing_module_in(prefix .. "/share")
  end)
end)
