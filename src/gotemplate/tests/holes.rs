//! Run-time values (holes): printing copies them into the output, anything that
//! needs their content fails naming them.

use super::*;

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
