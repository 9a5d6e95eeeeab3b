//! Expected outputs are what Go's text/template prints for the same template
//! over `json.Unmarshal`-ed data decoded with `UseNumber` (as Kurtosis does).

use super::*;
use serde_json::json;

fn data(j: serde_json::Value) -> Value {
    value_from_json(&j)
}

fn render(src: &str, d: &Value) -> Result<String, String> {
    let t = Template::parse("t", src).map_err(|e| e.to_string())?;
    let pieces = t.execute(d).map_err(|e| e.to_string())?;
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => s.push_str(&t),
            Piece::Hole(h) => s.push_str(&format!("<<{h}>>")),
        }
    }
    Ok(s)
}

fn ok(src: &str, d: serde_json::Value) -> String {
    match render(src, &data(d)) {
        Ok(s) => s,
        Err(e) => panic!("{src:?} failed: {e}"),
    }
}

fn err(src: &str, d: serde_json::Value) -> String {
    match render(src, &data(d)) {
        Ok(s) => panic!("{src:?} should fail, printed {s:?}"),
        Err(e) => e,
    }
}

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
fn printing_values_like_fmt() {
    let d = json!({"l": ["a", 1, true, null, [2, 3], {"k": "v"}], "m": {"b": 2, "a": "x"}, "e": [], "em": {}, "f": 1.5, "t": true});
    assert_eq!(ok("{{ .l }}", d.clone()), "[a 1 true <nil> [2 3] map[k:v]]");
    assert_eq!(ok("{{ .m }}", d.clone()), "map[a:x b:2]");
    assert_eq!(ok("{{ .e }}{{ .em }}", d.clone()), "[]map[]");
    assert_eq!(ok("{{ .f }} {{ .t }}", d.clone()), "1.5 true");
    assert_eq!(
        ok(
            "{{ 3 }} {{ 1.5 }} {{ 1e6 }} {{ 0.00001 }} {{ 'a' }} {{ 0x1F }} {{ 0755 }}",
            d
        ),
        "3 1.5 1e+06 1e-05 97 31 493"
    );
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
fn printf_verbs() {
    let d = json!({"s": "hi", "n": 8080, "f": 1.5});
    assert_eq!(
        ok(
            "{{ printf \"%s|%v|%q|%x|%5s|%-4s|\" \"ab\" \"ab\" \"ab\" \"ab\" \"ab\" \"ab\" }}",
            d.clone()
        ),
        "ab|ab|\"ab\"|6162|   ab|ab  |"
    );
    assert_eq!(
        ok(
            "{{ printf \"%d|%5d|%-5d|%05d|%x|%X|%o|%b|%c|%+d\" 42 42 42 -42 255 255 8 5 65 3 }}",
            d.clone()
        ),
        "42|   42|42   |-0042|ff|FF|10|101|A|+3"
    );
    assert_eq!(
        ok(
            "{{ printf \"%f|%.2f|%8.3f|%e|%g|%v\" 1.5 3.14159 2.5 1234.5678 0.5 2.0 }}",
            d.clone()
        ),
        "1.500000|3.14|   2.500|1.234568e+03|0.5|2"
    );
    assert_eq!(
        ok("{{ printf \"%t|%v|%%|%d%%\" true false 50 }}", d.clone()),
        "true|false|%|50%"
    );
    assert_eq!(ok("{{ printf \"%s\" 5 }}", d.clone()), "%!s(int=5)");
    assert_eq!(ok("{{ printf \"%d\" }}", d.clone()), "%!d(MISSING)");
    assert_eq!(
        ok("{{ printf \"x\" 1 \"a\" }}", d.clone()),
        "x%!(EXTRA int=1, string=a)"
    );
    assert_eq!(
        ok(
            "{{ printf \"%v %s\" .l .missing }}",
            json!({"l": ["a", null]})
        ),
        "[a <nil>] %!s(<nil>)"
    );
    // json.Number is a string type: %d does not apply (Kurtosis prints this).
    assert_eq!(
        ok("{{ printf \"%d\" .n }}", d.clone()),
        "%!d(json.Number=8080)"
    );
    assert_eq!(
        ok("{{ printf \"%s:%v:%q\" .n .n .n }}", d.clone()),
        "8080:8080:\"8080\""
    );
    assert_eq!(ok("{{ printf \"%.2f\" .f }}", d), "%!f(json.Number=1.5)");
}

/// Widths and precisions as Go bounds them (fmt's `tooLarge`): a precision past what
/// Rust's formatter takes (65535) still prints Go's digits, and a number past Go's
/// bound ends the directive; nothing panics.
#[test]
fn printf_huge_width_and_precision() {
    let d = json!({});
    let f = ok("{{ printf \"%.65536f\" 1.5 }}", d.clone());
    assert_eq!(f.len(), 2 + 65536);
    assert!(f.starts_with("1.5000") && f.bytes().skip(3).all(|b| b == b'0'));
    let e = ok("{{ printf \"%.70000e\" 1.5 }}", d.clone());
    assert_eq!(e, format!("1.5{}e+00", "0".repeat(69999)));
    let e = ok("{{ printf \"%.65536E\" 0.1 }}", d.clone());
    assert!(e.starts_with("1.000000000000000055511151231257827021181583404541015625000"));
    assert!(e.ends_with("0E-01") && e.len() == 65536 + 6);
    // %g trims to the float's exact digits.
    assert_eq!(
        ok("{{ printf \"%.70000g\" 0.1 }}", d.clone()),
        "0.1000000000000000055511151231257827021181583404541015625"
    );
    assert_eq!(
        ok("{{ printf \"%.1100f\" 5e-324 }}", d.clone())
            .trim_end_matches('0')
            .len(),
        2 + 1074
    );
    let i = ok("{{ printf \"%.1000000d\" 7 }}", d.clone());
    assert_eq!((i.len(), i.ends_with("07")), (1_000_000, true));
    let w = ok("{{ printf \"%10000001d|\" 7 }}", d.clone());
    assert_eq!(w.len(), 10_000_002);
    // Past Go's bound: the rest of the format is dropped, the argument is extra.
    assert_eq!(
        ok("{{ printf \"a%100000000d|b\" 7 }}", d.clone()),
        "a%!(NOVERB)%!(EXTRA int=7)"
    );
    assert_eq!(
        ok("{{ printf \"%.100000000f|\" 1.5 }}", d.clone()),
        "%!(NOVERB)%!(EXTRA float64=1.5)"
    );
    assert_eq!(
        ok(
            "{{ printf \"%*d|%.*d|%.*d|%-*d|\" 1000001 1 -1 2 1000001 3 -3 4 }}",
            d.clone()
        ),
        "%!(BADWIDTH)1|%!(BADPREC)2|%!(BADPREC)3|4  |"
    );
    assert_eq!(
        ok("{{ printf \"%*d|\" \"x\" 1 }}", d.clone()),
        "%!(BADWIDTH)1|"
    );
    assert_eq!(ok("{{ printf \"%.\" }}", d.clone()), "%!.(MISSING)");
    assert_eq!(ok("{{ printf \"%.f|%.e\" 2.5 2.5 }}", d), "2|2e+00");
}

#[test]
fn print_and_println() {
    let d = json!({"n": 1});
    // Spaces only between operands when neither is a string (json.Number is one).
    assert_eq!(ok("{{ print 1 2 \"a\" 3 .n .n }}", d.clone()), "1 2a311");
    assert_eq!(ok("{{ println 1 \"a\" }}", d), "1 a\n");
}

#[test]
fn len_index_slice() {
    let d = json!({"l": [10, 20, [1, 2]], "m": {"a-b": "dash", "n": {"k": "v"}}, "s": "héllo"});
    assert_eq!(
        ok("{{ len .l }} {{ len .m }} {{ len .s }}", d.clone()),
        "3 2 6"
    );
    assert_eq!(
        ok(
            "{{ index .l 1 }} {{ index .l 2 0 }} {{ index .m \"a-b\" }} {{ index .m \"n\" \"k\" }}",
            d.clone()
        ),
        "20 1 dash v"
    );
    assert_eq!(ok("{{ index .m \"nope\" }}", d.clone()), "<no value>");
    assert_eq!(ok("{{ index .s 0 }}", d.clone()), "104");
    assert_eq!(
        ok(
            "{{ slice .l 1 }} {{ slice .l 0 1 }} {{ slice \"abcd\" 1 3 }}",
            d.clone()
        ),
        "[20 [1 2]] [10] bc"
    );
    let e = err("{{ index .l 5 }}", d.clone());
    assert!(
        e.contains("error calling index: index out of range: 5"),
        "{e}"
    );
    let e = err("{{ index .l .l }}", d.clone());
    assert!(
        e.contains("cannot index slice/array with type []interface {}"),
        "{e}"
    );
    let e = err("{{ len 3 }}", d.clone());
    assert!(e.contains("len of type int"), "{e}");
    let e = err("{{ slice .l 2 1 }}", d);
    assert!(e.contains("invalid slice index: 2 > 1"), "{e}");
}

#[test]
fn comparisons() {
    let d = json!({"port": 8080, "s": "a", "t": true});
    assert_eq!(
        ok(
            "{{ eq 1 1 }} {{ eq 1 2 }} {{ eq 1 2 3 1 }} {{ ne \"a\" \"b\" }}",
            d.clone()
        ),
        "true false true true"
    );
    assert_eq!(
        ok(
            "{{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}",
            d.clone()
        ),
        "true true true false"
    );
    assert_eq!(
        ok(
            "{{ eq .s \"a\" }} {{ eq .t true }} {{ eq .missing .missing2 }}",
            d.clone()
        ),
        "true true true"
    );
    assert_eq!(ok("{{ eq .missing \"a\" }}", d.clone()), "false");
    // json.Number compares with strings, not ints (Kurtosis behaviour).
    assert_eq!(ok("{{ eq .port \"8080\" }}", d.clone()), "true");
    let e = err("{{ eq .port 8080 }}", d.clone());
    assert!(
        e.contains("error calling eq: incompatible types for comparison"),
        "{e}"
    );
    assert!(
        e.starts_with("template: t:1:4: executing \"t\" at <eq .port 8080>:"),
        "{e}"
    );
    let e = err("{{ lt true false }}", d.clone());
    assert!(e.contains("invalid type for comparison"), "{e}");
    let e = err("{{ eq 1 1.0 }}", d.clone());
    assert!(e.contains("incompatible types for comparison"), "{e}");
    // Go rejects the nil literal for reflect.Value parameters.
    let e = err("{{ eq .s nil }}", d);
    assert!(e.contains("cannot assign nil to reflect.Value"), "{e}");
}

#[test]
fn and_or_not() {
    let d = json!({"a": "x", "e": ""});
    assert_eq!(
        ok(
            "{{ and 1 0 2 }}|{{ and 1 2 }}|{{ or 0 \"\" 3 }}|{{ or 0 \"\" }}",
            d.clone()
        ),
        "0|2|3|"
    );
    assert_eq!(
        ok("{{ or .e .a }} {{ not .e }} {{ not .a }}", d.clone()),
        "x true false"
    );
    // Short-circuit: the failing index is never evaluated.
    assert_eq!(
        ok(
            "{{ or .a (index .e 5) }} {{ and .e (index .e 5) }}",
            d.clone()
        ),
        "x "
    );
    assert_eq!(ok("{{ if and .a (not .e) }}yes{{ end }}", d), "yes");
}

#[test]
fn escaping_functions() {
    let d = json!({"s": "<a href='x'>&\"</a>"});
    assert_eq!(
        ok("{{ html .s }}", d.clone()),
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"
    );
    assert_eq!(
        ok("{{ js .s }}", d.clone()),
        "\\u003Ca href\\u003D\\'x\\'\\u003E\\u0026\\\"\\u003C/a\\u003E"
    );
    assert_eq!(
        ok("{{ urlquery \"a b&c=d/é\" }}", d.clone()),
        "a+b%26c%3Dd%2F%C3%A9"
    );
    assert_eq!(ok("{{ html 1 2 }}", d.clone()), "1 2");
    assert_eq!(
        ok("{{ .s | html }}", d),
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"
    );
    let e = err("{{ call 1 }}", json!({}));
    assert!(e.contains("error calling call"), "{e}");
}

#[test]
fn parse_errors_have_positions() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("a\nb\n{{ end }}", 3, 1, "unexpected {{end}}"),
        ("{{ if .x }}", 1, 12, "unexpected EOF"),
        ("x {{ .a", 1, 3, "unclosed action"),
        ("{{ nope 1 }}", 1, 4, "function \"nope\" not defined"),
        ("{{ $u }}", 1, 4, "undefined variable \"$u\""),
        ("{{ }}", 1, 4, "missing value for command"),
        ("{{ else }}", 1, 1, "unexpected {{else}}"),
        ("{{ break }}", 1, 4, "{{break}} outside {{range}}"),
        ("{{ (1 }}", 1, 4, "unclosed left paren"),
        ("{{ \"abc }}", 1, 4, "unterminated quoted string"),
        ("{{/* x }}", 1, 1, "unclosed comment"),
        ("{{ .a-b }}", 1, 6, "bad character"),
        ("{{ template \"x\" }}", 1, 4, "not supported"),
        (
            "{{ if 1 }}{{ else }}{{ else }}{{ end }}",
            1,
            21,
            "expected end; found {{else}}",
        ),
        ("{{ 3x }}", 1, 4, "bad number syntax"),
    ];
    for (src, line, col, msg) in cases {
        let e = Template::parse("t", src).expect_err(src);
        assert_eq!((e.line, e.col), (*line, *col), "{src}: {e}");
        assert!(e.message.contains(msg), "{src}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("template: t:{line}:{col}: ")),
            "{e}"
        );
    }
}

#[test]
fn exec_error_positions() {
    let e = Template::parse("n", "line1\n  {{ index .l 9 }}")
        .expect("parses")
        .execute(&data(json!({"l": []})))
        .expect_err("fails");
    assert_eq!((e.line(), e.col()), (2, 6));
}

#[test]
fn holes_are_copied_when_printed() {
    let ip = Value::String(vec![Piece::Hole(7)]);
    let url = Value::String(vec![
        Piece::Text("http://".into()),
        Piece::Hole(3),
        Piece::Text(":8545".into()),
    ]);
    let mut m = std::collections::BTreeMap::new();
    m.insert("ip".to_string(), ip);
    m.insert("url".to_string(), url.clone());
    m.insert("l".to_string(), Value::List(vec![url, Value::text("x")]));
    let d = Value::Map(m);
    let t = Template::parse("t", "a={{ .ip }} b={{ .url }} c={{ printf \"%s/%v\" .ip .ip }} {{ .l }}{{ if .ip }} t{{ end }}{{ print .ip }}").expect("parses");
    let out = t.execute(&d).expect("renders");
    assert_eq!(
        out,
        vec![
            Piece::Text("a=".into()),
            Piece::Hole(7),
            Piece::Text(" b=http://".into()),
            Piece::Hole(3),
            Piece::Text(":8545 c=".into()),
            Piece::Hole(7),
            Piece::Text("/".into()),
            Piece::Hole(7),
            Piece::Text(" [http://".into()),
            Piece::Hole(3),
            Piece::Text(":8545 x] t".into()),
            Piece::Hole(7),
        ]
    );
    // Identical holes compare equal without their content.
    let t = Template::parse("t", "{{ eq .ip .ip }}").expect("parses");
    assert_eq!(
        t.execute(&d).expect("renders"),
        vec![Piece::Text("true".into())]
    );
    for (src, hole, what) in [
        ("{{ eq .ip \"1.2.3.4\" }}", 7, "eq"),
        ("\n {{ len .url }}", 3, "len"),
        ("{{ printf \"%q\" .ip }}", 7, "printf"),
        ("{{ printf \"%20s\" .ip }}", 7, "printf"),
        ("{{ html .url }}", 3, "html"),
        ("{{ urlquery .ip }}", 7, "urlquery"),
        ("{{ index .url 0 }}", 3, "index"),
        ("{{ slice .ip 1 }}", 7, "slice"),
        ("{{ lt .ip \"a\" }}", 7, "ordering"),
    ] {
        let e = Template::parse("t", src)
            .expect("parses")
            .execute(&d)
            .expect_err(src);
        match &e {
            ExecError::NeedsRuntimeValue {
                hole: h, what: w, ..
            } => {
                assert_eq!(*h, hole, "{src}");
                assert!(w.contains(what), "{src}: {w}");
            }
            other => panic!("{src}: {other}"),
        }
    }
    let e = Template::parse("t", "\n {{ len .url }}")
        .expect("parses")
        .execute(&d)
        .expect_err("len");
    assert_eq!((e.line(), e.col()), (2, 5));
    assert!(e.to_string().contains("run-time value #3"), "{e}");
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
fn adversarial_inputs_do_not_panic() {
    let deep_if = "{{ if true }}".repeat(10_000) + &"{{ end }}".repeat(10_000);
    let e = Template::parse("t", &deep_if).expect_err("too deep");
    assert!(e.message.contains("nesting deeper than"), "{e}");
    let deep_paren = "{{ ".to_string() + &"(".repeat(10_000) + "1" + &")".repeat(10_000) + " }}";
    assert!(Template::parse("t", &deep_paren).is_err());
    // The maximum depth itself still parses and executes on a small stack.
    let max = parser::MAX_DEPTH;
    let src = "{{ if true }}".repeat(max) + "x" + &"{{ end }}".repeat(max);
    let parens = "{{ ".to_string() + &"(".repeat(max) + "1" + &")".repeat(max) + " }}";
    let h = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let a = Template::parse("t", &src).map(|t| t.execute(&Value::Null));
            let b = Template::parse("t", &parens).map(|t| t.execute(&Value::Null));
            (a, b)
        })
        .expect("spawn");
    let (a, b) = h.join().expect("no stack overflow");
    assert_eq!(
        a.expect("parses").expect("runs"),
        vec![Piece::Text("x".into())]
    );
    assert_eq!(
        b.expect("parses").expect("runs"),
        vec![Piece::Text("1".into())]
    );

    let fragments = [
        "{{", "}}", "{{-", "-}}", " ", "{{ ", " }}", "if", "else", "end", "range", "with", ".",
        ".a", "$", "$x", ":=", "=", "|", "(", ")", "\"", "`", "'", "/*", "*/", "1", "-", "printf",
        "\"%d\"", "index", "eq", ",", "é", "\n", "break", "nil", "len", "%", "{{/*", "x",
    ];
    let d = data(json!({"a": [1, {"b": null}], "x": "s"}));
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..20_000 {
        let mut src = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed % 12) as usize;
        for k in 0..n {
            let r = seed.rotate_left(k as u32 * 5);
            src.push_str(fragments[(r % fragments.len() as u64) as usize]);
        }
        if let Ok(t) = Template::parse("fuzz", &src) {
            let _ = t.execute(&d);
        }
    }
}

#[test]
fn go_corner_cases() {
    let d = json!({"m": {"k": "v"}, "n": 1.0});
    // A map field given arguments is Go's "not a method" error.
    let e = err("{{ .m.k 1 }}", d.clone());
    assert!(e.contains("k is not a method but has arguments"), "{e}");
    // A missing value piped into a reflect.Value builtin: Go's validateType
    // rejects the invalid value (my reading of exec.go's evalCall; as arguments
    // rather than piped, `not .missing` is fine).
    let e = err("{{ .missing | not }}", d.clone());
    assert!(e.contains("invalid value; expected reflect.Value"), "{e}");
    assert_eq!(ok("{{ not .missing }}", d.clone()), "true");
    // html/js/urlquery print a nil argument as "<no value>" (evalArgs uses printableValue).
    assert_eq!(ok("{{ html .missing }}", d.clone()), "&lt;no value&gt;");
    // Numbers print as Go's encoder writes them after Kurtosis's float64 round trip.
    assert_eq!(ok("{{ .n }}", d), "1");
    assert_eq!(
        value_from_json(&json!({"a": [1, "x", null, false]})),
        Value::Map(
            [(
                "a".to_string(),
                Value::List(vec![
                    Value::Number(crate::gotemplate::Number::from_json("1").expect("number")),
                    Value::text("x"),
                    Value::Null,
                    Value::Bool(false)
                ])
            )]
            .into_iter()
            .collect()
        )
    );
}

#[test]
fn execution_is_repeatable_and_merges_text() {
    let t = Template::parse("t", "a{{ \"b\" }}{{/* */}}c{{ .x }}").expect("parses");
    let d = data(json!({"x": "d"}));
    let first = t.execute(&d).expect("runs");
    assert_eq!(first, vec![Piece::Text("abcd".into())]);
    assert_eq!(t.execute(&d).expect("runs"), first);
}
