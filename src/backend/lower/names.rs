//! Names: the project name, and unique names for the model's nodes derived from
//! service, task and artifact names with a target's character rule, always in the
//! same order so the same plan gets the same names. Also [`Namer`], which targets use
//! for their own namespaces (volumes, directories).

use super::{JobId, JobKind, Model, NodeId};
use crate::ir::Plan;
use std::collections::{BTreeMap, BTreeSet};

/// Compose's project name rule: `[a-z0-9][a-z0-9_-]*`. Uses the last path segment
/// of the package name (`github.com/o/redis-package` -> `redis-package`), lower-cased,
/// with every other character replaced by `-`.
pub fn project_name(package: &str) -> String {
    sanitize(&package_base(package).to_ascii_lowercase(), "_-", "kplan")
}

/// The last path segment of a package name, without `.star`: what a deployment of it
/// is named after (`github.com/o/redis-package` -> `redis-package`).
pub fn package_base(package: &str) -> &str {
    let last = package
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(package);
    last.strip_suffix(".star").unwrap_or(last)
}

/// What an artifact's directory or volume is named after: its name, and for a later
/// version of the name (a task's `store` reusing it) `<name>-v<N>`, so each version
/// has a place of its own.
pub fn artifact_base(name: &str, version: usize) -> String {
    if version <= 1 {
        name.to_owned()
    } else {
        format!("{name}-v{version}")
    }
}

/// A name made of `[a-zA-Z0-9_.-]`, starting with a letter or digit (valid for
/// Compose services, volumes and as a directory name).
pub fn token(name: &str) -> String {
    sanitize(name, "_.-", "x")
}

/// Keeps ASCII alphanumerics and `extra`, replaces anything else with `-`, drops
/// leading non-alphanumerics; `empty` when nothing is left.
pub fn sanitize(s: &str, extra: &str, empty: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || extra.contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        empty.to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Hands out names that are unique within one namespace, in a fixed order, so the
/// same plan always gets the same names: `base`, then `base-2`, `base-3`, ...
#[derive(Debug, Clone, Default)]
pub struct Namer {
    used: BTreeSet<String>,
}

impl Namer {
    pub fn claim(&mut self, base: &str) -> String {
        let mut candidate = base.to_owned();
        let mut n = 2;
        while self.used.contains(&candidate) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        self.used.insert(candidate.clone());
        candidate
    }
}

/// Names every node: final services keep their names (claimed first), then jobs with
/// `rule` applied to their base names: tasks' (`run_sh`/`run_python` name,
/// `request-<service>`) in task order, copies out of services in artifact order, the
/// value store's job (`kplan-values`), render jobs (`render-<artifact>`), extract
/// jobs (`extract-<task>`), `verify` jobs and `wait-<service>` jobs, each in plan
/// order. Uniqueness comes
/// from [`Namer`] (`-2`, `-3`...), so names claimed earlier never change when later
/// kinds appear.
pub fn assign(
    plan: &Plan,
    model: &Model,
    rule: &dyn Fn(&str) -> String,
) -> BTreeMap<NodeId, String> {
    let mut namer = Namer::default();
    let mut out = BTreeMap::new();
    for id in model.services.keys() {
        let name = plan.service(*id).name.clone();
        namer.claim(&name);
        out.insert(NodeId::Service(*id), name);
    }
    let mut jobs: Vec<(u8, u32, JobId)> = model
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let id = JobId(i as u32);
            match &j.kind {
                JobKind::Task(p) => (0, p.task.0, id),
                JobKind::Request(r) => (0, r.task.0, id),
                JobKind::Copy { artifact, .. } => (1, artifact.0, id),
                JobKind::StoreInit => (2, 0, id),
                JobKind::Render { artifact } => (3, artifact.0, id),
                JobKind::Extract { task, .. } => (4, task.0, id),
                JobKind::Verify { task, .. } => (5, task.0, id),
                JobKind::Wait { task, .. } => (6, task.0, id),
            }
        })
        .collect();
    jobs.sort();
    for (_, _, id) in jobs {
        let name = namer.claim(&rule(&model.job(id).base));
        out.insert(NodeId::Job(id), name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_follow_compose_rules() {
        assert_eq!(
            project_name("github.com/kurtosis-tech/redis-package"),
            "redis-package"
        );
        assert_eq!(project_name("My Package!"), "my-package-");
        assert_eq!(project_name("__x"), "x");
        assert_eq!(project_name("web-db.star"), "web-db");
        assert_eq!(project_name("!!!"), "kplan");
    }

    #[test]
    fn namer_is_unique() {
        let mut n = Namer::default();
        assert_eq!(n.claim("a"), "a");
        assert_eq!(n.claim("a"), "a-2");
        assert_eq!(n.claim("a"), "a-3");
        assert_eq!(token("../x y"), "x-y");
    }
}
