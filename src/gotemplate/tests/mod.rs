//! Tests of the Go template engine, one file per part of the language, with the
//! helpers they share.
//!
//! Expected outputs are what Go's text/template prints for the same template
//! over `json.Unmarshal`-ed data decoded with `UseNumber` (as Kurtosis does).

use super::*;
use serde_json::json;

mod actions;
mod builtins;
mod errors;
mod holes;
mod printing;

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
