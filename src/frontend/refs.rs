//! Future references: the Kurtosis-style placeholder strings scripts see
//! (`{{kurtosis:<32 hex>:<field>.runtime_value}}`), and parsing them, once, back into
//! typed [`RuntimeRef`]s. This is the only place that knows the placeholder format.
//!
//! Placeholders are found by [`next_placeholder`], a scanner written for the one
//! pattern (checked against the equivalent regex in the tests): the regex's captures
//! cost about 9,000 instructions a string, 5% of compiling 1000 chained services
//! (callgrind), where the scanner costs a substring search.

use crate::ir::{Part, RuntimeRef, ServiceField, ServiceId, StrExpr, TaskId};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A placeholder found in a text: where it starts and ends, its UUID and its field.
struct Found<'a> {
    start: usize,
    end: usize,
    uuid: &'a str,
    field: &'a str,
}

/// The first placeholder in `text` at or after `from`: the leftmost match of
/// `\{\{kurtosis:([a-f0-9]{32}):([a-zA-Z0-9\-_\.]+)\.runtime_value\}\}`. The field is a run of `[a-zA-Z0-9-_.]`; since `}` cannot be in it, the
/// run must end exactly at the closing `}}`, so the match (if any) at a given `{{` is
/// the whole run, which must end with `.runtime_value` and leave a non-empty field.
fn next_placeholder(text: &str, mut from: usize) -> Option<Found<'_>> {
    const OPEN: &str = "{{kurtosis:";
    const SUFFIX: &str = ".runtime_value";
    let bytes = text.as_bytes();
    while let Some(pos) = text.get(from..)?.find(OPEN) {
        let start = from + pos;
        from = start + 1;
        let uuid_start = start + OPEN.len();
        let uuid_end = uuid_start + 32;
        let uuid = bytes.get(uuid_start..uuid_end)?;
        if !uuid
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            || bytes.get(uuid_end) != Some(&b':')
        {
            continue;
        }
        let run_start = uuid_end + 1;
        let run_len = bytes[run_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            .count();
        let run_end = run_start + run_len;
        let run = &text[run_start..run_end];
        if run.len() > SUFFIX.len()
            && run.ends_with(SUFFIX)
            && bytes.get(run_end..run_end + 2) == Some(b"}}")
        {
            return Some(Found {
                start,
                end: run_end + 2,
                uuid: &text[uuid_start..uuid_end],
                field: &run[..run.len() - SUFFIX.len()],
            });
        }
    }
    None
}

/// What a placeholder UUID stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Producer {
    Service(ServiceId),
    Task(TaskId),
}

/// The placeholders minted in one interpretation.
#[derive(Debug, Default)]
pub struct RefTable {
    by_uuid: HashMap<String, Producer>,
    /// Per service name, as in Kurtosis: the same name keeps its UUID for the run.
    service_uuid: HashMap<String, String>,
    counter: u64,
}

impl RefTable {
    fn mint(&mut self, seed: &str) -> String {
        self.counter += 1;
        let digest = Sha256::digest(format!("kplan-ref:{seed}:{}", self.counter).as_bytes());
        hex::encode(&digest[..16])
    }

    /// The UUID for a service name (re-adding the same name points at the new service).
    pub fn service(&mut self, name: &str, id: ServiceId) -> String {
        let uuid = match self.service_uuid.get(name) {
            Some(u) => u.clone(),
            None => {
                let u = self.mint(&format!("service:{name}"));
                self.service_uuid.insert(name.to_owned(), u.clone());
                u
            }
        };
        self.by_uuid.insert(uuid.clone(), Producer::Service(id));
        uuid
    }

    /// A fresh UUID for a task's results.
    pub fn task(&mut self, id: TaskId) -> String {
        let u = self.mint(&format!("task:{}", id.0));
        self.by_uuid.insert(u.clone(), Producer::Task(id));
        u
    }

    /// Parses a string the script produced into literal parts and typed references.
    pub fn parse(&self, text: &str) -> Result<StrExpr, String> {
        // Most strings hold no placeholder: a substring search rules that out far
        // faster than the regex (which took 5% of compiling 1000 services).
        if !text.contains("{{kurtosis:") {
            return Ok(StrExpr::lit(text));
        }
        let mut out = StrExpr::default();
        let mut last = 0;
        while let Some(found) = next_placeholder(text, last) {
            out.push(Part::Lit(text[last..found.start].to_owned()));
            last = found.end;
            let producer = self.by_uuid.get(found.uuid).ok_or_else(|| {
                format!(
                    "'{}' looks like a future reference but none was made in this run; future references cannot be written by hand",
                    &text[found.start..found.end]
                )
            })?;
            out.push(Part::Ref(to_ref(*producer, found.field)?));
        }
        out.push(Part::Lit(text[last..].to_owned()));
        Ok(out)
    }

    /// Whether the text contains a placeholder (for fields that cannot hold one).
    pub fn contains_ref(text: &str) -> bool {
        next_placeholder(text, 0).is_some()
    }
}

fn to_ref(producer: Producer, field: &str) -> Result<RuntimeRef, String> {
    match producer {
        Producer::Service(service) => {
            let field = match field {
                "ip_address" => ServiceField::IpAddress,
                "hostname" => ServiceField::Hostname,
                other => return Err(format!("a service has no run-time field '{other}'")),
            };
            Ok(RuntimeRef::Service { service, field })
        }
        Producer::Task(task) => {
            let field = super::fields::parse(field)
                .ok_or_else(|| format!("a task result has no field '{field}'"))?;
            Ok(RuntimeRef::Task { task, field })
        }
    }
}

/// The placeholder text for a UUID and field.
pub fn placeholder(uuid: &str, field: &str) -> String {
    format!("{{{{kurtosis:{uuid}:{field}.runtime_value}}}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::TaskField;
    use regex::Regex;
    use std::sync::OnceLock;

    /// The placeholder format as a regex: the definition `next_placeholder` implements.
    const PATTERN: &str = r"\{\{kurtosis:([a-f0-9]{32}):([a-zA-Z0-9\-_\.]+)\.runtime_value\}\}";

    #[expect(
        clippy::unreachable,
        reason = "a constant pattern; the tests compile it"
    )]
    fn pattern() -> &'static Regex {
        static RE: OnceLock<Regex> = OnceLock::new();
        RE.get_or_init(|| {
            Regex::new(PATTERN).unwrap_or_else(|e| unreachable!("placeholder regex is valid: {e}"))
        })
    }

    #[test]
    fn round_trips() {
        let mut t = RefTable::default();
        let s = t.service("db", ServiceId(0));
        let k = t.task(TaskId(3));
        let text = format!(
            "postgres://{}:5432/{}",
            placeholder(&s, "hostname"),
            placeholder(&k, "extract.name")
        );
        let e = t.parse(&text).unwrap();
        assert_eq!(
            e.parts(),
            &[
                Part::Lit("postgres://".into()),
                Part::Ref(RuntimeRef::Service {
                    service: ServiceId(0),
                    field: ServiceField::Hostname
                }),
                Part::Lit(":5432/".into()),
                Part::Ref(RuntimeRef::Task {
                    task: TaskId(3),
                    field: TaskField::Extract("name".into())
                }),
            ]
        );
        assert!(t.parse(&placeholder(&"0".repeat(32), "code")).is_err());
        assert_eq!(t.service("db", ServiceId(1)), s, "same name keeps its uuid");
    }

    /// Every match of the scanner, as (start, end, uuid, field).
    fn scanned(text: &str) -> Vec<(usize, usize, String, String)> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(f) = next_placeholder(text, from) {
            out.push((f.start, f.end, f.uuid.to_owned(), f.field.to_owned()));
            from = f.end;
        }
        out
    }

    #[test]
    fn the_scanner_finds_what_the_regex_finds() {
        let u = "0123456789abcdef0123456789abcdef";
        let texts = [
            String::new(),
            "plain text".into(),
            format!("{{{{kurtosis:{u}:hostname.runtime_value}}}}"),
            format!("a{{{{kurtosis:{u}:extract.a.b.runtime_value}}}}b{{{{kurtosis:{u}:code.runtime_value}}}}"),
            format!("{{{{kurtosis:{u}:.runtime_value}}}}"),
            format!("{{{{kurtosis:{u}:x.runtime_value}}"),
            format!("{{{{kurtosis:{u}:x.runtime_value.runtime_value}}}}"),
            format!("{{{{kurtosis:{{{{kurtosis:{u}:ip_address.runtime_value}}}}"),
            format!("{{{{kurtosis:{}:x.runtime_value}}}}", u.to_uppercase()),
            format!("{{{{kurtosis:{}:x.runtime_value}}}}", &u[..31]),
            format!("{{{{kurtosis:{u}x:y.runtime_value}}}}"),
            format!("{{{{kurtosis:{u}:a b.runtime_value}}}}"),
            format!("{{{{kurtosis:{u}:é.runtime_value}}}} {{{{kurtosis:{u}:ok.runtime_value}}}}"),
            format!("{{{{kurtosis:{u}:a-b_c.runtime_value}}}}}}"),
            "{{kurtosis:".into(),
            format!("{{{{kurtosis:{u}"),
        ];
        for text in texts {
            let by_regex: Vec<_> = pattern()
                .captures_iter(&text)
                .map(|c| {
                    let whole = c.get(0).unwrap();
                    (whole.start(), whole.end(), c[1].to_owned(), c[2].to_owned())
                })
                .collect();
            assert_eq!(scanned(&text), by_regex, "{text}");
            assert_eq!(RefTable::contains_ref(&text), pattern().is_match(&text));
        }
    }
}
