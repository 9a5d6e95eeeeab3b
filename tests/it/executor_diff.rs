//! The diff as a pure function, on recorded engine states (fixtures/docker-states/,
//! made with scripts/record-docker-state.py after applying fixtures/valid/apply-web):
//! no Docker needed.

use crate::support;

use kplan::cli::Loaded;
use kplan::console::Palette;
use kplan::executor::diff::{diff, Action, ChangeSet, TaskAction};
use kplan::executor::observe::{Observed, ObservedContainer};
use kplan::executor::render;
use kplan::executor::state::Recorded;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(args: Option<&str>) -> Loaded {
    support::load_package(&root().join("fixtures/valid/apply-web"), args)
}

fn observed() -> Observed {
    let text =
        std::fs::read_to_string(root().join("fixtures/docker-states/apply-web-applied.json"))
            .expect("read observed");
    serde_json::from_str(&text).expect("parse observed")
}

fn recorded() -> Recorded {
    let text =
        std::fs::read_to_string(root().join("fixtures/docker-states/apply-web-applied.state.json"))
            .expect("read state");
    let mut r: Recorded = serde_json::from_str(&text).expect("parse state");
    // The artifact contents are not in the fixture; say they are stored.
    r.blobs = r
        .tasks
        .values()
        .flat_map(|t| t.stored.values().cloned())
        .collect();
    r
}

fn run(args: Option<&str>, obs: &Observed, prune: bool) -> ChangeSet {
    let l = load(args);
    diff(&l.plan, &l.info, obs, &recorded(), prune)
}

/// The tasks the plan runs (not reuses).
fn tasks_to_run(cs: &ChangeSet) -> Vec<&str> {
    cs.tasks
        .iter()
        .filter(|t| t.action == TaskAction::Run)
        .map(|t| t.task.as_str())
        .collect()
}

fn action(cs: &ChangeSet, name: &str) -> (Action, Vec<String>) {
    let s = cs
        .services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no service {name} in {cs:#?}"));
    (s.action, s.reasons.clone())
}

#[test]
fn unchanged_package_has_no_changes() {
    let cs = run(None, &observed(), false);
    assert!(!cs.has_changes(), "{cs:#?}");
    assert!(cs.tasks.iter().all(|t| t.action == TaskAction::Reuse));
    let text = render::text(&cs, Palette::PLAIN);
    assert!(text.starts_with("No changes."), "{text}");
}

#[test]
fn changed_template_replaces_its_service_and_the_users_of_its_address() {
    let cs = run(Some(r#"{"greeting": "hi"}"#), &observed(), false);
    let (a, reasons) = action(&cs, "web");
    assert_eq!(a, Action::Replace);
    assert_eq!(reasons, vec!["mounted artifact 'site' changed".to_string()]);
    let (a, reasons) = action(&cs, "client");
    assert_eq!(a, Action::Replace);
    assert!(
        reasons.contains(&"depends on web, which is replaced and whose address it uses".into()),
        "{reasons:?}"
    );
    assert_eq!(action(&cs, "api").0, Action::Keep);
    let text = render::text(&cs, Palette::PLAIN);
    assert!(
        text.contains("-/+ service \"web\" must be replaced"),
        "{text}"
    );
    assert!(text.contains("(known after apply)"), "{text}");
    assert!(
        text.contains("Plan: 0 to add, 0 to change, 2 to replace, 0 to destroy."),
        "{text}"
    );
}

#[test]
fn changed_command_replaces_only_that_service() {
    let cs = run(Some(r#"{"api_version": "2"}"#), &observed(), false);
    assert_eq!(
        action(&cs, "api"),
        (Action::Replace, vec!["cmd changed".to_string()])
    );
    assert_eq!(action(&cs, "web").0, Action::Keep);
    assert_eq!(action(&cs, "client").0, Action::Keep);
    // The request against the replaced api runs again; the exec on client does not.
    let run = tasks_to_run(&cs);
    assert!(
        run.iter().any(|t| t.starts_with("request on 'api'")),
        "{run:?}"
    );
    assert!(
        !run.iter().any(|t| t.starts_with("exec on 'client'")),
        "{run:?}"
    );
}

#[test]
fn empty_engine_creates_everything() {
    let obs = Observed {
        enclave: "t1".into(),
        ..Default::default()
    };
    let l = load(None);
    let cs = diff(&l.plan, &l.info, &obs, &Recorded::default(), false);
    assert!(cs.create_network);
    assert!(cs.services.iter().all(|s| s.action == Action::Create));
    assert!(cs.tasks.iter().all(|t| t.action == TaskAction::Run));
}

fn container<'a>(obs: &'a mut Observed, service: &str) -> &'a mut ObservedContainer {
    obs.containers
        .iter_mut()
        .find(|c| c.service == service)
        .expect("container")
}

#[test]
fn drift_is_shown_and_explained() {
    let mut obs = observed();
    obs.containers.retain(|c| c.service != "api");
    container(&mut obs, "client").state = "exited".into();
    let cs = run(None, &obs, false);
    assert_eq!(action(&cs, "api").0, Action::Create);
    let (a, reasons) = action(&cs, "client");
    assert_eq!(a, Action::Update);
    assert_eq!(reasons, vec!["container is exited: start it".to_string()]);
    assert_eq!(action(&cs, "web").0, Action::Keep);

    let mut obs = observed();
    {
        let web = container(&mut obs, "web");
        web.config_hash = Some("edited-by-hand".into());
        web.parts.insert("image".into(), "000000000000".into());
    }
    let cs = run(None, &obs, false);
    assert_eq!(action(&cs, "client").0, Action::Replace);
    assert_eq!(
        action(&cs, "web"),
        (Action::Replace, vec!["image changed".to_string()])
    );
}

#[test]
fn interrupted_creation_and_duplicates_are_repaired() {
    let mut obs = observed();
    container(&mut obs, "api").state = "created".into();
    let mut dup = container(&mut obs, "web").clone();
    dup.id = "0123456789ab".into();
    dup.name = "t1--web-old".into();
    dup.state = "exited".into();
    obs.containers.push(dup);
    let cs = run(None, &obs, false);
    let (a, reasons) = action(&cs, "api");
    assert_eq!(a, Action::Replace);
    assert!(reasons[0].contains("interrupted"), "{reasons:?}");
    let web = cs.services.iter().find(|s| s.name == "web").expect("web");
    assert_eq!(web.action, Action::Update);
    assert_eq!(web.duplicates, vec!["0123456789ab".to_string()]);
}

#[test]
fn orphans_are_listed_and_destroyed_only_with_prune() {
    let mut obs = observed();
    let mut old = container(&mut obs, "api").clone();
    old.service = "old".into();
    old.name = "t1--old".into();
    old.id = "feedfeedfeed".into();
    obs.containers.push(old);
    let cs = run(None, &obs, false);
    assert_eq!(cs.orphans.len(), 1);
    assert!(!cs.has_changes());
    assert!(render::text(&cs, Palette::PLAIN).contains("--prune"));
    let cs = run(None, &obs, true);
    assert!(cs.has_changes());
    assert!(render::text(&cs, Palette::PLAIN).contains("1 to destroy"));
}

#[test]
fn settings_changed_by_hand_are_repaired_in_place_when_docker_can() {
    // `docker update --pids-limit 10 --restart always`: reset in place.
    let mut obs = observed();
    let api = container(&mut obs, "api");
    api.settings.pids_limit = 10;
    api.settings.restart_policy = "always".into();
    let cs = run(None, &obs, false);
    let (a, reasons) = action(&cs, "api");
    assert_eq!(a, Action::Update);
    assert_eq!(
        reasons,
        vec![
            "pids limit is 10 on the engine, the package declares unlimited".to_string(),
            "restart policy is always on the engine, the package declares no".to_string(),
        ]
    );
    assert!(render::text(&cs, Palette::PLAIN).contains("~ service \"api\""));
    // Nothing that uses api is redone by an update in place.
    assert!(
        cs.tasks.iter().all(|t| t.action == TaskAction::Reuse),
        "{cs:#?}"
    );

    // `docker update --memory 64m` where the package declares no limit: Docker cannot
    // remove a limit in place, so the container is replaced.
    let mut obs = observed();
    container(&mut obs, "api").settings.memory = 64 << 20;
    let cs = run(None, &obs, false);
    assert_eq!(
        action(&cs, "api"),
        (
            Action::Replace,
            vec!["memory limit is 64M on the engine, the package declares none; Docker cannot remove it in place".to_string()]
        )
    );
}

#[test]
fn a_paused_container_is_unpaused() {
    let mut obs = observed();
    container(&mut obs, "web").state = "paused".into();
    let cs = run(None, &obs, false);
    assert_eq!(
        action(&cs, "web"),
        (
            Action::Update,
            vec!["container is paused: unpause it".to_string()]
        )
    );
    let web = cs.services.iter().find(|s| s.name == "web").expect("web");
    assert!(web.unpause && !web.start_only);
    // Unpausing keeps the container (and its address): nothing that uses it is redone.
    assert_eq!(action(&cs, "client").0, Action::Keep);
    assert!(cs.tasks.iter().all(|t| t.action == TaskAction::Reuse));
}

#[test]
fn a_container_off_the_enclave_network_is_replaced() {
    let mut obs = observed();
    container(&mut obs, "api").ip = None;
    let cs = run(None, &obs, false);
    assert_eq!(
        action(&cs, "api"),
        (
            Action::Replace,
            vec!["container is not on the enclave network".to_string()]
        )
    );
}

#[test]
fn own_addresses_are_kept_when_recorded_and_new_ones_take_the_lowest_free() {
    use kplan::executor::ipam;
    let (_dir, l) = support::load_script(
        r#"def run(plan):
    for n in ["a", "b", "x"]:
        plan.add_service(name = n, config = ServiceConfig(image = "busybox", cmd = ["echo", "KURTOSIS_IP_ADDR_PLACEHOLDER" if n != "x" else "none"]))
"#,
    );
    let mut obs = Observed {
        enclave: "t".into(),
        network: true,
        network_subnet: Some("172.30.5.0/24".into()),
        ..Default::default()
    };
    obs.containers.push(ObservedContainer {
        id: "o".into(),
        name: "t--old".into(),
        kind: "service".into(),
        service: "old".into(),
        state: "running".into(),
        ip: Some("172.30.5.2".into()),
        ..Default::default()
    });
    let mut rec = Recorded::default();
    rec.ips.insert("b".into(), "172.30.5.9".into());
    let subnet = ipam::network_subnet(&l.plan, &l.info, &obs);
    let got = ipam::assign(&l.plan, &l.info, &obs, &rec.ips, subnet);
    let got: Vec<(String, String)> = got
        .into_iter()
        .map(|(k, v)| (k, v.expect("known")))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".to_string(), "172.30.5.3".to_string()),
            ("b".to_string(), "172.30.5.9".to_string()),
        ]
    );

    // A network made by an older kplan: the placeholder needs a destroy first.
    obs.network_subnet = None;
    let err = ipam::network_subnet(&l.plan, &l.info, &obs).unwrap_err();
    assert!(err.contains("kplan destroy --enclave t"), "{err}");
    let cs = diff(&l.plan, &l.info, &obs, &rec, false);
    let text = render::text(&cs, Palette::PLAIN);
    assert!(text.contains("kplan destroy"), "{text}");
}

#[test]
fn what_uses_something_an_interrupted_apply_redid_is_still_redone() {
    // An apply replaced web, then was killed before it replaced client (whose config
    // uses web's address, unchanged here) and re-ran the exec on client.
    let mut obs = observed();
    container(&mut obs, "web").id = "0f0f0f0f0f0f-web-replaced".into();
    let cs = run(None, &obs, false);
    assert_eq!(action(&cs, "web").0, Action::Keep);
    assert_eq!(action(&cs, "api").0, Action::Keep);
    let (a, reasons) = action(&cs, "client");
    assert_eq!(a, Action::Replace);
    assert_eq!(
        reasons,
        vec!["a service, task result or files artifact it uses was replaced or re-run".to_string()]
    );
    let run = tasks_to_run(&cs);
    assert!(run[0].starts_with("exec on 'client'"), "{run:?}");
    assert_eq!(run.len(), 4, "{run:?}");

    // A task re-ran (a new run recorded) but what uses its result did not yet: those
    // run, even though the result's text is the same.
    let l = load(None);
    let mut rec = recorded();
    let page = rec
        .tasks
        .values_mut()
        .find(|t| t.output.starts_with("<h1>"))
        .expect("the exec's result");
    page.run = "a-later-run".into();
    let cs = diff(&l.plan, &l.info, &observed(), &rec, false);
    assert!(
        !cs.services.iter().any(|s| s.action != Action::Keep),
        "{cs:#?}"
    );
    let run = tasks_to_run(&cs);
    assert_eq!(run.len(), 3, "{run:?}");
    assert!(run[0].starts_with("print"), "{run:?}");
}
