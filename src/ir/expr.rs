//! Strings that may contain values known only at run time.

use super::{ServiceId, TaskId};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A value that exists only once the plan runs: a service's address, a task's output.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuntimeRef {
    Service {
        service: ServiceId,
        field: ServiceField,
    },
    Task {
        task: TaskId,
        field: TaskField,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceField {
    IpAddress,
    Hostname,
    /// The address of the service's own container, where its
    /// `private_ip_address_placeholder` stood in its entrypoint, cmd or env (the
    /// frontend records it; the `service` of the reference is that service itself).
    OwnIpAddress,
}

/// A field of a task's result (`exec`, `request`, `wait`, `run_sh`, `run_python`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskField {
    Code,
    Output,
    Body,
    /// `extract.<key>` of an `exec`/`request`/`wait` recipe.
    Extract(String),
}

impl ServiceField {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceField::IpAddress => "ip_address",
            ServiceField::Hostname => "hostname",
            ServiceField::OwnIpAddress => "own_ip_address",
        }
    }
}

/// Written as its name (`code`, `extract.<key>`), as a package writes it.
impl Serialize for TaskField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl TaskField {
    /// The name a package writes (`code`, `output`, `body`, `extract.<key>`).
    pub fn name(&self) -> String {
        match self {
            TaskField::Code => "code".into(),
            TaskField::Output => "output".into(),
            TaskField::Body => "body".into(),
            TaskField::Extract(k) => format!("extract.{k}"),
        }
    }
}

/// One piece of a [`StrExpr`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    Lit(String),
    Ref(RuntimeRef),
}

/// A string made of literal text and run-time references, in order. Adjacent literals
/// are always merged and empty literals dropped, so two equal strings have equal parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct StrExpr(Vec<Part>);

impl StrExpr {
    pub fn lit(s: impl Into<String>) -> Self {
        let s = s.into();
        if s.is_empty() {
            StrExpr(Vec::new())
        } else {
            StrExpr(vec![Part::Lit(s)])
        }
    }

    /// Builds from parts, merging adjacent literals.
    pub fn from_parts(parts: impl IntoIterator<Item = Part>) -> Self {
        let mut out = StrExpr::default();
        for p in parts {
            out.push(p);
        }
        out
    }

    pub fn push(&mut self, part: Part) {
        match part {
            Part::Lit(s) if s.is_empty() => {}
            Part::Lit(s) => match self.0.last_mut() {
                Some(Part::Lit(prev)) => prev.push_str(&s),
                Some(Part::Ref(_)) | None => self.0.push(Part::Lit(s)),
            },
            r @ Part::Ref(_) => self.0.push(r),
        }
    }

    pub fn parts(&self) -> &[Part] {
        &self.0
    }

    /// The text when the string holds no run-time reference.
    pub fn as_literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(l) => s.push_str(l),
                Part::Ref(_) => return None,
            }
        }
        Some(s)
    }

    pub fn refs(&self) -> impl Iterator<Item = &RuntimeRef> {
        self.0.iter().filter_map(|p| match p {
            Part::Ref(r) => Some(r),
            Part::Lit(_) => None,
        })
    }

    /// Replaces every reference with the text `resolve` gives, or the first error.
    pub fn resolve<E>(
        &self,
        mut resolve: impl FnMut(&RuntimeRef) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(l) => s.push_str(l),
                Part::Ref(r) => s.push_str(&resolve(r)?),
            }
        }
        Ok(s)
    }
}

impl Serialize for RuntimeRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        match self {
            RuntimeRef::Service { service, field } => {
                m.serialize_entry("service", service)?;
                m.serialize_entry("field", field.as_str())?;
            }
            RuntimeRef::Task { task, field } => {
                m.serialize_entry("task", task)?;
                m.serialize_entry("field", &field.name())?;
            }
        }
        m.end()
    }
}

/// A literal-only string serializes as that string; otherwise as a list whose items are
/// literal strings and `{ref: {service|task: N, field: F}}` maps.
impl Serialize for StrExpr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(lit) = self.as_literal() {
            return s.serialize_str(&lit);
        }
        struct RefItem<'a>(&'a RuntimeRef);
        impl Serialize for RefItem<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("ref", self.0)?;
                m.end()
            }
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for p in &self.0 {
            match p {
                Part::Lit(l) => seq.serialize_element(l)?,
                Part::Ref(r) => seq.serialize_element(&RefItem(r))?,
            }
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_literals() {
        let r = RuntimeRef::Service {
            service: ServiceId(0),
            field: ServiceField::Hostname,
        };
        let e = StrExpr::from_parts([
            Part::Lit("a".into()),
            Part::Lit(String::new()),
            Part::Lit("b".into()),
            Part::Ref(r.clone()),
            Part::Lit("c".into()),
        ]);
        assert_eq!(
            e.parts(),
            &[Part::Lit("ab".into()), Part::Ref(r), Part::Lit("c".into())]
        );
        assert_eq!(e.as_literal(), None);
        assert_eq!(StrExpr::lit("x").as_literal().as_deref(), Some("x"));
        assert!(StrExpr::lit("").parts().is_empty());
    }
}
