#!/usr/bin/env bash
# Builds a local stand-in for kplan's tools image (the image kplan's own one-shots run
# in for run-time values; the default is badouralix/curl-jq), with no registry: the
# busybox test image (scripts/make-busybox-image.sh: sh, cat, cp, mkdir, mv, rm,
# chmod, sed, tail, wget, ...) plus Debian's jq with the shared libraries it links
# (installed by scripts/setup-test-tools.sh), added with `docker cp` and
# `docker commit`.
#
#   scripts/make-tools-image.sh [TAG]      default TAG: kplan-test/tools:local
#
# Idempotent: does nothing when TAG already exists.
set -euo pipefail

TAG="${1:-kplan-test/tools:local}"
BASE="${BASE:-kplan-test/busybox:local}"
JQ="${JQ:-/usr/bin/jq}"

if docker image inspect "$TAG" >/dev/null 2>&1; then
    exit 0
fi
[ -x "$JQ" ] || { echo "make-tools-image: $JQ missing: run scripts/setup-test-tools.sh" >&2; exit 1; }
bash "$(dirname "${BASH_SOURCE[0]}")/make-busybox-image.sh" "$BASE"

work="$(mktemp -d)"
container=""
cleanup() {
    [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
# jq and its shared libraries (and the dynamic loader), at the paths the binary names.
mkdir -p "$work/root/usr/bin"
cp "$JQ" "$work/root/usr/bin/jq"
for lib in $(ldd "$JQ" | grep -oE '/[^ ]+'); do
    mkdir -p "$work/root$(dirname "$lib")"
    cp -L "$lib" "$work/root$lib"
done
container="$(docker create "$BASE" true)"
tar --numeric-owner --owner=0 --group=0 -C "$work/root" -cf - . | docker cp - "$container:/"
docker commit -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/usr/bin:/bin' "$container" "$TAG" >/dev/null
docker run --rm --network none "$TAG" sh -c 'echo "{\"a\":1}" | jq -j .a' | grep -qx 1 \
    || { docker image rm "$TAG" >/dev/null 2>&1; echo "make-tools-image: jq does not run in $TAG" >&2; exit 1; }
echo "make-tools-image: built $TAG" >&2
