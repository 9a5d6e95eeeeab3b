//! Files artifacts: named sets of files produced by the plan and mounted into services
//! and tasks. Each [`Artifact`] is one production; a name a task's `store` reuses has
//! several, its versions, and which one a consumer mounts is the validator's answer
//! ([`super::PlanInfo::bound_artifact`]).

use super::{Data, ServiceId, Span, StrExpr, TaskId};
use serde::Serialize;

/// One named files artifact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Artifact {
    pub name: String,
    /// Whether the package chose the name (`False` for a generated name, which changes
    /// on every interpretation in Kurtosis; kplan's generated names are stable).
    pub named: bool,
    pub source: ArtifactSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub at: Span,
}

/// Where an artifact's files come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactSource {
    /// `upload_files(src)`: files of the package, read at compile time.
    Upload {
        src: String,
        files: Vec<ArtifactFile>,
    },
    /// `render_templates(config)`: one file per destination path.
    Templates { files: Vec<ArtifactFile> },
    /// `store_service_files(service, src)`: copied out of a running service.
    ServiceFiles {
        service_name: String,
        /// The `add_service` this refers to, when the service was added in this plan
        /// before the instruction (resolved by the frontend).
        service: Option<ServiceId>,
        src: String,
    },
    /// A `store` entry of `run_sh`/`run_python`: copied out of the task's container.
    TaskStore { task: TaskId, src: String },
}

/// One file of an artifact, at a path relative to the artifact root.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactFile {
    pub path: String,
    /// Unix permission bits (e.g. 0o644; 0o755 for executables), shown in octal.
    #[serde(serialize_with = "octal")]
    pub mode: u32,
    pub content: FileContent,
}

/// The content of an artifact file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileContent {
    /// Bytes known at compile time. Serialized as size and SHA-256 digest.
    Static(#[serde(serialize_with = "crate::ir::artifact::digest_bytes")] Vec<u8>),
    /// Rendered text that embeds run-time values (a template whose data holds future
    /// references but whose structure did not depend on them).
    Text(StrExpr),
    /// A template that can only be rendered once run-time values are known, because
    /// its control flow or a function inspects one of them.
    Template {
        template: String,
        data: Data,
        /// Why rendering had to wait (the template engine's message).
        reason: String,
    },
}

fn octal<S: serde::Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{mode:04o}"))
}

pub(crate) fn digest_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    use sha2::{Digest, Sha256};
    let mut m = s.serialize_map(Some(2))?;
    m.serialize_entry("size", &bytes.len())?;
    m.serialize_entry("sha256", &hex::encode(Sha256::digest(bytes)))?;
    m.end()
}
