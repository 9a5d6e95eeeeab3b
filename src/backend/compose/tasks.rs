//! The model's one-shot jobs and hooks in Compose. A `run_sh`/`run_python` program
//! becomes a one-shot service (`restart: "no"`, `init: true` as Kurtosis runs tasks
//! under tini) that copies its `store` paths into named volumes; a `request` a
//! one-shot `wget` from the target's image; a copy out of a service a one-shot from
//! that service's image; an `exec` a `post_start` hook of its service (Compose 2.30+)
//! that first waits for the service's healthcheck, as Kurtosis runs an exec once the
//! service is ready. kplan's own jobs for run-time values (preparing the value store,
//! jq extracts, rendering files with run-time holes, `verify`) run in the tools
//! image. The scripts are the shared ones ([`crate::backend::lower::oneshot`]); every node that reads or writes run-time values
//! mounts the value store (read-only unless it writes).

use super::artifacts::{copier, renderer, task_mounts};
use super::model::{ComposeService, Hook};
use super::{services, Ctx, Placement};
use crate::backend::lower::oneshot::{program_command, shell_job, ShellJob, Writer};
use crate::backend::lower::program::Program;
use crate::backend::lower::script::{self, hook_command};
use crate::backend::lower::{JobId, JobKind, NodeId};
use crate::ir::{GoDuration, ServiceField};

pub fn lower(cx: &mut Ctx) {
    let model = cx.model;
    for (i, job) in model.jobs.iter().enumerate() {
        let node = NodeId::Job(JobId(i as u32));
        let name = cx.name(node).to_owned();
        let tools = |cx: &Ctx, script: String| ComposeService {
            image: cx.tools_image.clone(),
            entrypoint: Some(vec!["/bin/sh".to_owned(), "-c".to_owned()]),
            command: Some(vec![script]),
            volumes: cx.store_mount(node).into_iter().collect(),
            restart: Some("no".into()),
            ..ComposeService::default()
        };
        let svc = match &job.kind {
            JobKind::Task(p) => Some(program(cx, node, p)),
            JobKind::Copy { .. } => copier(cx, node),
            JobKind::Render { artifact } => renderer(cx, node, *artifact),
            JobKind::Request(_)
            | JobKind::StoreInit
            | JobKind::Extract { .. }
            | JobKind::Wait { .. }
            | JobKind::Verify { .. } => {
                let mut diags = Vec::new();
                let writer = Writer {
                    word: &|t| cx.word(t),
                    host: &|s| cx.service_text(s, ServiceField::Hostname),
                };
                let job = shell_job(cx.plan, &job.kind, &writer, &mut diags);
                cx.diags.extend(diags);
                job.map(|j| match j {
                    ShellJob::InTools(script) => tools(cx, script),
                    ShellJob::InServiceImage(s, script) => ComposeService {
                        image: cx.plan.service(s).config.image.reference().to_owned(),
                        ..tools(cx, script)
                    },
                })
            }
        };
        if let Some(svc) = svc {
            cx.project.services.insert(name, svc);
        }
    }
    for s in model.services.values() {
        let name = cx.name(NodeId::Service(s.id)).to_owned();
        // Kurtosis runs an exec once the service is ready; a post_start hook runs as
        // the container starts, so it first waits for the service's healthcheck to
        // pass (at most as long as the healthcheck allows).
        let ready = cx
            .project
            .services
            .get(&name)
            .and_then(|s| s.healthcheck.as_ref())
            .and_then(|h| {
                let interval = GoDuration::parse(&h.interval).unwrap_or(GoDuration::from_secs(1));
                script::ready_wait(&h.test, interval, h.retries)
            });
        let hooks: Vec<Hook> = s
            .hooks
            .iter()
            .map(|e| Hook {
                command: hook_command(
                    cx.words(&e.argv),
                    &e.codes,
                    &e.verify,
                    ready.clone(),
                    &cx.writes(&e.results),
                ),
            })
            .collect();
        if let Some(svc) = cx.project.services.get_mut(&name) {
            svc.post_start.extend(hooks);
        }
    }
}

/// A `run_sh`/`run_python` container: the shared one-shot command, its mounts (the
/// `files` artifacts, one volume per `store` path, the value store when it reads or
/// writes run-time values) and what Kurtosis runs it with.
fn program(cx: &mut Ctx, node: NodeId, p: &Program) -> ComposeService {
    let task = cx.plan.task(p.task);
    let mut volumes = task_mounts(cx, &p.files, &task.at);
    let mut store = Vec::new();
    let stored = cx.info.task_artifacts(p.task).to_vec();
    for (i, (a, src)) in stored.iter().zip(&p.store).enumerate() {
        if let Some(Placement::Volume { volume }) = cx.placements.get(a) {
            volumes.push(format!("{volume}:/kplan/store/{i}"));
            store.push((src.clone(), format!("/kplan/store/{i}")));
        }
    }
    volumes.extend(cx.store_mount(node));
    let cmd = program_command(p, &|t| cx.word(t), &store);
    let mut build = None;
    let who = format!("{} '{}'", p.instruction, cx.name(node));
    let image = services::image(cx, &p.image, &who, &task.at, &mut build);
    let mut svc = ComposeService {
        image,
        build,
        entrypoint: Some(cmd.entrypoint),
        command: Some(cmd.command),
        volumes,
        // Kurtosis runs tasks under tini.
        init: Some(true),
        restart: Some("no".into()),
        ..ComposeService::default()
    };
    for (k, v) in p.env.iter().filter(|(_, v)| !v.has_values()) {
        svc.environment.insert(k.clone(), cx.text(v));
    }
    svc.privileged = p.privileged.then_some(true);
    svc.pid = p.host_pid.then(|| "host".to_owned());
    for (host, container) in &p.binds {
        svc.volumes.push(format!("{host}:{container}"));
    }
    svc
}
