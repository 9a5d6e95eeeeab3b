//! The builtin functions other than printing: `len`, `index`, `slice`, the
//! comparisons, `and`/`or`/`not`, `html`/`js`/`urlquery`, and Go's corner cases of
//! calling them.

use super::*;

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
