#!/usr/bin/env bash
# Read-back cost: a default `stockwire conform` run (200 cases) against a local partner, with and
# without a stock probe that costs about 10 ms per call (curl to the partner's own one-item read
# endpoint, here the mock's /__admin/stock). Runs alternate (baseline, probe,
# baseline, probe, ...) in one script so machine noise hits both alike; the figure that counts
# is the ratio of the medians (the issue's bound: at most 3x).
#
#   bash bench/probe-cost.sh            # 3 rounds
#   ROUNDS=5 BIN=target/debug/stockwire bash bench/probe-cost.sh
#
# Needs curl, jq and bc. Nothing here reaches the network. SAMPLE=all reads back every case
# (the default reads back the first case of each kind).
set -u
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SEED=${SEED:-7}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q --bin stockwire || exit 2
  BIN=target/release/stockwire
fi
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

# A catalog of 100 items (50 products x 2 variants): cases rarely share an item, so holding
# items until their read-back costs little concurrency.
python3 -c 'import json; print(json.dumps([{"productId": f"P-{i:03}", "variantId": f"P-{i:03}-{v}", "stock": 5} for i in range(50) for v in "AB"]))' >"$tmp/catalog.json"
$BIN mock --port 0 --no-scenario --catalog "$tmp/catalog.json" >"$tmp/mock.out" 2>&1 &
for _ in $(seq 50); do grep -q 'listening on' "$tmp/mock.out" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/mock.out" | head -1)
[ -n "$URL" ] || { echo "mock did not start"; cat "$tmp/mock.out"; exit 2; }

# The probe: curl to the partner's own one-item read endpoint (here the mock's /__admin/stock),
# about 5-10 ms per call on this machine (printed below). Ids come in as URL-encoded
# placeholders (never spliced raw).
PROBE="curl -sf '$URL/__admin/stock?seller=demo&productId='{productId:url}'&variantId='{variantId:url}"
SAMPLE_PROBE="curl -sf '$URL/__admin/stock?seller=demo&productId=P-001&variantId=P-001-A'"

probe_cost=$( { /usr/bin/time -f '%e %U %S' sh -c "for i in \$(seq 20); do sh -c \"$SAMPLE_PROBE\" >/dev/null; done" ; } 2>&1 | tail -1)
read -r pw pu ps <<<"$probe_cost"
echo "probe: $(echo "scale=1; $pw * 50" | bc) ms wall, $(echo "scale=1; ($pu + $ps) * 50" | bc) ms CPU per call (mean of 20)"

run() { # label, extra flags...
  local label=$1; shift
  $BIN conform --target "$URL" --username demo --password demo-pass \
    --catalog "$tmp/catalog.json" --seller demo --seed "$SEED" -q \
    --report "json=$tmp/$label.json" "$@" >"$tmp/$label.txt" 2>&1
  jq -r '[.summary.duration_ms, .summary.cases, .summary.cases_per_sec, (.read_back.reads // 0), (.read_back.cases_read // 0), .summary.exit_code] | @tsv' "$tmp/$label.json"
}

base=(); with=()
printf '%-8s %-5s %9s %6s %9s %7s %9s %4s\n' round run ms cases cases/s reads read-back exit
for r in $(seq "$ROUNDS"); do
  # Without a probe the mock's ledger would be read instead: turn the read-back off entirely
  # by pointing nothing at it (the ledger reader is only used when no probe is given), so the
  # baseline is today's run with the state checks skipped.
  read -r ms cases cps reads rcases code < <(run "base$r" --skip-checks stored-value,stored-per-item,refused-not-stored,auth-no-effect)
  printf '%-8s %-5s %9s %6s %9.1f %7s %9s %4s\n' "$r" base "$ms" "$cases" "$cps" "$reads" "$rcases" "$code"
  base+=("$ms")
  read -r ms cases cps reads rcases code < <(run "probe$r" --stock-probe "$PROBE" ${SAMPLE:+--stock-sample "$SAMPLE"})
  printf '%-8s %-5s %9s %6s %9.1f %7s %9s %4s\n' "$r" probe "$ms" "$cases" "$cps" "$reads" "$rcases" "$code"
  with+=("$ms")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb=$(median "${base[@]}"); mw=$(median "${with[@]}")
echo "median without probe: ${mb} ms; with probe: ${mw} ms; ratio $(echo "scale=2; $mw / $mb" | bc)x (bound: 3x)"
