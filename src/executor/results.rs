//! What a run produces, as plain data: the files of an artifact with their digest,
//! and a task's result. Kept apart from the desired state ([`super::desired`]), the
//! recorded state ([`super::state`]) and the tar codec ([`super::tar`]), which all
//! use it, so none of them imports another for it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One file of an artifact with its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub mode: u32,
    #[serde(skip)]
    pub content: Vec<u8>,
}

/// An artifact's files, their digest, and its version (see [`super::upstream`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactData {
    pub digest: String,
    /// The digest combined with the version of what it was made from.
    pub version: String,
    /// `None` when only the digest is known (recorded, content not loaded).
    pub files: Option<Arc<Vec<FileEntry>>>,
}

/// What a task produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskResult {
    pub code: i64,
    pub output: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub extract: BTreeMap<String, String>,
    /// Artifact name -> digest, for `store` of run_sh/run_python: one version of each
    /// name per task (another task storing the name records its own). When one call
    /// stores a name twice, the last store wins, which is the only one a consumer can
    /// bind to.
    #[serde(default)]
    pub stored: BTreeMap<String, String>,
    /// A unique id of the run that produced this result: what uses the result is
    /// redone whenever it changes (see [`super::upstream`]). Empty in results recorded
    /// by older kplan versions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run: String,
}

/// The digest of a set of files: paths, modes and contents, in path order.
pub fn files_digest(files: &[FileEntry]) -> String {
    let mut sorted: Vec<&FileEntry> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update(format!("{:o}", f.mode).as_bytes());
        h.update([0]);
        h.update((f.content.len() as u64).to_le_bytes());
        h.update(&f.content);
    }
    hex::encode(h.finalize())
}

/// An artifact made from nothing that is ever redone: its version is its digest.
pub fn artifact_from_files(files: Vec<FileEntry>) -> ArtifactData {
    let digest = files_digest(&files);
    ArtifactData {
        version: digest.clone(),
        digest,
        files: Some(Arc::new(files)),
    }
}
