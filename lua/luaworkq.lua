-- The luaworkq module, as job scripts see it (also the global `luaworkq`).
-- The host passes `core`: the values and C functions of this state.
local core = select(2, ...)

local M = {
  worker = core.worker,    -- 1..workers in a worker, 0 in the host
  workers = core.workers,
  args = core.args,        -- from --set KEY=VALUE, all strings
  version = core.version,
  null = core.null,        -- encodes as JSON null (the same value as cjson.null)
  where = core.where,      -- in process: the item's input name and LINE
  header = core.header,    -- with --header: the names of the current
                           -- file's header, in order; else nil
  -- JSON by the output's rules: sorted keys, exact integers, floats that
  -- read back exactly; decode keeps integers and names the byte of an error.
  json = {encode = core.json_encode, decode = core.json_decode},
  -- exec(argv [, {stdin = s}]) -> code, stdout, stderr: a program run
  -- without a shell, argv[1] looked up on PATH; code is the exit status or
  -- 128 + the signal.
  exec = core.exec,
}

local array_mt = core.array_mt
local copy_view = core.copy_view
local write = core.write
local pack, concat, tostring = table.pack, table.concat, tostring

-- Writes its arguments, tab-separated as print does, as one whole line on
-- stderr: never torn by other workers' lines.
function M.log(...)
  local t = pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  write(concat(t, "\t", 1, t.n))
end

-- Marks t (a new table if nil) to be written as a JSON array even when empty.
function M.array(t)
  return setmetatable(t or {}, array_mt)
end

-- A deep copy of v: tables all the way down, each with the metatable of
-- the one it copies; a view of the shared data (luaworkq.shared) becomes
-- plain tables that the caller may modify. A table reached twice is copied
-- once, so cycles and shared parts stay as they are.
function M.copy(v)
  local seen = {}
  local function copy(x)
    if type(x) == "userdata" then return copy_view(x) or x end
    if type(x) ~= "table" then return x end
    if seen[x] then return seen[x] end
    local t = {}
    seen[x] = t
    for k, y in next, x do t[copy(k)] = copy(y) end
    local mt = getmetatable(x)
    if type(mt) == "table" then setmetatable(t, mt) end
    return t
  end
  return copy(v)
end

return M
