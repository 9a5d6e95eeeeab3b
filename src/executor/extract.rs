//! `extract` of exec and HTTP recipes: Kurtosis runs jq over the output; kplan supports
//! the common path subset (`.`, `.field`, `.a.b`, `.[0]`, `.a[1].b`, `."quoted key"`)
//! and reports anything else by name.

/// Applies `path` to the JSON text `input`; strings come out raw, other values as JSON.
pub fn extract(input: &str, path: &str) -> Result<String, String> {
    let doc: serde_json::Value = serde_json::from_str(input.trim())
        .map_err(|e| format!("extract {path:?}: the output is not JSON ({e})"))?;
    let mut cur = &doc;
    for step in parse(path)? {
        cur = match (&step, cur) {
            (Step::Key(k), serde_json::Value::Object(m)) => {
                m.get(k).unwrap_or(&serde_json::Value::Null)
            }
            (Step::Index(i), serde_json::Value::Array(a)) => {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| a.get(i))
                    .unwrap_or(&serde_json::Value::Null)
            }
            (_, serde_json::Value::Null) => &serde_json::Value::Null,
            (Step::Key(k), other) => {
                return Err(format!(
                    "extract {path:?}: cannot index {} with \"{k}\"",
                    kind(other)
                ))
            }
            (Step::Index(i), other) => {
                return Err(format!(
                    "extract {path:?}: cannot index {} with {i}",
                    kind(other)
                ))
            }
        };
    }
    Ok(match cur {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Whether kplan can evaluate `path` (the message says why not).
pub fn check(path: &str) -> Result<(), String> {
    parse(path).map(|_| ())
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
}

fn parse(path: &str) -> Result<Vec<Step>, String> {
    let unsupported = || {
        format!("extract {path:?}: kplan supports only jq paths like .a.b, .[0], .a[1].b; rewrite the extractor or do the processing in the command")
    };
    let p = path.trim();
    if !p.starts_with('.') {
        return Err(unsupported());
    }
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if i < chars.len() && chars[i] == '"' {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|c| *c == '"')
                        .ok_or_else(unsupported)?;
                    out.push(Step::Key(chars[i + 1..i + 1 + end].iter().collect()));
                    i += end + 2;
                } else {
                    let start = i;
                    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                    if i > start {
                        out.push(Step::Key(chars[start..i].iter().collect()));
                    }
                }
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or_else(unsupported)?;
                let inner: String = chars[i + 1..i + end].iter().collect();
                let inner = inner.trim();
                if let Some(k) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    out.push(Step::Key(k.to_string()));
                } else {
                    out.push(Step::Index(inner.parse().map_err(|_| unsupported())?));
                }
                i += end + 1;
            }
            _ => return Err(unsupported()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supports_the_common_paths() {
        let doc = r#"{"a":{"b":[1,{"c":"x"}]},"n":5,"k y":true}"#;
        assert_eq!(extract(doc, ".n").unwrap(), "5");
        assert_eq!(extract(doc, ".a.b[1].c").unwrap(), "x");
        assert_eq!(extract(doc, ".a.b[0]").unwrap(), "1");
        assert_eq!(extract(doc, ".a.b[-1].c").unwrap(), "x");
        assert_eq!(extract(doc, ".\"k y\"").unwrap(), "true");
        assert_eq!(extract(doc, ".missing").unwrap(), "null");
        assert_eq!(extract("[3]", ".[0]").unwrap(), "3");
        assert!(extract(doc, ".a | length")
            .unwrap_err()
            .contains("supports only"));
        assert!(extract("nope", ".a").is_err());
    }
}
