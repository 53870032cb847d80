#!/usr/bin/env bash
# Builds stackwright/uns-backend, the demo backend's image, from a binary built on this host.
#
# Usage: demo/backend/build-image.sh [--verbose] [TAG]
#
# TAG defaults to `latest`, or to $APP_VERSION when that is set: `APP_VERSION=v2
# demo/backend/build-image.sh` builds stackwright/uns-backend:v2, which reports version v2.
# The binary comes from `cargo build --release -p uns-backend`; the host runs Debian bookworm
# like the image's base, so the two agree on glibc. The image is demo/backend/Dockerfile
# (FROM debian:bookworm, plus bash, curl and ca-certificates) with the binary, labelled with
# a hash of the binary, the Dockerfile, the version and the base; when the tag already
# carries that hash, nothing is rebuilt.
#
# Environment: APP_VERSION (default: the crate's version) becomes the image's default
# APP_VERSION and its org.opencontainers.image.version label. CARGO_TARGET_DIR is honoured.
# Needs debian:bookworm in the engine: images/build.sh makes it when it cannot be pulled.
# Exit status: 0 when the image is present and current, 1 on any error.
set -Eeuo pipefail
trap 'echo "error: build-image.sh stopped at line $LINENO: \`$BASH_COMMAND\` failed" >&2' ERR

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly ROOT=${HERE%/demo/backend}
readonly NAME=uns-backend
readonly REPO=stackwright/$NAME
readonly BASE=debian:bookworm
readonly HASH_LABEL=dev.stackwright.image.hash
# Bump when the way the image is built changes in a way the hashed inputs do not show.
readonly RECIPE=1
readonly LOCK_FILE=${TMPDIR:-/tmp}/stackwright-uns-backend.lock
readonly TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

verbose=0
stage=""
log_prefix=uns-backend-image
# shellcheck source=images/lib.sh
source "$ROOT/images/lib.sh"

cleanup() {
  if [[ -n $stage && -d $stage ]]; then rm -rf "$stage"; fi
}
trap cleanup EXIT

usage() {
  sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# The crate's version, from its manifest.
crate_version() {
  local version
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$HERE/Cargo.toml" | head -n 1)
  [[ -n $version ]] || die "no version line in $HERE/Cargo.toml"
  echo "$version"
}

sha256_of() {
  local sum
  sum=$(sha256sum "$1")
  echo "${sum%% *}"
}

main() {
  local tag="" arg
  for arg in "$@"; do
    case $arg in
      -v | --verbose) verbose=1 ;;
      -h | --help) usage; return 0 ;;
      -*) die "unknown option \`$arg\` (allowed: --verbose, --help)" ;;
      *)
        [[ -z $tag ]] || die "more than one TAG given (\`$tag\`, \`$arg\`)"
        tag=$arg
        ;;
    esac
  done

  local version=${APP_VERSION:-}
  if [[ -z $version ]]; then
    version=$(crate_version)
  fi
  [[ $version =~ ^[A-Za-z0-9._+-]{1,64}$ ]] || die "APP_VERSION is \`$version\`, expected 1 to \
64 characters from A-Z a-z 0-9 . _ + -"
  if [[ -z $tag ]]; then
    tag=${APP_VERSION:+$version}
    tag=${tag:-latest}
  fi
  [[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "\`$tag\` is not a valid image tag \
(letters, digits, _ . -, at most 128, not starting with . or -); hint: pass a TAG argument"
  local ref=$REPO:$tag

  command -v cargo >/dev/null || die "cargo is not installed; the binary is built on this host"
  command -v docker >/dev/null || die "docker is not installed (the image is built by the \
Docker engine)"
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "cannot reach the Docker engine (is it running? is DOCKER_HOST right?)"
  local base_id
  base_id=$(docker image inspect --format '{{.Id}}' "$BASE" 2>/dev/null) ||
    die "$BASE is not in the engine; hint: images/build.sh makes it (debootstrap)"

  # Test processes may build at once; the engine and the target directory are shared.
  exec 8>"$LOCK_FILE"
  flock -w 1800 8 || die "another build-image.sh held $LOCK_FILE for 30 minutes"

  local t0
  t0=$(date +%s%N)
  echo "Compiling $NAME (cargo build --release)"
  run_logged "cargo build --release -p $NAME" \
    cargo build --release --locked -p "$NAME" --manifest-path "$ROOT/Cargo.toml"
  local binary=$TARGET_DIR/release/$NAME
  [[ -x $binary ]] || die "cargo built no $binary (is CARGO_TARGET_DIR right?)"

  stage=$(mktemp -d "${TMPDIR:-/tmp}/uns-backend-image.XXXXXX")
  cp "$HERE/Dockerfile" "$stage/Dockerfile"
  cp "$binary" "$stage/$NAME"
  strip "$stage/$NAME" 2>/dev/null || true

  local hash
  hash=$(printf '%s\n' "$RECIPE" "$NAME" "$version" "$base_id" \
    "$(sha256_of "$stage/Dockerfile")" "$(sha256_of "$stage/$NAME")" | sha256sum)
  hash=${hash%% *}

  local found
  found=$(docker image inspect --format "{{index .Config.Labels \"$HASH_LABEL\"}}" "$ref" \
    2>/dev/null || true)
  if [[ $found == "$hash" ]]; then
    echo "Current  $ref (hash ${hash:0:12}, version $version)"
    return 0
  fi

  local previous
  previous=$(docker image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
  echo "Building $ref (hash ${hash:0:12}, version $version)"
  run_logged "docker build of $ref" \
    docker build --pull=false --force-rm \
    --build-arg "APP_VERSION=$version" \
    --label "$HASH_LABEL=$hash" \
    --label "dev.stackwright.image.name=$NAME" \
    --label "org.opencontainers.image.version=$version" \
    -t "$ref" "$stage"
  echo "Built    $ref in $(elapsed "$t0")"
  remove_if_dangling "$previous"
}

main "$@"
