#!/usr/bin/env bash
# Runs the public kurtosis-tech/redis-package, unchanged, on the local Docker engine two
# ways: `kplan apply` (then a second apply that must say "No changes.") and the real
# Compose v2 binary on `kplan compile --target compose` output. For local use only: the
# package is never committed. Lay it out first as CACHE/github.com/kurtosis-tech/redis-package
# (a git clone), then:
#
#   scripts/try-real-apply.sh CACHE
#
# There is no registry here, so the package's image `redis:alpine` is a stand-in built
# from Debian's redis-server (its binaries and libraries in a busybox rootfs, imported
# with `docker import`), unless an image of that name already exists.
set -euo pipefail
cache="$(cd "${1:?usage: $0 CACHE}" && pwd)"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="$cache/github.com/kurtosis-tech/redis-package"
[ -d "$pkg" ] || { echo "try-real-apply: $pkg is missing" >&2; exit 1; }
cd "$root"
cargo build --release -q
kplan="$root/target/release/kplan"
work="$(mktemp -d)"
enclave="try-redis-$$"
project="tryredis$$"
compose_bin="$(.tools/venv/bin/python -c 'import compose,os;print(os.path.dirname(compose.__file__))')/docker-compose"
cleanup() {
    "$kplan" destroy --enclave "$enclave" --state-dir "$work/state" --volumes >/dev/null 2>&1 || true
    "$compose_bin" -p "$project" -f "$work/compose/compose.yaml" down -v >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

if ! docker image inspect redis:alpine >/dev/null 2>&1; then
    command -v redis-server >/dev/null || apt-get install -y -q redis-server >/dev/null
    rootfs="$work/rootfs"
    mkdir -p "$rootfs"/{bin,etc,tmp,data,proc,sys,dev,usr/bin}
    cp /bin/busybox "$rootfs/bin/busybox"
    for a in $("$rootfs/bin/busybox" --list); do
        [ "$a" = busybox ] || ln -sf busybox "$rootfs/bin/$a"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
    echo 'root:x:0:' > "$rootfs/etc/group"
    for b in redis-server redis-cli; do cp "$(command -v $b)" "$rootfs/usr/bin/$b"; done
    for lib in $(ldd "$(command -v redis-server)" "$(command -v redis-cli)" | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
        mkdir -p "$rootfs$(dirname "$lib")"
        cp -L "$lib" "$rootfs$lib"
    done
    tar -C "$rootfs" -cf "$work/rootfs.tar" .
    docker import -c 'CMD ["redis-server", "--protected-mode", "no"]' -c 'ENV PATH=/usr/bin:/bin' \
        -c 'WORKDIR /data' "$work/rootfs.tar" redis:alpine >/dev/null
    echo "built the stand-in image redis:alpine from Debian's redis-server"
fi

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
export KPLAN_PACKAGE_CACHE="$cache"

t=$(date +%s%N)
"$kplan" apply "$pkg" --offline --enclave "$enclave" --state-dir "$work/state" --yes >/dev/null 2>&1
echo "kplan apply (cold):        $(ms "$t") ms; redis-cli ping -> $(docker exec "$enclave--redis" redis-cli ping)"
t=$(date +%s%N)
again="$("$kplan" apply "$pkg" --offline --enclave "$enclave" --state-dir "$work/state" --yes 2>/dev/null)"
echo "kplan apply (again):       $(ms "$t") ms; $(printf '%s\n' "$again" | head -1)"

"$kplan" compile "$pkg" --offline --target compose -o "$work/compose" >/dev/null 2>&1
t=$(date +%s%N)
"$compose_bin" -p "$project" -f "$work/compose/compose.yaml" up -d --wait --pull never >/dev/null 2>&1
echo "compose up --wait:         $(ms "$t") ms; redis-cli ping -> $(docker exec "$project-redis-1" redis-cli ping)"
