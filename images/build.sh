#!/usr/bin/env bash
# Builds the images Stackwright's tests and quickstart use, from Debian packages alone.
#
# Usage: images/build.sh [--jobs N] [--verbose] [NAME...]
#            build NAMEs (default: all) and their parents, N at a time (default 3)
#        images/build.sh --list
#            print the names that can be built
#
# No registry is needed. The base `debian:bookworm` is used when the engine has it and is
# otherwise made with debootstrap and `docker import` (needs root and the debootstrap
# package). Every other image is `images/<name>/Dockerfile`, tagged `stackwright/<name>:latest`
# and labelled with a hash of its build context and its parent; an image whose label matches
# is not rebuilt, so a run with nothing to do takes about a second.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian) and DEBIAN_SECURITY_MIRROR
# (default http://deb.debian.org/debian-security) choose where the base's packages come from.
# Exit status: 0 when every requested image is present and current, 1 on any error.
set -Eeuo pipefail
trap 'echo "error: images/build.sh stopped at line $LINENO: \`$BASH_COMMAND\` failed" >&2' ERR

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly ROOT=${HERE%/*}
readonly BASE=debian:bookworm
readonly PREFIX=stackwright/
readonly HASH_LABEL=dev.stackwright.image.hash
# Bump when the way images are built changes in a way their build contexts do not show.
readonly RECIPE=1
# The same for the base made with debootstrap; a base from elsewhere carries no such label.
readonly BASE_RECIPE=debootstrap-2
# The demo backend is built by the demo's own script, not from a directory here.
readonly BACKEND=uns-backend
readonly BACKEND_SCRIPT=$ROOT/demo/backend/build-image.sh
readonly MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
readonly LOCK_FILE=${TMPDIR:-/tmp}/stackwright-images.lock

verbose=0
log_prefix=stackwright-images
# shellcheck source=images/lib.sh
source "$HERE/lib.sh"
max_jobs=3
started=$(date +%s%N)
built=0
current=0
work_dir=""
declare -A hashes=() parents=() labels=() depths=()
order=()

cleanup() {
  if [[ -n ${status_dir:-} ]]; then rm -rf "$status_dir"; fi
  [[ -n $work_dir && -d $work_dir ]] || return 0
  # debootstrap mounts /proc and /sys inside its target; a failed run can leave them behind.
  findmnt -rn -o TARGET | grep -F "$work_dir/" | sort -r | xargs -r umount -l || true
  rm -rf --one-file-system "$work_dir"
}
trap cleanup EXIT

# Every name that has a build context here, sorted, then the demo backend.
all_names() {
  local dockerfile
  for dockerfile in "$HERE"/*/Dockerfile; do
    basename "$(dirname "$dockerfile")"
  done | sort
  echo "$BACKEND"
}

usage() {
  sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# Makes debian:bookworm from Debian's archive: debootstrap, apt sources like a stock image,
# then `docker import`.
make_base() {
  (($(id -u) == 0)) || die "making $BASE with debootstrap needs root; run images/build.sh as \
root, or load $BASE into the engine another way (docker load)"
  command -v debootstrap >/dev/null ||
    die "debootstrap is not installed; it makes $BASE when no registry can be reached \
(hint: apt-get install debootstrap)"

  local t0 rootfs
  t0=$(date +%s%N)
  echo "Creating $BASE (debootstrap from $MIRROR)"
  work_dir=$(mktemp -d /var/tmp/stackwright-base.XXXXXX)
  rootfs=$work_dir/rootfs
  run_logged "debootstrap of $BASE" \
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR"
  configure_base "$rootfs"
  run_logged "docker import of $BASE" import_rootfs "$rootfs"
  cleanup
  work_dir=""
  echo "Created  $BASE in $(elapsed "$t0")"
}

# Turns the root file system into $BASE, with the metadata a pulled image would have.
import_rootfs() {
  tar -C "$1" -c . | docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "LABEL $HASH_LABEL=$BASE_RECIPE" \
    --change 'CMD ["bash"]' - "$BASE"
}

# Leaves the root file system as a stock Debian container image would be: apt sources for
# bookworm, its updates and security, no package caches, no documentation in later installs.
configure_base() {
  local rootfs=$1
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  # Security and point-release updates published since bookworm's last release.
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  run_logged "apt-get upgrade inside the new $BASE" chroot "$rootfs" /bin/sh -c \
    'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y upgrade && apt-get clean'
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/tmp/*
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
  # Containers get their own resolver and hostname from the engine.
  rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
}

# The image a Dockerfile builds on (its first FROM).
parent_of() {
  local dockerfile=$HERE/$1/Dockerfile
  local parent
  parent=$(awk 'toupper($1) == "FROM" { print $2; exit }' "$dockerfile")
  [[ -n $parent ]] || die "$dockerfile has no FROM line"
  echo "$parent"
}

# Reads the image ID and hash label of every image this run may look at, in one engine call.
read_labels() {
  local refs=("$BASE") name
  for name in "$@"; do refs+=("$PREFIX$name:latest"); done
  local tags id label
  while read -r tags id label; do
    for name in "$BASE" "$@"; do
      local ref=$PREFIX$name:latest
      if [[ $name == "$BASE" ]]; then ref=$BASE; fi
      if [[ $tags == *"\"$ref\""* ]]; then labels[$name]="$id $label"; fi
    done
  done < <(docker image inspect \
    --format "{{json .RepoTags}} {{.Id}} {{index .Config.Labels \"$HASH_LABEL\"}}" \
    "${refs[@]}" 2>/dev/null || true)
}

# The content hash of an image: this recipe, its build context and its parent's identity.
hash_of() {
  local name=$1
  if [[ -n ${hashes[$name]:-} ]]; then
    echo "${hashes[$name]}"
    return 0
  fi
  local parent=${parents[$name]}
  local parent_key
  if [[ $parent == "$PREFIX"* ]]; then
    parent_key=$(hash_of "${parent#"$PREFIX"}")
  else
    parent_key=${labels[$parent]%% *}
  fi
  local context
  context=$(tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=go-w \
    -cf - -C "$HERE/$name" . | sha256sum)
  local hash
  hash=$(printf '%s\n' "$RECIPE" "$name" "$parent" "$parent_key" "${context%% *}" |
    sha256sum)
  echo "${hash%% *}"
}

# Adds NAME and its parents to `order`, recording how many ${PREFIX} parents it has.
plan() {
  local name=$1
  [[ -z ${depths[$name]:-} ]] || return 0
  [[ -f $HERE/$name/Dockerfile ]] || die "no image named \`$name\`: images/$name/Dockerfile \
does not exist (known: $(all_names | xargs))"
  local parent
  parent=$(parent_of "$name")
  parents[$name]=$parent
  if [[ $parent == "$PREFIX"* ]]; then
    plan "${parent#"$PREFIX"}"
    depths[$name]=$((depths[${parent#"$PREFIX"}] + 1))
  elif [[ $parent == "$BASE" ]]; then
    depths[$name]=0
  else
    die "images/$name/Dockerfile builds on \`$parent\`; only $BASE and ${PREFIX}* can be \
used without a registry"
  fi
  order+=("$name")
}

ensure_base() {
  local found=${labels[$BASE]:-}
  local label=${found#* }
  if [[ -z $found ]]; then
    make_base
    read_labels
  elif [[ $label == debootstrap-* && $label != "$BASE_RECIPE" ]]; then
    echo "Outdated $BASE (made by recipe $label, now $BASE_RECIPE)"
    make_base
    read_labels
  fi
  [[ -n ${labels[$BASE]:-} ]] || die "$BASE is still missing after it was created"
}

build_one() {
  local name=$1
  local tag=$PREFIX$name:latest hash=${hashes[$1]}
  local t0
  t0=$(date +%s%N)
  local previous=${labels[$name]:-}
  echo "Building $tag (hash ${hash:0:12})"
  run_logged "docker build of $tag from images/$name" \
    docker build --pull=false --force-rm --label "$HASH_LABEL=$hash" -t "$tag" "$HERE/$name"
  echo "Built    $tag in $(elapsed "$t0")"
  remove_if_dangling "${previous%% *}"
}

# Builds the images of one depth (whose parents are all current), up to $max_jobs at once.
build_level() {
  local level=$1 name stale=()
  for name in "${order[@]}"; do
    ((depths[$name] == level)) || continue
    hashes[$name]=$(hash_of "$name")
    local found=${labels[$name]:-}
    if [[ -n $found && ${found#* } == "${hashes[$name]}" ]]; then
      echo "Current  $PREFIX$name:latest (hash ${hashes[$name]:0:12})"
      current=$((current + 1))
    else
      stale+=("$name")
    fi
  done
  ((${#stale[@]} > 0)) || return 0

  # Each build leaves a file behind when it succeeds; a job's exit status alone would be
  # lost by `wait -n`, which only makes room for the next job.
  status_dir=$(mktemp -d "${TMPDIR:-/tmp}/stackwright-images.XXXXXX")
  for name in "${stale[@]}"; do
    while (($(jobs -rp | wc -l) >= max_jobs)); do
      wait -n || true
    done
    (
      build_one "$name"
      : >"$status_dir/$name"
    ) &
  done
  wait

  local failed=()
  for name in "${stale[@]}"; do
    if [[ -e $status_dir/$name ]]; then
      built=$((built + 1))
    else
      failed+=("$PREFIX$name")
    fi
  done
  rm -rf "$status_dir"
  status_dir=""
  ((${#failed[@]} == 0)) || die "could not build ${failed[*]} (output above)"
}

build_backend() {
  [[ -x $BACKEND_SCRIPT ]] || die "$PREFIX$BACKEND is built by demo/backend/build-image.sh, \
which does not exist (or is not executable) in this checkout"
  local t0
  t0=$(date +%s%N)
  echo "Running  demo/backend/build-image.sh for $PREFIX$BACKEND"
  local args=()
  if ((verbose)); then args+=(--verbose); fi
  "$BACKEND_SCRIPT" "${args[@]}" || die "demo/backend/build-image.sh failed (output above)"
  echo "Finished $PREFIX$BACKEND in $(elapsed "$t0")"
}

# Takes the machine-wide lock so two runs (from several checkouts or test processes) never
# build the same image at once; the engine is shared.
take_lock() {
  exec 9>"$LOCK_FILE"
  flock -n 9 && return 0
  echo "Waiting  for another images/build.sh to finish (lock $LOCK_FILE)"
  flock -w 1800 9 || die "another images/build.sh held $LOCK_FILE for 30 minutes; \
if none is running, remove $LOCK_FILE"
}

main() {
  local names=() all=0
  while (($# > 0)); do
    case $1 in
      --list) all_names; return 0 ;;
      # Build output shows as it comes, so builds go one at a time to keep it readable.
      -v | --verbose) verbose=1 max_jobs=1 ;;
      -j | --jobs)
        [[ ${2:-} =~ ^[1-9][0-9]?$ ]] ||
          die "\`$1\` needs a number of parallel builds from 1 to 99, got \`${2:-}\`"
        max_jobs=$2
        shift
        ;;
      -h | --help) usage; return 0 ;;
      -*) die "unknown option \`$1\` (allowed: --list, --jobs N, --verbose, --help)" ;;
      *) names+=("$1") ;;
    esac
    shift
  done
  if ((${#names[@]} == 0)); then
    all=1
    mapfile -t names < <(all_names)
  fi

  command -v docker >/dev/null || die "docker is not installed (the images are built by the \
Docker engine)"
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "cannot reach the Docker engine (is it running? is DOCKER_HOST right?)"

  local want_backend=0 name
  for name in "${names[@]}"; do
    if [[ $name == "$BACKEND" ]]; then
      want_backend=1
    else
      plan "$name"
    fi
  done

  take_lock
  read_labels "${order[@]}"
  ensure_base
  local level deepest=-1
  for name in "${order[@]}"; do
    ((depths[$name] <= deepest)) || deepest=${depths[$name]}
  done
  for ((level = 0; level <= deepest; level++)); do
    build_level "$level"
  done

  if ((want_backend)) && ((all)) && [[ ! -e $BACKEND_SCRIPT ]]; then
    echo "Skipped  $PREFIX$BACKEND: demo/backend/build-image.sh does not exist yet"
  elif ((want_backend)); then
    build_backend
  fi
  echo "images: $built built, $current current, in $(elapsed "$started")"
}

main "$@"
