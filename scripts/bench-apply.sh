#!/usr/bin/env bash
# Benchmarks `kplan apply` against the real Docker Compose v2 binary (`up -d --wait`)
# on the same N-service package (busybox httpd services, no registry needed):
# cold apply, no-op re-apply, and a change to one service. Prints seconds and ratios.
#
#   scripts/bench-apply.sh [N]        default N=20; needs Docker and scripts/setup-test-tools.sh
#
# Goals: no-op <= 0.2x Compose, cold <= 0.8x, one change <= 0.5x.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${1:-20}"
IMAGE=kplan-test/busybox:local
bash scripts/make-busybox-image.sh "$IMAGE" >/dev/null

cargo build --release -q
KPLAN="$PWD/target/release/kplan"
PY=.tools/venv/bin/python
[ -x "$PY" ] || { echo "bench-apply: run scripts/setup-test-tools.sh first" >&2; exit 1; }
COMPOSE="$("$PY" -c 'import compose,os;print(os.path.dirname(compose.__file__))')/docker-compose"
[ -x "$COMPOSE" ] || { echo "bench-apply: compose binary missing: $COMPOSE" >&2; exit 1; }

work="$(mktemp -d)"
ENCLAVE="bench-$$"
PROJECT="kplanbench$$"
export DOCKER_CONFIG="$work/docker-config"
mkdir -p "$DOCKER_CONFIG" "$work/pkg"
cleanup() {
    "$KPLAN" destroy --enclave "$ENCLAVE" --state-dir "$work/state" --volumes >/dev/null 2>&1 || true
    "$COMPOSE" -p "$PROJECT" -f "$work/compose/compose.yaml" down -t 1 >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# The package: N httpd services; args {"v0": "..."} changes the first one's page.
{
    echo 'def run(plan, args = {}):'
    echo "    for i in range($N):"
    echo '        v = args.get("v%d" % i, "1")'
    echo '        plan.add_service(name = "svc-%d" % i, config = ServiceConfig('
    echo "            image = \"$IMAGE\","
    echo '            ports = {"http": PortSpec(number = 80, application_protocol = "http")},'
    echo '            cmd = ["sh", "-c", "mkdir -p /www && echo svc-%d-v%s > /www/index.html && exec httpd -f -p 80 -h /www" % (i, v)],'
    echo '        ))'
} > "$work/pkg/main.star"
echo 'name: github.com/kplan-bench/http' > "$work/pkg/kurtosis.yml"

# The same package compiled by kplan's Compose backend: Compose runs exactly what kplan
# applies (same commands, tini as init, a healthcheck for each declared port, which
# `up --wait` waits for as `kplan apply` waits for the port).
compose_file() { # $1 = version of svc-0
    "$KPLAN" compile "$work/pkg" --target compose -o "$work/compose" --args "{\"v0\": \"$1\"}" >/dev/null 2>&1
}

now() { date +%s.%N; }
timed() { # prints elapsed seconds of "$@" (output discarded)
    local s e
    s=$(now)
    "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    e=$(now)
    echo "$e - $s" | bc -l
}

kp() { "$KPLAN" apply "$work/pkg" --enclave "$ENCLAVE" --state-dir "$work/state" --yes "$@"; }
cup() { "$COMPOSE" -p "$PROJECT" -f "$work/compose/compose.yaml" up -d --wait; }

k_cold=$(timed kp)
k_noop=$(timed kp)
k_one=$(timed kp --args '{"v0": "2"}')
"$KPLAN" destroy --enclave "$ENCLAVE" --state-dir "$work/state" >/dev/null

compose_file 1
c_cold=$(timed cup)
c_noop=$(timed cup)
compose_file 2
c_one=$(timed cup)

printf '%-22s %10s %10s %8s %8s\n' "N=$N services" "kplan (s)" "compose" "ratio" "goal"
row() { printf '%-22s %10.2f %10.2f %7.2fx %7s\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)" "$4"; }
row "cold apply" "$k_cold" "$c_cold" "<=0.8x"
row "no-op re-apply" "$k_noop" "$c_noop" "<=0.2x"
row "one service changed" "$k_one" "$c_one" "<=0.5x"
