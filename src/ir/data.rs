//! JSON-like data that may contain run-time references (template data, `verify`
//! targets, `run`'s return value).

use super::StrExpr;
use serde::{Serialize, Serializer};

/// A JSON value whose strings are [`StrExpr`]s. Object keys keep the order the script
/// gave them; numbers keep the text Starlark's `json.encode` wrote for them.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Null,
    Bool(bool),
    /// The number as JSON text, e.g. `8080`, `1.5`.
    Number(String),
    Str(StrExpr),
    List(Vec<Data>),
    Object(Vec<(String, Data)>),
}

impl Data {
    /// Whether the value holds no run-time reference anywhere.
    pub fn is_known(&self) -> bool {
        match self {
            Data::Null | Data::Bool(_) | Data::Number(_) => true,
            Data::Str(s) => s.as_literal().is_some(),
            Data::List(items) => items.iter().all(Data::is_known),
            Data::Object(entries) => entries.iter().all(|(_, v)| v.is_known()),
        }
    }

    /// Every string in the value, depth first.
    pub fn strings(&self) -> Vec<&StrExpr> {
        let mut out = Vec::new();
        self.collect_strings(&mut out);
        out
    }

    fn collect_strings<'a>(&'a self, out: &mut Vec<&'a StrExpr>) {
        match self {
            Data::Null | Data::Bool(_) | Data::Number(_) => {}
            Data::Str(s) => out.push(s),
            Data::List(items) => items.iter().for_each(|v| v.collect_strings(out)),
            Data::Object(entries) => entries.iter().for_each(|(_, v)| v.collect_strings(out)),
        }
    }
}

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Data::Null => s.serialize_unit(),
            Data::Bool(b) => s.serialize_bool(*b),
            Data::Number(n) => {
                if let Ok(i) = n.parse::<i64>() {
                    s.serialize_i64(i)
                } else if let Ok(u) = n.parse::<u64>() {
                    s.serialize_u64(u)
                } else if let Ok(i) = n.parse::<i128>() {
                    s.serialize_i128(i)
                } else if let Ok(f) = n.parse::<f64>() {
                    s.serialize_f64(f)
                } else {
                    s.serialize_str(n)
                }
            }
            Data::Str(e) => e.serialize(s),
            Data::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Data::Object(entries) => {
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}
