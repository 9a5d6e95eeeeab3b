//! Files-artifact instructions: `upload_files`, `render_templates`,
//! `store_service_files`, `get_files_artifact`, and `get_cluster_type`.
//!
//! `methods` is long only as a `#[starlark_module]` declaration: it is the list of
//! these builtins, each its own function of less than 120 lines.

#![allow(
    clippy::too_many_arguments,
    reason = "argument lists mirror Kurtosis signatures, as long as Kurtosis made them"
)]

use super::check::Args;
use super::context::{other, Context};
use super::instruction::{call_site, convert};
use super::package::Kind;
use super::recorder::Recorder;
use super::templates;
use super::upload::read_upload;
use super::value::Owned;
use super::ClusterType;
use crate::ir::{self, ArtifactFile, ArtifactSource, RuntimeRef, Span, Step, StepKind};
use starlark::environment::MethodsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::Value;

fn record_artifact(
    ctx: &Context,
    name: String,
    named: bool,
    source: ArtifactSource,
    description: Option<String>,
    at: Span,
) {
    let mut rec = ctx.rec.borrow_mut();
    let id = rec.next_artifact_id();
    rec.artifact_names.insert(name.clone());
    rec.artifacts.push(ir::Artifact {
        name,
        named,
        source,
        description,
        at: at.clone(),
    });
    rec.steps.push(Step {
        kind: StepKind::CreateArtifact(id),
        at,
    });
}

fn name_and_description(
    a: &mut Args,
    name: Option<Value>,
    description: Option<Value>,
) -> (Option<String>, Option<String>) {
    let n = a.owned("name", name);
    let n = a.non_empty_string("name", &n);
    let d = a.owned("description", description);
    let d = a.non_empty_string("description", &d);
    (n, d)
}

/// Names a run-time value for people: "the hostname of service 'api'".
fn describe_ref(rec: &Recorder, r: &RuntimeRef) -> String {
    match r {
        RuntimeRef::Service { service, field } => {
            let name = rec
                .services
                .get(service.0 as usize)
                .map(|s| s.name.as_str())
                .unwrap_or("?");
            format!("the {} of service '{name}'", field.as_str())
        }
        RuntimeRef::Task { task, field } => {
            let (what, at) = rec
                .tasks
                .get(task.0 as usize)
                .map(|t| (t.kind.instruction(), t.at.to_string()))
                .unwrap_or(("task", String::new()));
            format!("the {} of the {what} at {at}", field.name())
        }
    }
}

#[starlark_module]
pub fn methods(builder: &mut MethodsBuilder) {
    fn upload_files<'v>(
        #[starlark(this)] _this: Value<'v>,
        src: Option<Value<'v>>,
        name: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("upload_files");
        let s = a.owned("src", src);
        let s = a.required("src", s);
        let src = a.non_empty_string("src", &s).unwrap_or_default();
        let (name, d) = name_and_description(&mut a, name, description);
        a.finish()?;
        let file = ctx.resolve(&src, from.as_ref(), Kind::FileOrDir)?;
        let files = read_upload(&file)?;
        let named = name.is_some();
        let name = name.unwrap_or_else(|| {
            let stem = file
                .display
                .rsplit('/')
                .next()
                .unwrap_or("upload")
                .to_owned();
            ctx.rec.borrow().generate_artifact_name(&stem)
        });
        record_artifact(
            ctx,
            name.clone(),
            named,
            ArtifactSource::Upload {
                src: file.display,
                files,
            },
            d,
            at,
        );
        Ok(eval.heap().alloc(name))
    }

    fn render_templates<'v>(
        #[starlark(this)] _this: Value<'v>,
        config: Option<Value<'v>>,
        name: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("render_templates");
        let config = a.owned("config", config);
        let config = a.required("config", config);
        let mut entries = Vec::new();
        if let Some(items) = a.dict("config", &config) {
            for (path, v) in items {
                match v {
                    Owned::Struct(fields) => {
                        let template = fields.iter().find(|(k, _)| k == "template").map(|(_, v)| v);
                        let data = fields
                            .iter()
                            .find(|(k, _)| k == "data")
                            .map(|(_, v)| v.clone());
                        match template {
                            Some(Owned::Str(t)) => {
                                entries.push((path, t.clone(), data.unwrap_or(Owned::None)));
                            }
                            _ => a.fail(
                                "config",
                                format!("'{path}' needs struct(template=<string>, data=...)"),
                            ),
                        }
                    }
                    other => a.fail(
                        "config",
                        format!(
                            "value of '{path}' must be struct(template=..., data=...), got {}",
                            other.type_name()
                        ),
                    ),
                }
            }
        }
        let (name, d) = name_and_description(&mut a, name, description);
        a.finish()?;
        let converted = convert(ctx, &at, from.as_ref(), "render_templates", |c| {
            entries
                .iter()
                .map(|(path, t, data)| (path.clone(), t.clone(), c.data(data)))
                .collect::<Vec<_>>()
        })?;
        let mut files = Vec::new();
        let mut errors = Vec::new();
        let describe = |r: &RuntimeRef| describe_ref(&ctx.rec.borrow(), r);
        for (path, template, data) in converted {
            match templates::render(&path, &template, &data, &describe, ctx.max_template_output) {
                Ok(content) => files.push(ArtifactFile {
                    path: path.trim_start_matches('/').to_owned(),
                    mode: 0o644,
                    content,
                }),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(other(errors.join("\n")));
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let named = name.is_some();
        let name = name.unwrap_or_else(|| {
            let stem = files
                .first()
                .map(|f| f.path.rsplit('/').next().unwrap_or("rendered").to_owned())
                .unwrap_or_default();
            ctx.rec.borrow().generate_artifact_name(&stem)
        });
        record_artifact(
            ctx,
            name.clone(),
            named,
            ArtifactSource::Templates { files },
            d,
            at,
        );
        Ok(eval.heap().alloc(name))
    }

    fn store_service_files<'v>(
        #[starlark(this)] _this: Value<'v>,
        service_name: Option<Value<'v>>,
        src: Option<Value<'v>>,
        name: Option<Value<'v>>,
        depends_on: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (_, at) = call_site(eval);
        let mut a = Args::for_instruction("store_service_files");
        let sn = a.owned("service_name", service_name);
        let sn = a.required("service_name", sn);
        let service_name = a.non_empty_string("service_name", &sn).unwrap_or_default();
        let s = a.owned("src", src);
        let s = a.required("src", s);
        let src = a.non_empty_string("src", &s).unwrap_or_default();
        let dep = a.owned("depends_on", depends_on);
        a.string("depends_on", &dep);
        let (name, d) = name_and_description(&mut a, name, description);
        a.finish()?;
        let service = ctx.rec.borrow().live.get(&service_name).map(|(id, _)| *id);
        let named = name.is_some();
        let name = name.unwrap_or_else(|| {
            let stem = src
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("files")
                .to_owned();
            ctx.rec.borrow().generate_artifact_name(&stem)
        });
        record_artifact(
            ctx,
            name.clone(),
            named,
            ArtifactSource::ServiceFiles {
                service_name,
                service,
                src,
            },
            d,
            at,
        );
        Ok(eval.heap().alloc(name))
    }

    fn get_files_artifact<'v>(
        #[starlark(this)] _this: Value<'v>,
        name: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let mut a = Args::for_instruction("get_files_artifact");
        let n = a.owned("name", name);
        let n = a.required("name", n);
        let name = a.non_empty_string("name", &n).unwrap_or_default();
        let d = a.owned("description", description);
        a.non_empty_string("description", &d);
        a.finish()?;
        if !ctx.rec.borrow().artifact_names.contains(&name) {
            return Err(other(format!(
                "files artifact '{name}' required by 'get_files_artifact' doesn't exist; create it earlier with upload_files, render_templates, store_service_files or a task's store"
            )));
        }
        Ok(eval.heap().alloc(name))
    }

    fn get_cluster_type<'v>(
        #[starlark(this)] _this: Value<'v>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let mut a = Args::for_instruction("get_cluster_type");
        let d = a.owned("description", description);
        a.non_empty_string("description", &d);
        a.finish()?;
        Ok(eval.heap().alloc(match ctx.cluster {
            ClusterType::Docker => "docker",
            ClusterType::Kubernetes => "kubernetes",
        }))
    }
}
