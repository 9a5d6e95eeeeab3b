//! Proves the test harness itself works: the Docker engine, the busybox image made with
//! no registry, container-to-container traffic by name on a network the test makes,
//! and the real validators installed by `scripts/setup-test-tools.sh`.

mod support;

use support::*;

#[test]
fn busybox_containers_talk_by_name_on_a_test_network() {
    if !require_docker() {
        return;
    }
    let image = busybox_image();
    let mut cleanup = DockerCleanup::new();
    let net = cleanup.network(&unique_name("kplan-infra-net"));
    let server = cleanup.container(&unique_name("kplan-infra-srv"));
    let client = cleanup.container(&unique_name("kplan-infra-cli"));

    // --internal: nothing on this network can reach past this host.
    docker_ok(["network", "create", "--internal", &net]);
    docker_ok([
        "run",
        "-d",
        "--name",
        &server,
        "--network",
        &net,
        &image,
        "sh",
        "-c",
        "echo hello-from-kplan > /var/www/index.html && exec httpd -f -p 80 -h /var/www",
    ]);
    let url = format!("http://{server}/index.html");
    let body = docker_ok([
        "run",
        "--name",
        &client,
        "--network",
        &net,
        &image,
        "sh",
        "-c",
        // httpd may need a moment to listen: bounded retries.
        &format!("for i in $(seq 100); do wget -q -O - {url} && exit 0; sleep 0.1; done; exit 1"),
    ]);
    assert_eq!(body.trim(), "hello-from-kplan");
}

#[test]
fn compose_binary_is_the_real_v2() {
    if compose_bin().is_none() {
        return;
    }
    let out = docker_compose(["version", "--short"]);
    assert!(out.status.success(), "{out:?}");
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.trim().starts_with("2."),
        "expected Compose v2, got {version:?}"
    );
}

#[test]
fn compose_is_installed_as_a_docker_cli_plugin() {
    if compose_bin().is_none() || !require_docker() {
        return;
    }
    let out = std::process::Command::new("docker")
        .args(["compose", "version", "--short"])
        .env("DOCKER_CONFIG", repo_root().join(".tools/docker-config"))
        .output()
        .expect("run docker compose");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout)
        .trim()
        .starts_with("2."));
}
