//! The final services of the model: their readiness (ports with `wait`, the ready
//! condition, every `plan.wait` on them) and their entrypoint, cmd and env as
//! [`Text`].

use super::probe::{Check, Expect, Origin, Probe, Readiness};
use super::program::{endpoint, HttpCall};
use super::store::is_shell_name;
use super::text::{Refusal, Text, Use};
use super::{Builder, NodeId, ServiceModel};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    Assertion, Data, GoDuration, Recipe, ServiceId, Span, TaskField, TaskKind, Transport,
};
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
                origin: Origin::Ports,
                probe: Probe::Listening(tcp.clone()),
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
                    origin: Origin::ReadyCondition,
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
                Code::KP202,
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
                origin: Origin::Wait(t),
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
#[allow(
    clippy::too_many_arguments,
    reason = "a ready condition's fields, passed apart so the caller need not build one"
)]
fn recipe_probe(
    b: &mut Builder,
    id: ServiceId,
    recipe: &Recipe,
    field: &TaskField,
    assertion: Assertion,
    target: &Data,
    at: &Span,
    place: &str,
) -> Option<Probe> {
    let svc = b.r.plan.service(id);
    let u = Use::never(
        at,
        place,
        Refusal {
            why: "it is part of a readiness check, which runs before anything can read run-time values into it".into(),
            hint: "compare with a value known when the package is interpreted, or deploy with `kplan apply`".into(),
        },
    );
    match recipe {
        Recipe::Exec(r) => {
            let argv = b.r.texts(&r.command, &u)?;
            let expect = expect(field, TaskField::Output, &r.extract, assertion, target);
            Some(Probe::Exec { argv, expect })
        }
        Recipe::Http(r) => {
            let port = svc.config.ports.get(&r.port_id).map(|p| p.number)?;
            let body = match &r.body {
                Some(e) => Some(b.r.text(e, &u)?),
                None => None,
            };
            let expect = expect(field, TaskField::Body, &r.extract, assertion, target);
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

/// What a probe compares: `field` of a result whose output is called `main` (`output`
/// for exec, `body` for HTTP) and whose extracts are `extract`.
fn expect(
    field: &TaskField,
    main: TaskField,
    extract: &BTreeMap<String, String>,
    assertion: Assertion,
    target: &Data,
) -> Expect {
    let target = target.clone();
    match field {
        TaskField::Code => Expect::Code { assertion, target },
        TaskField::Output | TaskField::Body if *field == main => {
            Expect::Output { assertion, target }
        }
        TaskField::Extract(k) if extract.contains_key(k) => Expect::Extract {
            key: k.clone(),
            filter: extract[k].clone(),
            assertion,
            target,
        },
        TaskField::Output | TaskField::Body | TaskField::Extract(_) => {
            Expect::Unknown(field.clone())
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
            b.r.texts(es, &Use::read_by(&svc.at, &p, me))
                .unwrap_or_default()
        };
        let entrypoint = text(b, "entrypoint", &c.entrypoint);
        let cmd = text(b, "cmd", &c.cmd);
        let mut env = BTreeMap::new();
        for (k, v) in &c.env_vars {
            let p = place(&format!("env var {k}"));
            if let Some(t) = b.r.text(v, &Use::read_by(&svc.at, &p, me)) {
                env.insert(k.clone(), t);
            }
        }
        if !c.files_to_be_moved.is_empty() {
            b.r.diags.push(
                Diagnostic::error(
                    Code::KP204,
                    format!("service '{}' uses files_to_be_moved, which {} cannot do (it mounts files, it does not move them after start)", svc.name, b.r.words.target),
                    Some(svc.at.clone()),
                )
                .with_hint("mount the artifact at the final path instead"),
            );
        }
        b.mounts_of_service(me, id);
        let start = start(b, id, &entrypoint, &cmd, &env);
        let step = b.r.info.service_step(id).unwrap_or(0);
        b.m.services.insert(
            id,
            ServiceModel {
                id,
                entrypoint,
                cmd,
                env,
                readiness: readiness.remove(&id).unwrap_or_default(),
                hooks: Vec::new(),
                stopped: b.r.info.stopped().contains(&id),
                start,
                step,
            },
        );
    }
}

/// The argv a service whose entrypoint, cmd or env holds a run-time value starts
/// through the value wrapper: its entrypoint and cmd, the image's where the package
/// sets none (Docker's rule: an entrypoint set by the package drops the image's cmd).
/// KP214 when the image's are needed and unknown, or an env var holding a value is
/// not a shell variable name.
fn start(
    b: &mut Builder,
    id: ServiceId,
    entrypoint: &[Text],
    cmd: &[Text],
    env: &BTreeMap<String, Text>,
) -> Option<Vec<Text>> {
    let uses = entrypoint
        .iter()
        .chain(cmd)
        .chain(env.values())
        .any(Text::has_values);
    if !uses || b.r.values.carry_mode() != super::Carry::Files {
        return None;
    }
    let svc = b.r.plan.service(id);
    for k in env.iter().filter(|(_, v)| v.has_values()).map(|(k, _)| k) {
        if !is_shell_name(k) {
            b.r.diags.push(
                Diagnostic::error(
                    Code::KP214,
                    format!("env var '{k}' of service '{}' holds a run-time value, but its name is not a shell variable name, so kplan's start wrapper cannot export it", svc.name),
                    Some(svc.at.clone()),
                )
                .with_hint("name it with letters, digits and '_' only, not starting with a digit"),
            );
        }
    }
    if !entrypoint.is_empty() {
        return Some([entrypoint, cmd].concat());
    }
    let image = svc.config.image.reference();
    let Some(config) = b.images.get(image) else {
        let mut fields = Vec::new();
        if cmd.iter().any(Text::has_values) {
            fields.push("cmd");
        }
        if env.values().any(Text::has_values) {
            fields.push("env");
        }
        let needs = if cmd.is_empty() {
            "entrypoint and cmd"
        } else {
            "entrypoint"
        };
        b.r.diags.push(
            Diagnostic::error(
                Code::KP214,
                format!("service '{}' reads a run-time value in its {}, so it starts through kplan's wrapper, which must run the image's {needs} itself; kplan does not know those of image '{image}'", svc.name, fields.join(" and ")),
                Some(svc.at.clone()),
            )
            .with_hint(format!("set `entrypoint` (and `cmd`) in the ServiceConfig, or pass --image-config FILE, made with `kplan images inspect PACKAGE > FILE` on a machine that has '{image}'")),
        );
        return None;
    };
    let mut argv: Vec<Text> = config
        .entrypoint
        .iter()
        .flatten()
        .map(|a| Text::lit(a.clone()))
        .collect();
    if cmd.is_empty() {
        argv.extend(config.cmd.iter().flatten().map(|a| Text::lit(a.clone())));
    } else {
        argv.extend(cmd.iter().cloned());
    }
    if argv.is_empty() {
        b.r.diags.push(
            Diagnostic::error(
                Code::KP214,
                format!("service '{}' reads a run-time value, so it starts through kplan's wrapper, but neither the package nor image '{image}' says what to run", svc.name),
                Some(svc.at.clone()),
            )
            .with_hint("set `entrypoint` or `cmd` in the ServiceConfig"),
        );
        return None;
    }
    Some(argv)
}
