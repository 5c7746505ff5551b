#!/usr/bin/env bash
# Instructions per listing request, counted by valgrind's callgrind: a figure that does not move
# with the machine's load (bench/listing.sh's req/s ratio swung from 0.35 to 0.6 on one shared
# 2-core host in one morning, for one binary). It counts the mock's own work only, not the
# kernel's (the socket writes, which the bare server of bench/listing.sh pays as well) and not
# the time a cache miss costs.
#
# The release mock (one worker thread) on a generated catalog of PRODUCTS products x 2 variants
# (default 50,000 x 2 = 100,000 items: start-up under valgrind stays short; a page's work does
# not depend on the catalog's size) answers WARM requests, the counters are zeroed, then it
# answers REQUESTS more: 9 in 10 a random listing page (50 products) of the first PAGES pages,
# 1 in 10 a one-item POST /updateInventory of a known item (bench/listing.lua's mix, with a
# fixed seed). Prints the instructions per request.
#
#   bash bench/listing-cost.sh                 # builds what is missing (release)
#   BIN=/path/to/stockwire REQUESTS=2000 bash bench/listing-cost.sh
#
# Needs valgrind (callgrind_control, callgrind_annotate), python3, curl and awk. Loopback only.
set -u
cd "$(dirname "$0")/.."
PRODUCTS=${PRODUCTS:-50000}
PAGES=${PAGES:-1000}
WARM=${WARM:-200}
REQUESTS=${REQUESTS:-2000}
PORT=${PORT:-18083}
BIN=${BIN:-target/release/stockwire}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
[ -x "$BIN" ] || cargo build --release --locked -q --bin stockwire || exit 2

tmp=$(mktemp -d)
trap 'kill $MOCK 2>/dev/null; rm -rf "$tmp"' EXIT
MOCK=

awk -v n="$PRODUCTS" 'BEGIN { print "productId,variantId,stock";
  for (i = 0; i < n; i++) { p = sprintf("P%07d", i); print p "," p "-A,5"; print p "," p "-B,5" } }' \
  > "$tmp/catalog.csv"

# The load: one keep-alive connection, requests one after the other, every answer checked.
cat > "$tmp/load.py" <<'EOF'
import http.client, json, random, sys
port, n, pages, products = (int(a) for a in sys.argv[1:5])
random.seed(7)
c = http.client.HTTPConnection("127.0.0.1", port)
for k in range(1, n + 1):
    if k % 10 == 0:
        p = random.randrange(products)
        body = json.dumps({"inventoryList": [
            {"productId": "P%07d" % p, "variantId": "P%07d-A" % p, "inventory": k % 100}]})
        c.request("POST", "/updateInventory", body, {"Content-Type": "application/json"})
    else:
        c.request("GET", "/products?pageNumber=%d&pageSize=50&publishedStatus=PUBLISHED"
                  % random.randint(1, pages))
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("request %d answered %d" % (k, r.status))
EOF

valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
  "$BIN" mock --port "$PORT" --no-auth --no-scenario --threads 1 --catalog "$tmp/catalog.csv" \
  >"$tmp/mock.out" 2>&1 &
MOCK=$!
for _ in $(seq 600); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/__admin/health" && break
  kill -0 $MOCK 2>/dev/null || { cat "$tmp/mock.out"; exit 1; }
  sleep 0.5
done
python3 "$tmp/load.py" "$PORT" "$WARM" "$PAGES" "$PRODUCTS" || exit 1
callgrind_control -z "$MOCK" >/dev/null 2>&1
python3 "$tmp/load.py" "$PORT" "$REQUESTS" "$PAGES" "$PRODUCTS" || exit 1
callgrind_control -d "$MOCK" >/dev/null 2>&1
sleep 1
dump=$(ls -t "$tmp"/cg.out* | grep -v '^$' | head -1)
ir=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
[ -n "$ir" ] || { echo "no callgrind totals"; exit 1; }
echo "mock: $REQUESTS requests (9 in 10 a random page of 50 products, 1 in 10 a one-item update)"
echo "instructions: $ir in all, $((ir / REQUESTS)) a request"
