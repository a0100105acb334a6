#!/usr/bin/env bash
# Latency of an authenticated GET user/ on the example server (SQLite, WAL,
# default rate limits and JWT revocation set on): wrk -t2 -c16 for 10 s,
# p50/p90/p99 from wrk --latency, req/s, and the server's RSS.
#
#   bench/latency.sh token|jwt [CONNS] [SECONDS]     (from the project root)
#
# wrk: apt-get install -y wrk. Extra server variables: EXAMPLE_ENV="K=V ...".
# BASELINE=1: then the same wrk run against ../shared/bench/baseline (the
# bare Gin + GORM server of ratio.sh), for the p99 the machine itself
# allows.
# SPLIT=1 (diagnostic, needs taskset and 2+ cores): the server on core 0
# with GOMAXPROCS=1 and wrk -t1 on core 1, so that the latency is the
# server's own and not the wait for a core the two share.
set -u
mode=${1:-token}; conns=${2:-16}; secs=${3:-10}
case "$mode" in token|jwt) ;; *) echo "usage: bench/latency.sh token|jwt [CONNS] [SECONDS]"; exit 2;; esac
[ -d example ] || { echo "run from the project root"; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 2; }
work=$(mktemp -d /tmp/bench-latency.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/example" ./example || exit 1
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
envs=(ADDR=127.0.0.1:$port DATABASE_URL="sqlite://$work/example.db" SECRET_KEY=bench-secret-key-0123456789abcdef0123 ACCOUNT_EMAIL_VERIFICATION=none)
[ "$mode" = jwt ] && envs+=(REST_USE_JWT=true)
# shellcheck disable=SC2206
envs+=(${EXAMPLE_ENV:-})
srvpin=(); wrkpin=(); threads=2
if [ "${SPLIT:-}" = 1 ]; then
  srvpin=(taskset -c 0); wrkpin=(taskset -c 1); threads=1; envs+=(GOMAXPROCS=1)
fi
( cd "$work" && exec "${srvpin[@]}" env "${envs[@]}" ./example ) >"$work/example.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$port/rest-auth/user/" && break; sleep 0.2; done
E=http://127.0.0.1:$port/rest-auth
pw="Xk2!pq9zLw-bench"
curl -s -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"username\":\"benchuser\",\"email\":\"bench@example.com\",\"password1\":\"$pw\",\"password2\":\"$pw\"}" "$E/registration/"
resp=$(curl -s -H 'Content-Type: application/json' -d "{\"username\":\"benchuser\",\"password\":\"$pw\"}" "$E/login/")
field() { python3 -c "import json,sys;print(json.load(sys.stdin)[\"$1\"])"; }
if [ "$mode" = jwt ]; then auth="Bearer $(echo "$resp" | field access)"; else auth="Token $(echo "$resp" | field key)"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $auth" "$E/user/")
[ "$code" = 200 ] || { echo "GET user/ gave $code"; exit 1; }
"${wrkpin[@]}" wrk -t$threads -c16 -d1s -H "Authorization: $auth" "$E/user/" >/dev/null # warm-up
out=$("${wrkpin[@]}" wrk -t$threads -c"$conns" -d"${secs}s" --latency -H "Authorization: $auth" "$E/user/")
rss=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
report='
import re, sys
mode, conns, rss = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = sys.stdin.read()
def q(p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)" % p, text, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print("%s GET user/ at %s connections: %.0f req/s, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, peak RSS %.0f MiB%s"
      % (mode, conns, rps, q(50), q(90), q(99), rss / 1024, ", %s non-2xx" % errs.group(1) if errs else ""))
'
echo "$out" | python3 -c "$report" "$mode" "$conns" "$rss"
[ "${BASELINE:-}" = 1 ] || exit 0
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
base=$(cd "$(dirname "$0")/../../shared/bench/baseline" 2>/dev/null && pwd) || { echo "no ../shared/bench/baseline"; exit 1; }
( cd "$base" && go build -o "$work/baseline" . ) || exit 1
benv=(ADDR=127.0.0.1:$port DATABASE_URL="$work/baseline.db")
[ "${SPLIT:-}" = 1 ] && benv+=(GOMAXPROCS=1)
( cd "$work" && exec "${srvpin[@]}" env "${benv[@]}" ./baseline ) >"$work/baseline.log" 2>&1 &
pid=$!
seed=
for _ in $(seq 1 150); do seed=$(curl -sf -X POST "http://127.0.0.1:$port/seed/") && break; sleep 0.2; done
[ -n "$seed" ] || { echo "the baseline did not start: $(tail -3 "$work/baseline.log")"; exit 1; }
if [ "$mode" = jwt ]; then bauth="Bearer $(echo "$seed" | field jwt)"; bpath=/jwt/user/; else bauth="Token $(echo "$seed" | field key)"; bpath=/token/user/; fi
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $bauth" "http://127.0.0.1:$port$bpath")
[ "$code" = 200 ] || { echo "baseline GET $bpath gave $code"; exit 1; }
"${wrkpin[@]}" wrk -t$threads -c16 -d1s -H "Authorization: $bauth" "http://127.0.0.1:$port$bpath" >/dev/null
out=$("${wrkpin[@]}" wrk -t$threads -c"$conns" -d"${secs}s" --latency -H "Authorization: $bauth" "http://127.0.0.1:$port$bpath")
rss=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
echo "$out" | python3 -c "$report" "baseline $mode" "$conns" "$rss"
