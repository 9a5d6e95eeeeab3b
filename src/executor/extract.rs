//! `extract` of exec and HTTP recipes: jq filters, evaluated with jaq (a jq
//! implementation in Rust, with jq's standard library), as Kurtosis evaluates them with
//! gojq.
//!
//! Kurtosis's rules, kept here: an HTTP recipe's filter runs on the response body parsed
//! as JSON; an exec recipe's filter runs on the command's output *as a JSON string*
//! (so `fromjson | .a` parses JSON output). One result is the value; several results are
//! a list; no result is an error. Results become text where they are used: a string
//! as itself, anything else as compact JSON (integral numbers without a fraction).

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Filter, Native, RcIter};
use jaq_json::Val;

/// What a filter runs on.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// An exec recipe's output: the filter sees it as one JSON string.
    Text(&'a str),
    /// An HTTP recipe's body: parsed as JSON first.
    Json(&'a str),
}

/// Applies the jq `filter` to `input`; strings come out raw, other values as JSON.
pub fn extract(input: Input<'_>, filter: &str) -> Result<String, String> {
    let compiled = compile(filter)?;
    let value: serde_json::Value = match input {
        Input::Text(t) => serde_json::Value::String(t.to_owned()),
        Input::Json(body) => serde_json::from_str(body.trim())
            .map_err(|e| format!("extract {filter:?}: the response body is not JSON ({e})"))?,
    };
    let inputs = RcIter::new(core::iter::empty());
    let mut results = Vec::new();
    for r in compiled.run((Ctx::new([], &inputs), Val::from(value))) {
        let v = r.map_err(|e| format!("extract {filter:?}: {e}"))?;
        results.push(serde_json::Value::from(v));
    }
    let value = match results.len() {
        0 => {
            return Err(format!(
                "extract {filter:?}: No field '{filter}' was found on input (the filter gave no result)"
            ))
        }
        1 => results.pop().unwrap_or(serde_json::Value::Null),
        _ => serde_json::Value::Array(results),
    };
    Ok(text(value))
}

/// Whether `filter` is a valid jq program (the message says why not), checked before
/// an apply changes anything.
pub fn check(filter: &str) -> Result<(), String> {
    compile(filter).map(|_| ())
}

fn text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => match n.as_f64() {
            // gojq gives 5 for 5.0; Kurtosis turns integral numbers into ints.
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                format!("{}", f as i64)
            }
            _ => n.to_string(),
        },
        other @ (serde_json::Value::Null
        | serde_json::Value::Bool(_)
        | serde_json::Value::Array(_)
        | serde_json::Value::Object(_)) => other.to_string(),
    }
}

fn compile(filter: &str) -> Result<Filter<Native<Val>>, String> {
    let loader = Loader::new(jaq_std::defs().chain(jaq_json::defs()));
    let arena = Arena::default();
    let modules = loader
        .load(
            &arena,
            File {
                code: filter,
                path: (),
            },
        )
        .map_err(|errs| {
            format!(
                "extract {filter:?} is not a valid jq filter ({} parse error{})",
                errs.len(),
                if errs.len() == 1 { "" } else { "s" }
            )
        })?;
    Compiler::default()
        .with_funs(jaq_std::funs().chain(jaq_json::funs()))
        .compile(modules)
        .map_err(|errs| {
            let names: Vec<String> = errs
                .iter()
                .flat_map(|(_, es)| es.iter().map(|(name, _)| name.to_string()))
                .collect();
            format!(
                "extract {filter:?} uses what jq does not define: {}",
                names.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_on_json_bodies() {
        let doc = r#"{"a":{"b":[1,{"c":"x"}]},"n":5,"k y":true}"#;
        let j = |f| extract(Input::Json(doc), f);
        assert_eq!(j(".n").unwrap(), "5");
        assert_eq!(j(".a.b[1].c").unwrap(), "x");
        assert_eq!(j(".a.b[0]").unwrap(), "1");
        assert_eq!(j(".a.b[-1].c").unwrap(), "x");
        assert_eq!(j(".\"k y\"").unwrap(), "true");
        assert_eq!(j(".missing").unwrap(), "null");
        assert_eq!(j(".a.b | length").unwrap(), "2");
        assert_eq!(j(".a").unwrap(), r#"{"b":[1,{"c":"x"}]}"#);
        assert!(extract(Input::Json("nope"), ".a")
            .unwrap_err()
            .contains("not JSON"));
    }

    #[test]
    fn what_real_packages_use() {
        // ethpandaops/ethereum-package's extractors.
        let node = r#"{"result":{"enode":"enode://ab@1.2.3.4:30303?discport=0","enr":null}}"#;
        assert_eq!(
            extract(Input::Json(node), r#".result.enode | split("?") | .[0]"#).unwrap(),
            "enode://ab@1.2.3.4:30303"
        );
        assert_eq!(
            extract(Input::Json(node), r#".result.enr // """#).unwrap(),
            ""
        );
        let sync = r#"{"data":{"is_syncing":false}}"#;
        assert_eq!(
            extract(Input::Json(sync), ".data.is_syncing | tostring").unwrap(),
            "false"
        );
    }

    #[test]
    fn exec_output_is_a_json_string() {
        let out = "{\"a\": 2}\n";
        assert_eq!(extract(Input::Text(out), ".").unwrap(), out);
        assert_eq!(extract(Input::Text(out), "fromjson | .a").unwrap(), "2");
        assert_eq!(
            extract(Input::Text("a b c"), r#"split(" ") | .[1]"#).unwrap(),
            "b"
        );
    }

    #[test]
    fn several_results_are_a_list_and_none_is_an_error() {
        assert_eq!(extract(Input::Json("[1,2]"), ".[]").unwrap(), "[1,2]");
        assert!(extract(Input::Json("[]"), ".[]")
            .unwrap_err()
            .contains("No field"));
        assert_eq!(extract(Input::Json("2.0"), ".").unwrap(), "2");
        assert_eq!(extract(Input::Json("2.5"), ".").unwrap(), "2.5");
    }

    #[test]
    fn invalid_filters_are_reported_before_apply() {
        assert!(check(".a | (")
            .unwrap_err()
            .contains("not a valid jq filter"));
        assert!(check("nosuchfunction")
            .unwrap_err()
            .contains("nosuchfunction"));
        assert!(check(r#".result.enode | split("?") | .[0]"#).is_ok());
    }
}
