//! End to end on the real engine: `kplan compile --target compose` of
//! fixtures/valid/compose-e2e, then the real Compose v2 binary runs it with
//! `up --wait` (busybox test image, no pulls, only the project's network), and the
//! test checks over `docker exec` that the rendered page is served, that the client
//! reaches the server by its hostname (and its rendered config holds that name), that
//! the exec hooks ran, that the request's one-shot succeeded, and that the consumer
//! sees the files the run_sh task and store_service_files stored.
//! The project is always removed with `down -v`, also when the test fails.

use crate::support;

fn exec(container: &str, script: &str) -> String {
    support::docker_ok(["exec", container, "sh", "-c", script])
}

#[test]
fn compose_project_runs_on_the_real_engine() {
    if !support::require_docker() || support::compose_bin().is_none() {
        return;
    }
    support::busybox_image();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("deploy");
    support::compile_compose("fixtures/valid/compose-e2e", &dir);
    let compose = support::ComposeProject::new(&dir.join("compose.yaml"), "kplan-e2e");
    compose.up(120);
    let project = compose.name.clone();
    let client = format!("{project}-client-1");
    let consumer = format!("{project}-consumer-1");
    // The rendered template is served by httpd, reached by the service's hostname.
    assert_eq!(
        exec(&client, "wget -q -O- http://web:80/index.html"),
        "hello from kplan\n"
    );
    assert_eq!(
        exec(&client, "wget -q -O- \"$WEB_URL\""),
        "hello from kplan\n"
    );
    // A template whose data held the hostname rendered with the DNS name.
    assert_eq!(
        exec(&client, "cat /etc/client/client.conf"),
        "url=http://web:80/index.html\n"
    );
    assert_eq!(
        exec(
            &client,
            "wget -q -O- \"$(sed -n 's/^url=//p' /etc/client/client.conf)\""
        ),
        "hello from kplan\n"
    );
    // `$` reached the container unchanged, and the exec hook ran.
    assert_eq!(exec(&client, "printf %s \"$LITERAL\""), "$HOME stays");
    assert_eq!(exec(&client, "cat /tmp/started"), "started\n");
    // The consumer sees the file the run_sh task stored.
    assert_eq!(exec(&consumer, "cat /data/result.txt"), "stored-by-task\n");
    // store_service_files: from a mounted artifact, and from the image.
    assert_eq!(
        exec(&consumer, "cat /page/index.html"),
        "hello from kplan\n"
    );
    assert!(exec(&consumer, "cat /passwd/passwd").starts_with("root:"));
    // The exec on web waited for web to be ready before fetching its own page.
    assert_eq!(
        exec(&format!("{project}-web-1"), "cat /tmp/self.html"),
        "hello from kplan\n"
    );
    // An uploaded script keeps its executable bit.
    assert_eq!(
        exec(&consumer, "/scripts/hello.sh"),
        "hello from a script\n"
    );
    // The exec with an accepted, verified exit code 3 ran as a hook.
    assert_eq!(exec(&client, "test -f /tmp/three && echo yes"), "yes\n");
    // The request ran to completion in its one-shot container.
    let state = support::docker_ok([
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        &format!("{project}-request-web-1"),
    ]);
    assert_eq!(state.trim(), "exited 0");
}
