-- JSON-lines transform: a flat record, with its total, for each order kept.
--   luaworkq --ndjson-in -f ndjson scripts/examples/jsonl-transform.lua scripts/examples/data/orders.jsonl
-- With --ndjson-in each line arrives decoded: objects and arrays as tables,
-- JSON null as luaworkq.null, [] as an empty table marked as an array.
-- Returning nil drops an order (the cancelled ones); a field set to nil is
-- left out of the record.

local null = luaworkq.null

function process(order)
  if order.status == "cancelled" then return nil end
  local skus, total = {}, 0
  for i, item in ipairs(order.items) do
    skus[i] = item.sku
    total = total + item.qty * item.price_cents
  end
  return {
    id = order.id,
    date = order.created:sub(1, 10),             -- "2024-08-12"
    customer = order.customer.name,
    country = order.customer.country,
    status = order.status,
    total_cents = total,
    skus = luaworkq.array(skus),                 -- [] rather than {} when empty
    coupon = order.coupon ~= null and order.coupon or nil,  -- no "coupon":null
  }
end
