//! Services: long-running containers declared with `add_service`/`add_services`.

use super::{Assertion, Data, GoDuration, Recipe, Span, StrExpr, TaskField};
use serde::Serialize;
use std::collections::BTreeMap;

/// One `add_service` (or one entry of `add_services`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    pub config: ServiceConfig,
    /// `force_update=True`: always recreate on apply.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force_update: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where a `set_service` changed this service's config, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden_at: Option<Span>,
    pub at: Span,
}

/// `ServiceConfig(...)`, every field of Kurtosis 1.20, with Kurtosis defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceConfig {
    pub image: Image,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, Port>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub public_ports: BTreeMap<String, Port>,
    /// Mount directory -> what is mounted there.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, Mount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<StrExpr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<StrExpr>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env_vars: BTreeMap<String, StrExpr>,
    /// The text the package chose to stand for the container's own address. The
    /// frontend has already turned each occurrence in `entrypoint`, `cmd` and
    /// `env_vars` into a typed `ServiceField::OwnIpAddress` reference; kept for display
    /// only, nothing after the frontend reads it.
    pub private_ip_address_placeholder: String,
    /// Millicores; 0 = no limit.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_cpu: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub min_cpu: u64,
    /// Megabytes; 0 = no limit.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_memory: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub min_memory: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_conditions: Option<ReadyCondition>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selectors: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files_to_be_moved: BTreeMap<String, String>,
    pub tini_enabled: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty_enabled: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub publish_udp: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuConfig>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub host_pid_namespace: bool,
    /// Host path -> container path.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bind_mounts: BTreeMap<String, String>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Where a service's (or task's) image comes from.
/// Serialized as a plain string for a plain reference, as a map of its fields otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Image {
    /// A plain image reference, e.g. `postgres:16`.
    Name(String),
    /// `ImageSpec(image, registry, username, password)`.
    Spec {
        image: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        registry: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    /// `ImageBuildSpec(image_name, build_context_dir, build_file, target_stage, build_args)`.
    /// `build_context_dir` is the package-relative display path of the context.
    Build {
        image_name: String,
        build_context_dir: String,
        build_file: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        target_stage: Option<String>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        build_args: BTreeMap<String, String>,
    },
    /// `NixBuildSpec(flake_location_dir, build_context_dir, image_name, flake_output)`.
    Nix {
        image_name: String,
        build_context_dir: String,
        flake_location_dir: String,
        flake_output: String,
    },
}

impl Image {
    /// The image reference a container is created from.
    pub fn reference(&self) -> &str {
        match self {
            Image::Name(n) => n,
            Image::Spec { image, .. } => image,
            Image::Build { image_name, .. } | Image::Nix { image_name, .. } => image_name,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Transport {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
            Transport::Sctp => "SCTP",
        }
    }
}

/// `PortSpec(number, transport_protocol, application_protocol, wait, url)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Port {
    pub number: u16,
    pub transport_protocol: Transport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_protocol: Option<String>,
    /// How long to wait for the port to open; `None` = no check (`wait=None`).
    pub wait: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The `PortSpec(...)` call.
    pub at: Span,
    /// Where the port's id is written (the key of the `ports` entry), for diagnostics
    /// about the id; `at` when the frontend cannot tell.
    #[serde(skip)]
    pub id_at: Span,
}

/// What is mounted at one directory of a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mount {
    /// One or more files artifacts, by name, merged in order (later files win).
    Artifacts(Vec<String>),
    /// A persistent directory (a named volume), kept across updates.
    Persistent {
        key: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        size_mb: Option<u64>,
    },
}

/// `ReadyCondition(recipe, field, assertion, target_value, interval, timeout)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadyCondition {
    pub recipe: Recipe,
    /// The field of the recipe's result compared; one the result holds.
    pub field: TaskField,
    pub assertion: Assertion,
    pub target_value: Data,
    pub interval: GoDuration,
    pub timeout: GoDuration,
    pub at: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub uid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Toleration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuConfig {
    /// -1 = all GPUs.
    pub count: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, i64>,
    pub docker_driver: String,
    pub kubernetes_resource: String,
}
