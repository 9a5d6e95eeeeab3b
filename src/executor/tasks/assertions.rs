//! How a result is compared: a field of a recipe result as text, and whether
//! `actual <assertion> target` holds (numbers compare as numbers, as Kurtosis does).

use crate::executor::desired::TaskResult;
use crate::ir::{Assertion, TaskField};

/// A field of a recipe result.
pub fn field(res: &TaskResult, field: &TaskField) -> Option<String> {
    match field {
        TaskField::Code => Some(res.code.to_string()),
        TaskField::Output => Some(res.output.clone()),
        TaskField::Body => Some(res.body.clone()),
        TaskField::Extract(k) => res.extract.get(k).cloned(),
    }
}

fn as_number(s: &str) -> Option<f64> {
    s.trim().parse().ok()
}

pub(super) fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other @ (serde_json::Value::Null
        | serde_json::Value::Bool(_)
        | serde_json::Value::Number(_)
        | serde_json::Value::Array(_)
        | serde_json::Value::Object(_)) => other.to_string(),
    }
}

/// Whether `actual <assertion> target` holds (numbers compare as numbers).
pub fn assert_holds(actual: &str, assertion: Assertion, target: &serde_json::Value) -> bool {
    let cmp = |t: &serde_json::Value| -> Option<std::cmp::Ordering> {
        let ts = json_text(t);
        match (as_number(actual), as_number(&ts)) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => Some(actual.cmp(ts.as_str())),
        }
    };
    use std::cmp::Ordering::*;
    match assertion {
        Assertion::Eq => cmp(target) == Some(Equal),
        Assertion::Ne => cmp(target) != Some(Equal),
        Assertion::Ge => matches!(cmp(target), Some(Greater | Equal)),
        Assertion::Le => matches!(cmp(target), Some(Less | Equal)),
        Assertion::Gt => cmp(target) == Some(Greater),
        Assertion::Lt => cmp(target) == Some(Less),
        Assertion::In | Assertion::NotIn => {
            let found = match target {
                serde_json::Value::Array(items) => items.iter().any(|t| cmp(t) == Some(Equal)),
                other @ (serde_json::Value::Null
                | serde_json::Value::Bool(_)
                | serde_json::Value::Number(_)
                | serde_json::Value::String(_)
                | serde_json::Value::Object(_)) => cmp(other) == Some(Equal),
            };
            found == (assertion == Assertion::In)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assertions_compare_numbers_as_numbers_and_strings_as_strings() {
        assert!(assert_holds("200", Assertion::Eq, &json!(200)));
        assert!(assert_holds("200", Assertion::Eq, &json!("200")));
        assert!(assert_holds("10", Assertion::Gt, &json!(9)));
        assert!(!assert_holds("10", Assertion::Lt, &json!(9)));
        assert!(assert_holds("b", Assertion::Gt, &json!("a")));
        assert!(assert_holds("0", Assertion::In, &json!([0, 1])));
        assert!(assert_holds("2", Assertion::NotIn, &json!([0, 1])));
        assert!(assert_holds("x", Assertion::Ne, &json!("y")));
        assert!(assert_holds("1.0", Assertion::Eq, &json!(1)));
    }

    #[test]
    fn fields_of_a_result() {
        let mut r = TaskResult {
            code: 3,
            output: "o".into(),
            body: "b".into(),
            ..Default::default()
        };
        r.extract.insert("k".into(), "v".into());
        let extract = |k: &str| TaskField::Extract(k.into());
        assert_eq!(field(&r, &TaskField::Code).as_deref(), Some("3"));
        assert_eq!(field(&r, &TaskField::Body).as_deref(), Some("b"));
        assert_eq!(field(&r, &extract("k")).as_deref(), Some("v"));
        assert_eq!(field(&r, &extract("x")), None);
    }
}
