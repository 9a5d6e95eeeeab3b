//! The Helm chart's run-time values on the real engine, without a cluster: the
//! objects Helm renders for fixtures/valid/runtime-values are run as a kubelet would
//! run them, one pod after another on the Docker engine (each claim a Docker volume,
//! each ConfigMap volume a directory of its items with their modes, init containers
//! first, every command after the kubelet's `$(VAR)` expansion, the Job name from the
//! downward API). The run_sh Job computes the value (quotes, `$`, spaces, a glob
//! character, newlines); the task Job that stores it, the render Job and the two
//! Deployments that read it must hold it exactly. Proves that the scripts, mounts,
//! done markers and waits of the chart fit together; Kubernetes scheduling itself is
//! not exercised. Containers and volumes are always removed.

use crate::support;

use crate::helm_support::{find, job, kubelet_expand, objects, render};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FIXTURE: &str = "fixtures/valid/runtime-values";
const VALUE: &str = "it's a \"quoted\" $HOME value\nsecond  line *\n";

/// Docker volumes and containers removed when dropped.
#[derive(Default)]
struct Cleanup {
    volumes: Vec<String>,
    containers: Vec<String>,
    network: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = support::docker(["rm", "-f", c.as_str()]);
        }
        for v in &self.volumes {
            let _ = support::docker(["volume", "rm", "-f", v.as_str()]);
        }
        if let Some(n) = &self.network {
            let _ = support::docker(["network", "rm", n.as_str()]);
        }
    }
}

/// A minimal kubelet: runs pods of rendered objects on the engine, on one network
/// where a Deployment's container answers to its Service's name (they are equal).
struct Kubelet {
    network: String,
    tmp: PathBuf,
    /// Claim name -> Docker volume.
    claims: BTreeMap<String, String>,
    configmaps: BTreeMap<String, Value>,
    clean: Cleanup,
    n: usize,
}

impl Kubelet {
    fn new(tmp: &Path, objs: &[&Value]) -> Kubelet {
        let network = support::unique_name("kplan-hp");
        let mut k = Kubelet {
            network: network.clone(),
            tmp: tmp.to_owned(),
            claims: BTreeMap::new(),
            configmaps: BTreeMap::new(),
            clean: Cleanup::default(),
            n: 0,
        };
        k.clean.network = Some(network.clone());
        support::docker_ok(["network", "create", network.as_str()]);
        for o in objs {
            let name = o["metadata"]["name"].as_str().expect("name").to_owned();
            match o["kind"].as_str() {
                Some("PersistentVolumeClaim") => {
                    let v = support::unique_name("kplan-hp");
                    k.clean.volumes.push(v.clone());
                    support::docker_ok(["volume", "create", v.as_str()]);
                    k.claims.insert(name, v);
                }
                Some("ConfigMap") => {
                    k.configmaps.insert(name, (*o).clone());
                }
                _ => {}
            }
        }
        k
    }

    /// A directory holding a ConfigMap volume's items at their paths and modes.
    fn configmap_dir(&mut self, source: &Value) -> PathBuf {
        self.n += 1;
        let dir = self.tmp.join(format!("cm-{}", self.n));
        let cm = &self.configmaps[source["name"].as_str().expect("configmap name")];
        for item in source["items"].as_array().expect("items") {
            let key = item["key"].as_str().expect("key");
            let path = dir.join(item["path"].as_str().expect("path"));
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let text = cm["data"][key].as_str().expect("text data");
            std::fs::write(&path, text).expect("write item");
            let mode = item["mode"].as_u64().unwrap_or(0o644) as u32;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        dir
    }

    /// `-v` arguments for a container's mounts in a pod.
    fn mounts(&mut self, pod: &Value, c: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            let name = m["name"].as_str().expect("mount name");
            let path = m["mountPath"].as_str().expect("mount path");
            let ro = if m["readOnly"] == true { ":ro" } else { "" };
            let v = pod["volumes"]
                .as_array()
                .expect("volumes")
                .iter()
                .find(|v| v["name"] == name)
                .expect("volume of mount");
            let source = if let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str() {
                self.claims[claim].clone()
            } else {
                let dir = self.configmap_dir(&v["configMap"]);
                dir.to_str().expect("utf-8").to_owned()
            };
            out.push("-v".into());
            out.push(format!("{source}:{path}{ro}"));
        }
        out
    }

    /// Runs one container; `detach` for a Deployment's, else until it exits 0.
    fn run(&mut self, pod: &Value, c: &Value, job_name: &str, alias: Option<&str>) -> String {
        let name = support::unique_name("kplan-hp");
        self.clean.containers.push(name.clone());
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for e in c["env"].as_array().into_iter().flatten() {
            let k = e["name"].as_str().expect("env name").to_owned();
            let v = match e["value"].as_str() {
                Some(v) => kubelet_expand(v, &env),
                None => job_name.to_owned(),
            };
            env.insert(k, v);
        }
        let expand = |k: &str| -> Vec<String> {
            c[k].as_array()
                .into_iter()
                .flatten()
                .map(|s| kubelet_expand(s.as_str().expect("word"), &env))
                .collect()
        };
        // `command` replaces the image's entrypoint, `args` its cmd.
        let (command, cmd_args) = (expand("command"), expand("args"));
        let mut args = vec!["run".to_owned(), "--name".into(), name.clone()];
        args.push(if alias.is_some() { "-d" } else { "--init" }.into());
        args.extend(["--network".to_owned(), self.network.clone()]);
        if let Some(a) = alias {
            args.extend(["--network-alias".to_owned(), a.to_owned()]);
        }
        for (k, v) in &env {
            args.extend(["-e".to_owned(), format!("{k}={v}")]);
        }
        args.extend(self.mounts(pod, c));
        if let Some((entry, rest)) = command.split_first() {
            args.extend(["--entrypoint".to_owned(), entry.clone()]);
            args.push(c["image"].as_str().expect("image").to_owned());
            args.extend(rest.iter().cloned());
        } else {
            args.push(c["image"].as_str().expect("image").to_owned());
        }
        args.extend(cmd_args);
        let mut cmd = std::process::Command::new("docker");
        cmd.args(&args);
        let out = support::output_within(&mut cmd, Duration::from_secs(120))
            .unwrap_or_else(|| panic!("{} did not finish", c["name"]));
        assert!(
            out.status.success(),
            "container {} failed: {}{}",
            c["name"],
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        name
    }

    /// Runs a pod: its init containers in order, then its container and, for a
    /// Deployment, its `postStart` handler; returns the container's name (running,
    /// for a Deployment).
    fn pod(&mut self, o: &Value) -> String {
        let pod = o["spec"]["template"]["spec"].clone();
        let name = o["metadata"]["name"].as_str().expect("name").to_owned();
        for c in pod["initContainers"].as_array().into_iter().flatten() {
            self.run(&pod, c, &name, None);
        }
        let c = &pod["containers"][0];
        if o["kind"] != "Deployment" {
            return self.run(&pod, c, &name, None);
        }
        let running = self.run(&pod, c, &name, Some(&name));
        if let Some(hook) = c["lifecycle"]["postStart"]["exec"]["command"].as_array() {
            let mut args = vec!["exec".to_owned(), running.clone()];
            args.extend(
                hook.iter()
                    .map(|w| kubelet_expand(w.as_str().expect("word"), &BTreeMap::new())),
            );
            let mut cmd = std::process::Command::new("docker");
            cmd.args(&args);
            let out = support::output_within(&mut cmd, Duration::from_secs(120))
                .unwrap_or_else(|| panic!("postStart of {name} did not finish"));
            assert!(
                out.status.success(),
                "postStart of {name} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        running
    }
}

/// Compiles `fixture` to a chart (with `extra` flags) and renders it as release `t`
/// with the tools image stand-in; `None` when Docker or the oracles are missing.
fn rendered(fixture: &str, extra: &[&str]) -> Option<(tempfile::TempDir, Rendered)> {
    if !support::require_docker() {
        return None;
    }
    support::busybox_image();
    let tools = support::tools_image();
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("chart");
    let mut args = vec!["compile", fixture, "--target", "helm", "-o"];
    args.push(chart.to_str().expect("utf-8"));
    args.extend_from_slice(extra);
    support::kplan_ok(&args);
    let values = json!({"tools": {"image": tools}});
    let r = render(&[(&chart, "t", "default", values)])?;
    Some((tmp, r.into_iter().next().expect("one render")))
}

/// One render's manifests, by template.
type Rendered = BTreeMap<String, Vec<Value>>;

#[test]
fn the_charts_jobs_and_pods_carry_the_value_exactly() {
    let images = format!("{FIXTURE}/image-config.json");
    let Some((tmp, r)) = rendered(FIXTURE, &["--image-config", &images]) else {
        return;
    };
    let objs = objects(&r);
    let mut k = Kubelet::new(tmp.path(), &objs);
    // In an order the done markers allow: each pod's waits are for earlier Jobs.
    for prefix in [
        "t-runtime-values-make-value",
        "t-runtime-values-use-value",
        "t-runtime-values-render-conf",
    ] {
        let j = job(&r, prefix).clone();
        k.pod(&j);
    }
    let holder = k.pod(find(&r, "Deployment", "t-runtime-values-holder"));
    let plain = k.pod(find(&r, "Deployment", "t-runtime-values-plain"));
    let want = vec![
        (&holder, "/tmp/env", VALUE.to_owned()),
        (&holder, "/tmp/arg", format!("prefix:{VALUE}")),
        (
            &holder,
            "/etc/app/app.conf",
            format!("value={VALUE}\nend\n"),
        ),
        (&holder, "/etc/app/static.txt", "static\n".to_owned()),
        (&holder, "/used/out/env.txt", VALUE.to_owned()),
        (&holder, "/used/out/script.txt", VALUE.to_owned()),
        (&plain, "/tmp/env", VALUE.to_owned()),
    ];
    check(&want);
}

/// Each (container, path, content): the file holds exactly the content (the
/// Deployments write their files as they start).
fn check(want: &[(&String, &str, String)]) {
    let mut problems = Vec::new();
    for (c, path, want) in want {
        let mut got = String::new();
        for _ in 0..50 {
            let out = support::docker(["exec", c.as_str(), "cat", path]);
            if out.status.success() {
                got = String::from_utf8(out.stdout).expect("utf-8");
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if got != *want {
            problems.push(format!("{path}: got {got:?}, want {want:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_copy_out_of_a_running_service_reaches_its_consumer() {
    let Some((tmp, r)) = rendered("fixtures/valid/compose-e2e", &[]) else {
        return;
    };
    let objs = objects(&r);
    let mut k = Kubelet::new(tmp.path(), &objs);
    // web's postStart runs its exec, then copies /etc/passwd into the claim.
    let web = k.pod(find(&r, "Deployment", "t-compose-e2e-web"));
    k.pod(find(&r, "Deployment", "t-compose-e2e-client"));
    let j = job(&r, "t-compose-e2e-make-result").clone();
    k.pod(&j);
    let j = job(&r, "t-compose-e2e-request-web").clone();
    k.pod(&j);
    let consumer = k.pod(find(&r, "Deployment", "t-compose-e2e-consumer"));
    let passwd = support::docker_ok(["exec", web.as_str(), "cat", "/etc/passwd"]);
    check(&[
        (&consumer, "/passwd/passwd", passwd),
        (&consumer, "/data/result.txt", "stored-by-task\n".to_owned()),
        (
            &consumer,
            "/page/index.html",
            "hello from kplan\n".to_owned(),
        ),
        (&web, "/tmp/self.html", "hello from kplan\n".to_owned()),
    ]);
}
