#!/usr/bin/env bash
# Hostile inputs (issue 19, "Bounded everywhere"): each case feeds stockwire one of the inputs
# that once took memory or time without bound, and prints what it cost now: peak RSS of the
# process that received it (VmHWM, or /usr/bin/time's maximum resident size), wall time, and
# whether a normal client was still served. The "before" column is the figure the issue reported
# for the same input on the build before the bounds; the tests prove each bound by structure,
# this script gives the figures.
#
#   bash bench/hostile.sh                   # every case, release build
#   CASES="token probe" bash bench/hostile.sh
#   BIN=target/debug/stockwire bash bench/hostile.sh
#
# Needs python3 and curl. Everything binds 127.0.0.1; nothing here reaches the network.
set -u
cd "$(dirname "$0")/.."
CASES=${CASES:-"token probe nested regex rules check burst empties"}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q --bin stockwire || exit 2
  BIN=target/release/stockwire
fi
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

row() { printf '%-44s %10s %10s %-22s %s\n' "$@"; }
row "input" "peak RSS" "wall" "before (issue 19)" "outcome"

# Start a mock on a free port with extra flags; sets MOCK_PID and URL.
start_mock() {
  "$BIN" mock --port 0 "$@" >"$tmp/mock.out" 2>&1 &
  MOCK_PID=$!
  URL=""
  for _ in $(seq 100); do
    URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/mock.out" | head -1)
    [ -n "$URL" ] && break
    sleep 0.05
  done
  [ -n "$URL" ] || { echo "mock did not start"; cat "$tmp/mock.out"; exit 2; }
}
stop_mock() { kill "$MOCK_PID" 2>/dev/null; wait "$MOCK_PID" 2>/dev/null; }
hwm() { awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }
# Wall time of a command in seconds, its output in $tmp/last.out.
timed() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$tmp/last.out" 2>&1
  LAST_RC=$?
  t1=$(date +%s.%N)
  WALL=$(printf '%.2f s' "$(echo "$t1 - $t0" | bc)")
}
# /usr/bin/time's peak RSS of a command, its exit code in LAST_RC.
measured() {
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$tmp/time.out" "$@" >"$tmp/last.out" 2>&1
  LAST_RC=$?
  t1=$(date +%s.%N)
  WALL=$(printf '%.2f s' "$(echo "$t1 - $t0" | bc)")
  RSS=$(tail -1 "$tmp/time.out" | awk '{ printf "%.0f MB", $1 / 1024 }')
}

for c in $CASES; do
  case $c in
  token)
    # A partner whose /authToken answers a token of N bytes (GET and POST alike).
    for n in 16 10240 102400 1048576 10485760; do
      cat >"$tmp/partner.py" <<EOF
import http.server, json, sys
tok = "t" * $n
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        body = json.dumps({"status": "SUCCESS", "accessToken": tok} if self.path.startswith("/authToken")
                          else {"status": "SUCCESS", "failedProductList": []}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    do_GET = answer
    do_POST = answer
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
      python3 "$tmp/partner.py" >"$tmp/port" &
      ppid=$!
      for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.05; done
      measured "$BIN" conform --target "http://127.0.0.1:$(cat "$tmp/port")" --username u --password p \
        --catalog fixtures/conform/catalog.json --no-discovery --cases 20 -q
      case $n in 16) before="(baseline)" ;; 10240) before="73 MB" ;; 102400) before="419 MB" ;; 1048576) before="abort" ;; *) before="killed at 24 GB" ;; esac
      row "runner, $n-byte token" "$RSS" "$WALL" "$before" "exit $LAST_RC"
      kill "$ppid" 2>/dev/null; wait "$ppid" 2>/dev/null; : >"$tmp/port"
    done
    ;;
  probe)
    start_mock --no-scenario
    measured "$BIN" conform --target "$URL" --username demo --password demo-pass --cases 20 -q \
      --stock-probe 'head -c 1073741824 /dev/zero'
    row "runner, probe printing 1 GiB" "$RSS" "$WALL" "2.1 GB, abort" "exit $LAST_RC"
    stop_mock
    ;;
  nested | regex | rules)
    start_mock --no-scenario
    case $c in
    nested)
      python3 -c 'd=100000; print("rules:\n- " + "[" * d + "]" * d)' >"$tmp/s.file"
      label="admin PUT, YAML nested 100,000 deep"; before="21 s stall"
      ;;
    regex)
      python3 -c '
import json
alt = "|".join("item-%07d" % i for i in range(1_100_000))
print("[[rules]]\nname = \"r\"\nmatch = { productId = { regex = " + json.dumps(alt) + " } }\neffect = { status = 500 }")' >"$tmp/s.toml"
      label="admin PUT, 14 MB regex alternation"; before="1.94 GB, 11 s stall"
      ;;
    rules)
      python3 -c '
print("".join("[[rules]]\nname = \"r%d\"\nmatch = { productId = \"P-%d\" }\neffect = { status = 500 }\n" % (i, i) for i in range(170_000)))' >"$tmp/s.toml"
      label="admin PUT, 15 MB of rules"; before="987 MB"
      ;;
    esac
    # While the upload is judged, a normal client must still be served: time its health call.
    file=$(ls "$tmp"/s.toml "$tmp"/s.file 2>/dev/null | head -1)
    ctype=application/toml
    [ "$c" = nested ] && ctype=application/yaml
    curl -s -o "$tmp/put.out" -w '%{http_code}' -X PUT --data-binary @"$file" \
      -H "Content-Type: $ctype" "$URL/__admin/scenario" >"$tmp/put.code" &
    cpid=$!
    sleep 0.2
    health=$(curl -s -o /dev/null -w '%{time_total}' "$URL/__admin/health")
    wait "$cpid"
    rm -f "$tmp"/s.toml "$tmp"/s.file
    row "$label" "$(hwm "$MOCK_PID")" "health $(printf '%.3f' "$health") s" "$before" \
      "HTTP $(cat "$tmp/put.code"): $(head -c 90 "$tmp/put.out" | tr '\n' ' ')"
    stop_mock
    ;;
  check)
    python3 -c '
import sys
line = "[[rules]]\nname = \"r\"\nmatch = { productId = \"P\" }\neffect = { status = 500 }\n"
sys.stdout.write(line * (100 * 1024 * 1024 // len(line)))' >"$tmp/big.toml"
    measured "$BIN" mock check "$tmp/big.toml"
    row "mock check, 100 MB scenario" "$RSS" "$WALL" "6.4 GB, 25 s" "exit $LAST_RC: $(head -c 80 "$tmp/last.out" | tr '\n' ' ')"
    ;;
  burst)
    start_mock --no-scenario --max-connections 1024
    python3 - "$URL" >"$tmp/burst.out" <<'EOF'
import socket, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
idle = []
for _ in range(1100):
    try:
        idle.append(socket.create_connection((u.hostname, u.port)))
    except OSError:
        break
time.sleep(0.5)
t0 = time.time()
s = socket.create_connection((u.hostname, u.port))
s.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
line = s.makefile("rb").readline().decode().strip()
print(f"{len(idle)} idle opened; new client: {line} after {time.time() - t0:.3f} s")
EOF
    row "mock, 1,100 idle connections + 1 client" "$(hwm "$MOCK_PID")" "-" "503 after 2 s" "$(cat "$tmp/burst.out")"
    stop_mock
    ;;
  empties)
    # One 16 MiB body of bare `{}` items (5.6 million of them), then a normal 1-item request.
    python3 -c '
n = (16 * 1024 * 1024 - 40) // 3
open("'"$tmp"'/empties.json", "w").write("{\"inventoryList\":[" + ",".join(["{}"] * n) + "]}")'
    start_mock --no-scenario --no-auth
    code=$(curl -s -o "$tmp/e.out" -w '%{http_code} in %{time_total} s' -H 'Content-Type: application/json' \
      --data-binary @"$tmp/empties.json" "$URL/updateInventory")
    one=$(curl -s -o /dev/null -w '%{http_code} in %{time_total} s' -H 'Content-Type: application/json' \
      -d '{"inventoryList":[{"productId":"P","variantId":"V","inventory":1}]}' "$URL/updateInventory")
    row "mock, 16 MiB body of bare {} items" "$(hwm "$MOCK_PID")" "$code" "2.9 GB, 18.5 s" "then 1 item: $one"
    stop_mock
    ;;
  *) echo "unknown case $c" ;;
  esac
done
