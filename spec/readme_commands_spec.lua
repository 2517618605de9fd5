-- The commands the README shows, with the output it shows: each is run
-- through the real binary (in a folder holding the jobs the README defines
-- in its code blocks and the files it shows with `cat`) and must print what
-- the README says. A command that names a file the README does not define
-- is not run, unless the README shows it refused before any file is read
-- (an unknown option); the spec checks that enough commands ran.
local testing = require "luaworkq.testing"
local support = require "support"

local README = support.SRC .. "/README.md"

-- The files the README defines: each ```lua block whose first line is a
-- comment naming it ("-- wordcount.lua: ...").
local function defined_files(text)
  local files = {}
  for body in text:gmatch("```lua\n(.-)```") do
    local name = body:match("^%-%- ([%w%-_]+%.lua)[: ]")
    if name then files[name] = body end
  end
  return files
end

-- The shown sessions: in each indented block, the "$ " lines and the lines
-- after each until the next one, as {cmd = ..., out = ...}.
local function sessions(text)
  local shown, cur = {}, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local cmd = line:match("^    %$ (.*)$")
    if cmd then
      cur = {cmd = cmd, out = {}}
      shown[#shown + 1] = cur
    elseif cur and line:match("^    ") then
      cur.out[#cur.out + 1] = line:sub(5)
    else
      cur = nil
    end
  end
  for _, s in ipairs(shown) do s.out = table.concat(s.out, "\n") end
  return shown
end

-- The file names a command gives.
local function named_files(cmd)
  local names = {}
  for word in cmd:gmatch("[^%s|<>()']+") do
    if word:match("^[%w%-_./]+%.%a+$") and not word:match("^%-") then names[#names + 1] = word end
  end
  return names
end

-- What a command line refused before any file is read says.
local REFUSALS = {"unknown option", "needs a value", "takes no value", "is ambiguous",
                  "cannot be standard input"}

-- Whether cmd can run here: every file it names is known, or the README
-- shows it refused with one line before any file is read.
local function runnable(s, known)
  local unknown = 0
  for _, f in ipairs(named_files(s.cmd)) do
    if not known[f] then unknown = unknown + 1 end
  end
  if unknown == 0 then return true end
  if s.out:find("\n") or not s.out:match("^luaworkq: ") then return false end
  for _, refusal in ipairs(REFUSALS) do
    if s.out:find(refusal, 1, true) then return true end
  end
  return false
end

describe("the README's commands", function()
  local dir
  support.tmpdir_all(function(path) dir = path end)

  it("print what the README shows", function()
    local text = testing.read_file(README)
    local known = defined_files(text)
    for name, body in pairs(known) do testing.write_file(dir .. "/" .. name, body) end
    local bin = support.absolute(os.getenv("LUAWORKQ") or "luaworkq")
    assert(os.execute("mkdir -p " .. testing.quote(dir .. "/bin") .. " && ln -sf "
      .. testing.quote(bin) .. " " .. testing.quote(dir .. "/bin/luaworkq")))
    local ran = 0
    for _, s in ipairs(sessions(text)) do
      local shown_file = s.cmd:match("^cat ([%w%-_.]+)$")
      if shown_file and not known[shown_file] and not testing.read_file(dir .. "/" .. shown_file) then
        -- the README shows a file no command made: that is what it holds
        testing.write_file(dir .. "/" .. shown_file, s.out .. "\n")
        known[shown_file] = true
      elseif runnable(s, known) then
        local script = ("cd %s && PATH=%s:$PATH && { %s ; } 2>&1"):format(
          testing.quote(dir), testing.quote(dir .. "/bin"), s.cmd)
        local p = assert(io.popen("bash -c " .. testing.quote(script)))
        local out = p:read("a"):gsub("\n$", "")
        p:close()
        assert.are.equal(s.out, out, s.cmd)
        ran = ran + 1
      end
    end
    assert.is_true(ran >= 10, ran .. " commands ran")
  end)
end)
