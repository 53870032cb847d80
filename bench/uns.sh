#!/usr/bin/env bash
# Figures for the staffing platform's local stack (stacks/uns.yaml + stacks/uns.local.yaml),
# the stack `./quickstart.sh` brings up on 127.0.0.1:8480:
#
#   1. quickstart time: warm image cache with the stack down (images present, nothing runs),
#      and a re-run with the stack up (everything current, nothing changes); with --cold
#      also a cold image cache (every stackwright/* image and debian:bookworm removed first,
#      so debootstrap and every image build run; the cargo target directory stays warm);
#   2. requests per second through the gateway with 1 and with 3 backend replicas, measured
#      by wrk with the same settings, interleaved, median of ROUNDS runs; the ratio is the
#      figure. Each replica is limited to BACKEND_CPUS (default 0.1): wrk, nginx, PostgreSQL
#      and the replicas share this machine's cores, and at the local overlay's 0.5 CPU one
#      replica already outruns what wrk and nginx leave room for, so the ratio would
#      measure the machine, not the backend (BACKEND_CPUS=0.5 shows that);
#   3. failed requests during scale 3 -> 5 -> 2, a rolling image update and the loss of a
#      replica, as the real-engine tests in tests/uns.rs count them (skip with TESTS=0).
#
# Usage: bench/uns.sh [--cold]
#   ROUNDS=3 SECONDS_PER_RUN=10 CONNECTIONS=32 BACKEND_CPUS=0.1 (environment)
#   QUICKSTART=0 skips the warm timings, TESTS=0 the tests
# Needs: a Docker engine, wrk and curl. Refuses to run while the stack `uns` exists, since
# it destroys it (with its volumes) at the end. Traffic goes only to 127.0.0.1:8480.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-32}
BACKEND_CPUS=${BACKEND_CPUS:-0.1}
TESTS=${TESTS:-1}
QUICKSTART=${QUICKSTART:-1}
readonly BIN=${CARGO_TARGET_DIR:-target}/release/stackwright
readonly SPEC=(-f stacks/uns.yaml -f stacks/uns.local.yaml)
readonly GATEWAY=http://127.0.0.1:8480
readonly STACK_LABEL=io.stackwright.stack=uns

cold=0
case ${1:-} in
  --cold) cold=1 ;;
  "") ;;
  *) echo "unknown argument \`$1\` (allowed: --cold)" >&2; exit 1 ;;
esac

for tool in docker wrk curl bc; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
if [ -n "$(docker ps -aq --filter "label=$STACK_LABEL")" ]; then
  echo "the stack \`uns\` exists; this benchmark brings it up and destroys it with its" >&2
  echo "volumes: run \`$BIN destroy ${SPEC[*]} --auto-approve\` first" >&2
  exit 1
fi

work=$(mktemp -d /tmp/sw-bench-uns.XXXXXX)
cleanup() {
  if [ -x "$BIN" ]; then
    "$BIN" destroy "${SPEC[@]}" --auto-approve --volumes --break-lock >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# seconds COMMAND...: wall time of one run; the command's output goes to $work/last.log.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

median() {
  tr ' ' '\n' | sed '/^$/d' | sort -g |
    awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'
}

down() {
  "$BIN" destroy "${SPEC[@]}" --auto-approve --volumes >/dev/null
}

echo "== quickstart"
if [ "$cold" = 1 ]; then
  mapfile -t images < <(docker images --format '{{.Repository}}:{{.Tag}}' 'stackwright/*')
  if [ "${#images[@]}" -gt 0 ]; then
    docker rmi -f "${images[@]}" >/dev/null
  fi
  docker rmi -f debian:bookworm >/dev/null 2>&1 || true
  took=$(seconds ./quickstart.sh)
  printf 'cold image cache, stack down   %8.1f s\n' "$took"
  down
fi
# Untimed first: it builds stackwright and any image the cold run did not make.
./quickstart.sh >/dev/null
if [ "$QUICKSTART" = 1 ]; then
  down
  took=$(seconds ./quickstart.sh)
  printf 'warm image cache, stack down   %8.1f s\n' "$took"
  took=$(seconds ./quickstart.sh)
  printf 're-run, stack up               %8.1f s\n' "$took"
  if ! grep -q '^No changes' "$work/last.log"; then
    echo "the re-run changed something:" >&2
    cat "$work/last.log" >&2
    exit 1
  fi
fi

echo "== requests per second through the gateway (wrk -t1 -c$CONNECTIONS -d${SECONDS_PER_RUN}s," \
  "$BACKEND_CPUS CPU a replica)"
set -a
# shellcheck source=/dev/null
source .stackwright/uns.env
set +a
for i in $(seq 1 20); do
  curl -fsS --noproxy '*' --max-time 10 -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"name\": \"Bench Candidate $i\", \"email\": \"bench$i@example.test\"}" \
    "$GATEWAY/api/candidates"
done

# scale N: applies the stack with N backend replicas and waits for the apply to finish.
scale() {
  printf 'services:\n  backend:\n    replicas: %s\n    resources: { cpus: %s }\n' \
    "$1" "$BACKEND_CPUS" >"$work/replicas.yaml"
  "$BIN" apply "${SPEC[@]}" -f "$work/replicas.yaml" --auto-approve >/dev/null
}

# rps PATH: one wrk run's requests per second; fails when wrk saw any error or non-2xx.
rps() {
  local out
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --timeout 5s "$GATEWAY$1")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "wrk saw errors on $1:" >&2
    echo "$out" >&2
    return 1
  fi
  awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out"
}

declare -A runs
paths=(/api/version "/api/candidates?limit=20")
for round in $(seq 1 "$ROUNDS"); do
  for replicas in 1 3; do
    scale "$replicas"
    for path in "${paths[@]}"; do
      figure=$(rps "$path")
      runs[$replicas,$path]+="$figure "
    done
  done
  echo "round $round of $ROUNDS done"
done
printf '%-28s %12s %12s %7s\n' path "1 replica" "3 replicas" ratio
for path in "${paths[@]}"; do
  one=$(median <<<"${runs[1,$path]}")
  three=$(median <<<"${runs[3,$path]}")
  printf '%-28s %12s %12s %6.2fx\n' "$path" "$one" "$three" "$(echo "$three / $one" | bc -l)"
done
down

if [ "$TESTS" = 1 ]; then
  echo "== failed requests during changes (cargo test --test uns)"
  cargo test --locked --quiet --test uns -- --nocapture --test-threads 1 2>&1 |
    grep -E 'requests answered|^test result'
fi
