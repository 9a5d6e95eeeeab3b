//! Which services exist at each step (KP104, KP107): `add_service` adds a name (once),
//! `remove_service` takes it away, `start_service`/`stop_service` change whether it
//! runs, and every instruction that names a service must find it live at that point.

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Plan, ServiceId, Span};
use std::collections::{BTreeMap, BTreeSet};

/// The services of the simulated environment at the step being checked.
#[derive(Default)]
pub struct Services {
    /// Services that exist now, by name.
    live: BTreeMap<String, ServiceId>,
    /// Services removed so far.
    removed: BTreeSet<ServiceId>,
    /// Service name -> whether it runs after the steps so far (stop/start).
    running: BTreeMap<String, bool>,
}

impl Services {
    /// KP107: the live service called `name`, which `instruction` (at `at`) uses.
    pub fn lookup(
        &self,
        name: &str,
        instruction: &str,
        at: &Span,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<ServiceId> {
        let id = self.live.get(name).copied();
        if id.is_none() {
            diags.push(self.unknown(name, instruction, at));
        }
        id
    }

    fn unknown(&self, name: &str, instruction: &str, at: &Span) -> Diagnostic {
        let hint = if self.live.is_empty() {
            "add the service with plan.add_service before this instruction".to_owned()
        } else {
            let known: Vec<&str> = self.live.keys().map(String::as_str).collect();
            format!("services that exist here: {}", known.join(", "))
        };
        Diagnostic::error(
            Code::KP107,
            format!("service '{name}' used by '{instruction}' does not exist at this point"),
            Some(at.clone()),
        )
        .with_hint(hint)
    }

    /// KP104: adds service `id`, refused when its name is live already (it still
    /// replaces the earlier one, so later steps see the newest).
    pub fn add(&mut self, plan: &Plan, id: ServiceId) -> Option<Diagnostic> {
        let s = plan.service(id);
        let twice = self.live.get(&s.name).map(|prev| {
            Diagnostic::error(
                Code::KP104,
                format!("service '{}' is added twice in this package", s.name),
                Some(s.at.clone()),
            )
            .with_related(plan.service(*prev).at.clone(), "first added here")
            .with_hint("give each service its own name, or remove_service the first one before adding it again")
        });
        self.live.insert(s.name.clone(), id);
        self.running.insert(s.name.clone(), true);
        twice
    }

    /// `remove_service` of the live service `id` called `name`.
    pub fn remove(&mut self, name: &str, id: ServiceId) {
        self.live.remove(name);
        self.running.remove(name);
        self.removed.insert(id);
    }

    /// `start_service` (true) or `stop_service` (false) of the live service `name`.
    pub fn set_running(&mut self, name: &str, running: bool) {
        self.running.insert(name.to_owned(), running);
    }

    pub fn is_removed(&self, id: ServiceId) -> bool {
        self.removed.contains(&id)
    }

    /// The live services whose last start/stop was a stop.
    pub fn stopped(&self) -> BTreeSet<ServiceId> {
        self.running
            .iter()
            .filter(|(_, running)| !**running)
            .filter_map(|(name, _)| self.live.get(name).copied())
            .collect()
    }

    /// Service name -> the service holding it at the end of the plan.
    pub fn into_live(self) -> BTreeMap<String, ServiceId> {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::testing::{at, plan, service};

    fn found(s: &Services, name: &str) -> Option<ServiceId> {
        s.lookup(name, "exec", &at(3), &mut Vec::new())
    }

    fn unknown(s: &Services, name: &str) -> Diagnostic {
        let mut diags = Vec::new();
        assert!(s.lookup(name, "exec", &at(3), &mut diags).is_none());
        assert_eq!(diags.len(), 1);
        diags.remove(0)
    }

    fn two_services() -> Plan {
        let mut p = plan();
        p.services.push(service("db", 1));
        p.services.push(service("db", 2));
        p
    }

    #[test]
    fn an_unknown_service_lists_the_live_ones() {
        let p = two_services();
        let mut s = Services::default();
        let d = unknown(&s, "db");
        assert_eq!(
            d.hint.as_deref(),
            Some("add the service with plan.add_service before this instruction")
        );
        assert!(s.add(&p, ServiceId(0)).is_none());
        assert_eq!(found(&s, "db"), Some(ServiceId(0)));
        let d = unknown(&s, "cache");
        assert_eq!(
            d.message,
            "service 'cache' used by 'exec' does not exist at this point"
        );
        assert_eq!(d.hint.as_deref(), Some("services that exist here: db"));
    }

    #[test]
    fn a_name_is_added_once_unless_removed_in_between() {
        let p = two_services();
        let mut s = Services::default();
        assert!(s.add(&p, ServiceId(0)).is_none());
        let d = s.add(&p, ServiceId(1)).expect("KP104");
        assert_eq!(d.related, [(at(1), "first added here".into())]);
        assert_eq!(found(&s, "db"), Some(ServiceId(1)));

        let mut s = Services::default();
        assert!(s.add(&p, ServiceId(0)).is_none());
        s.remove("db", ServiceId(0));
        assert!(s.is_removed(ServiceId(0)));
        assert!(found(&s, "db").is_none());
        assert!(s.add(&p, ServiceId(1)).is_none());
    }

    #[test]
    fn the_last_start_or_stop_decides_whether_a_service_runs() {
        let p = two_services();
        let mut s = Services::default();
        s.add(&p, ServiceId(0));
        s.set_running("db", false);
        assert_eq!(s.stopped(), BTreeSet::from([ServiceId(0)]));
        s.set_running("db", true);
        assert!(s.stopped().is_empty());
    }
}
