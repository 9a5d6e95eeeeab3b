// Parses Mermaid files with Mermaid's own parser (mermaid 11.11.0, from the
// mermaid-parser-py bundle that scripts/setup-test-tools.sh installs into
// .tools/mermaid) and prints, per file, one JSON line:
//
//   {"file": F, "ok": true, "type": "flowchart-v2", "direction": "LR",
//    "vertices": {ID: {"type": SHAPE, "text": TEXT, "classes": [...]}},
//    "edges": [{"start": ID, "end": ID, "text": TEXT, "stroke": "normal"|"dotted"}]}
//   {"file": F, "ok": false, "error": MESSAGE}
//
// TEXT is what Mermaid draws: its entity codes (`#34;`) decoded as its renderer does,
// `<br/>` as a newline. Exits 1 if any file failed to parse.
//
//   node tests/oracles/mermaid.js FILE...
"use strict";
const fs = require("fs");
const path = require("path");

const bundle =
  process.env.KPLAN_MERMAID_PARSER ||
  path.join(__dirname, "../../.tools/mermaid/mermaid_parser/js/parser.bundle.js");
const parse = require(bundle);

// Mermaid's encodeEntities turns `#NNN;` into these markers while it parses; its
// decodeEntities turns them into `&#NNN;`, which the browser decodes.
function drawn(text) {
  return String(text)
    .replace(/ﬂ°°(\d+)¶ß/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/<br\s*\/?>/g, "\n");
}

async function main() {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    try {
      const r = JSON.parse(await parse(fs.readFileSync(file, "utf8")));
      const db = r.graph_data;
      const vertices = {};
      for (const [id, v] of Object.entries(db.vertices)) {
        vertices[id] = { type: v.type, text: drawn(v.text), classes: v.classes };
      }
      const edges = db.edges.map((e) => ({
        start: e.start,
        end: e.end,
        text: drawn(e.text),
        stroke: e.stroke,
      }));
      console.log(
        JSON.stringify({ file, ok: true, type: r.graph_type, direction: db.direction, vertices, edges })
      );
    } catch (e) {
      failed = true;
      console.log(JSON.stringify({ file, ok: false, error: String((e && e.message) || e) }));
    }
  }
  process.exit(failed ? 1 : 0);
}
main();
