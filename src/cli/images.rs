//! `kplan images inspect PKG`: the entrypoint and cmd of each service image of a
//! package, read from the local Docker engine, as the JSON `kplan compile
//! --image-config FILE` reads. This command is the impure half: `compile` itself
//! never asks the engine, so its output depends only on the package, the arguments
//! and the files it is given.

use super::pipeline::{self, PackageArgs};
use crate::backend::ImageConfig;
use crate::console::{errln, outln};
use crate::executor::engine::Engine;
use crate::frontend::ClusterType;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;

#[derive(Debug, Args)]
pub struct ImagesArgs {
    #[command(subcommand)]
    pub command: ImagesCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Print (JSON) the entrypoint and cmd of every service image in the local engine,
    /// for `kplan compile --image-config FILE`.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub package: PackageArgs,
}

pub fn run(args: &ImagesArgs) -> i32 {
    match &args.command {
        ImagesCommand::Inspect(a) => inspect(a),
    }
}

fn inspect(args: &InspectArgs) -> i32 {
    let loaded = match pipeline::load(&args.package, ClusterType::Docker) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let engine = match Engine::connect() {
        Ok(e) => e,
        Err(e) => {
            errln!("error: {e:#}");
            return 1;
        }
    };
    let mut out: BTreeMap<String, ImageConfig> = BTreeMap::new();
    let mut missing = Vec::new();
    for s in &loaded.plan.services {
        let image = s.config.image.reference();
        if out.contains_key(image) || missing.iter().any(|m| m == image) {
            continue;
        }
        match engine.image_command(image) {
            Ok(Some((entrypoint, cmd))) => {
                out.insert(image.to_owned(), ImageConfig { entrypoint, cmd });
            }
            Ok(None) => missing.push(image.to_owned()),
            Err(e) => {
                errln!("error: {e:#}");
                return 1;
            }
        }
    }
    for m in &missing {
        errln!("warning: image '{m}' is not in the local Docker engine; it is left out (pull or build it, then run this again)");
    }
    match serde_json::to_string_pretty(&out) {
        Ok(text) => {
            outln!("{text}");
            0
        }
        Err(e) => {
            errln!("error: {e}");
            1
        }
    }
}
