//! The model's one-shot jobs and `exec`s in Terraform. Every job is a
//! `docker_container` that runs to completion during `terraform apply` (`attach`:
//! the apply waits for it; `logs`: its output is kept in the state;
//! `must_run = false`: a stopped one-shot is no drift, so it is not run again on the
//! next apply; a `postcondition` fails the apply when it exits non-zero). The
//! commands are the shared ones ([`crate::backend::lower::oneshot`]), exactly as the
//! Compose target runs them: a
//! `run_sh`/`run_python` under tini copying its `store` paths into volumes, a
//! `request` as `wget` from the target's image, a copy out of a service from that
//! service's image with its files, and kplan's own jobs for run-time values in the
//! tools image. An `exec` becomes a `terraform_data` whose `local-exec` provisioner
//! runs `docker exec` in the service's container once it is ready (the argv passed
//! as `interpreter` words, so no host shell parses it).

use super::files::{service_mounts, task_mounts, RENDER_OUT, RENDER_SRC};
use super::images::image;
use super::model::{Container, MountSource, VolumeMount};
use super::{Ctx, ExecHook, Placement};
use crate::backend::lower::names::Namer;
use crate::backend::lower::oneshot::{program_command, shell_job, ShellJob, Writer};
use crate::backend::lower::program::Program;
use crate::backend::lower::script::{hook_command, COPY_SCRIPT};
use crate::backend::lower::store::render_script;
use crate::backend::lower::{JobId, JobKind, NodeId};
use crate::ir::ServiceField;

pub fn lower(cx: &mut Ctx) {
    let model = cx.model;
    for (i, job) in model.jobs.iter().enumerate() {
        let node = NodeId::Job(JobId(i as u32));
        let c = match &job.kind {
            JobKind::Task(p) => Some(program(cx, node, p)),
            JobKind::Copy {
                artifact,
                service,
                src,
            } => match cx.placements.get(artifact).cloned() {
                Some(Placement::Volume(volume)) => {
                    let (mut vols, ups) = service_mounts(cx, *service);
                    vols.push(VolumeMount {
                        source: MountSource::Volume(volume),
                        path: "/kplan/out".into(),
                        read_only: false,
                    });
                    let img = cx
                        .plan
                        .service(*service)
                        .config
                        .image
                        .reference()
                        .to_owned();
                    Some(Container {
                        suffix: cx.name(node).to_owned(),
                        image: Some(cx.images.named(&img)),
                        entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
                        command: Some(vec![COPY_SCRIPT.into(), src.clone()]),
                        volumes: vols,
                        uploads: ups,
                        one_shot: true,
                        ..Container::default()
                    })
                }
                Some(Placement::Files(_)) | None => None,
            },
            JobKind::Render { artifact } => render(cx, node, *artifact),
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
                    ShellJob::InTools(script) => tools(cx, node, script),
                    ShellJob::InServiceImage(s, script) => {
                        let mut c = shell(cx, node, script);
                        let img = cx.plan.service(s).config.image.reference().to_owned();
                        c.image = Some(cx.images.named(&img));
                        c
                    }
                })
            }
        };
        if let Some(c) = c {
            cx.containers.insert(node, c);
        }
    }
    hooks(cx);
}

/// A one-shot running `script` with `/bin/sh -c` (its image set by the caller),
/// with the value store when it uses it.
fn shell(cx: &Ctx, node: NodeId, script: String) -> Container {
    Container {
        suffix: cx.name(node).to_owned(),
        entrypoint: Some(vec!["/bin/sh".to_owned(), "-c".to_owned()]),
        command: Some(vec![script]),
        volumes: cx.store_mount(node).into_iter().collect(),
        one_shot: true,
        ..Container::default()
    }
}

/// One of kplan's own jobs, in the tools image.
fn tools(cx: &mut Ctx, node: NodeId, script: String) -> Container {
    let mut c = shell(cx, node, script);
    let t = cx.tools_image.clone();
    c.image = Some(cx.images.named(&t));
    c
}

/// The job that writes an artifact with run-time holes into its volume: its static
/// files and literal pieces are uploaded into it.
fn render(cx: &mut Ctx, node: NodeId, artifact: crate::ir::ArtifactId) -> Option<Container> {
    let r = cx.renders.get(&artifact)?.clone();
    let Some(Placement::Volume(volume)) = cx.placements.get(&artifact).cloned() else {
        return None;
    };
    let script = render_script(RENDER_OUT, r.has_src.then_some(RENDER_SRC), &r.files);
    let mut c = tools(cx, node, script);
    c.uploads = r.uploads;
    c.volumes.push(VolumeMount {
        source: MountSource::Volume(volume),
        path: RENDER_OUT.into(),
        read_only: false,
    });
    Some(c)
}

/// A `run_sh`/`run_python` container: the shared one-shot command, its files, one
/// volume per `store` path, the value store when it reads or writes values.
fn program(cx: &mut Ctx, node: NodeId, p: &Program) -> Container {
    let task = cx.plan.task(p.task);
    let (mut volumes, uploads) = task_mounts(cx, &p.files, &task.at);
    let mut store = Vec::new();
    let stored = cx.info.task_artifacts(p.task).to_vec();
    for (i, (a, src)) in stored.iter().zip(&p.store).enumerate() {
        if let Some(Placement::Volume(v)) = cx.placements.get(a) {
            volumes.push(VolumeMount {
                source: MountSource::Volume(v.clone()),
                path: format!("/kplan/store/{i}"),
                read_only: false,
            });
            store.push((src.clone(), format!("/kplan/store/{i}")));
        }
    }
    volumes.extend(cx.store_mount(node));
    let cmd = program_command(p, &|t| cx.word(t), &store);
    let who = format!("{} '{}'", p.instruction, cx.name(node));
    let img = image(cx, &p.image, &who, &task.at);
    let mut c = Container {
        suffix: cx.name(node).to_owned(),
        image: Some(img),
        entrypoint: (!cmd.entrypoint.is_empty()).then_some(cmd.entrypoint),
        command: (!cmd.command.is_empty()).then_some(cmd.command),
        volumes,
        uploads,
        // Kurtosis runs tasks under tini.
        init: true,
        one_shot: true,
        privileged: p.privileged,
        pid_host: p.host_pid,
        ..Container::default()
    };
    for (k, v) in p.env.iter().filter(|(_, v)| !v.has_values()) {
        c.env.insert(k.clone(), cx.text(v));
    }
    for (host, container) in &p.binds {
        c.volumes.push(VolumeMount {
            source: MountSource::Host(host.clone()),
            path: container.clone(),
            read_only: false,
        });
    }
    c
}

/// Each `exec` on a final service as an [`ExecHook`]: the shared hook command,
/// without a readiness wait (the service's container was created with `wait`).
fn hooks(cx: &mut Ctx) {
    let model = cx.model;
    let mut labels = Namer::default();
    for s in model.services.values() {
        let name = cx.name(NodeId::Service(s.id)).to_owned();
        for e in &s.hooks {
            let argv = hook_command(
                cx.words(&e.argv),
                &e.codes,
                &e.verify,
                None,
                &cx.writes(&e.results),
            );
            let Some((command, words)) = argv.split_last() else {
                continue;
            };
            let (command, words) = (command.clone(), words.to_vec());
            // The jobs that produce the values it reads, and the exec before it.
            let mut after: Vec<String> = Vec::new();
            for v in e.argv.iter().flat_map(|t| t.values()) {
                let task = model.values.flow(v).task;
                for j in [
                    model.task_jobs.get(&task),
                    model.extract_jobs.get(&task),
                    model.wait_jobs.get(&task),
                ]
                .into_iter()
                .flatten()
                {
                    if cx.containers.contains_key(&NodeId::Job(*j)) {
                        after.push(format!("docker_container.{}", cx.name(NodeId::Job(*j))));
                    }
                }
            }
            if let Some(prev) = cx.hooks.iter().rev().find(|h| h.service == s.id) {
                after.push(format!("terraform_data.{}", prev.label));
            }
            cx.hooks.push(ExecHook {
                label: labels.claim(&format!("{name}-exec")),
                service: s.id,
                command,
                words,
                step: cx.info.task_step(e.task).unwrap_or(s.step),
                after,
            });
        }
    }
}
