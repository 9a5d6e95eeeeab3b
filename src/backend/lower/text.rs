//! Text against what a target can hold: an IR string ([`StrExpr`]) resolved into a
//! [`Text`] of literal pieces, references to final services (their addresses) and
//! run-time values carried through the value store ([`super::values`]), with the
//! diagnostics for what cannot be carried: a service the package removes later
//! (KP202) and a run-time value where the target cannot read one (KP201). Every
//! diagnostic names the consumer (its span and place) and the producer (`related`),
//! says why, and what to do.

use super::values::{ValueId, Values};
use super::Vocabulary;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Part, Plan, PlanInfo, RuntimeRef, ServiceField, ServiceId, Span, StrExpr};

/// One piece of a [`Text`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Lit(String),
    /// The address of a final service: its DNS name on the project network for
    /// `Hostname`/`IpAddress`; for `OwnIpAddress` the service holding the text.
    Service(ServiceId, ServiceField),
    /// A value known only at run time, read from the value store.
    Value(ValueId),
}

/// A string a target writes: literal pieces and typed holes, in order (adjacent
/// literals merged, no empty literal).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Vec<Seg>);

impl Text {
    pub fn lit(s: impl Into<String>) -> Text {
        let mut t = Text::default();
        t.push(Seg::Lit(s.into()));
        t
    }

    pub fn push(&mut self, seg: Seg) {
        match seg {
            Seg::Lit(s) if s.is_empty() => {}
            Seg::Lit(s) => match self.0.last_mut() {
                Some(Seg::Lit(prev)) => prev.push_str(&s),
                Some(Seg::Service(..) | Seg::Value(_)) | None => self.0.push(Seg::Lit(s)),
            },
            other @ (Seg::Service(..) | Seg::Value(_)) => self.0.push(other),
        }
    }

    pub fn segs(&self) -> &[Seg] {
        &self.0
    }

    /// Whether a run-time value is part of the text.
    pub fn has_values(&self) -> bool {
        self.0.iter().any(|s| matches!(s, Seg::Value(_)))
    }

    /// The run-time values in the text, in order.
    pub fn values(&self) -> impl Iterator<Item = ValueId> + '_ {
        self.0.iter().filter_map(|s| match s {
            Seg::Value(v) => Some(*v),
            Seg::Lit(_) | Seg::Service(..) => None,
        })
    }

    /// The text with every service reference written by `service` and no run-time
    /// value in it; `None` when it holds one.
    pub fn render_static(
        &self,
        service: impl Fn(ServiceId, ServiceField) -> String,
    ) -> Option<String> {
        let mut s = String::new();
        for seg in &self.0 {
            match seg {
                Seg::Lit(l) => s.push_str(l),
                Seg::Service(id, f) => s.push_str(&service(*id, *f)),
                Seg::Value(_) => return None,
            }
        }
        Some(s)
    }
}

/// Where a string is used, for resolution and messages.
#[derive(Debug, Clone)]
pub struct Use<'a> {
    pub at: &'a Span,
    /// E.g. "the env var A of service 'web'".
    pub place: &'a str,
    /// `Some(reader)` when the target can read run-time values at this place (the
    /// reader is the node that reads them); `None` when it cannot.
    pub reader: Option<super::NodeId>,
    /// Why a run-time value cannot be read here, when `reader` is `None` and there is
    /// more to say than "the target holds only static values".
    pub refusal: Option<Refusal>,
}

impl<'a> Use<'a> {
    /// A place where `reader` reads run-time values.
    pub fn read_by(at: &'a Span, place: &'a str, reader: super::NodeId) -> Use<'a> {
        Use {
            at,
            place,
            reader: Some(reader),
            refusal: None,
        }
    }

    /// A place where the target holds only static text.
    pub fn fixed(at: &'a Span, place: &'a str) -> Use<'a> {
        Use {
            at,
            place,
            reader: None,
            refusal: None,
        }
    }

    /// A place that cannot read run-time values, for the reason given.
    pub fn never(at: &'a Span, place: &'a str, refusal: Refusal) -> Use<'a> {
        Use {
            at,
            place,
            reader: None,
            refusal: Some(refusal),
        }
    }
}

/// Resolves IR strings of one plan, registering the run-time values they read.
pub struct Resolver<'p> {
    pub plan: &'p Plan,
    pub info: &'p PlanInfo,
    pub words: Vocabulary,
    pub values: Values,
    pub diags: Vec<Diagnostic>,
}

impl<'p> Resolver<'p> {
    /// The [`Text`] of `e` at `u`, or `None` after reporting what cannot be carried.
    pub fn text(&mut self, e: &StrExpr, u: &Use) -> Option<Text> {
        let mut ok = true;
        let mut out = Text::default();
        for p in e.parts() {
            match p {
                Part::Lit(l) => out.push(Seg::Lit(l.clone())),
                Part::Ref(r) => match self.seg(r, u) {
                    Some(s) => out.push(s),
                    None => ok = false,
                },
            }
        }
        ok.then_some(out)
    }

    /// [`Resolver::text`] for a list; `None` if any failed (all are reported).
    pub fn texts(&mut self, es: &[StrExpr], u: &Use) -> Option<Vec<Text>> {
        let mut out = Some(Vec::with_capacity(es.len()));
        for e in es {
            match (self.text(e, u), out.as_mut()) {
                (Some(t), Some(v)) => v.push(t),
                _ => out = None,
            }
        }
        out
    }

    fn seg(&mut self, r: &RuntimeRef, u: &Use) -> Option<Seg> {
        match r {
            RuntimeRef::Service { service, field } => {
                if self.info.is_final(*service)
                    || self.values.carry_mode() == super::values::Carry::InProcess
                {
                    return Some(Seg::Service(*service, *field));
                }
                let s = self.plan.service(*service);
                self.diags.push(
                    Diagnostic::error(
                        Code::KP202,
                        format!(
                            "{} uses the {} of service '{}', which the package removes later; {} holds only the services that exist at the end",
                            u.place,
                            field.as_str(),
                            s.name,
                            self.words.project
                        ),
                        Some(u.at.clone()),
                    )
                    .with_related(s.at.clone(), "the service is added here")
                    .with_hint("keep the service (drop the remove_service), or stop using its address"),
                );
                None
            }
            RuntimeRef::Task { task, field } => {
                if let Some(id) = self.values.in_process(self.plan, *task, field) {
                    return Some(Seg::Value(id));
                }
                let refused = match u.reader {
                    Some(reader) => match self
                        .values
                        .carry(self.plan, self.info, *task, field, reader)
                    {
                        Ok(id) => return Some(Seg::Value(id)),
                        Err(why) => why,
                    },
                    None => u.refusal.clone().unwrap_or_else(|| self.values.refusal()),
                };
                let t = self.plan.task(*task);
                self.diags.push(
                    Diagnostic::error(
                        Code::KP201,
                        format!(
                            "{} uses the {} of `plan.{}`, a value known only when the plan runs; {}",
                            u.place,
                            field.name(),
                            t.kind.instruction(),
                            refused.why
                        ),
                        Some(u.at.clone()),
                    )
                    .with_related(t.at.clone(), format!("the {} is produced here", field.name()))
                    .with_hint(refused.hint),
                );
                None
            }
        }
    }
}

/// Why a run-time value cannot reach a place, and what to do instead.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub why: String,
    pub hint: String,
}
