# Shell helpers shared by images/build.sh and demo/backend/build-image.sh; sourced, not run.
# The caller sets `verbose` (0 or 1) and `log_prefix` (the name of its temporary logs).

die() {
  echo "error: $*" >&2
  exit 1
}

# Seconds since $1 (a `date +%s%N` value), with one decimal.
elapsed() {
  local ns=$(($(date +%s%N) - $1))
  printf '%d.%ds' $((ns / 1000000000)) $((ns / 100000000 % 10))
}

# Runs a long step with its output in a log, shown only when it fails (or with --verbose).
run_logged() {
  local what=$1
  shift
  if ((verbose)); then
    "$@" || die "$what failed (output above)"
    return 0
  fi
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/${log_prefix:-stackwright}.XXXXXX.log")
  if ! "$@" >"$log" 2>&1; then
    echo "--- last 60 lines of output: $what ---" >&2
    tail -n 60 "$log" >&2
    rm -f "$log"
    die "$what failed (output above)"
  fi
  rm -f "$log"
}

# Removes the image a build replaced once no tag names it, so rebuilds do not pile up; the
# engine refuses while a container still uses it (a stack mid-rollout), and then it stays.
remove_if_dangling() {
  local id=$1
  [[ -n $id ]] || return 0
  local tags
  tags=$(docker image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null || echo gone)
  if [[ $tags == 0 ]]; then
    docker image rm "$id" >/dev/null 2>&1 || true
  fi
}
