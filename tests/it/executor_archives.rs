//! Files artifacts through real containers' tar archives: a run_sh task and a service
//! write files with long paths (over the 100 and 255 bytes of the old header fields),
//! odd modes and a hard link; `store`/`store_service_files` copy them out (the Docker
//! engine's archive, pax headers and hard link entries), and a service that mounts the
//! artifacts (kplan's archive, GNU long names) holds exactly those files.

use crate::support::{busybox_image, docker_ok, require_docker, ApplyEnclave};

const DIR: &str = "a-directory-name-long-enough-that-with-the-file-below-the-path-needs-more-than-the-hundred-bytes-of-a-plain-tar-header";
const FILE: &str = "and-a-file-name-that-alone-is-over-one-hundred-bytes-so-the-whole-path-passes-two-hundred-fifty-five-bytes.txt";

fn package() -> String {
    let make = format!(
        "mkdir -p /out/{DIR} && printf 'long\\n' > /out/{DIR}/{FILE} && printf 'x' > /out/exe \
         && chmod 750 /out/exe && ln /out/exe /out/hard && ln -s exe /out/soft"
    );
    format!(
        r#"IMAGE = "kplan-test/busybox:local"
def run(plan):
    task = plan.run_sh(name = "make", run = "{make}", image = IMAGE, store = [StoreSpec(src = "/out", name = "from-task")])
    plan.add_service(name = "src", config = ServiceConfig(image = IMAGE, cmd = ["sh", "-c", "{make} && exec sleep 1000"]))
    plan.wait(service_name = "src", recipe = ExecRecipe(command = ["cat", "/out/hard"]), field = "code", assertion = "==", target_value = 0, timeout = "20s")
    copied = plan.store_service_files(service_name = "src", src = "/out", name = "from-service")
    plan.add_service(name = "user", config = ServiceConfig(image = IMAGE, cmd = ["sleep", "1000"], files = {{"/t": task.files_artifacts[0], "/s": copied}}))
"#
    )
}

#[test]
fn long_paths_modes_and_hard_links_survive_both_ways() {
    if !require_docker() {
        return;
    }
    busybox_image();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.star"), package()).expect("write");
    let e = ApplyEnclave::new("kp-tar");
    e.apply(&dir.path().join("main.star").to_string_lossy());
    let user = e.container("user");
    for root in ["/t", "/s"] {
        let long = format!("{root}/out/{DIR}/{FILE}");
        assert_eq!(docker_ok(["exec", &user, "cat", &long]), "long\n");
        let modes = docker_ok([
            "exec",
            &user,
            "stat",
            "-c",
            "%a %s %n",
            &format!("{root}/out/exe"),
            &format!("{root}/out/hard"),
        ]);
        let want = format!("750 1 {root}/out/exe\n750 1 {root}/out/hard\n");
        assert_eq!(modes, want);
        // Artifacts hold regular files only: the symbolic link is not copied.
        let listed = docker_ok(["exec", &user, "ls", &format!("{root}/out")]);
        assert_eq!(listed, format!("{DIR}\nexe\nhard\n"));
    }
}
