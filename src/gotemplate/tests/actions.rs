//! Actions as Go runs them: text, comments and trim markers, fields and missing
//! keys, `if`/`else if`/`with`, `range`, variables and their scopes, pipelines;
//! a template in ethereum-package's style; repeated execution.

use super::*;

#[test]
fn text_comments_and_trim() {
    assert_eq!(ok("hello", json!({})), "hello");
    assert_eq!(ok("a{{/* c */}}b", json!({})), "ab");
    assert_eq!(ok("a  \n {{- /* c */ -}} \n  b", json!({})), "ab");
    assert_eq!(ok("a \n\t{{- 1 }} b", json!({})), "a1 b");
    assert_eq!(ok("a {{ 1 -}} \n\n b", json!({})), "a 1b");
    // `{{-3}}` is the number -3, not a trim marker.
    assert_eq!(ok("a {{-3}} b", json!({})), "a -3 b");
    assert_eq!(
        ok("x\n{{- if true }}\n  y\n{{- end }}\n", json!({})),
        "x\n  y\n"
    );
}

#[test]
fn fields_and_missing_keys() {
    let d = json!({"A": {"B": {"C": "deep"}}, "N": null, "s": "str"});
    assert_eq!(ok("{{ .A.B.C }}", d.clone()), "deep");
    assert_eq!(ok("{{ $.A.B.C }}", d.clone()), "deep");
    assert_eq!(
        ok("{{ with .A }}{{ .B.C }}{{ $.s }}{{ end }}", d.clone()),
        "deepstr"
    );
    // Missing key: the invalid value prints <no value>.
    assert_eq!(ok("{{ .Missing }}", d.clone()), "<no value>");
    // Field of the invalid value is still invalid (Go's evalField returns zero).
    assert_eq!(ok("{{ .Missing.B }}", d.clone()), "<no value>");
    // A present null prints <no value> too (the pipeline turns nil into invalid)...
    assert_eq!(ok("{{ .N }}", d.clone()), "<no value>");
    // ...but a field of a present null is Go's nil pointer error.
    let e = err("{{ .N.B }}", d.clone());
    assert!(e.contains("nil pointer evaluating interface {}.B"), "{e}");
    let e = err("{{ .s.B }}", d.clone());
    assert!(e.contains("can't evaluate field B in type string"), "{e}");
    // Passed to printf, missing and null are nil.
    assert_eq!(ok("{{ printf \"%v\" .Missing }}", d.clone()), "<nil>");
    assert_eq!(ok("{{ .N | printf \"%v\" }}", d), "<nil>");
    // Nil data: dot is invalid.
    assert_eq!(ok("{{ .x }}", json!(null)), "<no value>");
}

#[test]
fn if_else_if_with() {
    let d = json!({"a": 0, "b": "", "c": [], "d": {}, "e": false, "x": "yes", "n": null});
    for f in ["b", "c", "d", "e", "n", "missing"] {
        assert_eq!(
            ok(
                &format!("{{{{ if .{f} }}}}T{{{{ else }}}}F{{{{ end }}}}"),
                d.clone()
            ),
            "F",
            "{f}"
        );
    }
    // A json.Number is a non-empty string: even 0 is true.
    assert_eq!(ok("{{ if .a }}T{{ else }}F{{ end }}", d.clone()), "T");
    assert_eq!(ok("{{ if 0 }}T{{ else }}F{{ end }}", d.clone()), "F");
    assert_eq!(
        ok(
            "{{ if .e }}1{{ else if .b }}2{{ else if .x }}3{{ else }}4{{ end }}",
            d.clone()
        ),
        "3"
    );
    assert_eq!(
        ok("{{ with .x }}[{{ . }}]{{ else }}none{{ end }}", d.clone()),
        "[yes]"
    );
    assert_eq!(
        ok("{{ with .b }}[{{ . }}]{{ else }}none{{ end }}", d.clone()),
        "none"
    );
    assert_eq!(
        ok("{{ with .b }}1{{ else with .x }}{{ . }}{{ end }}", d),
        "yes"
    );
}

#[test]
fn range_forms() {
    let d = json!({"l": ["a", "b"], "m": {"z": 1, "a": 2, "m": 3}, "e": []});
    assert_eq!(ok("{{ range .l }}<{{ . }}>{{ end }}", d.clone()), "<a><b>");
    assert_eq!(ok("{{ range $v := .l }}{{ $v }}{{ end }}", d.clone()), "ab");
    assert_eq!(
        ok(
            "{{ range $i, $v := .l }}{{ $i }}={{ $v }};{{ end }}",
            d.clone()
        ),
        "0=a;1=b;"
    );
    assert_eq!(
        ok(
            "{{ range $k, $v := .m }}{{ $k }}{{ $v }}{{ end }}",
            d.clone()
        ),
        "a2m3z1"
    );
    assert_eq!(ok("{{ range .m }}{{ . }}{{ end }}", d.clone()), "231");
    assert_eq!(
        ok("{{ range .e }}x{{ else }}empty{{ end }}", d.clone()),
        "empty"
    );
    assert_eq!(
        ok("{{ range .missing }}x{{ else }}none{{ end }}", d.clone()),
        "none"
    );
    assert_eq!(ok("{{ range 3 }}{{ . }}{{ end }}", d.clone()), "012");
    assert_eq!(
        ok(
            "{{ range $i, $v := .l }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $v }}{{ end }}",
            d.clone()
        ),
        "a"
    );
    assert_eq!(
        ok(
            "{{ range .l }}{{ if eq . \"a\" }}{{ continue }}{{ end }}{{ . }}{{ end }}",
            d.clone()
        ),
        "b"
    );
    let e = err("{{ range .l.x }}{{ end }}", d.clone());
    assert!(e.contains("can't evaluate field x"), "{e}");
    let e = err("{{ range \"abc\" }}{{ end }}", d);
    assert!(e.contains("range can't iterate over abc"), "{e}");
    // Big ranges are fine.
    let big: Vec<i32> = (0..20_000).collect();
    let out = ok("{{ range . }}{{ . }},{{ end }}", json!(big));
    assert_eq!(
        out.len(),
        big.iter().map(|n| n.to_string().len() + 1).sum::<usize>()
    );
}

#[test]
fn variables_and_scoping() {
    let d = json!({"l": [1, 2, 3]});
    assert_eq!(ok("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", d.clone()), "2");
    assert_eq!(
        ok(
            "{{ $s := 0 }}{{ range .l }}{{ $s = . }}{{ end }}{{ $s }}",
            d.clone()
        ),
        "3"
    );
    assert_eq!(
        ok(
            "{{ $x := \"o\" }}{{ if true }}{{ $x := \"i\" }}{{ $x }}{{ end }}{{ $x }}",
            d.clone()
        ),
        "io"
    );
    // Variables declared inside a control structure end with it.
    let e = err("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}", d.clone());
    assert!(e.contains("undefined variable \"$y\""), "{e}");
    let e = err("{{ $z = 1 }}", d);
    assert!(e.contains("undefined variable \"$z\""), "{e}");
}

#[test]
fn pipelines_and_parens() {
    let d = json!({"s": "x", "l": ["a", "b"]});
    assert_eq!(ok("{{ .s | printf \"%s-%s\" \"a\" }}", d.clone()), "a-x");
    assert_eq!(
        ok("{{ \"q\" | printf \"%q\" | printf \"%s!\" }}", d.clone()),
        "\"q\"!"
    );
    assert_eq!(ok("{{ printf \"%d\" (len .l) }}", d.clone()), "2");
    assert_eq!(ok("{{ (index .l 1) }}", d.clone()), "b");
    let e = err("{{ .s | \"lit\" }}", d.clone());
    assert!(
        e.contains("non executable command in pipeline stage 2"),
        "{e}"
    );
    let e = err("{{ 3 4 }}", d);
    assert!(e.contains("can't give argument to non-function"), "{e}");
}

#[test]
fn ethereum_package_style_templates() {
    let d = json!({
        "Network": {"ChainID": 3151908, "Name": "kurtosis"},
        "Nodes": [{"Enr": "enr:-A"}, {"Enr": "enr:-B"}, {"Enr": "enr:-C"}],
        "UseX": true,
        "UseY": false,
        "Ports": {"rpc": 8545, "ws": 8546},
        "GenesisDelay": 20,
    });
    let src = r#"{
  "chainId": {{ .Network.ChainID }},
  "bootnodes": [{{ range $i, $v := .Nodes }}{{ if $i }},{{ end }}"{{ $v.Enr }}"{{ end }}],
  {{- if .UseX }}
  "x": true,
  {{- end }}
  {{- if .UseY }}
  "y": true,
  {{- end }}
  "ports": { {{- range $name, $p := .Ports }} "{{ $name }}": {{ $p }},{{ end }} },
  "delay": "{{ .GenesisDelay }}s",
  "name": {{ printf "%q" .Network.Name }}
}
"#;
    let expected = r#"{
  "chainId": 3151908,
  "bootnodes": ["enr:-A","enr:-B","enr:-C"],
  "x": true,
  "ports": { "rpc": 8545, "ws": 8546, },
  "delay": "20s",
  "name": "kurtosis"
}
"#;
    assert_eq!(ok(src, d), expected);
}

#[test]
fn execution_is_repeatable_and_merges_text() {
    let t = Template::parse("t", "a{{ \"b\" }}{{/* */}}c{{ .x }}").expect("parses");
    let d = data(json!({"x": "d"}));
    let first = t.execute(&d).expect("runs");
    assert_eq!(first, vec![Piece::Text("abcd".into())]);
    assert_eq!(t.execute(&d).expect("runs"), first);
}
