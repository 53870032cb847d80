#!/bin/bash
# Runs PostgreSQL 15 as the postgres user. On the first start (no PG_VERSION in $PGDATA) it
# creates the cluster: superuser $POSTGRES_USER (default postgres) with the password from
# $POSTGRES_PASSWORD or the file named by $POSTGRES_PASSWORD_FILE, database $POSTGRES_DB
# (default: the user's name), scram-sha-256 for network connections, listening on all
# addresses, then runs /docker-entrypoint-initdb.d/*.sql and *.sh. Later starts just run.
set -Eeuo pipefail

log() {
  echo "entrypoint: $*" >&2
}

die() {
  log "error: $*"
  exit 1
}

# Options alone (`-c shared_buffers=256MB`) are for the server; any other command runs as is.
if [[ ${1:-} == -* ]]; then
  set -- postgres "$@"
fi
if [[ ${1:-} != postgres ]]; then
  exec "$@"
fi
shift

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

as_postgres() {
  if ((EUID == 0)); then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

# A named volume or bind mount arrives owned by whoever made it.
prepare_dirs() {
  if ((EUID != 0)); then
    return 0
  fi
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
  chmod 2775 /run/postgresql
}

read_password() {
  if [[ -n ${POSTGRES_PASSWORD_FILE:-} ]]; then
    [[ -z ${POSTGRES_PASSWORD:-} ]] ||
      die "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set; set only one"
    [[ -r $POSTGRES_PASSWORD_FILE ]] ||
      die "POSTGRES_PASSWORD_FILE names '$POSTGRES_PASSWORD_FILE', which cannot be read"
    password=$(<"$POSTGRES_PASSWORD_FILE")
  else
    password=${POSTGRES_PASSWORD:-}
  fi
  [[ -n $password ]] || die "no password for the superuser: set POSTGRES_PASSWORD or \
POSTGRES_PASSWORD_FILE (network connections need one)"
}

run_init_scripts() {
  local user=$1 db=$2 script
  for script in /docker-entrypoint-initdb.d/*; do
    case $script in
      *.sql)
        log "running $script"
        as_postgres psql -v ON_ERROR_STOP=1 -X -q --username="$user" --dbname="$db" \
          -f "$script"
        ;;
      *.sh)
        log "running $script"
        as_postgres bash "$script"
        ;;
      */\*) ;;
      *) log "ignoring $script (only .sql and .sh run)" ;;
    esac
  done
}

init_cluster() {
  local user=${POSTGRES_USER:-postgres}
  local db=${POSTGRES_DB:-$user}
  local password pwfile
  read_password

  log "creating a cluster in $PGDATA: superuser '$user', database '$db'"
  pwfile=$(as_postgres mktemp /run/postgresql/.pwfile.XXXXXX)
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "$password" >"$pwfile"
  as_postgres initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >&2
  rm -f "$pwfile"
  trap - EXIT

  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"

  # A server reachable only through a private socket, for creating the database: health
  # checks (pg_isready) must not take it for the real one, which starts after it stops.
  export PGHOST
  PGHOST=$(as_postgres mktemp -d /run/postgresql/init.XXXXXX)
  as_postgres pg_ctl --pgdata="$PGDATA" --wait --timeout=60 --silent \
    -o "-c listen_addresses='' -c unix_socket_directories='$PGHOST'" start >&2
  if [[ $db != postgres ]]; then
    as_postgres psql -v ON_ERROR_STOP=1 -X -q --username="$user" --dbname=postgres \
      --set=db="$db" <<<'CREATE DATABASE :"db";'
  fi
  run_init_scripts "$user" "$db"
  as_postgres pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop >&2
  rmdir "$PGHOST"
  unset PGHOST
  log "cluster ready"
}

prepare_dirs
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  init_cluster
fi
unset POSTGRES_PASSWORD
if ((EUID == 0)); then
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- postgres "$@"
fi
exec postgres "$@"
