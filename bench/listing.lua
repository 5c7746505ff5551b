-- wrk script of bench/listing.sh: GET listing pages at random (the last page among them), with
-- a one-item POST /updateInventory every UPDATE_EVERY requests. The requests are built once per
-- wrk thread (REQUESTS of them, then cycled), so wrk spends no Lua time per request on this
-- 2-core box. Env: PAGES (the last page number), PRODUCTS, UPDATE_EVERY (default 10).
local pages = tonumber(os.getenv("PAGES") or "10000")
local products = tonumber(os.getenv("PRODUCTS") or "500000")
local every = tonumber(os.getenv("UPDATE_EVERY") or "10")
local count = tonumber(os.getenv("REQUESTS") or "4096")
local reqs = {}
local i = 0

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for n = 1, count do
    if n % every == 0 then
      local p = math.random(0, products - 1)
      local body = string.format(
        '{"inventoryList":[{"productId":"P%07d","variantId":"P%07d-A","inventory":%d}]}',
        p, p, n % 100)
      reqs[n] = wrk.format("POST", "/updateInventory",
        { ["Content-Type"] = "application/json" }, body)
    else
      local page = math.random(1, pages)
      if n % 64 == 1 then page = pages end
      reqs[n] = wrk.format("GET",
        "/products?pageNumber=" .. page .. "&pageSize=50&publishedStatus=PUBLISHED")
    end
  end
end

function request()
  i = i % count + 1
  return reqs[i]
end

-- One machine-readable line for bench/listing.sh (latency in microseconds).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50.0), latency:percentile(99.0), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
