//! The arguments `run_sh` and `run_python` share beyond those of every task: `files`,
//! `store`, `wait`, `image`, `name`, `tolerations`, and the struct they return.

use super::check::Args;
use super::context::Context;
use super::instruction::convert;
use super::refs::placeholder;
use super::value::{KValue, Owned};
use crate::ir::{self, GoDuration, Span, StoreSpec};
use starlark::codemap::FileSpan;
use starlark::values::Value;
use std::collections::BTreeMap;

/// Default `wait` of run_sh/run_python (Kurtosis: 180s).
const TASK_WAIT_SECS: u64 = 180;

/// `files` of run_sh/run_python: mount path -> artifact name (strings only).
pub fn task_files(a: &mut Args, v: Option<Value>) -> BTreeMap<String, String> {
    let o = a.owned("files", v);
    a.string_dict("files", &o)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// `store` of run_sh/run_python: StoreSpec or plain paths; unnamed entries get a
/// stable generated name.
pub fn task_store(ctx: &Context, a: &mut Args, v: Option<Value>) -> Vec<StoreSpec> {
    let o = a.owned("store", v);
    let items = match &o {
        None => return Vec::new(),
        Some(Owned::List(items)) => items.clone(),
        Some(other) => {
            a.fail(
                "store",
                format!(
                    "expected a list of StoreSpec or paths, got {}",
                    other.type_name()
                ),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for item in items {
        let (src, name) = match &item {
            Owned::Str(s) => (s.clone(), None),
            Owned::Kurtosis(k) if k.type_name == "StoreSpec" => (
                k.get("src")
                    .and_then(Owned::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                k.get("name").and_then(Owned::as_str).map(str::to_owned),
            ),
            other => {
                a.fail(
                    "store",
                    format!(
                        "items must be StoreSpec or a path string, got {}",
                        other.type_name()
                    ),
                );
                continue;
            }
        };
        if !seen.insert(src.clone()) {
            a.fail("store", format!("path '{src}' is stored twice in one call"));
        }
        let mut rec = ctx.rec.borrow_mut();
        let name = name.unwrap_or_else(|| {
            let stem = src
                .trim_end_matches("/*")
                .rsplit('/')
                .find(|s| !s.is_empty())
                .unwrap_or("stored");
            rec.generate_artifact_name(stem)
        });
        rec.artifact_names.insert(name.clone());
        out.push(StoreSpec { src, name });
    }
    out
}

/// `wait` of run_sh/run_python: the timeout (default 180s; `None`: no timeout).
pub fn task_wait(a: &mut Args, v: Option<Value>) -> Option<GoDuration> {
    match a.owned_keep_none("wait", v) {
        None => Some(GoDuration::from_secs(TASK_WAIT_SECS)),
        Some(Owned::None) => None,
        Some(Owned::Str(s)) if s.is_empty() => {
            a.fail("wait", "must not be empty; use None for no timeout");
            None
        }
        w => a.duration("wait", &w),
    }
}

/// `image` of run_sh/run_python: a name or an image spec, `default` when unset.
pub fn task_image(
    ctx: &Context,
    a: &mut Args,
    v: Option<Value>,
    default: &str,
    at: &Span,
    from: Option<&FileSpan>,
) -> starlark::Result<ir::Image> {
    let o = a.owned("image", v);
    match &o {
        None => Ok(ir::Image::Name(default.into())),
        Some(Owned::Str(_)) => convert(ctx, at, from, "image", |c| {
            c.image(o.as_ref().unwrap_or(&Owned::None))
        }),
        Some(_) => {
            if a.ktype(
                "image",
                &o,
                &["ImageSpec", "ImageBuildSpec", "NixBuildSpec"],
            )
            .is_some()
            {
                convert(ctx, at, from, "image", |c| {
                    c.image(o.as_ref().unwrap_or(&Owned::None))
                })
            } else {
                Ok(ir::Image::Name(default.into()))
            }
        }
    }
}

/// The struct `run_sh`/`run_python` return.
pub fn task_result(uuid: &str, store: &[StoreSpec]) -> Owned {
    Owned::Struct(vec![
        ("code".into(), Owned::Str(placeholder(uuid, "code"))),
        ("output".into(), Owned::Str(placeholder(uuid, "output"))),
        (
            "files_artifacts".into(),
            Owned::List(store.iter().map(|s| Owned::Str(s.name.clone())).collect()),
        ),
    ])
}

/// `name` of run_sh/run_python, or `task-N` when unset.
pub fn task_name(ctx: &Context, a: &mut Args, v: Option<Value>) -> String {
    let o = a.owned("name", v);
    a.non_empty_string("name", &o)
        .unwrap_or_else(|| format!("task-{}", ctx.rec.borrow().tasks.len()))
}

/// `tolerations` of run_sh/run_python: a list of `Toleration`s.
pub fn tolerations_arg(
    ctx: &Context,
    a: &mut Args,
    v: Option<Value>,
    at: &Span,
    from: Option<&FileSpan>,
) -> starlark::Result<Vec<ir::Toleration>> {
    let o = a.owned("tolerations", v);
    let items: Vec<KValue> = match &o {
        None => return Ok(Vec::new()),
        Some(Owned::List(items)) => items
            .iter()
            .filter_map(|t| match t {
                Owned::Kurtosis(k) if k.type_name == "Toleration" => Some(k.clone()),
                other => {
                    a.fail(
                        "tolerations",
                        format!("items must be Toleration, got {}", other.type_name()),
                    );
                    None
                }
            })
            .collect(),
        Some(other) => {
            a.fail(
                "tolerations",
                format!("expected a list of Toleration, got {}", other.type_name()),
            );
            return Ok(Vec::new());
        }
    };
    convert(ctx, at, from, "tolerations", |c| {
        items.iter().map(|t| c.toleration(t)).collect()
    })
}
