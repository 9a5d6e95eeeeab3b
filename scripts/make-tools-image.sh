#!/usr/bin/env bash
# Builds a local stand-in for kplan's tools image (the image kplan's own one-shots run
# in for run-time values; the default is badouralix/curl-jq), with no registry:
# `docker import` of a root filesystem made from Debian packages installed on this
# host: busybox-static (sh, cat, cp, mkdir, mv, rm, chmod, wget, ...) and jq with the
# shared libraries it links (installed by scripts/setup-test-tools.sh).
#
#   scripts/make-tools-image.sh [TAG]      default TAG: kplan-test/tools:local
#
# Idempotent: does nothing when TAG already exists.
set -euo pipefail

TAG="${1:-kplan-test/tools:local}"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
JQ="${JQ:-/usr/bin/jq}"

if docker image inspect "$TAG" >/dev/null 2>&1; then
    exit 0
fi
[ -x "$BUSYBOX" ] || { echo "make-tools-image: $BUSYBOX missing: run scripts/setup-test-tools.sh" >&2; exit 1; }
[ -x "$JQ" ] || { echo "make-tools-image: $JQ missing: run scripts/setup-test-tools.sh" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,usr/bin,etc,tmp,proc,sys,dev,root}
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cp "$JQ" "$root/usr/bin/jq"
# jq's shared libraries and the dynamic loader, at the paths the binary names.
for lib in $(ldd "$JQ" | grep -oE '/[^ ]+'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
GROUP
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$work/rootfs.tar" .
docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/usr/bin:/bin' "$work/rootfs.tar" "$TAG" >/dev/null
docker run --rm --network none "$TAG" sh -c 'echo "{\"a\":1}" | jq -j .a' | grep -qx 1 \
    || { docker image rm "$TAG" >/dev/null 2>&1; echo "make-tools-image: jq does not run in $TAG" >&2; exit 1; }
echo "make-tools-image: built $TAG" >&2
