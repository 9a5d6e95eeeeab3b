//! The validator's proof (`PlanInfo`) carries the facts backends and the executor used
//! to recompute, and the frontend turns `private_ip_address_placeholder` into typed
//! references (so nothing after it scans text for the placeholder).

use crate::support;

use kplan::cli::Loaded;
use kplan::ir::{Part, RuntimeRef, ServiceField, ServiceId, StrExpr, TaskId};

fn load(star: &str) -> Loaded {
    support::load_script(star).1
}

fn own(service: u32) -> Part {
    Part::Ref(RuntimeRef::Service {
        service: ServiceId(service),
        field: ServiceField::OwnIpAddress,
    })
}

#[test]
fn the_placeholder_becomes_a_typed_reference_to_the_service_itself() {
    let l = load(
        r#"
def run(plan):
    plan.add_service(name = "a", config = ServiceConfig(
        image = "busybox",
        cmd = ["--ip=MY_IP", "MY_IPMY_IP", "KURTOSIS_IP_ADDR_PLACEHOLDER"],
        env_vars = {"URL": "http://MY_IP:80/"},
        private_ip_address_placeholder = "MY_IP",
    ))
    plan.add_service(name = "b", config = ServiceConfig(
        image = "busybox",
        env_vars = {"SELF": "KURTOSIS_IP_ADDR_PLACEHOLDER", "OTHER": "MY_IP"},
    ))
"#,
    );
    let a = &l.plan.service(ServiceId(0)).config;
    assert_eq!(
        a.cmd,
        vec![
            StrExpr::from_parts([Part::Lit("--ip=".into()), own(0)]),
            StrExpr::from_parts([own(0), own(0)]),
            // Another service's (default) placeholder text is just text here.
            StrExpr::lit("KURTOSIS_IP_ADDR_PLACEHOLDER"),
        ]
    );
    assert_eq!(
        a.env_vars["URL"],
        StrExpr::from_parts([
            Part::Lit("http://".into()),
            own(0),
            Part::Lit(":80/".into())
        ])
    );
    let b = &l.plan.service(ServiceId(1)).config;
    assert_eq!(b.env_vars["SELF"], StrExpr::from_parts([own(1)]));
    assert_eq!(b.env_vars["OTHER"], StrExpr::lit("MY_IP"));
    let users: Vec<ServiceId> = l.info.own_address_users().iter().copied().collect();
    assert_eq!(users, vec![ServiceId(0), ServiceId(1)]);
}

#[test]
fn plan_info_carries_final_and_stopped_services_task_targets_and_steps() {
    let l = load(
        r#"
def run(plan):
    plan.add_service(name = "old", config = ServiceConfig(image = "busybox"))
    plan.exec(service_name = "old", recipe = ExecRecipe(command = ["true"]))
    plan.remove_service("old")
    plan.add_service(name = "old", config = ServiceConfig(image = "busybox"))
    plan.add_service(name = "db", config = ServiceConfig(image = "busybox"))
    plan.stop_service("db")
    plan.add_service(name = "web", config = ServiceConfig(image = "busybox"))
    plan.stop_service("web")
    plan.start_service("web")
    plan.exec(service_name = "old", recipe = ExecRecipe(command = ["true"]))
"#,
    );
    let info = &l.info;
    assert_eq!(info.final_service("old"), Some(ServiceId(1)));
    assert!(!info.is_final(ServiceId(0)));
    assert!(info.is_final(ServiceId(1)));
    let stopped: Vec<ServiceId> = info.stopped().iter().copied().collect();
    assert_eq!(
        stopped,
        vec![ServiceId(2)],
        "db stays stopped, web was restarted"
    );
    // Each exec runs against the service holding the name at that point.
    assert_eq!(info.task_service(TaskId(0)), Some(ServiceId(0)));
    assert_eq!(info.task_service(TaskId(1)), Some(ServiceId(1)));
    assert_eq!(info.service_step(ServiceId(1)), Some(3));
    assert_eq!(info.task_step(TaskId(1)), Some(9));
    assert!(info.own_address_users().is_empty());
}
