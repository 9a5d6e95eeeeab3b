//! Image rules (KP111): a service's image reference, and the Dockerfile of an image it
//! builds, must be named.

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Image, Plan, Service};

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for s in &plan.services {
        diags.extend(empty_image(s));
        diags.extend(empty_build_file(s));
    }
}

/// KP111: the image reference is empty.
fn empty_image(s: &Service) -> Option<Diagnostic> {
    s.config.image.reference().trim().is_empty().then(|| {
        Diagnostic::error(
            Code::KP111,
            format!("service '{}' has an empty image", s.name),
            Some(s.at.clone()),
        )
    })
}

/// KP111: an `ImageBuildSpec` names no Dockerfile.
fn empty_build_file(s: &Service) -> Option<Diagnostic> {
    match &s.config.image {
        Image::Build { build_file, .. } if build_file.is_empty() => Some(Diagnostic::error(
            Code::KP111,
            format!("service '{}' has an empty build_file", s.name),
            Some(s.at.clone()),
        )),
        Image::Build { .. } | Image::Name(_) | Image::Spec { .. } | Image::Nix { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::testing::service;

    fn build(image_name: &str, build_file: &str) -> Image {
        Image::Build {
            image_name: image_name.into(),
            build_context_dir: "./".into(),
            build_file: build_file.into(),
            target_stage: None,
            build_args: Default::default(),
        }
    }

    #[test]
    fn an_image_must_be_named() {
        let mut s = service("web", 1);
        assert!(empty_image(&s).is_none());
        s.config.image = Image::Name("  ".into());
        assert_eq!(
            empty_image(&s).map(|d| d.message),
            Some("service 'web' has an empty image".into())
        );
    }

    #[test]
    fn a_built_image_needs_a_dockerfile() {
        let mut s = service("web", 1);
        s.config.image = build("app", "Dockerfile");
        assert!(empty_build_file(&s).is_none());
        s.config.image = build("app", "");
        assert_eq!(
            empty_build_file(&s).map(|d| d.message),
            Some("service 'web' has an empty build_file".into())
        );
    }

    #[test]
    fn both_problems_are_reported_in_order() {
        let mut plan = crate::validate::testing::plan();
        let mut s = service("web", 1);
        s.config.image = build("", "");
        plan.services.push(s);
        let mut diags = Vec::new();
        check(&plan, &mut diags);
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "service 'web' has an empty image",
                "service 'web' has an empty build_file"
            ]
        );
    }
}
