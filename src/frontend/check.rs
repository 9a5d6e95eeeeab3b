//! Argument checking for Kurtosis builtins: every argument is copied to an [`Owned`],
//! checked, and every failure is collected so one call reports all of its problems,
//! the way Kurtosis does ("the following argument(s) could not be parsed or did not
//! pass validation").

use super::value::{KValue, Owned};
use starlark::values::Value;

/// Collected argument failures of one builtin call.
pub struct Args {
    builtin: &'static str,
    /// "Cannot construct 'X'" for types, "Cannot call 'x'" for instructions.
    construct: bool,
    errors: Vec<(String, String)>,
}

impl Args {
    pub fn for_type(builtin: &'static str) -> Self {
        Args {
            builtin,
            construct: true,
            errors: Vec::new(),
        }
    }
    pub fn for_instruction(builtin: &'static str) -> Self {
        Args {
            builtin,
            construct: false,
            errors: Vec::new(),
        }
    }

    pub fn fail(&mut self, arg: &str, msg: impl Into<String>) {
        self.errors.push((arg.to_owned(), msg.into()));
    }

    /// Ends checking: an error listing every failure, or `Ok`.
    pub fn finish(self) -> starlark::Result<()> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let what = if self.construct {
            format!(
                "Cannot construct '{}' from the provided arguments",
                self.builtin
            )
        } else {
            format!("Cannot call '{}' with the provided arguments", self.builtin)
        };
        let list = self
            .errors
            .iter()
            .map(|(a, m)| format!("  - {a}: {m}"))
            .collect::<Vec<_>>()
            .join("\n");
        Err(starlark::Error::new_other(anyhow::anyhow!(
            "{what}; the following argument(s) could not be parsed or did not pass validation:\n{list}"
        )))
    }

    /// Copies an optional argument; `None` and a missing argument are the same.
    pub fn owned(&mut self, arg: &str, v: Option<Value>) -> Option<Owned> {
        let v = v?;
        match Owned::from_value(v) {
            Ok(Owned::None) => None,
            Ok(o) => Some(o),
            Err(e) => {
                self.fail(arg, e);
                None
            }
        }
    }

    /// Like [`Args::owned`] but keeps an explicit `None` (for `wait=None`).
    pub fn owned_keep_none(&mut self, arg: &str, v: Option<Value>) -> Option<Owned> {
        let v = v?;
        match Owned::from_value(v) {
            Ok(o) => Some(o),
            Err(e) => {
                self.fail(arg, e);
                None
            }
        }
    }

    pub fn required(&mut self, arg: &str, v: Option<Owned>) -> Option<Owned> {
        if v.is_none() {
            self.fail(arg, "is required");
        }
        v
    }

    pub fn string(&mut self, arg: &str, v: &Option<Owned>) -> Option<String> {
        match v {
            None => None,
            Some(Owned::Str(s)) => Some(s.clone()),
            Some(o) => {
                self.fail(
                    arg,
                    format!("expected a string, got {} {}", o.type_name(), o.repr()),
                );
                None
            }
        }
    }

    pub fn non_empty_string(&mut self, arg: &str, v: &Option<Owned>) -> Option<String> {
        let s = self.string(arg, v)?;
        if s.is_empty() {
            self.fail(arg, "must not be empty");
            return None;
        }
        Some(s)
    }

    pub fn int(&mut self, arg: &str, v: &Option<Owned>) -> Option<i64> {
        match v {
            None => None,
            Some(Owned::Int(i)) => Some(*i),
            Some(o) => {
                self.fail(
                    arg,
                    format!("expected an int, got {} {}", o.type_name(), o.repr()),
                );
                None
            }
        }
    }

    pub fn int_min(&mut self, arg: &str, v: &Option<Owned>, min: i64) -> Option<i64> {
        let i = self.int(arg, v)?;
        if i < min {
            self.fail(arg, format!("must be at least {min}, got {i}"));
            return None;
        }
        Some(i)
    }

    pub fn boolean(&mut self, arg: &str, v: &Option<Owned>) -> Option<bool> {
        match v {
            None => None,
            Some(Owned::Bool(b)) => Some(*b),
            Some(o) => {
                self.fail(
                    arg,
                    format!("expected a bool, got {} {}", o.type_name(), o.repr()),
                );
                None
            }
        }
    }

    /// A list (or tuple) whose items `item` accepts; `what` names one item and the plural.
    fn list_of<T>(
        &mut self,
        arg: &str,
        v: &Option<Owned>,
        (what, plural): (&str, &str),
        item: impl Fn(&Owned) -> Option<T>,
    ) -> Option<Vec<T>> {
        match v {
            None => None,
            Some(Owned::List(items)) | Some(Owned::Tuple(items)) => {
                let mut out = Vec::new();
                for (i, x) in items.iter().enumerate() {
                    match item(x) {
                        Some(t) => out.push(t),
                        None => self.fail(
                            arg,
                            format!(
                                "item {i} must be {what}, got {} {}",
                                x.type_name(),
                                x.repr()
                            ),
                        ),
                    }
                }
                Some(out)
            }
            Some(o) => {
                self.fail(
                    arg,
                    format!(
                        "expected a list of {plural}, got {} {}",
                        o.type_name(),
                        o.repr()
                    ),
                );
                None
            }
        }
    }

    pub fn string_list(&mut self, arg: &str, v: &Option<Owned>) -> Option<Vec<String>> {
        self.list_of(arg, v, ("a string", "strings"), |x| {
            x.as_str().map(str::to_owned)
        })
    }

    pub fn int_list(&mut self, arg: &str, v: &Option<Owned>) -> Option<Vec<i64>> {
        self.list_of(arg, v, ("an int", "ints"), |x| match x {
            Owned::Int(n) => Some(*n),
            _ => None,
        })
    }

    /// A dict with string keys; values are returned as they are.
    pub fn dict<'a>(
        &mut self,
        arg: &str,
        v: &'a Option<Owned>,
    ) -> Option<Vec<(String, &'a Owned)>> {
        match v {
            None => None,
            Some(Owned::Dict(entries)) => {
                let mut out = Vec::new();
                for (k, x) in entries {
                    match k {
                        Owned::Str(s) => out.push((s.clone(), x)),
                        o => self.fail(
                            arg,
                            format!("keys must be strings, got {} {}", o.type_name(), o.repr()),
                        ),
                    }
                }
                Some(out)
            }
            Some(o) => {
                self.fail(
                    arg,
                    format!("expected a dict, got {} {}", o.type_name(), o.repr()),
                );
                None
            }
        }
    }

    pub fn string_dict(&mut self, arg: &str, v: &Option<Owned>) -> Option<Vec<(String, String)>> {
        let entries = self.dict(arg, v)?;
        let mut out = Vec::new();
        for (k, x) in entries {
            match x {
                Owned::Str(s) => out.push((k, s.clone())),
                o => self.fail(
                    arg,
                    format!(
                        "value of '{k}' must be a string, got {} {}",
                        o.type_name(),
                        o.repr()
                    ),
                ),
            }
        }
        Some(out)
    }

    /// A Kurtosis type value of one of the given types.
    pub fn ktype<'a>(
        &mut self,
        arg: &str,
        v: &'a Option<Owned>,
        types: &[&str],
    ) -> Option<&'a KValue> {
        match v {
            None => None,
            Some(Owned::Kurtosis(k)) if types.contains(&k.type_name) => Some(k),
            Some(o) => {
                self.fail(
                    arg,
                    format!(
                        "expected {}, got {} {}",
                        types.join(" or "),
                        o.type_name(),
                        o.repr()
                    ),
                );
                None
            }
        }
    }

    /// A Go duration string (`"10s"`).
    pub fn duration(&mut self, arg: &str, v: &Option<Owned>) -> Option<crate::ir::GoDuration> {
        let s = self.string(arg, v)?;
        match crate::ir::GoDuration::parse(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.fail(arg, e);
                None
            }
        }
    }
}
