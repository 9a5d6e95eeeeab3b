//! How legitimate package layouts resolve, through the real `kplan` binary: a package
//! in a subdirectory of its repository, a dependency that names the root package,
//! symbolic links inside a package, and files that are not regular files.
//! (Attempts to reach outside a package are in tests/it/attacks.rs.)

use crate::support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn link(target: &str, at: &Path) {
    std::os::unix::fs::symlink(target, at).expect("symlink");
}

/// Runs kplan with a time limit (a FIFO once made compile hang forever).
fn kplan(cache: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(support::kplan_bin());
    cmd.args(args)
        .arg("--package-cache")
        .arg(cache)
        .arg("--offline")
        .env_remove("KPLAN_PACKAGE_CACHE");
    support::output_within(&mut cmd, Duration::from_secs(30)).expect("kplan finished in 30 s")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_package_in_a_subdirectory_finds_its_repository_through_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path();
    // The published repository, in the cache.
    let mono = t.join("cache/github.com/acme/mono");
    write(
        &mono.join("shared/lib.star"),
        "def hi():\n    return 'cached'\n",
    );
    // A local checkout of the whole repository, whose shared/ differs: the root is the
    // package directory, so `/shared` is the repository's, from the cache, as Kurtosis
    // fetches it, never the directory above the package.
    let checkout = t.join("work/mono");
    write(
        &checkout.join("shared/lib.star"),
        "def hi():\n    return 'above the package'\n",
    );
    let app = checkout.join("packages/app");
    write(
        &app.join("kurtosis.yml"),
        "name: github.com/acme/mono/packages/app\n",
    );
    write(&app.join("data.txt"), "own");
    write(
        &app.join("main.star"),
        "shared = import_module('/shared/lib.star')\nup = import_module('../../shared/lib.star')\n\ndef run(plan):\n    plan.print(' '.join([shared.hi(), up.hi(), read_file('/packages/app/data.txt'), read_file('./data.txt')]))\n",
    );
    let o = kplan(
        &t.join("cache"),
        &["compile", &app.display().to_string(), "--target", "plan"],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("message: cached cached own own"), "{out}");
}

#[test]
fn a_dependency_that_names_the_root_package_gets_the_local_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path();
    let cache = t.join("cache");
    write(
        &cache.join("github.com/acme/dep/dep.star"),
        "app = import_module('github.com/acme/app/version.star')\nVERSION = app.VERSION\n",
    );
    write(
        &cache.join("github.com/acme/app/version.star"),
        "VERSION = 'cached'\n",
    );
    let app = t.join("app");
    write(&app.join("kurtosis.yml"), "name: github.com/acme/app\n");
    write(&app.join("version.star"), "VERSION = 'local'\n");
    write(
        &app.join("main.star"),
        "dep = import_module('github.com/acme/dep/dep.star')\n\ndef run(plan):\n    plan.print(dep.VERSION)\n",
    );
    let o = kplan(
        &cache,
        &["compile", &app.display().to_string(), "--target", "plan"],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("message: local"), "{out}");
    // Within the root package itself an absolute locator to it is refused, as Kurtosis
    // does, with the relative form to use.
    write(
        &app.join("main.star"),
        "v = import_module('github.com/acme/app/version.star')\n\ndef run(plan):\n    plan.print(v.VERSION)\n",
    );
    let o = kplan(&cache, &["validate", &app.display().to_string()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[KP004]")
            && err.contains("main.star:1:5")
            && err.contains("'/version.star'"),
        "{err}"
    );
}

#[test]
fn symbolic_links_inside_the_package_are_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("pkg");
    write(&pkg.join("kurtosis.yml"), "name: github.com/acme/links\n");
    write(&pkg.join("static/a.txt"), "a");
    write(&pkg.join("other/b.txt"), "b");
    link("../other/b.txt", &pkg.join("static/link.txt"));
    link("../other", &pkg.join("static/dir"));
    write(
        &pkg.join("main.star"),
        "def run(plan):\n    plan.upload_files(src = './static', name = 'site')\n    plan.print(read_file('./static/link.txt') + read_file('./static/dir/b.txt'))\n",
    );
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let o = kplan(
        &cache,
        &[
            "compile",
            &pkg.display().to_string(),
            "--target",
            "compose",
            "-o",
            &out.display().to_string(),
        ],
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let site = out.join("artifacts/site");
    for (file, content) in [("a.txt", "a"), ("link.txt", "b"), ("dir/b.txt", "b")] {
        assert_eq!(
            std::fs::read_to_string(site.join(file)).ok().as_deref(),
            Some(content),
            "{file} in {}",
            site.display()
        );
    }
    // A link back to a directory that contains it would be walked forever: an error.
    link("..", &pkg.join("other/up"));
    let o = kplan(&cache, &["validate", &pkg.display().to_string()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[KP004]")
            && err.contains("symbolic link loop")
            && err.contains("main.star:2:5"),
        "{err}"
    );
}

#[test]
fn files_that_are_not_regular_files_are_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("pkg");
    write(&pkg.join("kurtosis.yml"), "name: github.com/acme/special\n");
    write(&pkg.join("static/index.html"), "hi");
    let fifo = pkg.join("static/pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    write(&pkg.join("sock/readme.txt"), "x");
    let _socket = std::os::unix::net::UnixListener::bind(pkg.join("sock/server.sock"))
        .expect("bind a socket");
    let cache = dir.path().join("cache");
    let cases = [
        (
            "plan.upload_files(src = './static')",
            "main.star:2:5",
            "'static/pipe' is a named pipe (FIFO)",
        ),
        (
            "plan.upload_files(src = '/sock')",
            "main.star:2:5",
            "'sock/server.sock' is a socket",
        ),
        (
            "plan.print(read_file('./static/pipe'))",
            "main.star:2:16",
            "'static/pipe' is a named pipe (FIFO)",
        ),
        (
            "import_module('./mods/pipe.star')",
            "main.star:2:5",
            "'mods/pipe.star' is a named pipe (FIFO)",
        ),
    ];
    std::fs::create_dir_all(pkg.join("mods")).expect("mkdir");
    link("../static/pipe", &pkg.join("mods/pipe.star"));
    for (call, at, says) in cases {
        write(
            &pkg.join("main.star"),
            &format!("def run(plan):\n    {call}\n"),
        );
        for cmd in [
            vec!["validate", pkg.to_str().unwrap_or_default()],
            vec![
                "compile",
                pkg.to_str().unwrap_or_default(),
                "--target",
                "plan",
            ],
        ] {
            let o = kplan(&cache, &cmd);
            let (out, err) = text(&o);
            assert_eq!(o.status.code(), Some(1), "{call}: {err}");
            assert!(out.is_empty(), "{call}: {out}");
            assert!(
                err.contains("error[KP004]")
                    && err.contains(says)
                    && err.contains(at)
                    && err.contains("= help: a package holds only regular files and directories"),
                "{call}: {err}"
            );
        }
    }
}

#[test]
fn a_cache_entry_may_link_to_a_checkout_elsewhere() {
    // The cache is the user's: linking a checkout into it is how to develop a
    // dependency outside the package (a local `replace` must stay inside the package).
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path();
    write(&t.join("src/dep/dep.star"), "WHERE = 'checkout'\n");
    std::fs::create_dir_all(t.join("cache/github.com/acme")).expect("mkdir");
    link("../../../src/dep", &t.join("cache/github.com/acme/dep"));
    let app = t.join("app");
    write(&app.join("kurtosis.yml"), "name: github.com/acme/app\n");
    write(
        &app.join("main.star"),
        "dep = import_module('github.com/acme/dep/dep.star')\n\ndef run(plan):\n    plan.print(dep.WHERE)\n",
    );
    let o = kplan(
        &t.join("cache"),
        &["compile", &app.display().to_string(), "--target", "plan"],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("message: checkout"), "{out}");
}
