//! Data values (`Value`, `Piece`), the executor's internal value (`V`) and the
//! output builder that merges adjacent text.

use super::number::Number;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// One piece of a string whose content may be partly unknown at compile time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    /// Known text.
    Text(String),
    /// An opaque run-time value that the caller fills in later.
    Hole(u32),
}

/// Template data: the JSON data model, with strings that may contain holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// JSON `null` (Go `nil`).
    Null,
    /// JSON boolean.
    Bool(bool),
    /// JSON number as Kurtosis's float64 round trip leaves it (Go's `json.Number`, a
    /// string type).
    Number(Number),
    /// A string made of known text and holes.
    String(Vec<Piece>),
    /// JSON array (Go `[]interface{}`).
    List(Vec<Value>),
    /// JSON object (Go `map[string]interface{}`); iterated in sorted key order.
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// A string value holding only known text.
    pub fn text(s: impl Into<String>) -> Value {
        Value::String(vec![Piece::Text(s.into())])
    }
}

/// Converts decoded JSON into template data; numbers keep their JSON text.
pub fn value_from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        // serde_json's numbers are finite float64 or 64-bit integers: always decodable.
        serde_json::Value::Number(n) => {
            Number::from_json(&n.to_string()).map_or(Value::Null, Value::Number)
        }
        serde_json::Value::String(s) => Value::text(s.as_str()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(value_from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), value_from_json(v)))
                .collect(),
        ),
    }
}

/// A value during execution: Go's `reflect.Value` restricted to what templates
/// over JSON data can produce.
#[derive(Debug, Clone)]
pub(crate) enum V<'a> {
    /// The invalid `reflect.Value` (missing map key, nil after a pipeline): prints `<no value>`.
    NoValue,
    /// A nil `interface{}` (JSON null, the `nil` literal).
    Nil,
    Bool(bool),
    /// Go `int` (template integer constants, range indexes, bytes).
    Int(i64),
    /// Go `float64` (template float constants).
    Float(f64),
    /// Go `string`, possibly with holes.
    Str(Cow<'a, [Piece]>),
    /// `json.Number`: a string type holding the number's JSON text.
    Num(Cow<'a, str>),
    List(&'a [Value]),
    Map(&'a BTreeMap<String, Value>),
}

impl<'a> V<'a> {
    pub(crate) fn from_data(v: &'a Value) -> V<'a> {
        match v {
            Value::Null => V::Nil,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => V::Num(Cow::Borrowed(n.as_str())),
            Value::String(p) => V::Str(Cow::Borrowed(p.as_slice())),
            Value::List(l) => V::List(l.as_slice()),
            Value::Map(m) => V::Map(m),
        }
    }

    pub(crate) fn string(s: String) -> V<'a> {
        V::Str(Cow::Owned(vec![Piece::Text(s)]))
    }

    /// Go's type name, as fmt prints it in `%!d(TYPE=VALUE)`.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            V::NoValue | V::Nil => "<nil>",
            V::Bool(_) => "bool",
            V::Int(_) => "int",
            V::Float(_) => "float64",
            V::Str(_) => "string",
            V::Num(_) => "json.Number",
            V::List(_) => "[]interface {}",
            V::Map(_) => "map[string]interface {}",
        }
    }

    /// Go's `isTrue`: false, 0, nil and empty strings, lists and maps are false.
    pub(crate) fn truth(&self) -> bool {
        match self {
            V::NoValue | V::Nil => false,
            V::Bool(b) => *b,
            V::Int(i) => *i != 0,
            V::Float(f) => *f != 0.0,
            V::Str(p) => p.iter().any(|p| match p {
                Piece::Text(t) => !t.is_empty(),
                Piece::Hole(_) => true,
            }),
            V::Num(n) => !n.is_empty(),
            V::List(l) => !l.is_empty(),
            V::Map(m) => !m.is_empty(),
        }
    }
}

/// The text of a string, or `Err(hole)` for the first hole it contains.
pub(crate) fn plain(pieces: &[Piece]) -> Result<Cow<'_, str>, u32> {
    match pieces {
        [] => Ok(Cow::Borrowed("")),
        [Piece::Text(t)] => Ok(Cow::Borrowed(t.as_str())),
        _ => {
            let mut s = String::new();
            for p in pieces {
                match p {
                    Piece::Text(t) => s.push_str(t),
                    Piece::Hole(h) => return Err(*h),
                }
            }
            Ok(Cow::Owned(s))
        }
    }
}

/// Output under construction: adjacent text pieces are merged.
#[derive(Debug, Default)]
pub(crate) struct Out(pub(crate) Vec<Piece>, pub(crate) usize);

impl Out {
    pub(crate) fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        self.1 += s.len();
        if let Some(Piece::Text(t)) = self.0.last_mut() {
            t.push_str(s);
        } else {
            self.0.push(Piece::Text(s.to_string()));
        }
    }

    pub(crate) fn pieces(&mut self, pieces: &[Piece]) {
        for p in pieces {
            match p {
                Piece::Text(t) => self.text(t),
                Piece::Hole(h) => self.0.push(Piece::Hole(*h)),
            }
        }
    }
}
