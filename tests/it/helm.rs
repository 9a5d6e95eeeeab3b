//! The Helm target looked at from inside the rendered objects (Helm's own renderer,
//! through tests/oracles/oracle.py `helm-render`, every object also validated against
//! the Kubernetes schemas): adversarial strings arrive exactly, values overrides land,
//! two releases share a namespace without a name collision, the chart flags, and the
//! refusals (stdout, a bad version). Goldens, lint and default renders are in
//! tests/it/golden.rs.

use crate::{escaping_fixture, support};

use crate::helm_support::{argv, find, job, kubelet_expand, names, objects, render};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn compile_chart(case: &str, dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "compile",
        case,
        "--target",
        "helm",
        "-o",
        dir.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    support::kplan_ok(&args);
}

#[test]
fn kubelet_expansion_model() {
    let defined = BTreeMap::from([("A".to_owned(), "x".to_owned())]);
    assert_eq!(
        kubelet_expand("$(A)-$$(A)-$(B)-$-$", &defined),
        "x-$(A)-$(B)-$-$"
    );
    assert_eq!(kubelet_expand("é$$", &defined), "é$");
}

#[test]
fn adversarial_strings_render_exactly() {
    let escaping_fixture::Expected {
        env: want_env,
        labels: want_labels,
        argv: want_argv,
    } = escaping_fixture::expected();
    assert!(want_env.values().any(|v| v.contains("{{")));

    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    compile_chart("fixtures/valid/compose-escaping", &chart, &[]);
    let Some(r) = render(&[(&chart, "esc", "default", Value::Null)]) else {
        return;
    };
    let d = find(&r[0], "Deployment", "esc-compose-escaping-strings");
    let pod = &d["spec"]["template"];
    let c = &pod["spec"]["containers"][0];
    // The kubelet expands env values in order, each seeing those before it.
    let mut defined = BTreeMap::new();
    let mut env = BTreeMap::new();
    for e in c["env"].as_array().expect("env") {
        let name = e["name"].as_str().expect("name").to_owned();
        let value = kubelet_expand(e["value"].as_str().expect("value"), &defined);
        defined.insert(name.clone(), value.clone());
        env.insert(name, value);
    }
    assert_eq!(env, want_env);
    let argv: Vec<String> = ["command", "args"]
        .iter()
        .flat_map(|k| c[*k].as_array().expect("list").clone())
        .map(|s| kubelet_expand(s.as_str().expect("string"), &defined))
        .collect();
    assert_eq!(argv, want_argv);
    for (k, v) in &want_labels {
        assert_eq!(
            pod["metadata"]["labels"][k].as_str(),
            Some(v.as_str()),
            "label {k}"
        );
        assert_eq!(
            d["metadata"]["labels"][k].as_str(),
            Some(v.as_str()),
            "label {k}"
        );
    }
}

#[test]
fn values_overrides_land_in_the_objects() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    compile_chart("fixtures/valid/helm-lowering", &chart, &[]);
    let overrides = json!({
        "services": {
            "api": {
                "image": "web:2.1",
                "resources": {"limits": {"cpu": "3", "memory": "1Gi"}},
                "serviceType": "LoadBalancer",
                "labels": {"team": "blue"},
                "annotations": {"note": "{{ kept }}"}
            },
            "db": {"persistence": {"db-data": {"size": "5Gi", "storageClass": "fast"}}}
        },
        "tools": {"image": "tools:1"}
    });
    let Some(r) = render(&[
        (&chart, "dev", "default", Value::Null),
        (&chart, "dev", "default", overrides),
    ]) else {
        return;
    };
    let (base, over) = (&r[0], &r[1]);
    let api = |m| find(m, "Deployment", "dev-helm-lowering-api");
    let container = |m| api(m)["spec"]["template"]["spec"]["containers"][0].clone();
    assert_eq!(container(base)["image"], "kplan-test/busybox:local");
    assert_eq!(container(over)["image"], "web:2.1");
    assert_eq!(container(base)["resources"], json!({}));
    assert_eq!(
        container(over)["resources"],
        json!({"limits": {"cpu": "3", "memory": "1Gi"}})
    );
    let public = |m| find(m, "Service", "dev-helm-lowering-api-public")["spec"]["type"].clone();
    assert_eq!(public(base), "ClusterIP");
    assert_eq!(public(over), "LoadBalancer");
    let pod_meta = &api(over)["spec"]["template"]["metadata"];
    assert_eq!(pod_meta["labels"]["team"], "blue");
    assert_eq!(pod_meta["annotations"]["note"], "{{ kept }}");
    assert!(pod_meta["annotations"]["checksum/files-index"].is_string());
    let init = &api(over)["spec"]["template"]["spec"]["initContainers"][0];
    assert_eq!(init["image"], "tools:1");
    let pvc =
        |m| find(m, "PersistentVolumeClaim", "dev-helm-lowering-data-db-data")["spec"].clone();
    assert_eq!(pvc(base)["resources"]["requests"]["storage"], "2048Mi");
    assert!(pvc(base).get("storageClassName").is_none());
    assert_eq!(pvc(over)["resources"]["requests"]["storage"], "5Gi");
    assert_eq!(pvc(over)["storageClassName"], "fast");
    // The db's defaults are untouched by the api's overrides.
    let db = find(over, "Deployment", "dev-helm-lowering-db");
    assert_eq!(
        db["spec"]["template"]["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "2", "memory": "512M"}, "requests": {"cpu": "100m", "memory": "64M"}})
    );
}

#[test]
fn two_releases_share_a_namespace() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    compile_chart("fixtures/valid/helm-lowering", &chart, &[]);
    let long = "a-very-long-release-name-that-is-fifty-three-chars-xx";
    let Some(r) = render(&[
        (&chart, "one", "shared", Value::Null),
        (&chart, "two", "shared", Value::Null),
        (&chart, long, "shared", Value::Null),
        // Helm accepts dots in a release name; a Service name is a DNS label.
        (&chart, "dev.eu", "shared", Value::Null),
    ]) else {
        return;
    };
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, m) in r.iter().enumerate() {
        let mut services = BTreeSet::new();
        for o in objects(m) {
            let kind = o["kind"].as_str().expect("kind").to_owned();
            let name = o["metadata"]["name"].as_str().expect("name").to_owned();
            assert!(name.len() <= 63, "{kind} {name} is longer than 63");
            assert!(
                seen.insert((kind.clone(), name.clone())),
                "{kind} {name} of release {i} collides with another release's"
            );
            if kind == "Service" {
                let label = name.starts_with(|c: char| c.is_ascii_lowercase())
                    && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                assert!(label, "Service {name} of release {i} is not a DNS label");
                services.insert(name);
            }
        }
        // Every address the release's pods use is one of its own Services.
        for o in objects(m).into_iter().filter(|o| o["kind"] == "Deployment") {
            let c = &o["spec"]["template"]["spec"]["containers"][0];
            for e in c["env"].as_array().into_iter().flatten() {
                let v = e["value"].as_str().unwrap_or_default();
                if let Some(rest) = v.strip_prefix("http://") {
                    let host = rest.split(':').next().unwrap_or_default();
                    assert!(
                        services.contains(host),
                        "{host} is not a Service of release {i}"
                    );
                }
                if e["name"] == "DB_IP" {
                    assert!(services.contains(v), "{v} is not a Service of release {i}");
                }
            }
        }
    }
}

#[test]
fn chart_version_flags_and_refusals() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    compile_chart(
        "fixtures/valid/helm-lowering",
        &chart,
        &["--chart-version", "1.4.0-rc.1", "--app-version", "2.1"],
    );
    let text = std::fs::read_to_string(chart.join("Chart.yaml")).expect("Chart.yaml");
    let y: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    assert_eq!(y["version"], "1.4.0-rc.1");
    assert_eq!(y["appVersion"], "2.1");
    assert_eq!(y["name"], "helm-lowering");

    let bad = support::run_kplan(&[
        "compile",
        "fixtures/valid/helm-lowering",
        "--target",
        "helm",
        "-o",
        tmp.path().join("bad").to_str().expect("path"),
        "--chart-version",
        "1.4",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("KP306"));
    assert!(!tmp.path().join("bad").exists());

    let stdout = support::run_kplan(&[
        "compile",
        "fixtures/valid/helm-lowering",
        "--target",
        "helm",
    ]);
    assert_eq!(stdout.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stdout.stderr).contains("KP207"));
    assert!(stdout.stdout.is_empty());
}

#[test]
fn configmaps_hold_the_files_exactly() {
    use base64::Engine as _;
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    compile_chart("fixtures/valid/helm-lowering", &chart, &[]);
    let Some(r) = render(&[(&chart, "dev", "default", Value::Null)]) else {
        return;
    };
    let fixture = support::repo_root().join("fixtures/valid/helm-lowering/static");
    let cm = find(&r[0], "ConfigMap", "dev-helm-lowering-files-static");
    let blob = base64::engine::general_purpose::STANDARD
        .decode(cm["binaryData"]["blob.bin"].as_str().expect("base64"))
        .expect("valid base64");
    assert_eq!(blob, std::fs::read(fixture.join("blob.bin")).expect("blob"));
    for (key, path) in [("index.html", "index.html"), ("sub_run.sh", "sub/run.sh")] {
        let want = std::fs::read_to_string(fixture.join(path)).expect("file");
        assert_eq!(cm["data"][key].as_str(), Some(want.as_str()), "{path}");
    }
    let conf = find(&r[0], "ConfigMap", "dev-helm-lowering-files-app-conf");
    assert_eq!(
        conf["data"]["app.conf"],
        "db=dev-helm-lowering-db:5432\nbraces={{ .Values }}{\n"
    );
    // Each file goes back to its path, with its mode.
    let api = find(&r[0], "Deployment", "dev-helm-lowering-api");
    let volumes = api["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes");
    let projected = volumes
        .iter()
        .find_map(|v| v["projected"]["sources"].as_array())
        .expect("a projected volume");
    let run = projected[0]["configMap"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["path"] == "sub/run.sh")
        .expect("run.sh item");
    assert_eq!(run["mode"], 0o755);
}

#[test]
fn an_exec_runs_as_a_post_start_handler_after_readiness() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    compile_chart("fixtures/valid/web-db", &chart, &["--offline"]);
    let Some(r) = render(&[(&chart, "dev", "default", Value::Null)]) else {
        return;
    };
    let web = find(&r[0], "Deployment", "dev-web-db-web");
    let c = &web["spec"]["template"]["spec"]["containers"][0];
    let command: Vec<String> = c["lifecycle"]["postStart"]["exec"]["command"]
        .as_array()
        .expect("postStart command")
        .iter()
        .map(|s| kubelet_expand(s.as_str().expect("string"), &BTreeMap::new()))
        .collect();
    assert_eq!(command[..2], ["/bin/sh", "-c"]);
    assert!(command[2].starts_with("n=0; until "), "{}", command[2]);
    assert!(command[2].contains("\"$0\" \"$@\""), "{}", command[2]);
    assert_eq!(command[3..], ["cat", "/etc/app/app.conf"]);
}

#[test]
fn a_configmap_over_one_mib_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pkg = tmp.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(
        pkg.join("kurtosis.yml"),
        "name: github.com/kplan-tests/big\n",
    )
    .expect("yml");
    std::fs::write(pkg.join("big.txt"), "x".repeat(1024 * 1024 + 1)).expect("big");
    std::fs::write(
        pkg.join("main.star"),
        "def run(plan):\n    big = plan.upload_files(src = \"./big.txt\", name = \"big\")\n    plan.add_service(name = \"web\", config = ServiceConfig(image = \"busybox\", files = {\"/data\": big}))\n",
    )
    .expect("main.star");
    let out_dir = tmp.path().join("chart");
    let out = support::run_kplan(&[
        "compile",
        pkg.to_str().expect("path"),
        "--target",
        "helm",
        "-o",
        out_dir.to_str().expect("path"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("KP302") && stderr.contains("1048577 bytes"),
        "{stderr}"
    );
    assert!(stderr.contains("main.star:2:"), "{stderr}");
    assert!(!out_dir.exists());
}

#[test]
fn a_task_is_a_job_named_by_its_pod_template() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    compile_chart("fixtures/valid/helm-lowering", &chart, &[]);
    let other_tools = json!({"tools": {"image": "example.com/tools:2"}});
    let Some(r) = render(&[
        (&chart, "dev", "default", Value::Null),
        (&chart, "dev", "default", Value::Null),
        (&chart, "dev", "default", other_tools),
    ]) else {
        return;
    };
    let job = job(&r[0], "dev-helm-lowering-smoke-test");
    // Not a hook: a Deployment waiting for a post-install hook deadlocks --wait.
    assert!(job["metadata"]["annotations"]["helm.sh/hook"].is_null());
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(job["spec"]["backoffLimit"], 0);
    // Its `wait` (60 s) is not a deadline: it waits for db first, and a Job's
    // deadline counts its init containers too.
    assert!(job["spec"]["activeDeadlineSeconds"].is_null());
    let c = &pod["containers"][0];
    assert_eq!(
        argv(c),
        [
            "/bin/sh",
            "-c",
            "\"$0\" \"$@\" && : > \"/kplan/values/.kplan-done/$KPLAN_JOB_NAME\"",
            "/bin/sh",
            "-c",
            "nc -z dev-helm-lowering-db 5432 && cat /conf/app.conf && echo $HOME {{x}}"
        ]
    );
    assert_eq!(
        c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.labels['batch.kubernetes.io/job-name']"
    );
    let init: Vec<&str> = pod["initContainers"]
        .as_array()
        .expect("init containers")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(init, ["prepare", "wait-db"]);
    // The same values give the same Job (not run again on upgrade); a change to its
    // pod template gives a new one (Job templates are immutable).
    assert_eq!(names(&r[0], "Job"), names(&r[1], "Job"));
    assert!(names(&r[0], "Job").is_disjoint(&names(&r[2], "Job")));
}

#[test]
fn run_time_values_flow_through_jobs_and_claims() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    let fixture = "fixtures/valid/runtime-values";
    let images = format!("{fixture}/image-config.json");
    compile_chart(fixture, &chart, &["--image-config", &images]);
    let storage = json!({"runtimeStorage": {"storageClass": "nfs", "accessMode": "ReadWriteMany",
        "valueStoreSize": "8Mi", "artifactSize": "2Gi"}});
    let Some(r) = render(&[
        (&chart, "dev", "default", Value::Null),
        (&chart, "dev", "default", storage),
    ]) else {
        return;
    };
    let jobs = names(&r[0], "Job");
    let claims = names(&r[0], "PersistentVolumeClaim");
    assert!(
        claims.contains("dev-runtime-values-value-store"),
        "{claims:?}"
    );
    // Every wait for a Job waits for the marker its Job writes, named as the Job.
    let mut waits = 0;
    for o in objects(&r[0]) {
        let pod = match o["kind"].as_str() {
            Some("Deployment" | "Job") => &o["spec"]["template"]["spec"],
            _ => continue,
        };
        for c in pod["initContainers"].as_array().into_iter().flatten() {
            let cmd = c["command"][2].as_str().unwrap_or_default();
            let Some(rest) = cmd.strip_prefix("until [ -e /kplan/values/.kplan-done/") else {
                continue;
            };
            let name = rest.split(' ').next().expect("marker");
            assert!(jobs.contains(name), "{name} is not a Job of {jobs:?}");
            waits += 1;
        }
        // Every claim a pod mounts is one of the release's.
        for v in pod["volumes"].as_array().into_iter().flatten() {
            if let Some(c) = v["persistentVolumeClaim"]["claimName"].as_str() {
                assert!(claims.contains(c), "{c} not in {claims:?}");
            }
        }
    }
    assert!(waits >= 8, "{waits}");
    // A task that waits for nothing keeps its `wait` as the Job's deadline.
    let made = job(&r[0], "dev-runtime-values-make-value");
    assert_eq!(made["spec"]["activeDeadlineSeconds"], 180);
    // The task that stores `used` writes its claim; the holder reads it, after it.
    let used = job(&r[0], "dev-runtime-values-use-value");
    let pod = &used["spec"]["template"]["spec"];
    let store0 = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "store-0")
        .expect("store-0");
    assert_eq!(
        store0["persistentVolumeClaim"]["claimName"],
        "dev-runtime-values-artifact-used"
    );
    let holder = find(&r[0], "Deployment", "dev-runtime-values-holder");
    let hpod = &holder["spec"]["template"]["spec"];
    let vols = hpod["volumes"].as_array().expect("volumes");
    let used_vol = vols
        .iter()
        .find(|v| v["persistentVolumeClaim"]["claimName"] == "dev-runtime-values-artifact-used")
        .expect("holder mounts used");
    assert_eq!(used_vol["persistentVolumeClaim"]["readOnly"], true);
    let init: Vec<&str> = hpod["initContainers"]
        .as_array()
        .expect("init")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert!(init.contains(&"wait-use-value"), "{init:?}");
    assert!(init.contains(&"wait-render-conf"), "{init:?}");
    // The holder starts through the wrapper that reads the value.
    let words = argv(&hpod["containers"][0]);
    assert_eq!(words[..2], ["/bin/sh", "-c"]);
    assert!(
        words[2].contains("$(cat /kplan/values/make-value/output && echo .)"),
        "{}",
        words[2]
    );
    // The storage values land in every claim.
    for o in objects(&r[1])
        .into_iter()
        .filter(|o| o["kind"] == "PersistentVolumeClaim")
    {
        assert_eq!(o["spec"]["accessModes"], json!(["ReadWriteMany"]));
        assert_eq!(o["spec"]["storageClassName"], "nfs");
    }
}

#[test]
fn private_use_marker_look_alikes_in_package_text_stay_text() {
    // kplan marks service names in shell text and rendered files with U+F8F0 name
    // U+F8F1 plus the plan's digest; the same characters in the package are text.
    let tmp = tempfile::tempdir().expect("tempdir");
    let pkg = tmp.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(
        pkg.join("kurtosis.yml"),
        "name: github.com/kplan-tests/pua\n",
    )
    .expect("yml");
    std::fs::write(
        pkg.join("main.star"),
        "def run(plan):\n    db = plan.add_service(name = \"db\", config = ServiceConfig(image = \"busybox\", ports = {\"p\": PortSpec(number = 5432)}))\n    conf = plan.render_templates(config = {\"a.txt\": struct(template = \"\u{F8F0}db\u{F8F1} {{ .H }}\", data = {\"H\": db.hostname})}, name = \"conf\")\n    plan.run_sh(name = \"t\", run = \"echo \u{F8F0}db\u{F8F1} \" + db.hostname, image = \"busybox\")\n    plan.add_service(name = \"web\", config = ServiceConfig(image = \"busybox\", env_vars = {\"X\": \"\u{F8F0}db\u{F8F1}\"}, files = {\"/c\": conf}))\n",
    )
    .expect("main.star");
    let chart = tmp.path().join("chart");
    compile_chart(pkg.to_str().expect("path"), &chart, &[]);
    let Some(r) = render(&[(&chart, "dev", "default", Value::Null)]) else {
        return;
    };
    let web = find(&r[0], "Deployment", "dev-pua-web");
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        "\u{F8F0}db\u{F8F1}"
    );
    let cm = find(&r[0], "ConfigMap", "dev-pua-files-conf");
    assert_eq!(cm["data"]["a.txt"], "\u{F8F0}db\u{F8F1} dev-pua-db");
    let t = job(&r[0], "dev-pua-t");
    let words = argv(&t["spec"]["template"]["spec"]["containers"][0]);
    assert_eq!(
        words.last().expect("script"),
        "echo \u{F8F0}db\u{F8F1} dev-pua-db"
    );
}
