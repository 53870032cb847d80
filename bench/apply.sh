#!/usr/bin/env bash
# Benchmarks plan/apply against docker-compose 1.29 on this machine, side by side.
#
#   bench/apply.sh [RUNS]      (default 5 runs per figure; prints medians)
#
# 1. cold apply of 20 services (1 replica each)   vs  docker-compose up -d
# 2. no-op plan of the same 20 services            vs  a no-op docker-compose up -d
# 3. scale one service 1 -> 10                     vs  docker-compose up -d --scale
# 4. no-op plan of 200 services, with the number of engine calls it made
#
# The compose file is written here by hand to match the spec (same image, both networks,
# the service name as alias, restart policy); the project's compose renderer is not used.
# Neither side waits for health checks: the services have none, as `up -d` would not wait.
# Everything is named swtcbench* and removed at the end; the compose project is named
# per run, since Docker 20.10 can keep a removed network's endpoints, and so its name,
# until the daemon restarts. Needs stackwright/testhttp.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-5}
work=$(mktemp -d)
bin=target/release/stackwright
stack=swtcbench
project=swtcbenchc$$

cargo build --release --quiet
docker image inspect stackwright/testhttp:latest >/dev/null

cleanup() {
  "$bin" destroy -f "$work/stack.yaml" --auto-approve --break-lock >/dev/null 2>&1 || true
  "$bin" destroy -f "$work/big.yaml" --auto-approve --break-lock >/dev/null 2>&1 || true
  docker-compose -p "$project" -f "$work/compose.yml" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# spec NAME COUNT SCALED_REPLICAS FILE: COUNT services svc001.., the first with the replicas.
spec() {
  local name=$1 count=$2 first=$3 file=$4
  {
    printf 'version: 1\nname: %s\nservices:\n' "$name"
    for i in $(seq -f '%03g' 1 "$count"); do
      replicas=1
      [ "$i" = 001 ] && replicas=$first
      printf '  svc%s:\n    image: stackwright/testhttp\n    replicas: %s\n    port: 8080\n' \
        "$i" "$replicas"
    done
  } >"$file"
}

compose() {
  local count=$1 file=$2
  {
    printf 'version: "3.8"\nservices:\n'
    for i in $(seq -f '%03g' 1 "$count"); do
      printf '  svc%s:\n    image: stackwright/testhttp\n    restart: unless-stopped\n' "$i"
      printf '    networks:\n      front: { aliases: [svc%s] }\n' "$i"
      printf '      back: { aliases: [svc%s] }\n' "$i"
    done
    printf 'networks:\n  front: {}\n  back: {}\n'
  } >"$file"
}

# seconds COMMAND...: wall time of one run, output discarded.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

median() {
  tr ' ' '\n' | sort -g |
    awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'
}

report() {
  local label=$1 ours=$2 theirs=$3 target=$4
  local ratio
  ratio=$(echo "scale=3; $ours / $theirs" | bc)
  printf '%-34s stackwright %7ss   docker-compose %7ss   ratio %5s (target <= %s)\n' \
    "$label" "$ours" "$theirs" "$ratio" "$target"
}

sw() { "$bin" "$@"; }
dc() { docker-compose -p "$project" -f "$work/compose.yml" "$@"; }

spec "$stack" 20 1 "$work/stack.yaml"
compose 20 "$work/compose.yml"

cold_sw=() cold_dc=() noop_sw=() noop_dc=() scale_sw=() scale_dc=()
for _ in $(seq "$runs"); do
  sw destroy -f "$work/stack.yaml" --auto-approve >/dev/null
  cold_sw+=("$(seconds sw apply -f "$work/stack.yaml" --auto-approve)")
  sw plan -f "$work/stack.yaml" --detailed-exitcode >/dev/null # a no-op, or stop here
  noop_sw+=("$(seconds sw plan -f "$work/stack.yaml")")
  spec "$stack" 20 10 "$work/stack.yaml"
  scale_sw+=("$(seconds sw apply -f "$work/stack.yaml" --auto-approve)")
  spec "$stack" 20 1 "$work/stack.yaml"
  sw destroy -f "$work/stack.yaml" --auto-approve >/dev/null

  dc down >/dev/null 2>&1 || true
  cold_dc+=("$(seconds dc up -d)")
  noop_dc+=("$(seconds dc up -d)")
  scale_dc+=("$(seconds dc up -d --scale svc001=10)")
  dc down >/dev/null 2>&1 || true
done

engine=$(docker version --format 'Docker {{.Server.Version}}')
echo "medians of $runs runs on $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $engine,"
echo "$(docker-compose version --short | sed 's/^/docker-compose /'), release build"
report "cold apply, 20 services" "$(echo "${cold_sw[*]}" | median)" \
  "$(echo "${cold_dc[*]}" | median)" 0.4
report "no-op plan, 20 services" "$(echo "${noop_sw[*]}" | median)" \
  "$(echo "${noop_dc[*]}" | median)" 0.1
report "scale one service 1 -> 10" "$(echo "${scale_sw[*]}" | median)" \
  "$(echo "${scale_dc[*]}" | median)" 0.5

spec "${stack}big" 200 1 "$work/big.yaml"
sw apply -f "$work/big.yaml" --auto-approve --parallelism 16 >/dev/null
sw plan -f "$work/big.yaml" --detailed-exitcode >/dev/null # a no-op, or stop here
big=()
for _ in $(seq "$runs"); do
  big+=("$(seconds sw plan -f "$work/big.yaml")")
done
calls=$(RUST_LOG=stackwright=debug "$bin" plan -f "$work/big.yaml" 2>&1 >/dev/null |
  sed -n 's/.*calls=\([0-9]*\).*/\1/p' | tail -1)
printf '%-34s stackwright %7ss   (target < 0.5s), engine calls: %s\n' \
  "no-op plan, 200 services" "$(echo "${big[*]}" | median)" "$calls"
