//! `add_service` in Terraform: each final service of the model becomes a
//! `docker_container` on the configuration's network, reachable by its name
//! (`hostname` and a network alias), with its image, command, environment, labels,
//! user, limits, published ports (each a variable), files and volumes, and its
//! readiness checks as one Docker `healthcheck` that `wait` blocks on, so what
//! depends on it starts once it is ready, as Kurtosis's `add_service` returns.

use super::files::service_mounts;
use super::images::image;
use super::model::{Container, Healthcheck, MountSource, PortMap, VolumeMount};
use super::{Ctx, WORDS};
use crate::backend::lower::probe::{docker_healthcheck, shell_check};
use crate::backend::lower::{NodeId, ServiceModel};
use crate::ir::Transport;

pub fn lower(cx: &mut Ctx) {
    let model = cx.model;
    for s in model.services.values() {
        let c = service(cx, s);
        cx.containers.insert(NodeId::Service(s.id), c);
    }
}

pub fn transport(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
        Transport::Sctp => "sctp",
    }
}

/// Millicores as Docker's decimal CPU count ("0.25").
fn cpus(millis: u64) -> String {
    let s = format!("{}.{:03}", millis / 1000, millis % 1000);
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn service(cx: &mut Ctx, m: &ServiceModel) -> Container {
    let id = m.id;
    let svc = cx.plan.service(id);
    let c = &svc.config;
    let name = cx.name(NodeId::Service(id)).to_owned();
    let mut out = Container {
        suffix: name.clone(),
        service: true,
        ..Container::default()
    };
    out.image = Some(image(
        cx,
        &c.image,
        &format!("service '{}'", svc.name),
        &svc.at,
    ));
    let start = m.start_command(&|t| cx.word(t), &|t| cx.text(t));
    out.entrypoint = start.entrypoint;
    out.command = start.cmd;
    out.env = start.env;
    out.labels = c.labels.clone();
    out.user = c.user.as_ref().map(|u| match u.gid {
        Some(g) => format!("{}:{g}", u.uid),
        None => u.uid.to_string(),
    });
    out.init = c.tini_enabled;
    out.tty = c.tty_enabled;
    out.privileged = c.privileged;
    out.pid_host = c.host_pid_namespace;
    out.capabilities = c.capabilities.clone();
    out.devices = c.devices.clone();
    out.memory = (c.max_memory > 0).then_some(c.max_memory);
    out.memory_reservation = (c.min_memory > 0).then_some(c.min_memory);
    out.cpus = (c.max_cpu > 0).then(|| cpus(c.max_cpu));
    if let Some(g) = &c.gpu {
        out.gpus = Some(if !g.device_ids.is_empty() {
            format!("\"device={}\"", g.device_ids.join(","))
        } else if g.count < 0 {
            "all".to_owned()
        } else {
            g.count.to_string()
        });
        out.shm_size = g.shm_size;
        out.ulimits = g.ulimits.clone().into_iter().collect();
    }
    for (pid, public) in &c.public_ports {
        if let Some(private) = c.ports.get(pid) {
            let var = format!(
                "port_{}_{}",
                super::hcl::ident(&name),
                super::hcl::ident(pid)
            )
            .replace('-', "_");
            cx.port_vars.push((
                var.clone(),
                public.number,
                format!(
                    "The host port publishing port '{pid}' of service '{}'.",
                    svc.name
                ),
            ));
            out.ports.push(PortMap {
                internal: private.number,
                external: Some(var),
                protocol: transport(private.transport_protocol),
            });
        }
    }
    let (vols, ups) = service_mounts(cx, id);
    out.volumes = vols;
    out.uploads = ups;
    out.volumes.extend(cx.store_mount(NodeId::Service(id)));
    for (host, container) in &c.bind_mounts {
        out.volumes.push(VolumeMount {
            source: MountSource::Host(host.clone()),
            path: container.clone(),
            read_only: false,
        });
    }
    let mut list = Vec::new();
    let mut diags = Vec::new();
    for check in &m.readiness.checks {
        let name = |id, f| cx.service_text(id, f);
        list.push(shell_check(check, &WORDS, &name, &mut diags));
    }
    cx.diags.extend(diags);
    if let Some(h) = docker_healthcheck(&list) {
        // The provider polls the health status every second up to wait_timeout:
        // as long as Docker takes to declare the container unhealthy, plus a probe.
        let secs = (h.interval.0 * (h.retries + 1) + h.timeout.0).div_ceil(1_000_000_000);
        out.wait_timeout = Some(secs.max(1));
        out.healthcheck = Some(Healthcheck {
            test: h.test,
            interval: h.interval.to_string(),
            timeout: h.timeout.to_string(),
            retries: h.retries,
        });
    }
    out.stopped = m.stopped;
    if m.stopped {
        // Created, never started: nothing to wait for.
        out.wait_timeout = None;
    }
    out
}
