//! Volumes: creating (race-free), inspecting, listing by label and removing them, as
//! [`VolumeInfo`].

use super::{err_text, is_not_found, label_filter, Engine};
use anyhow::{anyhow, Result};
use bollard::models::{Volume, VolumeCreateRequest};
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions};
use std::collections::BTreeMap;

/// A volume as the engine lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

fn volume_info(v: Volume) -> VolumeInfo {
    VolumeInfo {
        name: v.name,
        labels: v.labels.into_iter().collect(),
    }
}

impl Engine {
    pub fn volume_ensure(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        self.volume_create(name, labels).map(|_| ())
    }

    /// Creates the volume unless one of that name exists, and returns the volume that
    /// exists now: with `labels` when this call made it, with its own labels when it
    /// was there already. The engine creates volumes of one name one at a time, so
    /// when several callers race, exactly one of them sees its own labels.
    pub fn volume_create(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<VolumeInfo> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.block(self.docker.create_volume(req))
            .map(volume_info)
            .map_err(|e| anyhow!("cannot create volume {name}: {}", err_text(e)))
    }

    /// The volume with this name, if any.
    pub fn volume_inspect(&self, name: &str) -> Result<Option<VolumeInfo>> {
        match self.block(self.docker.inspect_volume(name)) {
            Ok(v) => Ok(Some(volume_info(v))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(anyhow!("cannot inspect volume {name}: {}", err_text(e))),
        }
    }

    pub fn volumes_by_label(&self, labels: &[(&str, &str)]) -> Result<Vec<VolumeInfo>> {
        let resp = self
            .block(self.docker.list_volumes(Some(ListVolumesOptions {
                filters: Some(label_filter(labels)),
            })))
            .map_err(|e| anyhow!("cannot list volumes: {}", err_text(e)))?;
        Ok(resp
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(volume_info)
            .collect())
    }

    pub fn volume_remove(&self, name: &str) -> Result<()> {
        match self.block(
            self.docker
                .remove_volume(name, Some(RemoveVolumeOptions { force: true })),
        ) {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(anyhow!("cannot remove volume {name}: {}", err_text(e))),
        }
    }
}
