//! Printing as Go's `fmt` does: values, lists and maps, `printf` verbs with their
//! widths and precisions, `print` and `println`.

use super::*;

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
