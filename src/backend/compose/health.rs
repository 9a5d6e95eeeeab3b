//! Readiness in Compose: the model's typed checks of each service (its ports with
//! `wait`, its `ready_conditions` and every `plan.wait` on it) become one
//! `healthcheck`, in the Docker form shared with other Docker-based targets
//! ([`crate::backend::lower::probe`]); services and tasks that come after it then
//! wait for `service_healthy`.

use super::model::Healthcheck;
use super::{Ctx, WORDS};
use crate::backend::lower::probe::{docker_healthcheck, shell_check};

/// Builds the healthcheck of every final service that has checks.
pub fn collect(cx: &mut Ctx) {
    let model = cx.model;
    for s in model.services.values() {
        let mut list = Vec::new();
        let mut diags = Vec::new();
        for c in &s.readiness.checks {
            let name = |id, f| cx.service_text(id, f);
            list.push(shell_check(c, &WORDS, &name, &mut diags));
        }
        cx.diags.extend(diags);
        if let Some(h) = docker_healthcheck(&list) {
            cx.healthchecks.insert(
                s.id,
                Healthcheck {
                    test: h.test,
                    interval: h.interval.to_string(),
                    timeout: h.timeout.to_string(),
                    retries: h.retries,
                },
            );
        }
    }
}
