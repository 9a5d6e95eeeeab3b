//! The executor: runs a validated plan on the Docker engine, idempotently.
//!
//! It runs the same deployment model the static targets render ([`model`]: the
//! shared lowering of `backend::lower`, with every run-time value resolved in
//! process): the programs of `run_sh`/`run_python` (the same command lines as
//! Compose's, as argv lists without a shell), the readiness probes of services, the
//! file sets of artifacts, the names of deployments.
//!
//! `observe` reads what kplan created (containers, network, volumes, by label) into
//! plain data; `desired` turns the plan plus the run-time values known so far into
//! per-service specs with content hashes; `diff` is the pure function
//! (plan, observed, recorded) -> [`diff::ChangeSet`]; `apply` runs the plan's steps as
//! a DAG (the validator's step dependencies) with bounded parallelism, deciding each
//! service with the same function as the diff once its inputs are known; `upstream`
//! is the propagation rule both share (what is redone because something it uses is
//! redone); `results` holds what a run produces (files, task results); `state` keeps
//! what Docker cannot hold (task outputs, artifact contents) and the enclave lock;
//! `ipam` (pure) chooses the enclave network's subnet and the static addresses of
//! services that use their own address; `destroy` removes an enclave; `settings`
//! compares what `docker update` can change with what the package declares; `engine`
//! is the only code that talks to Docker. Labels carried by everything kplan creates
//! are defined here.

pub mod apply;
pub mod desired;
pub mod destroy;
pub mod diff;
pub mod engine;
pub mod extract;
pub mod http;
pub mod images;
pub mod ipam;
pub mod lock;
pub mod observe;
pub mod progress;
pub mod render;
pub mod results;
pub mod settings;
pub mod state;
pub mod tar;
pub mod tasks;
pub mod transient;
pub mod upstream;

/// The shared deployment model of a plan as the executor runs it: every run-time
/// value is resolved in process (see `backend::lower::Carry::InProcess`), so the
/// model keeps every reference and adds no job for values. Its diagnostics are for
/// static targets and are not shown: apply has its own pre-flight checks.
pub fn model(plan: &crate::ir::Plan, info: &crate::ir::PlanInfo) -> crate::backend::lower::Model {
    use crate::backend::lower::{self, Carry, Rules, Vocabulary};
    const WORDS: Vocabulary = Vocabulary {
        target: "kplan apply",
        project: "an enclave",
        the_project: "the enclave",
        file: "an enclave",
    };
    let images = std::collections::BTreeMap::new();
    lower::lower(
        plan,
        info,
        &Rules {
            words: WORDS,
            values: Carry::InProcess,
            images: &images,
        },
    )
}

/// The enclave a container, network or volume belongs to.
pub const LABEL_ENCLAVE: &str = "kplan.enclave";
/// `service`, `task` or `network`/`volume`.
pub const LABEL_KIND: &str = "kplan.kind";
/// The service a container runs.
pub const LABEL_SERVICE: &str = "kplan.service";
/// SHA-256 over the service's declared config, mounted content and resolved values.
pub const LABEL_HASH: &str = "kplan.config-hash";
/// The same, per part (JSON object part -> short hash), to explain replacements.
pub const LABEL_PARTS: &str = "kplan.config-parts";
/// CPU and memory limits, which `update_container` changes in place.
pub const LABEL_RESOURCES: &str = "kplan.resources";
/// Declared ports, `name=number/proto,...`, for `kplan status`.
pub const LABEL_PORTS: &str = "kplan.ports";
/// The key of a persistent directory's volume.
pub const LABEL_VOLUME_KEY: &str = "kplan.persistent-key";

/// The subnet kplan chose for the enclave network (see [`ipam`]); networks made by
/// older kplan versions lack it.
pub const LABEL_SUBNET: &str = "kplan.subnet";

/// The enclave's network.
pub fn network_name(enclave: &str) -> String {
    format!("kplan-{enclave}")
}

/// A service's container: deterministic, so a second create of it fails instead of
/// making a duplicate.
pub fn container_name(enclave: &str, service: &str) -> String {
    format!("{enclave}--{service}")
}

/// A persistent directory's volume.
pub fn volume_name(enclave: &str, key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{enclave}--{key}")
}

/// Whether `name` can be an enclave name (it becomes part of Docker object names).
pub fn valid_enclave_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 48
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// An enclave name made from a package name: `github.com/org/my-pkg` -> `my-pkg`.
pub fn enclave_from_package(package: &str) -> String {
    let last = crate::backend::lower::names::package_base(package);
    let mut s: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s = s.trim_matches(|c: char| c == '-' || c == '_').to_string();
    s.truncate(48);
    if valid_enclave_name(&s) {
        s
    } else {
        "default".into()
    }
}
