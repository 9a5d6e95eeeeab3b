//! Proves the test harness itself works: the Docker engine, the busybox image made with
//! no registry, container-to-container traffic by name on a network the test makes,
//! and the real validators installed by `scripts/setup-test-tools.sh`.

use crate::support;

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

/// Writes `files` (relative path, content) under a new directory in `root`.
fn write_tree(root: &std::path::Path, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = root.join(name);
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

/// The oracle helper passes a good input and names the bad one, for every kind, so a
/// backend test that relies on it cannot pass because the oracle checked nothing.
#[test]
fn oracles_accept_good_and_reject_bad_outputs() {
    if oracle_python().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();

    let good = write_tree(
        t,
        "compose-good",
        &[(
            "compose.yaml",
            "name: demo\nservices:\n  web:\n    image: kplan-test/busybox:local\n    networks: [n]\nnetworks:\n  n: {}\n",
        )],
    );
    let bad = write_tree(
        t,
        "compose-bad",
        &[(
            "compose.yaml",
            "services:\n  web:\n    image: x\n    networks: [missing]\n    bogus: 1\n",
        )],
    );
    let report = oracle_check("compose", &[&good, &bad]).unwrap_err();
    assert!(
        report.contains(&format!("ok {}", good.join("compose.yaml").display())),
        "{report}"
    );
    assert!(
        report.contains(&format!("FAIL {}", bad.join("compose.yaml").display())),
        "{report}"
    );
    assert!(report.contains("bogus"), "{report}");
    oracle_check("compose", &[&good]).unwrap();

    let chart = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
    let deploy = |replicas: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Release.Name }}}}-web\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n        - name: web\n          image: kplan-test/busybox:local\n"
        )
    };
    let good_deploy = deploy("{{ .Values.replicas }}");
    let bad_deploy = deploy("\"{{ .Values.replicas }}\"");
    let good = write_tree(
        t,
        "helm-good",
        &[
            ("Chart.yaml", chart),
            ("values.yaml", "replicas: 1\n"),
            ("templates/deploy.yaml", &good_deploy),
            ("templates/NOTES.txt", "installed {{ .Release.Name }}\n"),
        ],
    );
    let bad = write_tree(
        t,
        "helm-bad",
        &[
            ("Chart.yaml", chart),
            ("values.yaml", "replicas: 1\n"),
            ("templates/deploy.yaml", &bad_deploy),
        ],
    );
    let report = oracle_check("helm", &[&good, &bad]).unwrap_err();
    assert!(
        report.contains(&format!("ok {}", good.display())),
        "{report}"
    );
    assert!(
        report.contains(&format!("FAIL {}", bad.display())),
        "{report}"
    );
    assert!(report.contains("spec.replicas"), "{report}");

    let good = write_tree(
        t,
        "tf-good",
        &[(
            "main.tf",
            "resource \"docker_network\" \"n\" {\n  name = \"n\"\n}\n",
        )],
    );
    let unformatted = write_tree(
        t,
        "tf-fmt",
        &[(
            "main.tf",
            "resource \"docker_network\" \"n\" {\n  name   = \"n\"\n}\n",
        )],
    );
    let duplicate = write_tree(
        t,
        "tf-dup",
        &[(
            "main.tf",
            "resource \"docker_network\" \"n\" {\n  name = \"a\"\n}\n\nresource \"docker_network\" \"n\" {\n  name = \"b\"\n}\n",
        )],
    );
    let report = oracle_check("terraform", &[&good, &unformatted, &duplicate]).unwrap_err();
    assert!(
        report.contains(&format!("ok {}", good.display())),
        "{report}"
    );
    assert!(
        report.contains(&format!("FAIL {}: terraform fmt", unformatted.display())),
        "{report}"
    );
    assert!(report.contains("Duplicate resource"), "{report}");
}

/// Needs the engine and does nothing else: run by the test below with no engine.
#[test]
fn probe_needs_docker() {
    require_docker();
}

#[test]
fn a_skip_is_reported_after_the_summary_and_fails_where_required() {
    let run = |require: bool| {
        let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
        cmd.args([
            "--exact",
            "infra::probe_needs_docker",
            "--test-threads",
            "1",
        ])
        .env("DOCKER_HOST", "unix:///nonexistent/kplan-test-docker.sock")
        .env_remove("KPLAN_REQUIRE_DOCKER")
        .stdin(std::process::Stdio::null());
        if require {
            cmd.env("KPLAN_REQUIRE_DOCKER", "1");
        }
        let out = cmd.output().expect("run the test binary");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = run(false);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}");
    assert!(
        stderr.contains(
            "skipped: 1 test(s) did not run their checks:\n  infra::probe_needs_docker: no Docker engine"
        ),
        "the skip is not reported:\n{stdout}\n{stderr}"
    );
    let (ok, stdout, stderr) = run(true);
    assert!(
        !ok,
        "KPLAN_REQUIRE_DOCKER=1 let a skip pass:\n{stdout}{stderr}"
    );
}
