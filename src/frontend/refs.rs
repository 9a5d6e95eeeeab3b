//! Future references: the Kurtosis-style placeholder strings scripts see
//! (`{{kurtosis:<32 hex>:<field>.runtime_value}}`), and parsing them, once, back into
//! typed [`RuntimeRef`]s. This is the only place that knows the placeholder format.

use crate::ir::{Part, RuntimeRef, ServiceField, ServiceId, StrExpr, TaskField, TaskId};
use regex::Regex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\{\{kurtosis:([a-f0-9]{32}):([a-zA-Z0-9\-_\.]+)\.runtime_value\}\}")
            .unwrap_or_else(|e| unreachable!("placeholder regex is valid: {e}"))
    })
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
        let mut out = StrExpr::default();
        let mut last = 0;
        for cap in pattern().captures_iter(text) {
            let (Some(whole), Some(uuid), Some(field)) = (cap.get(0), cap.get(1), cap.get(2))
            else {
                continue;
            };
            out.push(Part::Lit(text[last..whole.start()].to_owned()));
            last = whole.end();
            let producer = self.by_uuid.get(uuid.as_str()).ok_or_else(|| {
                format!(
                    "'{}' looks like a future reference but none was made in this run; future references cannot be written by hand",
                    whole.as_str()
                )
            })?;
            out.push(Part::Ref(to_ref(*producer, field.as_str())?));
        }
        out.push(Part::Lit(text[last..].to_owned()));
        Ok(out)
    }

    /// Whether the text contains a placeholder (for fields that cannot hold one).
    pub fn contains_ref(text: &str) -> bool {
        text.contains("{{kurtosis:") && pattern().is_match(text)
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
            let field = match field {
                "code" => TaskField::Code,
                "output" => TaskField::Output,
                "body" => TaskField::Body,
                other => match other.strip_prefix("extract.") {
                    Some(k) => TaskField::Extract(k.to_owned()),
                    None => return Err(format!("a task result has no field '{other}'")),
                },
            };
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
}
