//! Errors: parse and execution errors carry the line and column Go gives, and no
//! input (deep nesting, random fragments) panics or overflows the stack.

use super::*;

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
