#!/usr/bin/env bash
# Brings the staffing platform (stacks/uns.yaml with the stacks/uns.local.yaml overlay) up on
# this machine's Docker engine, with nothing pulled from a registry.
#
# Usage: ./quickstart.sh
#
# Steps, each skipped when there is nothing to do: build stackwright (cargo, release), build
# the images (images/build.sh, which also builds the demo backend), make random local secrets
# in .stackwright/uns.env (kept: the database volume remembers its first password), then
# `stackwright apply`. A second run finds everything current and changes nothing.
# Exit status: 0 when the stack is up, 1 on any error (the failing step says why).
set -Eeuo pipefail
trap 'echo "error: quickstart.sh stopped at line $LINENO: \`$BASH_COMMAND\` failed" >&2' ERR

cd "$(dirname "${BASH_SOURCE[0]}")"
readonly SPEC=(-f stacks/uns.yaml -f stacks/uns.local.yaml)
readonly SECRETS=.stackwright/uns.env
readonly BIN=${CARGO_TARGET_DIR:-target}/release/stackwright

step() {
  printf '==> %s\n' "$*"
}

docker version --format '{{.Server.Version}}' >/dev/null \
  || { echo "error: no Docker engine answers; start dockerd and run this again" >&2; exit 1; }

step "building stackwright"
cargo build --release --locked --quiet -p stackwright

step "building images (images/build.sh)"
images/build.sh

if [[ ! -s $SECRETS ]]; then
  step "making local secrets in $SECRETS"
  mkdir -p "${SECRETS%/*}"
  (
    umask 077
    for name in UNS_DB_PASSWORD UNS_JWT_SECRET UNS_SECURITY_WEBHOOK_TOKEN; do
      printf '%s=%s\n' "$name" "$(openssl rand -hex 24)"
    done >"$SECRETS"
  )
fi
set -a
# shellcheck source=/dev/null
source "$SECRETS"
set +a

step "applying the stack"
"$BIN" apply "${SPEC[@]}" --auto-approve

cat <<TEXT

The staffing platform runs. Try:
  curl -i http://127.0.0.1:8480/api/health       the backend, through the gateway
  curl -s http://127.0.0.1:8480/api/candidates   the candidates API
  http://127.0.0.1:8480/                         the frontend
  http://127.0.0.1:9490/targets                  Prometheus, every scrape target
  http://127.0.0.1:9493/                         Alertmanager

See what runs:  $BIN status ${SPEC[*]}
Scale:          edit replicas in stacks/uns.yaml, then ./quickstart.sh again
Tear down:      $BIN destroy ${SPEC[*]} --auto-approve
                (add --volumes to delete the database too)
TEXT
