#!/usr/bin/env bash
# A real two-node Kubernetes cluster on this machine, built from the Go module
# proxy and Debian packages (no registry, no release download), for a
# developer and for CI, in the style of .ci/stack.sh:
#
#   bash .ci/kube.sh build               # build (or reuse) the binaries
#   bash .ci/kube.sh helm                # only helm; prints its path (last line)
#   bash .ci/kube.sh images              # build (or reuse) the image tars; into
#                                        # the nodes too when the cluster is up
#   bash .ci/kube.sh up                  # start the cluster, wait for Ready + DNS
#   bash .ci/kube.sh test -- CMD ARGS    # up, run CMD against it, always down
#   bash .ci/kube.sh down                # stop and remove everything it started
#   eval "$(bash .ci/kube.sh env)"       # KUBECONFIG, KUBECTL, HELM, ... for a shell
#   bash .ci/kube.sh load-image REF|TAR  # docker image (or docker-save tar) into every node
#   bash .ci/kube.sh tag-image SRC DST   # tag an image on every node (a "new version")
#   bash .ci/kube.sh smoke               # the cluster's own check (needs it up)
#   bash .ci/kube.sh status              # what runs, and where
#
# docs/kubernetes.md ("The test cluster") describes the layout; in short:
# the control plane (etcd from Debian, kube-apiserver, kube-controller-manager,
# kube-scheduler) runs on the host; each node is a network namespace with its
# own containerd (Debian's), kubelet and kube-proxy, joined to a host bridge
# by a veth. Pod networks are routed (CNI bridge + host-local + portmap from
# Debian's containernetworking-plugins, a route per node's pod CIDR on the
# host and on the other node), and nothing routes out of the cluster: no
# default route in the nodes, no upstream in CoreDNS.
#
# Cluster instances: KUBE_CLUSTER_ID (0-7) picks the names and address
# ranges, so that two clusters can run on one machine (a developer's and a
# test's). `test` takes the first free one unless KUBE_CLUSTER_ID is set; the
# other commands default to 0. An instance whose processes are all gone
# (a killed run) is torn down before its id is reused.
#
# Cached under $SPORTS_SERVICE_CACHE/kube (default ~/.cache/sports-service/kube;
# KUBE_CACHE overrides), keyed by versions and inputs; the running cluster's state is in
# /var/lib/osms-kube/<id> (KUBE_STATE_ROOT) and is removed by `down`.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self="$repo_root/.ci/kube.sh"
cache=${KUBE_CACHE:-${SPORTS_SERVICE_CACHE:-$HOME/.cache/sports-service}/kube}
export GOTOOLCHAIN=auto

k8s_version=v1.34.2
helm_version=v3.22.1
coredns_version=v1.14.7
cluster_domain=cluster.local

log() { printf 'kube: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

mkdir -p "$cache"/{bin,images,logs,src}
# The instance lock's descriptor (claim): closed for the daemons and for
# test's command, so that only this script holds the lock.
exec {lock_fd}</dev/null
claimed=

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

# ---- build ----------------------------------------------------------------

# Every Go build here uses the toolchain of go.mod's toolchain line (the
# standard library's security fixes), whatever the built module asks for.
go_version=$(cd "$repo_root" && go env GOVERSION)
export GOTOOLCHAIN=$go_version
k8s_bin="$cache/bin/kubernetes-$k8s_version-$go_version"
helm_bin="$cache/bin/helm-$helm_version-$go_version"
coredns_bin="$cache/bin/coredns-$coredns_version-$go_version"
k8s_commands=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
KUBECTL="$k8s_bin/kubectl"
HELM="$helm_bin/helm"

debian_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/portmap ]] ||
    missing+=(containernetworking-plugins)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v nsenter >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Kubernetes' own release build sets these (hack/lib/version.sh); without
# them every binary reports v0.0.0-master and kubectl warns of a version skew.
k8s_ldflags() {
  local major minor key val flags="-s -w"
  major=${k8s_version#v}
  minor=${major#*.}
  minor=${minor%%.*}
  major=${major%%.*}
  for kv in "gitVersion=$k8s_version" "gitMajor=$major" "gitMinor=$minor" "gitTreeState=clean" \
    "buildDate=$(k8s_module_time)"; do
    key=${kv%%=*} val=${kv#*=}
    flags+=" -X k8s.io/component-base/version.$key=$val -X k8s.io/client-go/pkg/version.$key=$val"
  done
  echo "$flags"
}

# The release's time, from the module proxy's .info (reproducible, unlike now).
k8s_module_time() {
  local info
  info="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$k8s_version.info"
  sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || echo unknown
}

build_kubernetes() {
  local c incomplete=0
  for c in "${k8s_commands[@]}"; do [[ -x $k8s_bin/$c ]] || incomplete=1; done
  ((incomplete)) || return 0
  log "building Kubernetes $k8s_version (${k8s_commands[*]}) with $go_version; about 15 min on 2 cores, cached afterwards in $k8s_bin"
  local moddir src
  moddir=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$k8s_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -d $moddir ]] || die "go mod download k8s.io/kubernetes@$k8s_version gave no directory"
  # The module's go.mod points its 31 k8s.io/* staging modules at
  # ./staging/src (not in the module zip): require the published
  # v0.<minor>.<patch> of each instead, without vendor/ and go.work.
  src="$cache/src/kubernetes-$k8s_version"
  rm -rf "$src"
  mkdir -p "$src"
  cp -a "$moddir/." "$src/"
  chmod -R u+w "$src"
  rm -rf "$src/vendor" "$src/go.work" "$src/go.work.sum"
  local staging_version edits=() m
  staging_version="v0.${k8s_version#v1.}"
  for m in $(sed -n 's/^\t\(k8s\.io\/[^ ]*\) => \.\/staging\/.*/\1/p' "$src/go.mod"); do
    edits+=("-dropreplace=$m" "-require=$m@$staging_version")
  done
  ((${#edits[@]} > 20)) || die "expected the staging replace directives in k8s.io/kubernetes's go.mod"
  (cd "$src" && go mod edit "${edits[@]}")
  local out="$k8s_bin.tmp" pkgs=()
  rm -rf "$out"
  mkdir -p "$out"
  for c in "${k8s_commands[@]}"; do pkgs+=("./cmd/$c"); done
  (cd "$src" && GOCACHE=$build_cache GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0 run build-kubernetes.log \
    go build -trimpath -ldflags "$(k8s_ldflags)" -o "$out/" "${pkgs[@]}")
  "$out/kubectl" version --client | grep -q "$k8s_version" || die "kubectl does not report $k8s_version"
  rm -rf "$k8s_bin"
  mv "$out" "$k8s_bin"
  rm -rf "$src"
}

# go_install PKG VERSION OUT LDFLAGS: `go install PKG@VERSION` into OUT's
# directory, under OUT's name.
go_install() {
  local pkg=$1 version=$2 out=$3 ldflags=$4 tmp
  [[ -x $out ]] && return 0
  log "building $pkg@$version (cached afterwards as $out)"
  tmp=$(mktemp -d)
  GOCACHE=$build_cache GOBIN=$tmp CGO_ENABLED=0 run "build-$(basename "$out").log" go install -trimpath -ldflags "$ldflags" "$pkg@$version"
  mkdir -p "$(dirname "$out")"
  mv -f "$tmp/$(basename "$pkg")" "$out"
  rm -rf "$tmp"
}

build_helm() {
  # Helm's Makefile: its version, and the Kubernetes version its lint and
  # capabilities assume (client-go v0.X.Y is Kubernetes 1.X).
  local client_go major minor
  client_go=$(GOFLAGS=-mod=mod go mod download -json "helm.sh/helm/v3@$helm_version" |
    sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p' | xargs awk '$1 == "k8s.io/client-go" {print $2}')
  minor=${client_go#v0.}
  minor=${minor%%.*}
  major=1
  [[ -n $minor ]] || die "cannot read helm $helm_version's client-go version"
  go_install helm.sh/helm/v3/cmd/helm "$helm_version" "$helm_bin/helm" \
    "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
}

build_coredns() {
  go_install github.com/coredns/coredns "$coredns_version" "$coredns_bin/coredns" \
    "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$coredns_version"
}

# The sandbox ("pause") container's process: tools/kubepause, static.
pause_key() { (cd "$repo_root" && cat go.mod tools/kubepause/*.go | sha256sum | cut -c1-12); }
build_pause() {
  local out
  out="$cache/bin/pause-$(pause_key)"
  [[ -x $out ]] && return 0
  log "building tools/kubepause"
  (cd "$repo_root" && CGO_ENABLED=0 run build-pause.log go build -trimpath -ldflags "-s -w" -o "$out.tmp" ./tools/kubepause)
  mv -f "$out.tmp" "$out"
}

# The Go build cache of these builds is their own, and goes once they all
# succeeded: the binaries are what is kept (Kubernetes' build cache is 4.5 GB).
build_cache="$cache/src/gocache"

build() {
  # One build at a time on this machine (concurrent runs share the cache).
  local build_lock started=$SECONDS
  exec {build_lock}>"$cache/build.lock"
  flock "$build_lock"
  debian_packages
  # Helm, CoreDNS and pause are small; Kubernetes is the long one.
  build_pause
  build_coredns
  build_helm
  build_kubernetes
  rm -rf "$build_cache"
  flock -u "$build_lock"
  exec {build_lock}>&-
  log "binaries ready in $((SECONDS - started)) s ($k8s_bin, $helm_bin, $coredns_bin)"
}


# ---- images ---------------------------------------------------------------

# The images of a self-contained install, built in the Docker engine by
# .ci/stack.sh images (docs/deployment.md says what each one is);
# KUBE_EXTRA_IMAGES adds more of them, e.g. "osms-ci/nginx:forky".
app_image=osms/sports-service:dev
docker_images=("$app_image" osms-ci/mongo-standin:ferretdb osms-ci/eureka-server:local osms-ci/jaeger:local)
read -ra extra_images <<<"${KUBE_EXTRA_IMAGES:-}"
docker_images+=("${extra_images[@]}")
coredns_image=osms-kube/coredns:$coredns_version
pause_image=osms-kube/pause:$(pause_key)
# Debian's busybox-static, as osms-kube/busybox:<upstream version> (own_images).
busybox_image=
# Other engineers use the same Docker engine: Docker is used under this lock
# (empty: no lock). Do not wrap kube.sh itself in a flock on the same file.
docker_lock=${SPORTS_DOCKER_LOCK-/tmp/sports-docker.lock}

# single_layer_image REF DIR OUT CONFIG: writes OUT, an image in `docker
# save`'s format whose one layer is DIR, tagged REF, with CONFIG (the JSON of
# an image config's "config": Entrypoint, User, ...).
single_layer_image() {
  local ref=$1 dir=$2 out=$3 config=$4 tmp diff cfg
  tmp=$(mktemp -d)
  # DIR is the image's /: mktemp made it 0700, which no user but root
  # could traverse.
  chmod 0755 "$dir"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$tmp/layer.tar" .
  diff=$(sha256sum <"$tmp/layer.tar" | cut -d' ' -f1)
  mkdir "$tmp/$diff"
  mv "$tmp/layer.tar" "$tmp/$diff/layer.tar"
  printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$(go env GOARCH)" "$config" "$diff" >"$tmp/config.json"
  cfg=$(sha256sum <"$tmp/config.json" | cut -d' ' -f1)
  mv "$tmp/config.json" "$tmp/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg" "$ref" "$diff" >"$tmp/manifest.json"
  tar -C "$tmp" -cf "$out.tmp" manifest.json "$cfg.json" "$diff"
  mv -f "$out.tmp" "$out"
  rm -rf "$tmp"
}

# busybox_bin: prints the path of Debian's static busybox (busybox-static,
# downloaded and unpacked once, not installed on the host).
busybox_bin() {
  local dir tmp deb version
  dir=$(find "$cache/bin" -maxdepth 1 -name 'busybox-static-*' | sort | tail -n1)
  if [[ -z $dir ]]; then
    tmp=$(mktemp -d)
    chmod 755 "$tmp"
    if ! (cd "$tmp" && apt-get download -qq busybox-static) >/dev/null 2>&1; then
      apt-get update -qq
      (cd "$tmp" && run apt-download-busybox.log apt-get download busybox-static)
    fi
    deb=$(find "$tmp" -name '*.deb' | head -n1)
    version=$(dpkg-deb -f "$deb" Version)
    dpkg-deb -x "$deb" "$tmp/root"
    dir="$cache/bin/busybox-static-${version//[:+~]/_}"
    install -D -m 0755 "$tmp/root/bin/busybox" "$dir/busybox"
    # The upstream version: no epoch, no Debian revision.
    version=${version#*:}
    echo "${version%%-*}" >"$dir/version"
    rm -rf "$tmp"
  fi
  echo "$dir/busybox"
}

# tar_name REF: the cache file's name stem of an image reference.
tar_name() { printf '%s' "$1" | tr '/:@' '___'; }

# prune_tars STEM KEEP: removes the cached tars named STEM* but KEEP: older
# saves are of no further use.
prune_tars() {
  find "$cache/images" -maxdepth 1 -name "$1*.tar" ! -name "$(basename "$2")" -delete
}

# The version of the one-layer images' making (in their tars' names).
own_layout=2

own_images() { # LIST: appends "REF TAR" lines to LIST
  local dir out list=$1
  out="$cache/images/$(tar_name "$pause_image")-$own_layout.tar"
  if [[ ! -s $out ]]; then
    dir=$(mktemp -d)
    install -m 0755 "$cache/bin/pause-$(pause_key)" "$dir/pause"
    single_layer_image "$pause_image" "$dir" "$out" '{"Entrypoint":["/pause"],"User":"65535:65535"}'
    rm -rf "$dir"
    prune_tars "$(tar_name "${pause_image%:*}")_" "$out"
  fi
  echo "$pause_image $out" >>"$list"
  out="$cache/images/$(tar_name "$coredns_image")-${go_version}-$own_layout.tar"
  if [[ ! -s $out ]]; then
    dir=$(mktemp -d)
    install -m 0755 "$coredns_bin/coredns" "$dir/coredns"
    single_layer_image "$coredns_image" "$dir" "$out" \
      '{"Entrypoint":["/coredns"],"ExposedPorts":{"53/tcp":{},"53/udp":{}}}'
    rm -rf "$dir"
    prune_tars "$(tar_name "${coredns_image%:*}")_" "$out"
  fi
  echo "$coredns_image $out" >>"$list"
  # A small image with a shell, wget and nslookup, for test pods (helm test).
  local busybox
  busybox=$(busybox_bin)
  busybox_image=osms-kube/busybox:$(cat "$(dirname "$busybox")/version")
  out="$cache/images/$(tar_name "$busybox_image")-$(basename "$(dirname "$busybox")")-$own_layout.tar"
  if [[ ! -s $out ]]; then
    dir=$(mktemp -d)
    install -D -m 0755 "$busybox" "$dir/bin/busybox"
    for applet in $("$busybox" --list); do [[ $applet == busybox ]] || ln -s busybox "$dir/bin/$applet"; done
    mkdir -p "$dir/etc" "$dir/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
    chmod 1777 "$dir/tmp"
    single_layer_image "$busybox_image" "$dir" "$out" '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    rm -rf "$dir"
    prune_tars "$(tar_name "${busybox_image%:*}")_" "$out"
  fi
  echo "$busybox_image $out" >>"$list"
}

# with_docker CMD...: runs CMD under the Docker lock with the engine up:
# .ci/stack.sh starts one if none runs, and this stops it again after.
with_docker() {
  local docker_lock_fd engine_was_up=0 rc=0
  exec {docker_lock_fd}</dev/null
  if [[ -n $docker_lock ]]; then
    exec {docker_lock_fd}>"$docker_lock"
    flock -n "$docker_lock_fd" || {
      log "waiting for the Docker lock $docker_lock"
      flock "$docker_lock_fd"
    }
  fi
  docker info >/dev/null 2>&1 && engine_was_up=1
  # An engine started here must not inherit a lock: it would hold it for as
  # long as it runs.
  ((engine_was_up)) || bash "$repo_root/.ci/stack.sh" engine {docker_lock_fd}>&- {lock_fd}>&-
  # In a subshell, with errexit in force there, so that a failure still
  # stops the engine it started.
  set +e
  ("$@") {docker_lock_fd}>&- {lock_fd}>&-
  rc=$?
  set -e
  ((engine_was_up)) || bash "$repo_root/.ci/stack.sh" engine-down
  exec {docker_lock_fd}>&-
  return "$rc"
}

# save_image REF OUT: `docker save` of REF to OUT, unless OUT exists.
save_image() {
  [[ -s $2 ]] && return 0
  docker image inspect "$1" >/dev/null 2>&1 || die "no image $1 in the Docker engine"
  log "docker save $1"
  run docker-save.log docker save -o "$2.tmp" "$1"
  mv -f "$2.tmp" "$2"
}

# save_images DIR REF...: each REF to DIR/<its tar_name>.tar.
save_images() {
  local dir=$1 ref
  shift
  for ref in "$@"; do save_image "$ref" "$dir/$(tar_name "$ref").tar"; done
}

# stack_image_tars LIST: builds the stack's images (.ci/stack.sh images) and
# saves each one to a tar named by its image ID, once; appends "REF TAR"
# lines to LIST.
stack_image_tars() {
  local ref id out list=$1
  bash "$repo_root/.ci/stack.sh" images
  for ref in "${docker_images[@]}"; do
    id=$(docker image inspect -f '{{.Id}}' "$ref") || die "no image $ref in the Docker engine"
    id=${id#sha256:}
    out="$cache/images/$(tar_name "$ref")-${id:0:16}.tar"
    if [[ ! -s $out ]]; then
      save_image "$ref" "$out"
      prune_tars "$(tar_name "$ref")-" "$out"
    fi
    echo "$ref $out" >>"$list"
  done
}

# The image tars, listed as "REF TAR" lines in $image_list (the last
# build's; a cluster keeps its own copy in $state/images.list).
image_list="$cache/images/images.list"
image_tars() {
  local list="$image_list.$$" started=$SECONDS f
  # Lists of runs that were killed while they wrote them.
  for f in "$image_list".*; do
    if [[ -e $f ]] && ! kill -0 "${f##*.}" 2>/dev/null; then rm -f "$f"; fi
  done
  rm -f "$list"
  own_images "$list"
  with_docker stack_image_tars "$list" || exit 1
  mv -f "$list" "$image_list"
  log "image tars ready in $((SECONDS - started)) s"
}

# import_tars TAR...: into every node's containerd, the nodes in parallel.
import_tars() {
  local n pids=() t
  for ((n = 1; n <= node_count; n++)); do
    (for t in "$@"; do
      run "import-$id-node$n.log" ctr --address "$(node_dir "$n")/containerd.sock" -n k8s.io \
        images import --digests --snapshotter overlayfs "$t"
    done) &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || die "an image import failed"; done
}

# import_images: the last build's images into every node.
import_images() {
  local started=$SECONDS tars=()
  cp "$image_list" "$state/images.list"
  mapfile -t tars < <(awk '{print $2}' "$state/images.list")
  import_tars "${tars[@]}"
  log "imported $(awk '{printf "%s ", $1}' "$state/images.list")into ${node_names[*]} in $((SECONDS - started)) s"
}

# ---- the cluster instance -------------------------------------------------

state_root=${KUBE_STATE_ROOT:-/var/lib/osms-kube}
mode=up
# Fixed paths outside the state directory: the kubelets' device plugin
# directory, the CNI library's cache, the kubelets' links to container logs,
# the shims' sockets. Those an `up` creates, the last `down` removes (empty).
host_dirs=(/var/lib/kubelet /var/lib/kubelet/device-plugins /var/lib/cni /var/lib/cni/results /var/log/containers
  /run/containerd /run/containerd/s)
node_count=${KUBE_NODE_COUNT:-2}
max_instances=8

# instance ID: sets the names and addresses of cluster instance ID (0-7).
# The ranges are private ones that nothing here uses (Docker takes
# 172.17-31.x and 192.168.x) and nothing routes out of the machine.
instance() {
  id=$1
  [[ $id =~ ^[0-7]$ ]] || die "KUBE_CLUSTER_ID must be 0-7, not '$id'"
  ((node_count >= 1 && node_count <= 8)) || die "KUBE_NODE_COUNT must be 1-8"
  state="$state_root/$id"
  logs="$cache/logs/cluster-$id"
  lock_file="$state_root/$id.lock"
  prefix=osms-kube-$id
  bridge=okube$id
  chain=OSMS-KUBE-$id
  cgroup=osms-kube-$id
  host_ip=10.231.$id.1
  cluster_cidr=10.232.$((id * 16)).0/20
  service_cidr=10.233.$id.0/24
  api_service_ip=10.233.$id.1
  dns_ip=10.233.$id.10
  api_server=https://$host_ip:6443
  # etcd listens on the loopback only, on ports of its own per instance.
  etcd_port=$((12379 + 10 * id))
  etcd_peer_port=$((etcd_port + 1))
  node_names=() node_ips=() pod_cidrs=()
  local n
  for ((n = 1; n <= node_count; n++)); do
    node_names+=("node$n")
    node_ips+=("10.231.$id.$((10 + n))")
    pod_cidrs+=("10.232.$((id * 16 + n)).0/24")
  done
  KUBECONFIG_FILE="$state/admin.kubeconfig"
}
node_dir() { echo "$state/node$1"; }
netns_of() { echo "$prefix-node$1"; }

kubectl() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# ---- processes --------------------------------------------------------------

# Each daemon's pid and start time (field 22 of /proc/PID/stat, which an
# exec keeps) are in $state/pids/NAME, so that only these are ever killed.
proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

# start_daemon NAME CGROUP NETNS CMD...: runs CMD in the background, in its
# own session, in cgroup $cgroup/CGROUP of every hierarchy, in network
# namespace NETNS (empty: the host's), logging to $logs/NAME.log.
start_daemon() {
  local name=$1 cg=$2 ns=$3 enter=()
  shift 3
  [[ -n $ns ]] && enter=(nsenter "--net=/run/netns/$ns")
  # shellcheck disable=SC2016 # the inner shell expands these
  setsid "${enter[@]}" bash -c 'for m in $1; do echo $$ >"$m/$2/cgroup.procs"; done; shift 2; exec "$@"' \
    _ "$(cgroup_mounts | tr '\n' ' ')" "$cgroup/$cg" "$@" >"$logs/$name.log" 2>&1 </dev/null {lock_fd}>&- &
  local pid=$!
  echo "$pid $(proc_start "$pid")" >"$state/pids/$name"
}

daemon_alive() { # NAME
  local pid start
  read -r pid start 2>/dev/null <"$state/pids/$1" || return 1
  [[ -n $start && $(proc_start "$pid") == "$start" ]]
}

any_daemon_alive() {
  local f
  for f in "$state"/pids/*; do
    [[ -e $f ]] && daemon_alive "$(basename "$f")" && return 0
  done
  return 1
}

# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
  local what=$1 limit=$2 i
  shift 2
  for ((i = 0; i < limit * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "$what: not within $limit s (logs: $logs)"
}

# ---- cgroups ----------------------------------------------------------------

# The hierarchies: every cgroup v1 controller's mount, or the one cgroup2.
cgroup_mounts() { awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/mounts | sort -u; }
cgroup_v2() { [[ -f /sys/fs/cgroup/cgroup.controllers ]]; }

# The tree, in every hierarchy:
#   $cgroup/control-plane   etcd, kube-apiserver, -controller-manager, -scheduler
#   $cgroup/nodeN-system    node N's containerd (and its shims), kubelet, kube-proxy
#   $cgroup/nodeN           node N's kubelet's cgroupRoot: its pods
# so that the memory controller of $cgroup measures the whole cluster, and
# that each kubelet's pods have their own parent (the two containerds get the
# pods' cgroup parents from their kubelets: cgroupfs driver).
cgroups_up() {
  local m rel n leaves=(control-plane)
  for ((n = 1; n <= node_count; n++)); do leaves+=("node$n-system" "node$n"); done
  for m in $(cgroup_mounts); do
    mkdir -p "$m/$cgroup"
    if [[ -f $m/cpuset.cpus ]]; then
      cat "$m/cpuset.cpus" >"$m/$cgroup/cpuset.cpus"
      cat "$m/cpuset.mems" >"$m/$cgroup/cpuset.mems"
    fi
    if cgroup_v2; then
      sed 's/\([^ ]*\)/+\1/g' "$m/cgroup.controllers" >"$m/$cgroup/cgroup.subtree_control" || true
    fi
    for rel in "${leaves[@]}"; do
      mkdir -p "$m/$cgroup/$rel"
      if [[ -f $m/cpuset.cpus ]]; then
        cat "$m/cpuset.cpus" >"$m/$cgroup/$rel/cpuset.cpus"
        cat "$m/cpuset.mems" >"$m/$cgroup/$rel/cpuset.mems"
      fi
    done
  done
}

# Pids of every process in the cluster's cgroups (daemons, shims, containers).
cgroup_pids() {
  local m
  for m in $(cgroup_mounts); do
    [[ -d $m/$cgroup ]] && find "$m/$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}

cgroups_down() {
  local m
  for m in $(cgroup_mounts); do
    [[ -d $m/$cgroup ]] || continue
    # Deepest first: a cgroup goes only when it has no children.
    find "$m/$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ -d $m/$cgroup ]] && log "WARNING: $m/$cgroup remains: $(find "$m/$cgroup" -name cgroup.procs -exec cat {} + | tr '\n' ' ')"
  done
  return 0
}

# ---- certificates (openssl) -----------------------------------------------

# issue NAME SUBJECT EXT: a P-256 key and a certificate signed by the
# cluster's CA, valid for a week, with the extensions EXT (openssl syntax).
issue() {
  local name=$1 subject=$2 ext=$3 pki="$state/pki"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 7 -out "$pki/$name.crt" -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n%s\n' "$ext") 2>/dev/null
  rm -f "$pki/$name.csr"
}
client_cert() { issue "$1" "$2" "extendedKeyUsage=clientAuth"; }

certs() {
  local pki="$state/pki" n
  mkdir -p "$pki"
  (
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj "/CN=$prefix-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
    issue apiserver "/CN=kube-apiserver" \
      "extendedKeyUsage=serverAuth
subjectAltName=IP:$host_ip,IP:$api_service_ip,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$cluster_domain"
    # The apiserver's client certificate for the kubelets (logs, exec,
    # port-forward); system:masters passes their webhook authorization.
    client_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
    client_cert admin "/O=system:masters/CN=osms-kube-admin"
    # The apiserver's identity towards aggregated API servers.
    client_cert front-proxy-client "/CN=front-proxy-client"
    client_cert controller-manager "/CN=system:kube-controller-manager"
    client_cert scheduler "/CN=system:kube-scheduler"
    # The default ClusterRoleBinding system:node-proxier names this user.
    client_cert kube-proxy "/CN=system:kube-proxy"
    for ((n = 1; n <= node_count; n++)); do
      # The Node authorizer and NodeRestriction know a kubelet by this name.
      client_cert "node$n" "/O=system:nodes/CN=system:node:node$n"
      issue "node$n-serving" "/CN=system:node:node$n" \
        "extendedKeyUsage=serverAuth
subjectAltName=IP:${node_ips[n - 1]},DNS:node$n"
    done
    # Service account tokens: the apiserver verifies, the controller
    # manager's token controller signs.
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/sa.key" 2>/dev/null
    openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  )
  [[ -s $pki/sa.pub && -s $pki/node$node_count-serving.crt ]] || die "openssl did not make the certificates"
}

# kubeconfig NAME CERT: $state/NAME.kubeconfig, the user of certificate CERT.
kubeconfig() {
  local pki="$state/pki"
  (
    umask 077
    cat >"$state/$1.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: $prefix
  cluster:
    server: $api_server
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 "$pki/$2.crt")
    client-key-data: $(base64 -w0 "$pki/$2.key")
contexts:
- name: $prefix
  context:
    cluster: $prefix
    user: $2
current-context: $prefix
YAML
  )
}

# ---- network ----------------------------------------------------------------

# Host bridge $bridge ($host_ip/24) with a veth to each node's namespace
# (eth0, 10.231.ID.1N). Node N's pods have 10.232.(16*ID+N).0/24 on the
# node's own CNI bridge; the host and every other node route that to node
# N's address. The host routes the service range to node 1, whose
# kube-proxy DNATs (and masquerades, as traffic from outside the cluster
# range) what the host sends there. No node has a default route.
host_route_conflicts() {
  local cidr
  for cidr in "$host_ip/24" "$cluster_cidr" "$service_cidr"; do
    ip -4 route show to match "${cidr%/*}" | grep -v '^default' | grep -q . && echo "$cidr"
  done
  return 0
}

network_up() {
  local conflicts n m ns
  conflicts=$(host_route_conflicts)
  [[ -z $conflicts ]] || die "the host already routes $conflicts; another KUBE_CLUSTER_ID picks other ranges"
  ip link add "$bridge" type bridge
  ip addr add "$host_ip/24" dev "$bridge"
  ip link set "$bridge" up
  for ((n = 1; n <= node_count; n++)); do
    ns=$(netns_of "$n")
    ip netns add "$ns"
    ip link add "${bridge}n$n" type veth peer name eth0 netns "$ns"
    ip link set "${bridge}n$n" master "$bridge" up
    ip -n "$ns" addr add "${node_ips[n - 1]}/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    # Per namespace: forwarding between the node's pods and eth0, and
    # bridged pod traffic through iptables (kube-proxy's DNAT of a service
    # whose endpoint is on the same CNI bridge).
    nsenter "--net=/run/netns/$ns" sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
      net.ipv6.conf.all.disable_ipv6=1
    ip route add "${pod_cidrs[n - 1]}" via "${node_ips[n - 1]}" dev "$bridge"
  done
  for ((n = 1; n <= node_count; n++)); do
    for ((m = 1; m <= node_count; m++)); do
      ((m == n)) || ip -n "$(netns_of "$n")" route add "${pod_cidrs[m - 1]}" via "${node_ips[m - 1]}" dev eth0
    done
  done
  ip route add "$service_cidr" via "${node_ips[0]}" dev "$bridge"
  # The host's FORWARD chain sees the frames bridged between the nodes
  # (br_netfilter); Docker's policy there is DROP. One chain of our own,
  # jumped to first: node to node passes, and nothing is forwarded between
  # the cluster and any other interface.
  iptables -w -N "$chain"
  iptables -w -A "$chain" -i "$bridge" -o "$bridge" -j ACCEPT
  iptables -w -A "$chain" -i "$bridge" -j DROP
  iptables -w -A "$chain" -o "$bridge" -j DROP
  iptables -w -I FORWARD 1 -j "$chain"
}

network_down() {
  local n
  while iptables -w -D FORWARD -j "$chain" 2>/dev/null; do :; done
  if iptables -w -n -L "$chain" >/dev/null 2>&1; then
    iptables -w -F "$chain"
    iptables -w -X "$chain"
  fi
  for ((n = 1; n <= 8; n++)); do
    ip netns del "$(netns_of "$n")" 2>/dev/null || true
    ip link del "${bridge}n$n" 2>/dev/null || true
  done
  # The bridge's routes go with it.
  ip link del "$bridge" 2>/dev/null || true
}

# ---- control plane ----------------------------------------------------------

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

control_plane_up() {
  local pki="$state/pki" bin=$k8s_bin p
  for p in "$etcd_port" "$etcd_peer_port"; do port_free "$p" || die "port $p (etcd of cluster $id) is in use"; done
  start_daemon etcd control-plane "" etcd --name "$prefix" --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "$prefix=http://127.0.0.1:$etcd_peer_port" --logger zap --log-level warn
  start_daemon kube-apiserver control-plane "" "$bin/kube-apiserver" \
    --advertise-address "$host_ip" --bind-address "$host_ip" --secure-port 6443 \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer "https://kubernetes.default.svc.$cluster_domain" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range "$service_cidr" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --requestheader-client-ca-file "$pki/ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
    --allow-privileged=true --profiling=false --v 1
  wait_for "kube-apiserver ready" 120 kubectl get --raw /readyz
  start_daemon kube-controller-manager control-plane "" "$bin/kube-controller-manager" \
    --kubeconfig "$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$state/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$state/controller-manager.kubeconfig" \
    --bind-address "$host_ip" --leader-elect=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --allocate-node-cidrs=false --cluster-cidr "$cluster_cidr" --service-cluster-ip-range "$service_cidr" \
    --profiling=false --v 1
  start_daemon kube-scheduler control-plane "" "$bin/kube-scheduler" \
    --kubeconfig "$state/scheduler.kubeconfig" \
    --authentication-kubeconfig "$state/scheduler.kubeconfig" \
    --authorization-kubeconfig "$state/scheduler.kubeconfig" \
    --bind-address "$host_ip" --leader-elect=false --profiling=false --v 1
}

# ---- nodes ------------------------------------------------------------------

node_configs() { # N
  local n=$1 dir pki="$state/pki"
  dir=$(node_dir "$n")
  mkdir -p "$dir"/{cni,cni-ipam,kubelet,pod-logs,containerd}
  cat >"$dir/containerd.toml" <<TOML
# containerd of node $n: its own root, state, socket and runc root, so that
# it shares nothing with another containerd (Docker's, or the other node's).
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$dir/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$pause_image"
  # Root here may not set a negative OOM score: without this every pod
  # sandbox fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$dir/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni"
TOML
  cat >"$dir/cni/10-$prefix.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$prefix",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$dir/cni-ipam",
        "ranges": [[{"subnet": "${pod_cidrs[n - 1]}"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
  cat >"$dir/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$pki/node$n-serving.crt"
tlsPrivateKeyFile: "$pki/node$n-serving.key"
containerRuntimeEndpoint: "unix://$dir/containerd.sock"
# cgroup v1 and no systemd on these hosts.
cgroupDriver: cgroupfs
failCgroupV1: false
cgroupRoot: "/$cgroup/node$n"
podLogsDir: "$dir/pod-logs"
clusterDomain: $cluster_domain
clusterDNS: ["$dns_ip"]
# No upstream resolver: names outside the cluster do not resolve.
resolvConf: ""
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
failSwapOn: false
oomScoreAdj: 0
# Imported images cannot be pulled again: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
shutdownGracePeriod: 0s
rotateCertificates: false
serializeImagePulls: false
YAML
  cat >"$dir/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$state/kube-proxy.kubeconfig"}
hostnameOverride: node$n
mode: iptables
# Traffic from outside this range to a service (the host's) is masqueraded,
# so that its replies come back through the node that translated it.
clusterCIDR: "$cluster_cidr"
detectLocalMode: ClusterCIDR
healthzBindAddress: "0.0.0.0:10256"
metricsBindAddress: "127.0.0.1:10249"
# NodePorts on the node's address (eth0), not on its pods' bridge.
nodePortAddresses: [primary]
oomScoreAdj: 0
# Leave the host-wide conntrack table size alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {minSyncPeriod: 1s, syncPeriod: 30s}
YAML
}

node_up() { # N: containerd, then (after the images) kubelet and kube-proxy
  local n=$1 dir ns
  dir=$(node_dir "$n")
  ns=$(netns_of "$n")
  start_daemon "containerd-node$n" "node$n-system" "$ns" containerd --config "$dir/containerd.toml"
  wait_for "containerd of node$n" 60 ctr --address "$dir/containerd.sock" version
}

kubelet_up() { # N
  local n=$1 dir ns
  dir=$(node_dir "$n")
  ns=$(netns_of "$n")
  start_daemon "kubelet-node$n" "node$n-system" "$ns" "$k8s_bin/kubelet" \
    --config "$dir/kubelet.yaml" --kubeconfig "$state/node$n.kubeconfig" \
    --root-dir "$dir/kubelet" --hostname-override "node$n" --node-ip "${node_ips[n - 1]}" --v 1
  start_daemon "kube-proxy-node$n" "node$n-system" "$ns" "$k8s_bin/kube-proxy" \
    --config "$dir/kube-proxy.yaml" --v 1
}

# ---- CoreDNS ----------------------------------------------------------------

# Two replicas (one per node when both are up; preferred, so that a drained
# node's replica can move) and a PodDisruptionBudget: a drain of one node
# never leaves the cluster without DNS. No "forward" plugin: names outside
# cluster.local do not resolve (nothing is reachable outside the machine).
coredns_up() {
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
- {kind: ServiceAccount, name: coredns, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        health {
            lameduck 5s
        }
        ready
        kubernetes $cluster_domain in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        prometheus :9153
        cache 30
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 2
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1}
  selector:
    matchLabels: {k8s-app: kube-dns}
  template:
    metadata:
      labels: {k8s-app: kube-dns}
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: coredns
      dnsPolicy: Default
      tolerations:
      - {key: CriticalAddonsOnly, operator: Exists}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels: {k8s-app: kube-dns}
      containers:
      - name: coredns
        image: $coredns_image
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        resources:
          limits: {memory: 170Mi}
          requests: {cpu: 50m, memory: 70Mi}
        volumeMounts:
        - {name: config-volume, mountPath: /etc/coredns, readOnly: true}
        ports:
        - {containerPort: 53, name: dns, protocol: UDP}
        - {containerPort: 53, name: dns-tcp, protocol: TCP}
        - {containerPort: 9153, name: metrics, protocol: TCP}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
          readOnlyRootFilesystem: true
        livenessProbe:
          httpGet: {path: /health, port: 8080}
          initialDelaySeconds: 10
          timeoutSeconds: 5
        readinessProbe:
          httpGet: {path: /ready, port: 8181}
          periodSeconds: 2
      volumes:
      - name: config-volume
        configMap: {name: coredns}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: coredns, namespace: kube-system}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {k8s-app: kube-dns}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
  annotations: {prometheus.io/port: "9153", prometheus.io/scrape: "true"}
spec:
  selector: {k8s-app: kube-dns}
  clusterIP: $dns_ip
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
  - {name: metrics, port: 9153, protocol: TCP}
YAML
  kubectl -n kube-system rollout status deploy/coredns --timeout=180s >/dev/null ||
    die "CoreDNS did not become ready: $(kubectl -n kube-system get pods -o wide 2>&1)"
}

# A pod on every node resolves the API's service name through kube-dns.
dns_check() {
  local n pods=()
  for ((n = 1; n <= node_count; n++)); do
    kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: dns-check-node$n, namespace: kube-system}
spec:
  nodeName: node$n
  restartPolicy: Never
  containers:
  - name: getent
    image: osms-ci/mongo-standin:ferretdb
    imagePullPolicy: Never
    command: [getent, hosts, kubernetes.default.svc.$cluster_domain]
YAML
    pods+=("pod/dns-check-node$n")
  done
  if ! kubectl -n kube-system wait --for=jsonpath='{.status.phase}'=Succeeded "${pods[@]}" --timeout=120s >/dev/null; then
    kubectl -n kube-system get pods -o wide >&2 || true
    for n in "${pods[@]}"; do kubectl -n kube-system logs "$n" >&2 || true; done
    die "a pod did not resolve kubernetes.default.svc.$cluster_domain"
  fi
  for n in "${pods[@]}"; do
    kubectl -n kube-system logs "$n" | grep -q "^$api_service_ip " ||
      die "$n resolved kubernetes.default to something else than $api_service_ip"
  done
  kubectl -n kube-system delete "${pods[@]}" --wait=false >/dev/null
}

# ---- up, down -----------------------------------------------------------------

nodes_ready() {
  local ready
  ready=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)
  ((ready == node_count))
}

# orphan_of_test: the instance was started by a `test` run that is gone
# (killed before it could take the cluster down).
orphan_of_test() {
  local pid start mode
  read -r pid start mode 2>/dev/null <"$state/owner" || return 1
  [[ $mode == test && $(proc_start "$pid") != "$start" ]]
}

# claim: takes the instance's lock (kept until this script exits, not
# inherited by the daemons) and tears down what a killed run left of it.
# Fails if another run holds it.
claim() {
  mkdir -p "$state_root"
  exec {lock_fd}>"$lock_file"
  flock -n "$lock_fd" || return 1
  claimed=$id
  if [[ -d $state ]] && { ! any_daemon_alive || orphan_of_test; }; then
    log "cluster $id: tearing down what an earlier run left"
    teardown_instance
  fi
  return 0
}

# pick_instance: the first instance this run can claim.
pick_instance() {
  local i
  for ((i = 0; i < max_instances; i++)); do
    instance "$i"
    if claim; then
      if [[ -d $state ]]; then
        # Up, and started by `up` (no run holds its lock): a developer's.
        exec {lock_fd}>&-
        claimed=
        continue
      fi
      return 0
    fi
  done
  die "all $max_instances cluster instances are in use (bash .ci/kube.sh status)"
}

up_instance() {
  local started=$SECONDS n
  if [[ -d $state ]] && any_daemon_alive; then
    log "cluster $id is already up"
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "needs root (network namespaces, cgroups, iptables)"
  build
  image_tars
  log "starting cluster $id: ${node_count} node(s), API $api_server"
  rm -rf "$logs"
  mkdir -p "$state/pids" "$logs"
  # Who started it: a `test` run owns its cluster, an `up` leaves it up.
  echo "$$ $(proc_start $$) $mode" >"$state/owner"
  certs
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kube-proxy kube-proxy
  for ((n = 1; n <= node_count; n++)); do
    kubeconfig "node$n" "node$n"
    node_configs "$n"
  done
  local d
  for d in "${host_dirs[@]}"; do [[ -e $d ]] || echo "$d"; done >"$state/host-dirs-created"
  cgroups_up
  network_up
  control_plane_up
  for ((n = 1; n <= node_count; n++)); do node_up "$n"; done
  import_images
  for ((n = 1; n <= node_count; n++)); do kubelet_up "$n"; done
  wait_for "${node_count} node(s) registered and Ready" 180 nodes_ready
  wait_for "the default service account" 60 kubectl -n default get serviceaccount default
  coredns_up
  dns_check
  kubectl get nodes -o wide >&2
  log "cluster $id up in $((SECONDS - started)) s; eval \"\$(KUBE_CLUSTER_ID=$id bash .ci/kube.sh env)\" for kubectl"
}

# Stops every process of the instance and removes all it made, whatever
# state it is in (also none): idempotent.
teardown_instance() {
  local pids i name signal
  # The kubelets first, so that they restart nothing.
  for name in kubelet-node{1..8} kube-proxy-node{1..8}; do
    daemon_alive "$name" && kill -TERM "$(cut -d' ' -f1 "$state/pids/$name")" 2>/dev/null
  done
  # Then everything in the cluster's cgroups: daemons, shims, containers.
  for ((i = 0; i < 40; i++)); do
    pids=$(cgroup_pids)
    [[ -z $pids ]] && break
    # TERM for 2.5 s, then KILL.
    signal=TERM
    ((i < 10)) || signal=KILL
    # shellcheck disable=SC2086 # one pid per word
    kill -s "$signal" $pids 2>/dev/null || true
    sleep 0.25
  done
  [[ -z $(cgroup_pids) ]] || log "WARNING: processes remain in cgroup $cgroup: $(cgroup_pids | tr '\n' ' ')"
  # Sockets of killed shims (they live in containerd's default state dir).
  if [[ -d $state ]]; then
    find "$state" -path '*/io.containerd.runtime.v2.task/*' -name address -exec cat {} + 2>/dev/null |
      sed -n 's|^unix://||p' | xargs -r rm -f
  fi
  # Mounts under the state directory (overlay root filesystems, pods'
  # network namespaces, volumes), deepest first.
  for ((i = 0; i < 3; i++)); do
    awk -v s="$state/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount 2>/dev/null || true
  done
  awk -v s="$state/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  network_down
  cgroups_down
  # The CNI library's result cache (this network's, and the loopback
  # results of this cluster's sandboxes), the kubelets' links to container
  # logs, and the host directories the first instance up created.
  rm -f /var/lib/cni/results/"$prefix"-*
  if [[ -d $state ]]; then
    find "$state" -mindepth 6 -maxdepth 6 -path '*/io.containerd.grpc.v1.cri/sandboxes/*' -type d -printf '%f\n' 2>/dev/null |
      while read -r sandbox; do rm -f /var/lib/cni/results/cni-loopback-"$sandbox"-*; done
  fi
  find /var/log/containers -maxdepth 1 -type l -lname "$state/*" -delete 2>/dev/null || true
  if [[ -s $state/host-dirs-created ]] && [[ -z $(find "$state_root" -mindepth 1 -maxdepth 1 -type d ! -name "$id") ]]; then
    # The kubelets' device plugin socket is at a fixed path; no other
    # instance is up to own it.
    rm -f /var/lib/kubelet/device-plugins/kubelet.sock
    sort -r "$state/host-dirs-created" | xargs -r rmdir 2>/dev/null || true
  fi
  if awk -v s="$state/" 'index($5, s) == 1 {found = 1} END {exit !found}' /proc/self/mountinfo; then
    log "WARNING: mounts remain under $state; not removing it"
  else
    rm -rf --one-file-system "$state"
  fi
}

down_instance() {
  local started=$SECONDS
  mkdir -p "$state_root"
  if [[ $claimed != "$id" ]]; then
    exec {lock_fd}>"$lock_file"
    if ! flock -w 10 "$lock_fd" 2>/dev/null; then
      log "cluster $id: another run holds $lock_file; tearing down anyway"
    fi
  fi
  teardown_instance
  rm -f "$lock_file"
  rmdir "$state_root" 2>/dev/null || true
  log "cluster $id: down in $((SECONDS - started)) s"
}

# ---- environment --------------------------------------------------------------

export_env() {
  export KUBECONFIG=$KUBECONFIG_FILE KUBECTL HELM KUBE_CLUSTER_ID=$id KUBE_STATE_DIR=$state
  export KUBE_API_SERVER=$api_server KUBE_NODES="${node_names[*]}" KUBE_NODE_IPS="${node_ips[*]}"
  export KUBE_POD_CIDRS="${pod_cidrs[*]}" KUBE_CLUSTER_CIDR=$cluster_cidr KUBE_SERVICE_CIDR=$service_cidr
  export KUBE_DNS_IP=$dns_ip KUBE_CLUSTER_DOMAIN=$cluster_domain KUBE_HOST_IP=$host_ip
  export KUBE_APP_IMAGE=$app_image KUBE_SH=$self
  KUBE_IMAGE_TAGS=$(awk '{printf "%s%s", sep, $1; sep=" "}' "$state/images.list" 2>/dev/null || true)
  export KUBE_IMAGE_TAGS
  local sockets=() n
  for ((n = 1; n <= node_count; n++)); do sockets+=("$(node_dir "$n")/containerd.sock"); done
  export KUBE_CONTAINERD_SOCKETS="${sockets[*]}"
  # Helm keeps its repositories, cache and plugins with the cluster.
  export HELM_CACHE_HOME=$state/helm/cache HELM_CONFIG_HOME=$state/helm/config HELM_DATA_HOME=$state/helm/data
  export PATH="$k8s_bin:$helm_bin:$PATH"
}
env_vars=(KUBECONFIG KUBECTL HELM KUBE_CLUSTER_ID KUBE_STATE_DIR KUBE_API_SERVER KUBE_NODES KUBE_NODE_IPS
  KUBE_POD_CIDRS KUBE_CLUSTER_CIDR KUBE_SERVICE_CIDR KUBE_DNS_IP KUBE_CLUSTER_DOMAIN KUBE_HOST_IP
  KUBE_APP_IMAGE KUBE_IMAGE_TAGS KUBE_CONTAINERD_SOCKETS KUBE_SH HELM_CACHE_HOME HELM_CONFIG_HOME HELM_DATA_HOME PATH)

# ---- images into a running cluster ------------------------------------------

require_up() {
  if [[ ! -d $state ]] || ! daemon_alive kube-apiserver; then die "cluster $id is not up (bash .ci/kube.sh up)"; fi
}

# load_image REF|TAR...: a Docker image (saved from the engine) or a tar in
# `docker save` format, into every node.
load_image() {
  local arg tars=() refs=() tmp
  tmp=$(mktemp -d)
  for arg in "$@"; do
    if [[ -f $arg ]]; then
      tars+=("$arg")
    else
      refs+=("$arg")
      tars+=("$tmp/$(tar_name "$arg").tar")
    fi
  done
  if ((${#refs[@]})); then
    with_docker save_images "$tmp" "${refs[@]}" || exit 1
  fi
  import_tars "${tars[@]}"
  for arg in "${tars[@]}"; do
    # The references a tar holds (manifest.json's RepoTags).
    tar -xOf "$arg" manifest.json | sed -n 's/.*"RepoTags":\[\([^]]*\)\].*/\1/p' | tr ',' '\n' | tr -d '"' |
      sed "s|\$| $arg|" >>"$state/images.list" || true
  done
  rm -rf "$tmp"
  log "loaded $* into ${node_names[*]}"
}

# tag_image SRC DST: DST names SRC's image on every node (a new tag for the
# same image: a rolling update without a new build).
tag_image() {
  local n
  for ((n = 1; n <= node_count; n++)); do
    ctr --address "$(node_dir "$n")/containerd.sock" -n k8s.io images tag --force \
      "$(normalize_ref "$1")" "$(normalize_ref "$2")" >/dev/null
  done
  echo "$2 tag-of:$1" >>"$state/images.list"
  log "tagged $1 as $2 on ${node_names[*]}"
}

# The reference as containerd stores it (Docker's normalization).
normalize_ref() {
  local ref=$1
  [[ $ref == */* ]] || ref=library/$ref
  [[ ${ref%%/*} == *.* || ${ref%%/*} == *:* || ${ref%%/*} == localhost ]] || ref=docker.io/$ref
  [[ ${ref##*/} == *:* || $ref == *@* ]] || ref=$ref:latest
  echo "$ref"
}

# ---- smoke check ----------------------------------------------------------------

# The cluster's own check, with the project's images: the service (2
# replicas, one per node) on the FerretDB stand-in, then, from a pod and from
# the host, what the chart's tests rely on.
smoke() {
  require_up
  local ns=kube-smoke started=$SECONDS spread=required
  # One node (KUBE_NODE_COUNT=1): both replicas on it.
  ((node_count > 1)) || spread=preferred
  log "smoke: 2 replicas of $app_image (one per node) on the FerretDB stand-in, in namespace $ns"
  kubectl delete namespace "$ns" --ignore-not-found --wait=true >/dev/null
  kubectl create namespace "$ns" >/dev/null
  kubectl -n "$ns" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: mongo}
spec:
  selector: {matchLabels: {app: mongo}}
  template:
    metadata: {labels: {app: mongo}}
    spec:
      containers:
      - name: mongo
        image: osms-ci/mongo-standin:ferretdb
        imagePullPolicy: Never
        ports: [{containerPort: 27017}]
        readinessProbe:
          exec: {command: [/usr/local/bin/mongostandin, ping]}
          periodSeconds: 2
        volumeMounts: [{name: data, mountPath: /data/db}]
      volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: mongo}
spec:
  selector: {app: mongo}
  ports: [{port: 27017}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: sports}}
  template:
    metadata: {labels: {app: sports}}
    spec:
      automountServiceAccountToken: false
      affinity:
        podAntiAffinity:
$(if [[ $spread == required ]]; then
    printf '          requiredDuringSchedulingIgnoredDuringExecution:\n          - topologyKey: kubernetes.io/hostname\n            labelSelector: {matchLabels: {app: sports}}\n'
  else
    printf '          preferredDuringSchedulingIgnoredDuringExecution:\n          - weight: 100\n            podAffinityTerm:\n              topologyKey: kubernetes.io/hostname\n              labelSelector: {matchLabels: {app: sports}}\n'
  fi)
      containers:
      - name: app
        image: $app_image
        imagePullPolicy: Never
        env:
        - {name: MONGODB_URI, value: "mongodb://mongo:27017"}
        ports: [{containerPort: 8000}]
        readinessProbe:
          httpGet: {path: /health/ready, port: 8000}
          periodSeconds: 2
        securityContext:
          runAsNonRoot: true
          readOnlyRootFilesystem: true
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          seccompProfile: {type: RuntimeDefault}
---
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  type: NodePort
  selector: {app: sports}
  ports: [{port: 8000}]
YAML
  if ! kubectl -n "$ns" rollout status deploy/mongo --timeout=180s >/dev/null ||
    ! kubectl -n "$ns" rollout status deploy/app --timeout=180s >/dev/null; then
    kubectl -n "$ns" get pods -o wide >&2
    kubectl -n "$ns" describe pods >&2
    die "smoke: the deployments did not become ready"
  fi
  kubectl -n "$ns" get pods -o wide >&2
  local app_pods app_nodes client client_node client_ip
  app_pods=$(kubectl -n "$ns" get pods -l app=sports -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.nodeName}{" "}{.status.podIP}{"\n"}{end}')
  app_nodes=$(awk 'NF {print $2}' <<<"$app_pods" | sort -u | wc -l)
  ((app_nodes == (node_count < 2 ? 1 : 2))) || die "smoke: the 2 replicas are not on 2 nodes: $app_pods"
  read -r client client_node client_ip < <(kubectl -n "$ns" get pods -l app=mongo \
    -o jsonpath='{.items[0].metadata.name}{" "}{.items[0].spec.nodeName}{" "}{.items[0].status.podIP}{"\n"}')
  # From the stand-in's pod (bash's /dev/tcp; the image has no curl), by the
  # service's DNS name: one new connection per request, so kube-proxy picks
  # a replica each time, the one on the other node too.
  local url_host="app.$ns.svc.$cluster_domain" codes
  codes=$(kubectl -n "$ns" exec "$client" -- bash -c '
    for i in $(seq 1 24); do
      exec 3<>"/dev/tcp/$1/8000" || exit 1
      printf "GET /health/live HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&3
      read -r _ code _ <&3
      echo "$code"
      exec 3<&-
    done' _ "$url_host" | sort | uniq -c | tr -s ' ')
  [[ $codes == " 24 200" ]] || die "smoke: GET http://$url_host:8000/health/live from pod $client: $codes"
  # Each replica's access log (kubectl logs) has requests from that pod.
  local pod node ip seen
  while read -r pod node ip; do
    [[ -n $pod ]] || continue
    seen=$(kubectl -n "$ns" logs "$pod" | grep '"path":"/health/live"' | grep -c "\"client_ip\":\"$client_ip\"" || true)
    ((seen > 0)) || die "smoke: $pod on $node logged no request from $client ($client_ip on $client_node)"
    log "smoke: $pod on $node answered $seen of 24 requests from $client on $client_node (by the service's name)"
  done <<<"$app_pods"
  # From the host: each pod's IP, the ClusterIP, the NodePort on every node.
  local cluster_ip node_port urls=() code
  cluster_ip=$(kubectl -n "$ns" get svc app -o jsonpath='{.spec.clusterIP}')
  node_port=$(kubectl -n "$ns" get svc app -o jsonpath='{.spec.ports[0].nodePort}')
  while read -r pod node ip; do [[ -z $ip ]] || urls+=("http://$ip:8000/health/ready"); done <<<"$app_pods"
  urls+=("http://$cluster_ip:8000/health/ready")
  for ip in "${node_ips[@]}"; do urls+=("http://$ip:$node_port/health/ready"); done
  for url in "${urls[@]}"; do
    code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url" || true)
    [[ $code == 200 ]] || die "smoke: GET $url from the host answered '$code'"
  done
  log "smoke: from the host, 200 from ${urls[*]}"
  kubectl -n "$ns" exec "$client" -- getent hosts "mongo.$ns.svc.$cluster_domain" >/dev/null ||
    die "smoke: mongo.$ns.svc.$cluster_domain does not resolve"
  kubectl delete namespace "$ns" --wait=false >/dev/null
  log "smoke: passed in $((SECONDS - started)) s"
}

# kill_tree SIGNAL PID: PID and all its descendants.
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$2" 2>/dev/null); do kill_tree "$1" "$child"; done
  kill -s "$1" "$2" 2>/dev/null || true
}

# ---- status -------------------------------------------------------------------

# memory_of: the cluster's memory, from the memory controller of its
# cgroup (anonymous memory, and page cache: mostly the image files the
# nodes imported) and the resident set of its processes (which counts the
# binaries' shared pages once per process).
memory_of() {
  local m=/sys/fs/cgroup/memory/$cgroup rss=0 pid
  [[ -f $m/memory.stat ]] || return 0
  for pid in $(cgroup_pids); do rss=$((rss + $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0))); done
  awk -v rss="$rss" -v n="$(cgroup_pids | wc -l)" '
    $1 == "total_rss" {anon = $2} $1 == "total_cache" {cache = $2}
    END {printf "memory: %d MiB anonymous, %d MiB page cache; %d processes, %d MiB resident\n", anon / 1048576, cache / 1048576, n, rss / 1024}' "$m/memory.stat"
}

status() {
  local i f any=0
  for ((i = 0; i < max_instances; i++)); do
    instance "$i"
    [[ -d $state ]] || continue
    any=1
    echo "cluster $i: $state"
    for f in "$state"/pids/*; do
      [[ -e $f ]] || continue
      if daemon_alive "$(basename "$f")"; then echo "  $(basename "$f"): pid $(cut -d' ' -f1 "$f")"; else echo "  $(basename "$f"): gone"; fi
    done
    echo "  $(memory_of)"
    daemon_alive kube-apiserver && kubectl get nodes -o wide 2>&1 | sed 's/^/  /'
  done
  ((any)) || echo "no cluster"
}

usage() {
  sed -n '2,18p' "$self" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The whole script is read before main runs: editing it while it runs
# (a cluster stays up for long) cannot change what runs.
main() {
  cmd=${1:-}
  (($#)) && shift
  case $cmd in
    build)
      build
      ;;
    helm)
      # Only helm (the chart's tests without a cluster); its path, last.
      exec {build_lock}>"$cache/build.lock"
      flock "$build_lock"
      build_helm
      rm -rf "$build_cache"
      exec {build_lock}>&-
      echo "$HELM"
      ;;
    images)
      build
      image_tars
      instance "${KUBE_CLUSTER_ID:-0}"
      if [[ -d $state ]] && daemon_alive kube-apiserver; then import_images; fi
      awk '{print $1, $2}' "$image_list"
      ;;
    up)
      instance "${KUBE_CLUSTER_ID:-0}"
      claim || die "cluster $id: another run holds $lock_file"
      trap 'rc=$?; ((rc == 0)) || { log "up failed: tearing down (logs: $logs)"; teardown_instance; }; exit $rc' EXIT
      trap 'exit 130' INT
      trap 'exit 143' TERM
      up_instance
      ;;
    down)
      if [[ -n ${KUBE_CLUSTER_ID:-} ]]; then
        instance "$KUBE_CLUSTER_ID"
        down_instance
      else
        # Every instance that is not another run's.
        mkdir -p "$state_root"
        for ((i = 0; i < max_instances; i++)); do
          instance "$i"
          if [[ -d $state ]] || ip link show "$bridge" >/dev/null 2>&1; then
            exec {lock_fd}>"$lock_file"
            if flock -n "$lock_fd"; then
              claimed=$i
              down_instance
            else
              log "cluster $i: in use by a running test; left alone"
            fi
            exec {lock_fd}>&-
          fi
        done
      fi
      ;;
    test)
      [[ ${1:-} == -- ]] && shift
      (($#)) || usage
      if [[ -n ${KUBE_CLUSTER_ID:-} ]]; then
        instance "$KUBE_CLUSTER_ID"
        claim || die "cluster $id: another run holds $lock_file"
        [[ ! -d $state ]] || die "cluster $id is up (bash .ci/kube.sh down, or another KUBE_CLUSTER_ID)"
      else
        pick_instance
      fi
      # Down whatever happens, keeping the command's (or up's) exit status;
      # on failure the cluster's logs go to $ARTIFACTS_DIR when set.
      cmd_pid=
      mode="test"
      teardown() {
        local rc=$? i
        if ((rc != 0)) && [[ -n ${ARTIFACTS_DIR:-} && -d $logs ]]; then
          mkdir -p "$ARTIFACTS_DIR/kube-logs-$id"
          cp -a "$logs/." "$ARTIFACTS_DIR/kube-logs-$id/" 2>/dev/null || true
          log "the cluster's logs: $ARTIFACTS_DIR/kube-logs-$id"
        fi
        # A signal ended this script while the command ran: end the
        # command (and what it started) before the cluster goes.
        if [[ -n ${cmd_pid:-} ]] && kill -0 "$cmd_pid" 2>/dev/null; then
          log "stopping the command (pid $cmd_pid)"
          kill_tree TERM "$cmd_pid"
          for ((i = 0; i < 40; i++)); do
            kill -0 "$cmd_pid" 2>/dev/null || break
            sleep 0.25
          done
          kill_tree KILL "$cmd_pid"
        fi
        down_instance || true
        exit "$rc"
      }
      trap teardown EXIT
      trap 'exit 130' INT
      trap 'exit 143' TERM
      up_instance
      export_env
      # In the background, so that a signal to this script (bash runs
      # traps only between commands) reaches the trap while it runs; with
      # this script's standard input.
      "$@" {lock_fd}>&- <&0 &
      cmd_pid=$!
      wait "$cmd_pid"
      ;;
    env)
      instance "${KUBE_CLUSTER_ID:-0}"
      export_env
      for v in "${env_vars[@]}"; do printf 'export %s=%q\n' "$v" "${!v}"; done
      ;;
    load-image)
      (($#)) || usage
      instance "${KUBE_CLUSTER_ID:-0}"
      require_up
      load_image "$@"
      ;;
    tag-image)
      (($# == 2)) || usage
      instance "${KUBE_CLUSTER_ID:-0}"
      require_up
      tag_image "$1" "$2"
      ;;
    smoke)
      instance "${KUBE_CLUSTER_ID:-0}"
      smoke
      ;;
    status)
      status
      ;;
    *)
      usage
      ;;
  esac
}
main "$@"; exit
