#!/usr/bin/env bash
# Compiles public Kurtosis packages from a package cache with default arguments, for
# local use only (their files are never committed). Lay the packages out first as
# CACHE/github.com/OWNER/REPO (a git clone each), then:
#
#   scripts/try-real-packages.sh CACHE [TARGET...]        # TARGET: plan (default), compose, helm, terraform
#
# Prints one line per package and target: ok, or the first diagnostic. When .tools/venv
# exists, Compose outputs are also checked with the real Compose binary (`config -q`),
# Helm charts with `helm lint --strict`, a render and the Kubernetes schemas (counts),
# Terraform configurations with Terraform's fmt -check, its config loader and the
# provider schema check (tests/oracles/oracle.py terraform).
# A package whose run() has required parameters gets the arguments listed below.
set -uo pipefail
cache="${1:?usage: $0 CACHE [TARGET...]}"
shift
targets=("${@:-plan}")
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/target/release/kplan"
(cd "$root" && cargo build --release -q) || exit 1
packages=(
    github.com/kurtosis-tech/redis-package
    github.com/kurtosis-tech/postgres-package
    github.com/kurtosis-tech/prometheus-package
    github.com/kurtosis-tech/near-package
    github.com/ethpandaops/ethereum-package
    github.com/bharath-123/db-adminer-package
)
declare -A pkg_args=(
    [github.com/bharath-123/db-adminer-package]='{"default_db": "app", "default_driver": "pgsql", "default_password": "secret", "default_server": "postgres", "default_username": "postgres"}'
)
oracle="$root/.tools/venv/bin/python"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for pkg in "${packages[@]}"; do
    for t in "${targets[@]}"; do
        dir="$out/$(basename "$pkg")-$t"
        start=$(date +%s%N)
        args=("--args" "${pkg_args[$pkg]:-{\}}")
        if err=$(KPLAN_PACKAGE_CACHE="$cache" "$bin" compile "$cache/$pkg" --target "$t" --offline "${args[@]}" -o "$dir" 2>&1); then
            ms=$(( ($(date +%s%N) - start) / 1000000 ))
            checked=""
            if [ "$t" = compose ] && [ -x "$oracle" ]; then
                if report=$("$oracle" "$root/tests/oracles/oracle.py" compose "$dir" 2>&1); then
                    checked=", compose config -q ok"
                else
                    checked=", REJECTED by compose: $(printf '%s\n' "$report" | head -3 | tr '\n' ' ')"
                fi
            fi
            if [ "$t" = helm ] && [ -x "$oracle" ]; then
                if report=$("$oracle" "$root/tests/oracles/oracle.py" helm "$dir" 2>&1); then
                    checked=", $(printf '%s\n' "$report" | sed -n 's/^ok [^ ]* (\(.*\))$/\1/p')"
                else
                    checked=", REJECTED: $(printf '%s\n' "$report" | head -3 | tr '\n' ' ')"
                fi
            fi
            if [ "$t" = terraform ] && [ -x "$oracle" ]; then
                if report=$("$oracle" "$root/tests/oracles/oracle.py" terraform "$dir" 2>&1); then
                    checked=", terraform fmt + loader + provider schema ok"
                else
                    checked=", REJECTED by terraform: $(printf '%s\n' "$report" | head -3 | tr '\n' ' ')"
                fi
            fi
            printf '%-45s %-8s ok (%d ms, %d files%s)\n' "$pkg" "$t" "$ms" "$(find "$dir" -type f ! -name .kplan-files | wc -l)" "$checked"
        else
            printf '%-45s %-8s FAIL %s\n' "$pkg" "$t" "$(printf '%s\n' "$err" | grep -m1 -E '^error')"
        fi
    done
done
