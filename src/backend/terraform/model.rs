//! The typed shape of what kplan writes for the kreuzwerker/docker provider: only the
//! arguments it uses, rendered in a fixed order by [`Container::block`] and friends
//! into hcl-rs blocks. Names here are Terraform resource labels (identifiers).

use super::hcl::{self as h, Piece};
use hcl::expr::Expression;
use hcl::structure::{Block, BlockBuilder};
use std::collections::{BTreeMap, BTreeSet};

/// The provider address and the version the schema checker's files describe
/// (../shared/reference/terraform-schemas, kreuzwerker/docker 4.5.0).
pub const PROVIDER_SOURCE: &str = "kreuzwerker/docker";
pub const PROVIDER_VERSION: &str = "4.5.0";

/// The variable every name kplan gives an engine object starts with.
pub const PREFIX_VAR: &str = "name_prefix";
/// The variable holding the network's name.
pub const NETWORK_VAR: &str = "network_name";
/// The label of the one network.
pub const NETWORK: &str = "kplan";

/// `"${var.name_prefix}-<suffix>"`.
pub fn prefixed(suffix: &str) -> Expression {
    let var = format!("var.{PREFIX_VAR}");
    h::template(&[Piece::Ref(&var), Piece::Lit(&format!("-{suffix}"))])
}

/// What an image argument points at.
#[derive(Debug, Clone)]
pub enum ImageRef {
    /// A `docker_image` resource (its label).
    Resource(String),
}

/// A `volumes { ... }` entry.
#[derive(Debug, Clone)]
pub struct VolumeMount {
    /// `docker_volume.<label>`, or a host path for `bind_mounts`.
    pub source: MountSource,
    pub path: String,
    pub read_only: bool,
}

#[derive(Debug, Clone)]
pub enum MountSource {
    Volume(String),
    Host(String),
}

/// An `upload { ... }` entry: one file written into the container before it starts.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Absolute path in the container.
    pub file: String,
    pub content: Vec<u8>,
    pub executable: bool,
}

/// A published port: `ports { internal, external = var.<var>, protocol }`.
#[derive(Debug, Clone)]
pub struct PortMap {
    pub internal: u16,
    /// The variable holding the published number, or `None` for a private port.
    pub external: Option<String>,
    pub protocol: &'static str,
}

#[derive(Debug, Clone)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: String,
    pub timeout: String,
    pub retries: u64,
}

/// A `docker_container`.
#[derive(Debug, Clone, Default)]
pub struct Container {
    /// The suffix of its engine name (`${var.name_prefix}-<suffix>`), and its
    /// hostname and alias on the network when it is a service.
    pub suffix: String,
    pub image: Option<ImageRef>,
    pub service: bool,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub init: bool,
    pub tty: bool,
    pub privileged: bool,
    pub pid_host: bool,
    pub capabilities: Vec<String>,
    pub devices: Vec<String>,
    pub memory: Option<u64>,
    pub memory_reservation: Option<u64>,
    pub cpus: Option<String>,
    pub shm_size: Option<u64>,
    pub ulimits: BTreeMap<String, i64>,
    pub gpus: Option<String>,
    pub ports: Vec<PortMap>,
    pub uploads: Vec<Upload>,
    pub volumes: Vec<VolumeMount>,
    pub healthcheck: Option<Healthcheck>,
    /// Seconds to wait for the healthcheck (`wait = true`).
    pub wait_timeout: Option<u64>,
    /// A one-shot: created, run to completion (apply waits), never restarted.
    pub one_shot: bool,
    /// Created but not started (a service the package stops).
    pub stopped: bool,
    /// Resource addresses (`docker_container.x`) it must come after.
    pub depends_on: BTreeSet<String>,
    /// Resource addresses whose replacement must replace it too.
    pub replace_triggered_by: BTreeSet<String>,
}

fn attr(b: BlockBuilder, k: &str, v: impl Into<Expression>) -> BlockBuilder {
    b.add_attribute((k, v.into()))
}

fn refs(addrs: &BTreeSet<String>) -> Expression {
    Expression::Array(
        addrs
            .iter()
            .map(|a| {
                let mut it = a.split('.');
                let root = it.next().unwrap_or_default();
                let rest: Vec<&str> = it.collect();
                h::reference(root, &rest)
            })
            .collect(),
    )
}

impl Container {
    /// The `resource "docker_container" "<label>"` block: its arguments, then its
    /// nested blocks, in a fixed order.
    pub fn block(&self, label: &str) -> Block {
        let b = Block::builder("resource")
            .add_label("docker_container")
            .add_label(label);
        let b = self.run_attrs(self.resource_attrs(self.process_attrs(b)));
        let mut b = self.file_blocks(self.host_blocks(b.add_block(self.network())));
        if let Some(hc) = &self.healthcheck {
            let mut hb = attr(Block::builder("healthcheck"), "test", h::strings(&hc.test));
            hb = attr(hb, "interval", h::string(&hc.interval));
            hb = attr(hb, "timeout", h::string(&hc.timeout));
            hb = attr(hb, "retries", hc.retries);
            b = b.add_block(hb.build());
        }
        if let Some(life) = self.lifecycle() {
            b = b.add_block(life);
        }
        b.build()
    }

    /// What runs: name, image, hostname, argv, env, user, working directory and the
    /// process flags.
    fn process_attrs(&self, mut b: BlockBuilder) -> BlockBuilder {
        b = attr(b, "name", prefixed(&self.suffix));
        if let Some(ImageRef::Resource(img)) = &self.image {
            b = attr(b, "image", h::reference("docker_image", &[img, "image_id"]));
        }
        if self.service {
            b = attr(b, "hostname", h::string(&self.suffix));
        }
        if let Some(e) = &self.entrypoint {
            b = attr(b, "entrypoint", h::strings(e));
        }
        if let Some(c) = &self.command {
            b = attr(b, "command", h::strings(c));
        }
        if !self.env.is_empty() {
            let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            b = attr(b, "env", h::strings(&env));
        }
        if let Some(u) = &self.user {
            b = attr(b, "user", h::string(u));
        }
        if let Some(w) = &self.working_dir {
            b = attr(b, "working_dir", h::string(w));
        }
        if self.init {
            b = attr(b, "init", true);
        }
        if self.tty {
            b = attr(b, "tty", true);
        }
        if self.privileged {
            b = attr(b, "privileged", true);
        }
        if self.pid_host {
            b = attr(b, "pid_mode", h::string("host"));
        }
        b
    }

    /// The resources it may use: memory, CPUs, shared memory, GPUs.
    fn resource_attrs(&self, mut b: BlockBuilder) -> BlockBuilder {
        if let Some(m) = self.memory {
            b = attr(b, "memory", m);
        }
        if let Some(m) = self.memory_reservation {
            b = attr(b, "memory_reservation", m);
        }
        if let Some(c) = &self.cpus {
            b = attr(b, "cpus", h::string(c));
        }
        if let Some(s) = self.shm_size {
            b = attr(b, "shm_size", s);
        }
        if let Some(g) = &self.gpus {
            b = attr(b, "gpus", h::string(g));
        }
        b
    }

    /// How it runs: once (a one-shot), left stopped, waited for, after what.
    fn run_attrs(&self, mut b: BlockBuilder) -> BlockBuilder {
        if self.one_shot {
            b = attr(b, "restart", h::string("no"));
            b = attr(b, "must_run", false);
            b = attr(b, "attach", true);
            b = attr(b, "logs", true);
        } else if self.stopped {
            b = attr(b, "start", false);
            b = attr(b, "must_run", false);
        }
        if let Some(t) = self.wait_timeout {
            b = attr(b, "wait", true);
            b = attr(b, "wait_timeout", t);
        }
        if !self.depends_on.is_empty() {
            b = attr(b, "depends_on", refs(&self.depends_on));
        }
        b
    }

    /// The `networks_advanced` block: the one network, with the service's alias.
    fn network(&self) -> Block {
        let mut net = Block::builder("networks_advanced");
        net = attr(
            net,
            "name",
            h::reference("docker_network", &[NETWORK, "name"]),
        );
        if self.service {
            net = attr(
                net,
                "aliases",
                h::strings(std::slice::from_ref(&self.suffix)),
            );
        }
        net.build()
    }

    /// What it gets from the host: published ports, labels, capabilities, devices,
    /// ulimits.
    fn host_blocks(&self, mut b: BlockBuilder) -> BlockBuilder {
        for p in &self.ports {
            let mut pb = Block::builder("ports");
            pb = attr(pb, "internal", p.internal);
            if let Some(v) = &p.external {
                pb = attr(pb, "external", h::reference("var", &[v]));
            }
            pb = attr(pb, "protocol", h::string(p.protocol));
            b = b.add_block(pb.build());
        }
        for (k, v) in &self.labels {
            let lb = attr(Block::builder("labels"), "label", h::string(k));
            b = b.add_block(attr(lb, "value", h::string(v)).build());
        }
        if !self.capabilities.is_empty() {
            let cb = attr(
                Block::builder("capabilities"),
                "add",
                h::strings(&self.capabilities),
            );
            b = b.add_block(cb.build());
        }
        for d in &self.devices {
            b = b.add_block(device(d).build());
        }
        for (name, limit) in &self.ulimits {
            let mut ub = attr(Block::builder("ulimit"), "name", h::string(name));
            ub = attr(ub, "soft", int(*limit));
            ub = attr(ub, "hard", int(*limit));
            b = b.add_block(ub.build());
        }
        b
    }

    /// Its files: mounted volumes and host paths, uploaded files.
    fn file_blocks(&self, mut b: BlockBuilder) -> BlockBuilder {
        for v in &self.volumes {
            let mut vb = Block::builder("volumes");
            vb = match &v.source {
                MountSource::Volume(vol) => attr(
                    vb,
                    "volume_name",
                    h::reference("docker_volume", &[vol, "name"]),
                ),
                MountSource::Host(p) => attr(vb, "host_path", h::string(p)),
            };
            vb = attr(vb, "container_path", h::string(&v.path));
            if v.read_only {
                vb = attr(vb, "read_only", true);
            }
            b = b.add_block(vb.build());
        }
        for u in &self.uploads {
            let mut ub = attr(Block::builder("upload"), "file", h::string(&u.file));
            ub = match std::str::from_utf8(&u.content) {
                Ok(text) => attr(ub, "content", h::string(text)),
                Err(_) => attr(ub, "content_base64", h::string(&base64(&u.content))),
            };
            if u.executable {
                ub = attr(ub, "executable", true);
            }
            b = b.add_block(ub.build());
        }
        b
    }

    /// The `lifecycle` block, when it has anything: what replaces it, and the
    /// postcondition of a one-shot.
    fn lifecycle(&self) -> Option<Block> {
        let mut life = Block::builder("lifecycle");
        let mut has_life = false;
        if !self.replace_triggered_by.is_empty() {
            life = attr(
                life,
                "replace_triggered_by",
                refs(&self.replace_triggered_by),
            );
            has_life = true;
        }
        if self.one_shot {
            let mut pc = Block::builder("postcondition");
            // `contains([0], ...)` rather than `== 0`: Terraform's config loader (the
            // oracle) cannot serialize a binary operator; both mean the same.
            let call = hcl::expr::FuncCall::builder("contains")
                .arg(Expression::Array(vec![Expression::from(0)]))
                .arg(h::reference("self", &["exit_code"]))
                .build();
            pc = attr(pc, "condition", call);
            pc = attr(
                pc,
                "error_message",
                h::template(&[
                    Piece::Lit(&format!("the one-shot '{}' exited with code ", self.suffix)),
                    Piece::Ref("self.exit_code"),
                    Piece::Lit("; see its output with `terraform state show` (container_logs)"),
                ]),
            );
            life = life.add_block(pc.build());
            has_life = true;
        }
        has_life.then(|| life.build())
    }
}

/// An integer. A negative one is written `tonumber("-1")`: HCL has no negative
/// literal (`-1` is a unary operator), and Terraform's config loader (the oracle)
/// cannot serialize operators; the value is the same.
fn int(n: i64) -> Expression {
    if n >= 0 {
        Expression::from(n)
    } else {
        hcl::expr::FuncCall::builder("tonumber")
            .arg(h::string(&n.to_string()))
            .build()
            .into()
    }
}

/// `devices { host_path, container_path, permissions }` from Docker's
/// `HOST[:CONTAINER[:PERMS]]`.
fn device(spec: &str) -> BlockBuilder {
    let mut parts = spec.splitn(3, ':');
    let host = parts.next().unwrap_or_default();
    let mut b = attr(Block::builder("devices"), "host_path", h::string(host));
    if let Some(c) = parts.next() {
        b = attr(b, "container_path", h::string(c));
    }
    if let Some(p) = parts.next() {
        b = attr(b, "permissions", h::string(p));
    }
    b
}

/// Standard base64 with padding (the provider decodes `content_base64` with Go's
/// `base64.StdEncoding`).
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
