//! Images: whether one is in the local engine, the entrypoint and cmd it runs by
//! default, and importing a root filesystem as an image (`docker import`).

use super::{err_text, is_not_found, Engine};
use anyhow::{anyhow, Result};
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;

impl Engine {
    /// Whether the image exists in the local engine (nothing is pulled).
    pub fn image_exists(&self, reference: &str) -> Result<bool> {
        match self.block(self.docker.inspect_image(reference)) {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(anyhow!("cannot inspect image {reference}: {}", err_text(e))),
        }
    }

    /// The entrypoint and cmd an image runs by default, as its config says; `None`
    /// when the image is not in the local engine.
    #[allow(
        clippy::type_complexity,
        reason = "(entrypoint, cmd), named in the doc; used by one caller"
    )]
    pub fn image_command(
        &self,
        reference: &str,
    ) -> Result<Option<(Option<Vec<String>>, Option<Vec<String>>)>> {
        match self.block(self.docker.inspect_image(reference)) {
            Ok(i) => {
                let c = i.config.unwrap_or_default();
                Ok(Some((c.entrypoint, c.cmd)))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(anyhow!("cannot inspect image {reference}: {}", err_text(e))),
        }
    }

    /// Imports a root filesystem tar as image `repo:tag` (`docker import`).
    pub fn import_image(&self, rootfs_tar: Vec<u8>, repo: &str, tag: &str) -> Result<()> {
        let opts = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo.into()),
            tag: Some(tag.into()),
            changes: vec!["CMD [\"/bin/sh\"]".into(), "ENV PATH=/bin".into()],
            ..Default::default()
        };
        self.block(async {
            let mut s = self.docker.create_image(
                Some(opts),
                Some(bollard::body_full(rootfs_tar.into())),
                None,
            );
            while let Some(item) = s.next().await {
                item.map_err(|e| anyhow!("cannot import image {repo}:{tag}: {}", err_text(e)))?;
            }
            Ok(())
        })
    }
}
