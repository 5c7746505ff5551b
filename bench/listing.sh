#!/usr/bin/env bash
# Listing speed (issue 16, "Speed, in a benchmark"):
#  (a) the release mock on a generated catalog of PRODUCTS products x 2 variants (default
#      500,000 x 2 = 1,000,000 items): start-up (process start to the first answer of
#      /__admin/health, curl every 10 ms) and peak RSS (VmHWM) after start-up and after the load;
#  (b) listing pages (50 products) served by the mock against a bare hyper server
#      (bench/listing-bare) returning a precomputed page of the same bytes (page 1 as the mock
#      served it), with wrk, CONNS connections, random pages with the last one among them and a
#      one-item update every UPDATE_EVERY requests (bench/listing.lua). Rounds alternate
#      (bare, mock, bare, mock, ...) in one run so machine noise hits both; the ratio is of the
#      median req/s.
#
#   bash bench/listing.sh                     # builds what is missing (release)
#   ROUNDS=3 DURATION=10s PRODUCTS=500000 CONNS=16 UPDATE_EVERY=10 bash bench/listing.sh
#
# Needs wrk (apt-get install wrk), curl and awk. Nothing here reaches the network.
set -u
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-16}
PRODUCTS=${PRODUCTS:-500000}
UPDATE_EVERY=${UPDATE_EVERY:-10}
MOCK_PORT=${MOCK_PORT:-18081}
BARE_PORT=${BARE_PORT:-18082}
BIN=${BIN:-target/release/stockwire}
BARE=bench/listing-bare/target/release/listing-bare
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
[ -x "$BIN" ] || cargo build --release --locked -q --bin stockwire || exit 2
[ -x "$BARE" ] || (cd bench/listing-bare && cargo build --release -q) || exit 2

tmp=$(mktemp -d)
trap 'kill $MOCK $BARE_PID 2>/dev/null; rm -rf "$tmp"' EXIT
MOCK=; BARE_PID=

# The catalog: P0000000..P{n-1}, variants -A and -B, stock 5 (CSV, the shared format).
awk -v n="$PRODUCTS" 'BEGIN { print "productId,variantId,stock";
  for (i = 0; i < n; i++) { p = sprintf("P%07d", i); print p "," p "-A,5"; print p "," p "-B,5" } }' \
  > "$tmp/catalog.csv"
echo "catalog: $PRODUCTS products x 2 variants, $(wc -c < "$tmp/catalog.csv") bytes"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
hwm() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

t0=$(ms)
$BIN mock --port "$MOCK_PORT" --no-auth --no-scenario --catalog "$tmp/catalog.csv" \
  >"$tmp/mock.out" 2>&1 &
MOCK=$!
until curl -sf -o /dev/null "http://127.0.0.1:$MOCK_PORT/__admin/health"; do
  kill -0 $MOCK 2>/dev/null || { cat "$tmp/mock.out"; exit 1; }
  [ $(( $(ms) - t0 )) -gt 60000 ] && { echo "the mock did not start within 60 s"; exit 1; }
  sleep 0.01
done
startup=$(( $(ms) - t0 ))
rss_start=$(hwm $MOCK)
echo "mock start-up: ${startup} ms, peak RSS after start-up ${rss_start} MB (targets: < 3000 ms, < 200 MB)"

PAGES=$(( (PRODUCTS + 49) / 50 ))
page() { echo "/products?pageNumber=$1&pageSize=50&publishedStatus=PUBLISHED"; }
curl -sf "http://127.0.0.1:$MOCK_PORT$(page 1)" > "$tmp/page.json" || { echo "page 1 failed"; exit 1; }
last=$(curl -sf "http://127.0.0.1:$MOCK_PORT$(page $PAGES)" | grep -o '"id"' | wc -l)
past=$(curl -sf "http://127.0.0.1:$MOCK_PORT$(page $((PAGES + 1)))")
echo "page 1: $(wc -c < "$tmp/page.json") bytes; last page ($PAGES): $last products; page past it: $past"

$BARE "$BARE_PORT" "$tmp/page.json" 2>"$tmp/bare.out" &
BARE_PID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$BARE_PORT$(page 1)"; do sleep 0.05; done
cmp -s <(curl -sf "http://127.0.0.1:$BARE_PORT$(page 1)") "$tmp/page.json" || { echo "bare page differs"; exit 1; }

export PAGES PRODUCTS UPDATE_EVERY
run() { # port -> "rps p99_us errors"
  wrk -t1 -c"$CONNS" -d"$WARMUP" -s bench/listing.lua "http://127.0.0.1:$1" >/dev/null 2>&1
  wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s bench/listing.lua "http://127.0.0.1:$1" 2>&1 |
    awk '/^WRKRESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
      print r["rps"], r["p99_us"], r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"] }'
}
echo "round  bare req/s  p99     mock req/s  p99     ratio   (errors bare/mock)"
: > "$tmp/rounds"
for r in $(seq "$ROUNDS"); do
  read -r b_rps b_p99 b_err < <(run "$BARE_PORT")
  read -r m_rps m_p99 m_err < <(run "$MOCK_PORT")
  ratio=$(awk -v m="$m_rps" -v b="$b_rps" 'BEGIN { printf "%.2f", m / b }')
  printf "%-6s %-11s %-7s %-11s %-7s %-7s (%s/%s)\n" "$r" "$b_rps" "$((b_p99 / 1000)).$(( (b_p99 % 1000) / 10 ))ms" \
    "$m_rps" "$((m_p99 / 1000)).$(( (m_p99 % 1000) / 10 ))ms" "$ratio" "$b_err" "$m_err"
  echo "$b_rps $m_rps $b_p99 $m_p99" >> "$tmp/rounds"
done
rss_end=$(hwm $MOCK)
sort -n -k1 "$tmp/rounds" | awk '{ b[NR] = $1 } END { print b[int((NR + 1) / 2)] }' > "$tmp/b"
sort -n -k2 "$tmp/rounds" | awk '{ m[NR] = $2 } END { print m[int((NR + 1) / 2)] }' > "$tmp/m"
sort -n -k4 "$tmp/rounds" | awk '{ p[NR] = $4 } END { printf "%.2f", p[int((NR + 1) / 2)] / 1000 }' > "$tmp/p"
echo "median: bare $(cat "$tmp/b") req/s, mock $(cat "$tmp/m") req/s, ratio $(awk -v m="$(cat "$tmp/m")" -v b="$(cat "$tmp/b")" 'BEGIN { printf "%.2f", m / b }') (target >= 0.8); mock p99 $(cat "$tmp/p") ms (target < 2 ms)"
echo "mock peak RSS over the whole run: ${rss_end} MB (target < 200 MB)"
