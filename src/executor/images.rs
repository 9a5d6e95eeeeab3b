//! The pre-flight image check shared by `kplan apply` and `kplan validate
//! --check-images`: every image a service or task runs must already exist in the local
//! engine (kplan never pulls). All missing images are reported at once, each at the
//! line that names it.

use super::engine::Engine;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Plan, Recipe, TaskKind};
use anyhow::Result;
use std::collections::BTreeMap;

/// One diagnostic per missing image use.
pub fn missing_images(engine: &Engine, plan: &Plan) -> Result<Vec<Diagnostic>> {
    let mut uses: Vec<(String, String, crate::ir::Span)> = Vec::new();
    for s in &plan.services {
        uses.push((
            s.config.image.reference().to_string(),
            format!("service '{}'", s.name),
            s.at.clone(),
        ));
    }
    for t in &plan.tasks {
        match &t.kind {
            TaskKind::RunSh { image, name, .. } | TaskKind::RunPython { image, name, .. } => {
                uses.push((
                    image.reference().to_string(),
                    format!("{} '{name}'", t.kind.instruction()),
                    t.at.clone(),
                ));
            }
            TaskKind::Exec { .. }
            | TaskKind::Request { .. }
            | TaskKind::Wait { .. }
            | TaskKind::Verify { .. }
            | TaskKind::Print { .. } => {}
        }
    }
    let mut exists: BTreeMap<String, bool> = BTreeMap::new();
    let mut diags = Vec::new();
    for (image, who, at) in uses {
        let ok = match exists.get(&image) {
            Some(b) => *b,
            None => {
                let b = engine.image_exists(&image)?;
                exists.insert(image.clone(), b);
                b
            }
        };
        if !ok {
            diags.push(
                Diagnostic::error(
                    Code::KP501,
                    format!("image '{image}' of {who} is not in the local Docker engine"),
                    Some(at),
                )
                .with_hint(format!(
                    "kplan never pulls images: build, load or pull '{image}' first (e.g. `docker pull {image}` where a registry is reachable, or `docker load`/`docker import`)"
                )),
            );
        }
    }
    Ok(diags)
}

fn recipe_extracts(r: &Recipe) -> &BTreeMap<String, String> {
    match r {
        Recipe::Exec(e) => &e.extract,
        Recipe::Http(h) => &h.extract,
    }
}

/// Things the plan asks for that `kplan apply` cannot do, reported before any change.
pub fn unsupported(plan: &Plan) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut extracts: Vec<(&BTreeMap<String, String>, &crate::ir::Span)> = Vec::new();
    for t in &plan.tasks {
        match &t.kind {
            TaskKind::Exec { recipe, .. } => extracts.push((&recipe.extract, &t.at)),
            TaskKind::Request { recipe, .. } => extracts.push((&recipe.extract, &t.at)),
            TaskKind::Wait { recipe, .. } => extracts.push((recipe_extracts(recipe), &t.at)),
            TaskKind::Verify { .. }
            | TaskKind::Print { .. }
            | TaskKind::RunSh { .. }
            | TaskKind::RunPython { .. } => {}
        }
    }
    for s in &plan.services {
        if let Some(rc) = &s.config.ready_conditions {
            extracts.push((recipe_extracts(&rc.recipe), &rc.at));
        }
    }
    for (map, at) in extracts {
        for (key, path) in map {
            if let Err(msg) = super::extract::check(path) {
                diags.push(Diagnostic::error(
                    Code::KP503,
                    format!("extract '{key}': {msg}"),
                    Some(at.clone()),
                ));
            }
        }
    }
    diags
}
