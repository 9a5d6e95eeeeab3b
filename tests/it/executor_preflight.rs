//! What `kplan apply` refuses before it changes anything, beyond missing images (which
//! tests/it/executor_e2e.rs covers): a task against a service the package removes later,
//! and an engine it cannot reach (the error names the address and what failed).

use crate::support;

use std::process::Command;
use support::{busybox_image, docker, require_docker, unique_name};

#[test]
fn a_task_on_a_service_removed_later_is_refused_before_any_change() {
    if !require_docker() {
        return;
    }
    busybox_image();
    let enclave = unique_name("kp-rm");
    let state = tempfile::tempdir().expect("state dir");
    let dir = tempfile::tempdir().expect("package dir");
    std::fs::write(
        dir.path().join("main.star"),
        r#"IMAGE = "kplan-test/busybox:local"
def run(plan):
    plan.add_service(name = "seed", config = ServiceConfig(image = IMAGE, cmd = ["sleep", "1000"]))
    r = plan.exec(service_name = "seed", recipe = ExecRecipe(command = ["echo", "hi"]))
    plan.remove_service("seed")
    plan.add_service(name = "app", config = ServiceConfig(image = IMAGE, cmd = ["sleep", "1000"], env_vars = {"SEED": r["output"]}))
"#,
    )
    .expect("write package");
    let pkg = dir.path().join("main.star");
    let run = |cmd: &str, extra: &[&str]| {
        Command::new(support::kplan_bin())
            .arg(cmd)
            .arg(&pkg)
            .args(["--enclave", &enclave, "--state-dir"])
            .arg(state.path())
            .args(extra)
            .output()
            .expect("run kplan")
    };

    let o = run("apply", &["--yes"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[KP504]"), "{err}");
    assert!(err.contains("main.star:4:9"), "{err}");
    assert!(err.contains("'seed' is added here"), "{err}");
    assert!(err.contains("and removed here"), "{err}");
    let net = docker(["network", "inspect", &format!("kplan-{enclave}")]);
    assert!(!net.status.success(), "apply created the network");

    // `plan` changes nothing, so it shows the plan with the problem as a warning.
    let o = run("plan", &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning[KP504]"));
}

/// Runs `kplan status` against `DOCKER_HOST=host`; returns (exit code, stderr, seconds).
fn status_against(host: &str) -> (Option<i32>, String, f64) {
    let start = std::time::Instant::now();
    let o = Command::new(support::kplan_bin())
        .args(["status", "--enclave", "x"])
        .env("DOCKER_HOST", host)
        .output()
        .expect("run kplan");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        start.elapsed().as_secs_f64(),
    )
}

#[test]
fn a_refused_tcp_engine_names_the_address_and_the_refusal() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    let (code, err, _) = status_against(&format!("tcp://127.0.0.1:{port}"));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("tcp://127.0.0.1:{port}")) && err.contains("refused"),
        "{err}"
    );
}

#[test]
fn a_tcp_engine_that_never_answers_is_reported_as_such() {
    // Accepts connections (the kernel completes the handshake) but never reads.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (code, err, secs) = status_against(&format!("tcp://127.0.0.1:{port}"));
    drop(listener);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("tcp://127.0.0.1:{port}"))
            && err.contains("accepted the connection but did not answer")
            && err.contains("within 20s"),
        "{err}"
    );
    assert!(secs < 60.0, "took {secs}s");
}

#[test]
fn a_tcp_engine_whose_connection_times_out_is_reported_as_such() {
    // A listener whose backlog is full: further connection attempts get no answer.
    let listener = socket_with_backlog_zero();
    let port = listener.local_addr().expect("addr").port();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            std::time::Duration::from_millis(300),
        ) {
            fillers.push(s);
        }
    }
    let (code, err, _) = status_against(&format!("tcp://127.0.0.1:{port}"));
    drop(fillers);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("tcp://127.0.0.1:{port}")) && err.contains("timed out"),
        "{err}"
    );
}

/// A listening TCP socket on 127.0.0.1 with a backlog of 0 (std's listener uses 128).
fn socket_with_backlog_zero() -> std::net::TcpListener {
    use std::os::unix::io::FromRawFd;
    // SAFETY: plain socket calls on a descriptor we create and hand to TcpListener.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::bind(
            fd,
            &addr as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "bind");
        assert_eq!(libc::listen(fd, 0), 0, "listen");
        std::net::TcpListener::from_raw_fd(fd)
    }
}
