//! The final services of the model: their readiness (ports with `wait`, the ready
//! condition, every `plan.wait` on them) and their entrypoint, cmd and env as
//! [`Text`].

use super::probe::{Check, Expect, Probe, Readiness};
use super::program::{endpoint, HttpCall};
use super::text::{Text, Use};
use super::{Builder, NodeId, ServiceModel};
use crate::diagnostic::Diagnostic;
use crate::ir::{Assertion, Data, GoDuration, Mount, Recipe, ServiceId, Span, TaskKind, Transport};
use std::collections::BTreeMap;

/// The readiness of every final service, in id order; `plan.wait`s on a service the
/// package removes later are KP202.
pub(crate) fn readiness(b: &mut Builder) -> BTreeMap<ServiceId, Readiness> {
    let plan = b.r.plan;
    let mut out: BTreeMap<ServiceId, Readiness> = BTreeMap::new();
    let ids: Vec<ServiceId> = b.r.info.final_services().values().copied().collect();
    let mut ids = ids;
    ids.sort();
    for id in ids {
        let svc = plan.service(id);
        let mut checks = Vec::new();
        let mut tcp: Vec<(u16, GoDuration)> = Vec::new();
        for p in svc.config.ports.values() {
            match (p.transport_protocol, p.wait) {
                (Transport::Tcp, Some(w)) if w.0 > 0 => tcp.push((p.number, w)),
                (Transport::Tcp | Transport::Udp | Transport::Sctp, _) => {}
            }
        }
        if !tcp.is_empty() {
            checks.push(Check {
                probe: Probe::Listening(tcp.iter().map(|(n, _)| *n).collect()),
                interval: GoDuration::from_secs(1),
                total: GoDuration(tcp.iter().map(|(_, w)| w.0).max().unwrap_or(0)),
                at: svc.at.clone(),
                place: format!("the ports of service '{}'", svc.name),
            });
        }
        if let Some(rc) = &svc.config.ready_conditions {
            let place = format!("the ready condition of service '{}'", svc.name);
            if let Some(probe) = recipe_probe(
                b,
                id,
                &rc.recipe,
                &rc.field,
                rc.assertion,
                &rc.target_value,
                &rc.at,
                &place,
            ) {
                checks.push(Check {
                    probe,
                    interval: rc.interval,
                    total: rc.timeout,
                    at: rc.at.clone(),
                    place,
                });
            }
        }
        out.insert(id, Readiness { checks });
    }
    for t in plan.task_ids() {
        let task = plan.task(t);
        let TaskKind::Wait {
            service_name,
            recipe,
            field,
            assertion,
            target_value,
            interval,
            timeout,
        } = &task.kind
        else {
            continue;
        };
        let Some(id) = b.r.info.task_service(t).filter(|s| b.r.info.is_final(*s)) else {
            b.r.diags.push(Diagnostic::error(
                "KP202",
                format!("plan.wait checks service '{service_name}', which the package removes later; {} holds only the services that exist at the end", b.r.words.project),
                Some(task.at.clone()),
            ));
            continue;
        };
        let svc = plan.service(id);
        let place = format!("plan.wait of service '{}'", svc.name);
        if let Some(probe) = recipe_probe(
            b,
            id,
            recipe,
            field,
            *assertion,
            target_value,
            &task.at,
            &place,
        ) {
            out.entry(id).or_default().checks.push(Check {
                probe,
                interval: *interval,
                total: *timeout,
                at: task.at.clone(),
                place,
            });
        }
    }
    out
}

/// A recipe run against the service itself as a probe; `None` when a string in it
/// cannot be written (reported).
#[allow(clippy::too_many_arguments)]
fn recipe_probe(
    b: &mut Builder,
    id: ServiceId,
    recipe: &Recipe,
    field: &str,
    assertion: Assertion,
    target: &Data,
    at: &Span,
    place: &str,
) -> Option<Probe> {
    let svc = b.r.plan.service(id);
    let u = Use {
        at,
        place,
        reader: None,
    };
    let extract = |extract: &BTreeMap<String, String>, field: &str| -> Expect {
        match field.strip_prefix("extract.") {
            Some(k) if extract.contains_key(k) => Expect::Extract {
                key: k.to_owned(),
                filter: extract[k].clone(),
                assertion,
                target: target.clone(),
            },
            Some(_) | None => Expect::Unknown(field.to_owned()),
        }
    };
    match recipe {
        Recipe::Exec(r) => {
            let argv = b.r.texts(&r.command, &u)?;
            let expect = match field {
                "code" => Expect::Code {
                    assertion,
                    target: target.clone(),
                },
                "output" => Expect::Output {
                    assertion,
                    target: target.clone(),
                },
                other => extract(&r.extract, other),
            };
            Some(Probe::Exec { argv, expect })
        }
        Recipe::Http(r) => {
            let port = svc.config.ports.get(&r.port_id).map(|p| p.number)?;
            let body = match &r.body {
                Some(e) => Some(b.r.text(e, &u)?),
                None => None,
            };
            let expect = match field {
                "code" => Expect::Code {
                    assertion,
                    target: target.clone(),
                },
                "body" => Expect::Output {
                    assertion,
                    target: target.clone(),
                },
                other => extract(&r.extract, other),
            };
            let call = HttpCall {
                service: id,
                port,
                method: r.method,
                endpoint: endpoint(&r.endpoint),
                headers: r.headers.clone(),
                content_type: r.content_type.clone(),
                body,
            };
            Some(Probe::Http { call, expect })
        }
    }
}

/// Every final service, in id order: its strings as [`Text`], its mounts' producers,
/// whether it stays stopped. `files_to_be_moved` cannot be lowered (KP204).
pub(crate) fn lower(b: &mut Builder, readiness: &mut BTreeMap<ServiceId, Readiness>) {
    let plan = b.r.plan;
    let mut ids: Vec<ServiceId> = b.r.info.final_services().values().copied().collect();
    ids.sort();
    for id in ids {
        let svc = plan.service(id);
        let c = &svc.config;
        let me = NodeId::Service(id);
        let place = |what: &str| format!("the {what} of service '{}'", svc.name);
        let text = |b: &mut Builder, what: &str, es: &[crate::ir::StrExpr]| -> Vec<Text> {
            let p = place(what);
            let u = Use {
                at: &svc.at,
                place: &p,
                reader: Some(me),
            };
            b.r.texts(es, &u).unwrap_or_default()
        };
        let entrypoint = text(b, "entrypoint", &c.entrypoint);
        let cmd = text(b, "cmd", &c.cmd);
        let mut env = BTreeMap::new();
        for (k, v) in &c.env_vars {
            let p = place(&format!("env var {k}"));
            let u = Use {
                at: &svc.at,
                place: &p,
                reader: Some(me),
            };
            if let Some(t) = b.r.text(v, &u) {
                env.insert(k.clone(), t);
            }
        }
        if !c.files_to_be_moved.is_empty() {
            b.r.diags.push(
                Diagnostic::error(
                    "KP204",
                    format!("service '{}' uses files_to_be_moved, which {} cannot do (it mounts files, it does not move them after start)", svc.name, b.r.words.target),
                    Some(svc.at.clone()),
                )
                .with_hint("mount the artifact at the final path instead"),
            );
        }
        for m in c.files.values() {
            if let Mount::Artifacts(names) = m {
                for n in names {
                    b.mounts(me, n);
                }
            }
        }
        let step = b.r.info.service_step(id).unwrap_or(0);
        b.services.insert(
            id,
            ServiceModel {
                id,
                entrypoint,
                cmd,
                env,
                readiness: readiness.remove(&id).unwrap_or_default(),
                hooks: Vec::new(),
                stopped: b.r.info.stopped().contains(&id),
                step,
            },
        );
    }
}
