#!/usr/bin/env bash
# Builds the image kplan's tests run containers from, with no registry: `docker import`
# of a root filesystem made from the host's static busybox (Debian's busybox-static,
# installed by scripts/setup-test-tools.sh).
#
#   scripts/make-busybox-image.sh [TAG]      default TAG: kplan-test/busybox:local
#
# Idempotent: does nothing when TAG already exists. The image has every busybox applet
# on PATH=/bin (sh, httpd, wget, nc, ...), /etc/passwd and /etc/group with root and
# nobody, /tmp, /root and an empty /var/www for httpd.
set -euo pipefail

TAG="${1:-kplan-test/busybox:local}"
BUSYBOX="${BUSYBOX:-/bin/busybox}"

if docker image inspect "$TAG" >/dev/null 2>&1; then
    exit 0
fi
[ -x "$BUSYBOX" ] || { echo "make-busybox-image: $BUSYBOX missing: run scripts/setup-test-tools.sh" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root,var/www}
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$work/rootfs.tar" .
docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$work/rootfs.tar" "$TAG" >/dev/null
echo "make-busybox-image: built $TAG" >&2
