//! Reading what `upload_files` uploads: one file, or a directory tree walked entry by
//! entry through the checked resolver ([`Repo::contain`]). Symbolic links are followed
//! while they stay inside the package (a link back to an ancestor is a loop and an
//! error); anything that resolves outside it, and anything that is not a regular file
//! or a directory (a FIFO would block the read forever, a socket or device is not
//! content), is refused with the offending path. Size and entry count are bounded.

use super::context::{other, refused, MAX_FILE_BYTES};
use super::package::{Kind, Refused, Repo, ResolvedFile};
use crate::ir::{ArtifactFile, FileContent};
use std::path::{Path, PathBuf};

/// Total size of one uploaded artifact kplan accepts (256 MiB).
const MAX_UPLOAD_BYTES: u64 = 256 << 20;
/// Entries (files and directories) one upload may walk.
const MAX_UPLOAD_ENTRIES: usize = 100_000;

/// The files of an upload: a directory's contents become the artifact root; a file
/// keeps its base name. Paths are sorted, so the artifact is stable.
pub fn read_upload(file: &ResolvedFile) -> starlark::Result<Vec<ArtifactFile>> {
    let mut walk = Walk {
        repo: &file.repo,
        files: Vec::new(),
        bytes: 0,
        entries: 0,
        ancestors: vec![file.real.clone()],
    };
    if file.real.is_dir() {
        walk.dir(&file.real, "", &file.display)?;
    } else {
        let name = file
            .real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        walk.file(&file.real, name)?;
    }
    let mut files = walk.files;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

struct Walk<'a> {
    repo: &'a Repo,
    files: Vec<ArtifactFile>,
    bytes: u64,
    entries: usize,
    /// Real paths of the directories being walked, to stop link loops.
    ancestors: Vec<PathBuf>,
}

impl Walk<'_> {
    /// Walks `real` (a checked directory); `rel` is its path in the artifact and
    /// `shown` in messages.
    fn dir(&mut self, real: &Path, rel: &str, shown: &str) -> starlark::Result<()> {
        let cannot = |e: std::io::Error| other(format!("cannot read directory '{shown}': {e}"));
        super::reads::tree(real);
        for entry in std::fs::read_dir(real).map_err(cannot)? {
            let entry = entry.map_err(cannot)?;
            self.entries += 1;
            if self.entries > MAX_UPLOAD_ENTRIES {
                return Err(other(format!(
                    "'{shown}' holds more than {MAX_UPLOAD_ENTRIES} files and directories; upload a smaller directory"
                )));
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let entry_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let entry_shown = format!("{}/{name}", shown.trim_end_matches('/'));
            let entry_real = self
                .repo
                .contain(&entry.path(), &entry_shown, Kind::FileOrDir)
                .map_err(|e| {
                    refused(Refused {
                        message: format!("upload_files: {}", e.message),
                        hint: e.hint,
                    })
                })?;
            if entry_real.is_dir() {
                if self.ancestors.contains(&entry_real) {
                    return Err(refused(
                        Refused::new(format!(
                            "upload_files: '{entry_shown}' is a symbolic link loop (it links back to a directory that contains it)"
                        ))
                        .with_hint("remove the link, or upload a directory that does not contain it"),
                    ));
                }
                self.ancestors.push(entry_real.clone());
                self.dir(&entry_real, &entry_rel, &entry_shown)?;
                self.ancestors.pop();
            } else {
                self.file(&entry_real, entry_rel)?;
            }
        }
        Ok(())
    }

    /// Reads one checked regular file.
    fn file(&mut self, real: &Path, rel: String) -> starlark::Result<()> {
        let cannot = |e: std::io::Error| other(format!("cannot read '{rel}': {e}"));
        let meta = std::fs::metadata(real).map_err(cannot)?;
        self.bytes += meta.len();
        if meta.len() > MAX_FILE_BYTES || self.bytes > MAX_UPLOAD_BYTES {
            return Err(other(format!(
                "'{rel}' makes the upload larger than {MAX_UPLOAD_BYTES} bytes"
            )));
        }
        let bytes = std::fs::read(real).map_err(cannot)?;
        self.files.push(ArtifactFile {
            mode: mode(&meta),
            path: rel,
            content: FileContent::Static(bytes),
        });
        Ok(())
    }
}

/// 0755 for executables, 0644 for everything else, as Kurtosis stores them.
#[cfg(unix)]
fn mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 != 0 {
        0o755
    } else {
        0o644
    }
}

#[cfg(not(unix))]
fn mode(_: &std::fs::Metadata) -> u32 {
    0o644
}
