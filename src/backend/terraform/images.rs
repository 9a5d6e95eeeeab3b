//! Images: one `docker_image` per image reference (or per build), named by a
//! variable `image_<label>` whose default is the package's reference, with
//! `keep_locally = true` so `terraform destroy` never deletes an image the engine had
//! before. An `ImageBuildSpec` becomes a `docker_image` with a `build` block whose
//! context is relative to the configuration (`${path.module}/...`), when the package
//! is a local directory and the context is inside it (the checkout fixes that path);
//! the provider builds it instead of pulling (KP203 otherwise, as for Compose).

use super::hcl::{self as h, Piece};
use super::model::ImageRef;
use super::Ctx;
use crate::backend::lower::build_context;
use crate::backend::lower::names::Namer;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Image, Span};
use hcl::expr::Expression;
use hcl::structure::Block;
use std::collections::BTreeMap;

/// A `docker_image` to declare.
#[derive(Debug, Clone)]
pub struct ImageRes {
    pub label: String,
    /// The reference (the variable's default).
    pub name: String,
    pub build: Option<BuildSpec>,
}

#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// Relative to the configuration's directory.
    pub context: String,
    pub dockerfile: String,
    pub target: Option<String>,
    pub args: BTreeMap<String, String>,
}

/// The images, by what identifies them (a reference, or a build).
#[derive(Debug, Default)]
pub struct Images {
    pub by_key: BTreeMap<String, ImageRes>,
    labels: Namer,
}

impl Images {
    fn claim(&mut self, key: String, name: &str, build: Option<BuildSpec>) -> ImageRef {
        if let Some(r) = self.by_key.get(&key) {
            return ImageRef::Resource(r.label.clone());
        }
        let label = self
            .labels
            .claim(&h::ident(name).to_ascii_lowercase().replace('-', "_"));
        self.by_key.insert(
            key,
            ImageRes {
                label: label.clone(),
                name: name.to_owned(),
                build,
            },
        );
        ImageRef::Resource(label)
    }

    /// The image of a reference that needs no build (kplan's tools image, a
    /// request's target image).
    pub fn named(&mut self, name: &str) -> ImageRef {
        self.claim(format!("name:{name}"), name, None)
    }

    /// The `variable` and `resource "docker_image"` blocks, in label order.
    pub fn blocks(&self) -> (Vec<Block>, Vec<Block>) {
        let mut list: Vec<&ImageRes> = self.by_key.values().collect();
        list.sort_by(|a, b| a.label.cmp(&b.label));
        let mut vars = Vec::new();
        let mut res = Vec::new();
        for i in list {
            let var = format!("image_{}", i.label);
            vars.push(
                Block::builder("variable")
                    .add_label(var.as_str())
                    .add_attribute(("type", h::reference("string", &[])))
                    .add_attribute(("default", h::string(&i.name)))
                    .add_attribute((
                        "description",
                        h::string(&format!("The image reference for {}.", i.name)),
                    ))
                    .build(),
            );
            let mut b = Block::builder("resource")
                .add_label("docker_image")
                .add_label(i.label.as_str())
                .add_attribute(("name", h::reference("var", &[&var])))
                .add_attribute(("keep_locally", true));
            if let Some(bs) = &i.build {
                let ctx = h::template(&[
                    Piece::Ref("path.module"),
                    Piece::Lit(&format!("/{}", bs.context)),
                ]);
                let mut bb = Block::builder("build")
                    .add_attribute(("context", ctx))
                    .add_attribute(("dockerfile", h::string(&bs.dockerfile)));
                if let Some(t) = &bs.target {
                    bb = bb.add_attribute(("target", h::string(t)));
                }
                if !bs.args.is_empty() {
                    let obj: hcl::expr::Object<hcl::expr::ObjectKey, Expression> = bs
                        .args
                        .iter()
                        .map(|(k, v)| (h::key(k), h::string(v)))
                        .collect();
                    bb = bb.add_attribute(("build_args", Expression::Object(obj)));
                }
                b = b.add_block(bb.build());
            }
            res.push(b.build());
        }
        (vars, res)
    }
}

/// The image of a service or task (`who`, e.g. "service 'api'").
pub fn image(cx: &mut Ctx, image: &Image, who: &str, at: &Span) -> ImageRef {
    match image {
        Image::Name(n) => cx.images.named(n),
        Image::Spec {
            image,
            username,
            password,
            ..
        } => {
            if username.is_some() || password.is_some() {
                cx.diags.push(
                    Diagnostic::warning(
                        Code::KP212,
                        format!("the registry credentials of {who} are not written into main.tf"),
                        Some(at.clone()),
                    )
                    .with_hint("give the provider a `registry_auth` block (or run `docker login`) before `terraform apply`"),
                );
            }
            cx.images.named(image)
        }
        Image::Build {
            image_name,
            build_context_dir,
            build_file,
            target_stage,
            build_args,
        } => match build_context(cx.package_dir.as_deref(), build_context_dir) {
            Ok(context) => {
                let key = format!(
                    "build:{image_name}:{context}:{build_file}:{target_stage:?}:{build_args:?}"
                );
                let spec = BuildSpec {
                    context,
                    dockerfile: build_file.clone(),
                    target: target_stage.clone(),
                    args: build_args.clone(),
                };
                cx.images.claim(key, image_name, Some(spec))
            }
            Err(why) => {
                cx.diags.push(
                        Diagnostic::error(
                            Code::KP203,
                            format!("{who} builds its image from {build_context_dir}, which Terraform cannot build faithfully: {why}"),
                            Some(at.clone()),
                        )
                        .with_hint(format!("pass -o DIR for a package in a local directory, or build the image first (`docker build -t {image_name} ...`) and use its name as the image")),
                    );
                cx.images.named(image_name)
            }
        },
        Image::Nix { image_name, .. } => {
            cx.diags.push(
                Diagnostic::error(
                    Code::KP203,
                    format!("{who} builds its image with Nix, which the Docker provider cannot do"),
                    Some(at.clone()),
                )
                .with_hint(format!(
                    "build the image with nix first and use its name ('{image_name}') as the image"
                )),
            );
            cx.images.named(image_name)
        }
    }
}
