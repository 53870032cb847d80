#!/bin/bash
# Serves GET /health (200, "ok") and GET / (body: $VERSION, default v1) on $PORT (default 8080).
set -euo pipefail

# Any other command (`docker run stackwright/testhttp curl ...`) runs instead of the server.
if (($# > 0)); then
  exec "$@"
fi

port=${PORT:-8080}
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((port < 1 || port > 65535)); then
  echo "testhttp: PORT must be a number from 1 to 65535, got '$port'" >&2
  exit 1
fi

root=$(mktemp -d)
printf '%s' "${VERSION:-v1}" >"$root/index.html"
printf 'ok\n' >"$root/health"
echo "testhttp: serving version ${VERSION:-v1} on port $port" >&2
exec busybox httpd -f -vv -p "$port" -h "$root"
