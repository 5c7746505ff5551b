#!/usr/bin/env bash
# Defect-finding benchmark: stockwire conform vs Schemathesis on the same partners.
#
# Each fixtures/defects/*.toml scripts ONE realistic partner defect into stockwire-mock; two
# more partners are the correct mock (any report there is a false alarm) and a mock that does not
# check the apiKey (--no-auth). For each partner it runs `stockwire conform` (default budget)
# and, when installed, Schemathesis on `stockwire schema openapi` with all its checks, then
# prints who found what and how long each took.
#
#   bash bench/compare-defects.sh                 # stockwire only, or both if `st` is on PATH
#   ST=/path/to/schemathesis bash bench/compare-defects.sh
#
# Schemathesis is optional (pip install schemathesis); nothing here reaches the network.
set -u
cd "$(dirname "$0")/.."
cargo build --release -q --bin stockwire || exit 2
BIN=target/release/stockwire
ST=${ST:-$(command -v st || command -v schemathesis || true)}
SEED=${SEED:-7}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
$BIN schema openapi --out "$tmp/openapi.json"

start_mock() { # args: extra mock flags; sets URL and KEY
  $BIN mock --port 0 "$@" >"$tmp/mock.out" 2>&1 &
  MOCK=$!
  for _ in $(seq 50); do grep -q 'listening on' "$tmp/mock.out" && break; sleep 0.1; done
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/mock.out" | head -1)
  KEY=$(grep -o 'apiKey swk-[A-Za-z0-9-]*' "$tmp/mock.out" | head -1 | cut -d' ' -f2)
}

now() { date +%s.%N; }

run_one() { # name, mock flags...
  local name=$1; shift
  start_mock "$@"
  local t0 t1 sw st_res st_time
  t0=$(now)
  $BIN conform --target "$URL" --username demo --password demo-pass \
    --catalog fixtures/catalogs/demo.json --seed "$SEED" -q \
    --report json="$tmp/report.json" >"$tmp/conform.out" 2>&1
  local code=$?
  t1=$(now)
  sw=$(python3 - "$tmp/report.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    print(",".join(c["id"] for c in r["checks"] if c.get("status") == "failed") or "-")
except Exception as e:
    print("no report")
PY
)
  local sw_time; sw_time=$(python3 -c "print(f'{$t1-$t0:.1f}s')")
  kill $MOCK 2>/dev/null; wait $MOCK 2>/dev/null
  st_res="(not installed)"; st_time="-"
  if [ -n "$ST" ]; then
    start_mock "$@"
    t0=$(now)
    (cd "$tmp" && "$ST" run "$tmp/openapi.json" --url "$URL" -H "apiKey: $KEY" --checks all --seed "$SEED" \
      --request-timeout 10 --no-color >"$tmp/st.out" 2>&1)
    t1=$(now)
    st_res=$(grep -oE '❌ [A-Z]+[0-9]+ [^:]+' "$tmp/st.out" | sed 's/❌ //' | cut -d' ' -f1 | sort -u | paste -sd, -)
    [ -z "$st_res" ] && st_res="-"
    st_time=$(python3 -c "print(f'{$t1-$t0:.1f}s')")
    kill $MOCK 2>/dev/null; wait $MOCK 2>/dev/null
  fi
  printf '%-30s | exit %s %-58s %6s | %-34s %6s\n' "$name" "$code" "$sw" "$sw_time" "$st_res" "$st_time"
}

printf '%-30s | %-66s %6s | %-34s %6s\n' partner "stockwire conform: failed checks" time "schemathesis: failures" time
run_one correct-partner --no-scenario
run_one no-auth-check --no-scenario --no-auth
for f in fixtures/defects/*.toml; do
  run_one "$(basename "$f" .toml)" --scenario "$f"
done
