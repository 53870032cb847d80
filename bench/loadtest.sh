#!/usr/bin/env bash
# Benchmarks `stackwright loadtest` side by side with wrk and oha against Debian's nginx
# serving a small static file on 127.0.0.1 (our own nginx instance, on a free port, stopped
# at the end). Prints the median of several interleaved runs of each figure:
#   1. maximum throughput, same connections and threads for every tool;
#   2. CPU time (user + system) per 10,000 requests, from the same runs;
#   3. peak resident memory with 10,000 connected users (each tool holds 10,000
#      keep-alive connections for 45 s, long enough that every connection has carried
#      dozens of requests; ours as a closed model with a 1 s think time, oha limited to
#      10,000 requests per second, wrk flat out as it has no limit).
#
# Usage: bench/loadtest.sh            (defaults below; override with the environment)
#   ROUNDS=5 SECONDS_PER_RUN=10 CONNECTIONS=50 THREADS=1 NGINX_WORKERS=1 MANY=10000
#   MEMORY_SECONDS=45 MEMORY_ROUNDS=2
#   OHA=/path/to/oha  STACKWRIGHT=/path/to/stackwright
# Needs: nginx, wrk (Debian packages), oha (`cargo install oha --locked`), python3, and a
# release build (`cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-1}
NGINX_WORKERS=${NGINX_WORKERS:-1}
MANY=${MANY:-10000}
MEMORY_SECONDS=${MEMORY_SECONDS:-45}
MEMORY_ROUNDS=${MEMORY_ROUNDS:-2}
STACKWRIGHT=${STACKWRIGHT:-target/release/stackwright}
OHA=${OHA:-$(command -v oha || true)}

for tool in nginx wrk python3 "$STACKWRIGHT"; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
if [ -z "$OHA" ] || [ ! -x "$OHA" ]; then
  echo "missing: oha (cargo install oha --locked; OHA=path)" >&2
  exit 1
fi

# Every tool and nginx need one descriptor per connection, and a few more.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((MANY + 100)) ]; then
  echo "open-files limit $(ulimit -n) is below the $((MANY + 100)) that $MANY users need" >&2
  exit 1
fi

work=$(mktemp -d /tmp/sw-bench-loadtest.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
url="http://127.0.0.1:$port/index.html"
mkdir -p "$work/www" "$work/logs"
# As large as nginx's own welcome page.
head -c 612 /dev/zero | tr '\0' 'x' > "$work/www/index.html"
cat > "$work/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
worker_rlimit_nofile $((MANY * 2 + 1000));
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections $((MANY * 2 + 500)); multi_accept on; }
http {
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  client_body_temp_path $work/body; proxy_temp_path $work/proxy; fastcgi_temp_path $work/fcgi;
  uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
  server { listen 127.0.0.1:$port backlog=16384; root $work/www; location / { } }
}
EOF
nginx -c "$work/nginx.conf" -p "$work" -e "$work/logs/error.log"
stop_nginx() {
  if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
  sleep 0.5
  rm -rf "$work"
}
trap stop_nginx EXIT
for _ in $(seq 50); do curl -fs "$url" >/dev/null 2>&1 && break; sleep 0.1; done

# Runs a command under GNU time; prints "REQUESTS USER+SYS_SECONDS MAX_RSS_KB" from its output.
measure() {
  local name=$1; shift
  /usr/bin/time -f "TIME %U %S %M" -o "$work/time" "$@" > "$work/out" 2>"$work/err" || true
  python3 - "$name" "$work/out" "$work/time" <<'PY' || { cat "$work/err" >&2; exit 1; }
import json, re, sys
name, out, timing = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
user, system, rss = re.search(r"TIME (\S+) (\S+) (\d+)", timing).groups()
if name == "wrk":
    requests = int(re.search(r"(\d+) requests in", out).group(1))
elif name == "oha":
    summary = json.loads(out)
    requests = sum(summary["statusCodeDistribution"].values())
else:
    requests = int(re.search(r"sent +([\d,]+)", out).group(1).replace(",", ""))
print(requests, float(user) + float(system), rss)
PY
}

declare -A rps cpu rss
run_wrk() { measure wrk wrk -t"$THREADS" -c"$1" -d"$2" "$url"; }
run_oha() {
  measure oha "$OHA" --no-tui --output-format json --worker-threads "$THREADS" -c "$1" -z "$2" \
    "$url"
}
run_ours() {
  measure ours "$STACKWRIGHT" loadtest "$url" --threads "$THREADS" --users "$1" --duration "$2"
}

echo "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$port," \
  "$NGINX_WORKERS worker(s); $(nproc) cores"
echo "throughput: $CONNECTIONS connections, $THREADS thread(s)," \
  "${SECONDS_PER_RUN}s runs, $ROUNDS rounds"
for round in $(seq "$ROUNDS"); do
  for tool in wrk ours oha; do
    read -r requests seconds _ < <(run_$tool "$CONNECTIONS" "${SECONDS_PER_RUN}s")
    rps[$tool]+="$(python3 -c "print($requests / $SECONDS_PER_RUN)") "
    cpu[$tool]+="$(python3 -c "print($seconds / max($requests, 1) * 10000)") "
    echo "  round $round $tool: $requests requests, ${seconds}s CPU"
  done
done

echo "peak memory: $MANY connections held for ${MEMORY_SECONDS}s, $MEMORY_ROUNDS rounds"
ramp=$((MEMORY_SECONDS >= 10 ? 5 : 1))s
for round in $(seq "$MEMORY_ROUNDS"); do
  for tool in wrk ours oha; do
    case $tool in
      wrk) read -r _ _ kb < <(measure wrk wrk -t"$THREADS" -c"$MANY" \
             -d"${MEMORY_SECONDS}s" "$url") ;;
      oha) read -r _ _ kb < <(measure oha "$OHA" --no-tui --output-format json \
             --worker-threads "$THREADS" -c "$MANY" -z "${MEMORY_SECONDS}s" -q "$MANY" "$url") ;;
      ours) read -r _ _ kb < <(measure ours "$STACKWRIGHT" loadtest "$url" --threads "$THREADS" \
             --users "$MANY" --ramp "$ramp" --think-time 1s --duration "${MEMORY_SECONDS}s") ;;
    esac
    rss[$tool]+="$kb "
    echo "  round $round $tool: peak RSS $((kb / 1024)) MB"
  done
done

median() {
  tr ' ' '\n' | grep -v '^$' | sort -g |
    awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}
echo
printf '%-12s %14s %16s %18s\n' tool "req/s (median)" "CPU s/10k req" "peak RSS, $MANY conns"
for tool in wrk ours oha; do
  printf '%-12s %14.0f %16.3f %15.1f MB\n' "$tool" \
    "$(echo "${rps[$tool]}" | median)" "$(echo "${cpu[$tool]}" | median)" \
    "$(python3 -c "print($(echo "${rss[$tool]}" | median) / 1024)")"
done
ours=$(echo "${rps[ours]}" | median)
wrk=$(echo "${rps[wrk]}" | median)
oha=$(echo "${rps[oha]}" | median)
python3 -c "print(f'ratio ours/wrk {${ours}/${wrk}:.2f}x, ours/oha {${ours}/${oha}:.2f}x')"
