//! `add_service` in Compose: each final service of the model becomes a Compose
//! service with its image, command, environment, labels, user, resources, ports,
//! mounts and healthcheck.

use super::artifacts::service_volumes;
use super::model::{
    Build, ComposeService, CountOrAll, Deploy, DeviceRequest, PublishedPort, ResourceSet, Resources,
};
use super::Ctx;
use crate::backend::lower::{build_context, NodeId, ServiceModel};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Image, Span, Transport};

pub fn lower(cx: &mut Ctx) {
    let model = cx.model;
    for s in model.services.values() {
        let name = cx.name(NodeId::Service(s.id)).to_owned();
        let lowered = service(cx, s);
        cx.project.services.insert(name, lowered);
    }
}

fn transport(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
        Transport::Sctp => "sctp",
    }
}

/// Millicores as Compose's decimal CPU count ("0.25").
fn cpus(millis: u64) -> String {
    let s = format!("{}.{:03}", millis / 1000, millis % 1000);
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn service(cx: &mut Ctx, m: &ServiceModel) -> ComposeService {
    let id = m.id;
    let svc = cx.plan.service(id);
    let c = &svc.config;
    let mut build = None;
    let mut out = ComposeService {
        image: image(
            cx,
            &c.image,
            &format!("service '{}'", svc.name),
            &svc.at,
            &mut build,
        ),
        ..ComposeService::default()
    };
    out.build = build;
    let start = m.start_command(&|t| cx.word(t), &|t| cx.text(t));
    out.entrypoint = start.entrypoint;
    out.command = start.cmd;
    out.environment = start.env;
    out.labels = c.labels.clone();
    out.user = c.user.as_ref().map(|u| match u.gid {
        Some(g) => format!("{}:{g}", u.uid),
        None => u.uid.to_string(),
    });
    out.init = c.tini_enabled.then_some(true);
    out.tty = c.tty_enabled.then_some(true);
    out.privileged = c.privileged.then_some(true);
    out.pid = c.host_pid_namespace.then(|| "host".to_owned());
    out.cap_add = c.capabilities.clone();
    out.devices = c.devices.clone();
    for p in c.ports.values() {
        out.expose.push(match p.transport_protocol {
            Transport::Tcp => p.number.to_string(),
            t @ (Transport::Udp | Transport::Sctp) => format!("{}/{}", p.number, transport(t)),
        });
    }
    for (pid, public) in &c.public_ports {
        if let Some(private) = c.ports.get(pid) {
            out.ports.push(PublishedPort {
                target: private.number,
                published: public.number.to_string(),
                protocol: transport(private.transport_protocol).to_owned(),
            });
        }
    }
    out.volumes = service_volumes(cx, id);
    out.volumes.extend(cx.store_mount(NodeId::Service(id)));
    for (host, container) in &c.bind_mounts {
        out.volumes.push(format!("{host}:{container}"));
    }
    out.healthcheck = cx.healthchecks.remove(&id);
    // Resources.
    let limits = ResourceSet {
        cpus: (c.max_cpu > 0).then(|| cpus(c.max_cpu)),
        memory: (c.max_memory > 0).then(|| format!("{}M", c.max_memory)),
        devices: Vec::new(),
    };
    let mut reservations = ResourceSet {
        cpus: (c.min_cpu > 0).then(|| cpus(c.min_cpu)),
        memory: (c.min_memory > 0).then(|| format!("{}M", c.min_memory)),
        devices: Vec::new(),
    };
    if let Some(g) = &c.gpu {
        reservations.devices.push(DeviceRequest {
            driver: g.docker_driver.clone(),
            count: if !g.device_ids.is_empty() {
                None
            } else if g.count < 0 {
                Some(CountOrAll::All("all".into()))
            } else {
                Some(CountOrAll::Count(g.count))
            },
            device_ids: g.device_ids.clone(),
            capabilities: vec!["gpu".into()],
        });
        out.shm_size = g.shm_size.map(|m| format!("{m}M"));
        out.ulimits = g.ulimits.clone().into_iter().collect();
    }
    let has = |r: &ResourceSet| r.cpus.is_some() || r.memory.is_some() || !r.devices.is_empty();
    if has(&limits) || has(&reservations) {
        out.deploy = Some(Deploy {
            resources: Resources {
                limits: has(&limits).then_some(limits),
                reservations: has(&reservations).then_some(reservations),
            },
        });
    }
    if m.stopped {
        out.scale = Some(0);
    }
    out
}

/// The `image:` of a service or task (`who`, e.g. "service 'api'"), and its `build:`
/// when the image is built from the local package.
pub fn image(
    cx: &mut Ctx,
    image: &Image,
    who: &str,
    at: &Span,
    build: &mut Option<Build>,
) -> String {
    match image {
        Image::Name(n) => n.clone(),
        Image::Spec {
            image,
            username,
            password,
            ..
        } => {
            if username.is_some() || password.is_some() {
                cx.diags.push(
                    Diagnostic::warning(
                        Code::KP212,
                        format!(
                            "the registry credentials of {who} are not written into compose.yaml"
                        ),
                        Some(at.clone()),
                    )
                    .with_hint("run `docker login` for the registry before `docker compose up`"),
                );
            }
            image.clone()
        }
        Image::Build {
            image_name,
            build_context_dir,
            build_file,
            target_stage,
            build_args,
        } => {
            match build_context(cx.package_dir.as_deref(), build_context_dir) {
                Ok(context) => {
                    *build = Some(Build {
                        context,
                        dockerfile: build_file.clone(),
                        target: target_stage.clone(),
                        args: build_args.clone(),
                    });
                }
                Err(why) => {
                    cx.diags.push(
                        Diagnostic::error(
                            Code::KP203,
                            format!("{who} builds its image from {build_context_dir}, which Compose cannot build faithfully: {why}"),
                            Some(at.clone()),
                        )
                        .with_hint(format!("pass -o DIR for a package in a local directory, or build the image first (`docker build -t {image_name} ...`) and use its name as the image")),
                    );
                }
            }
            image_name.clone()
        }
        Image::Nix { image_name, .. } => {
            cx.diags.push(
                Diagnostic::error(
                    Code::KP203,
                    format!("{who} builds its image with Nix, which Compose cannot do"),
                    Some(at.clone()),
                )
                .with_hint(format!(
                    "build the image with nix first and use its name ('{image_name}') as the image"
                )),
            );
            image_name.clone()
        }
    }
}
