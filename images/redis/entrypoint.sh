#!/bin/bash
# Runs redis-server as the redis user with /etc/redis/stackwright.conf and the given options;
# any other command runs as is.
set -Eeuo pipefail

if [[ ${1:-} == -* ]]; then
  set -- redis-server "$@"
fi
if [[ ${1:-} != redis-server ]]; then
  exec "$@"
fi
shift

if ((EUID != 0)); then
  exec redis-server /etc/redis/stackwright.conf "$@"
fi
# A named volume or bind mount arrives owned by whoever made it.
find /data \! -user redis -exec chown redis:redis '{}' +
exec setpriv --reuid=redis --regid=redis --init-groups -- \
  redis-server /etc/redis/stackwright.conf "$@"
