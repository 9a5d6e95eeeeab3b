//! Owned copies of Starlark values, taken when a builtin is called (Kurtosis deep-copies
//! arguments, so later mutation in the script cannot change a recorded instruction),
//! and the `KValue` type that Kurtosis type constructors (`ServiceConfig`, `PortSpec`,
//! ...) return.

#![allow(
    unsafe_code,
    reason = "derive(ProvidesStaticType) expands to an `unsafe impl`"
)]

use allocative::Allocative;
use starlark::any::ProvidesStaticType;
use starlark::starlark_simple_value;
use starlark::values::dict::{AllocDict, DictRef};
use starlark::values::float::StarlarkFloat;
use starlark::values::list::{AllocList, ListRef};
use starlark::values::structs::{AllocStruct, StructRef};
use starlark::values::tuple::{AllocTuple, TupleRef};
use starlark::values::{starlark_value, Heap, NoSerialize, StarlarkValue, Value, ValueLike};
use std::fmt;

/// A Starlark value copied out of the heap.
#[derive(Debug, Clone, PartialEq, Allocative)]
pub enum Owned {
    None,
    Bool(bool),
    Int(i64),
    /// An integer outside i64, as decimal text.
    BigInt(String),
    Float(f64),
    Str(String),
    List(Vec<Owned>),
    Tuple(Vec<Owned>),
    Dict(Vec<(Owned, Owned)>),
    Struct(Vec<(String, Owned)>),
    Kurtosis(KValue),
}

impl Owned {
    /// Copies a Starlark value. Fails for values that are not data (functions, ...).
    pub fn from_value(v: Value) -> Result<Owned, String> {
        Self::from_value_depth(v, 0)
    }

    fn from_value_depth(v: Value, depth: u32) -> Result<Owned, String> {
        if depth > 200 {
            return Err("value is nested more than 200 levels deep".into());
        }
        if v.is_none() {
            return Ok(Owned::None);
        }
        if let Some(b) = v.unpack_bool() {
            return Ok(Owned::Bool(b));
        }
        if let Some(s) = v.unpack_str() {
            return Ok(Owned::Str(s.to_owned()));
        }
        if v.get_type() == "int" {
            return Ok(match v.unpack_i32() {
                Some(i) => Owned::Int(i64::from(i)),
                None => match v.to_str().parse::<i64>() {
                    Ok(i) => Owned::Int(i),
                    Err(_) => Owned::BigInt(v.to_str()),
                },
            });
        }
        if let Some(f) = v.downcast_ref::<StarlarkFloat>() {
            return Ok(Owned::Float(f.0));
        }
        if let Some(l) = ListRef::from_value(v) {
            return l
                .iter()
                .map(|x| Self::from_value_depth(x, depth + 1))
                .collect::<Result<_, _>>()
                .map(Owned::List);
        }
        if let Some(t) = TupleRef::from_value(v) {
            return t
                .iter()
                .map(|x| Self::from_value_depth(x, depth + 1))
                .collect::<Result<_, _>>()
                .map(Owned::Tuple);
        }
        if let Some(d) = DictRef::from_value(v) {
            let mut out = Vec::with_capacity(d.len());
            for (k, x) in d.iter() {
                out.push((
                    Self::from_value_depth(k, depth + 1)?,
                    Self::from_value_depth(x, depth + 1)?,
                ));
            }
            return Ok(Owned::Dict(out));
        }
        if let Some(s) = StructRef::from_value(v) {
            let mut out = Vec::new();
            for (k, x) in s.iter() {
                out.push((k.as_str().to_owned(), Self::from_value_depth(x, depth + 1)?));
            }
            return Ok(Owned::Struct(out));
        }
        if let Some(k) = v.downcast_ref::<KValue>() {
            return Ok(Owned::Kurtosis(k.clone()));
        }
        Err(format!(
            "a value of type '{}' cannot be used here",
            v.get_type()
        ))
    }

    /// Allocates the value back on a heap.
    pub fn to_value<'v>(&self, heap: Heap<'v>) -> Value<'v> {
        match self {
            Owned::None => Value::new_none(),
            Owned::Bool(b) => Value::new_bool(*b),
            Owned::Int(i) => heap.alloc(*i),
            Owned::BigInt(s) => match s.parse::<num_bigint::BigInt>() {
                Ok(b) => heap.alloc(b),
                Err(_) => heap.alloc(s.as_str()),
            },
            Owned::Float(f) => heap.alloc(*f),
            Owned::Str(s) => heap.alloc(s.as_str()),
            Owned::List(items) => heap.alloc(AllocList(items.iter().map(|x| x.to_value(heap)))),
            Owned::Tuple(items) => heap.alloc(AllocTuple(
                items.iter().map(|x| x.to_value(heap)).collect::<Vec<_>>(),
            )),
            Owned::Dict(entries) => heap.alloc(AllocDict(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_value(heap), v.to_value(heap)))
                    .collect::<Vec<_>>(),
            )),
            Owned::Struct(fields) => heap.alloc(AllocStruct(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value(heap)))
                    .collect::<Vec<_>>(),
            )),
            Owned::Kurtosis(k) => heap.alloc(k.clone()),
        }
    }

    /// Starlark type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Owned::None => "NoneType",
            Owned::Bool(_) => "bool",
            Owned::Int(_) | Owned::BigInt(_) => "int",
            Owned::Float(_) => "float",
            Owned::Str(_) => "string",
            Owned::List(_) => "list",
            Owned::Tuple(_) => "tuple",
            Owned::Dict(_) => "dict",
            Owned::Struct(_) => "struct",
            Owned::Kurtosis(k) => k.type_name,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Owned::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_kurtosis(&self, type_name: &str) -> Option<&KValue> {
        match self {
            Owned::Kurtosis(k) if k.type_name == type_name => Some(k),
            _ => None,
        }
    }

    /// `repr()` the way Starlark prints it.
    pub fn repr(&self) -> String {
        let mut s = String::new();
        self.write_repr(&mut s);
        s
    }

    fn write_repr(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Owned::None => out.push_str("None"),
            Owned::Bool(true) => out.push_str("True"),
            Owned::Bool(false) => out.push_str("False"),
            Owned::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Owned::BigInt(s) => out.push_str(s),
            Owned::Float(f) => out.push_str(&format_float(*f)),
            Owned::Str(s) => {
                let _ = write!(out, "{}", serde_json::Value::String(s.clone()));
            }
            Owned::List(items) | Owned::Tuple(items) => {
                let (open, close) = if matches!(self, Owned::List(_)) {
                    ('[', ']')
                } else {
                    ('(', ')')
                };
                out.push(open);
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    x.write_repr(out);
                }
                if matches!(self, Owned::Tuple(_)) && items.len() == 1 {
                    out.push(',');
                }
                out.push(close);
            }
            Owned::Dict(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_repr(out);
                    out.push_str(": ");
                    v.write_repr(out);
                }
                out.push('}');
            }
            Owned::Struct(fields) => {
                out.push_str("struct(");
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    v.write_repr(out);
                }
                out.push(')');
            }
            Owned::Kurtosis(k) => {
                let _ = write!(out, "{k}");
            }
        }
    }
}

/// Floats as Starlark prints them (`1.0`, `0.5`, `1e+20`).
pub fn format_float(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// An instance of a Kurtosis type (`ServiceConfig`, `PortSpec`, `Service`, ...): the
/// type name and the fields that were set, in declaration order. Reading an unset field
/// is an attribute error, as in Kurtosis.
#[derive(Debug, Clone, PartialEq, ProvidesStaticType, NoSerialize, Allocative)]
pub struct KValue {
    pub type_name: &'static str,
    pub fields: Vec<(&'static str, Owned)>,
    /// Where the constructor was called, for diagnostics about this value.
    #[allocative(skip)]
    pub at: Option<crate::ir::Span>,
}
starlark_simple_value!(KValue);

impl KValue {
    pub fn get(&self, name: &str) -> Option<&Owned> {
        self.fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

impl fmt::Display for KValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.type_name)?;
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={}", v.repr())?;
        }
        f.write_str(")")
    }
}

#[starlark_value(type = "KurtosisType")]
impl<'v> StarlarkValue<'v> for KValue {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        self.get(attribute).map(|v| v.to_value(heap))
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        self.get(attribute).is_some()
    }

    fn dir_attr(&self) -> Vec<String> {
        self.fields.iter().map(|(k, _)| (*k).to_owned()).collect()
    }
}
