-- csvout workload: the records whose id is a multiple of 3, written back
-- with -f csv (the input's header, its order and quoting).
function process(r)
  if tonumber(r.id) % 3 == 0 then return r end
end
