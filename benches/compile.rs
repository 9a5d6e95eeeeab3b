//! Compile-time benchmark (not a test): generates packages of N chained services
//! (each service's env refers to the previous one's hostname, and each mounts a
//! rendered template), runs the release `kplan compile --target plan` on each, and
//! prints wall time (median of 5 runs) and peak memory.
//!
//! Run: `cargo bench --bench compile` (builds kplan in release mode first).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn package(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(
        dir.join("kurtosis.yml"),
        format!("name: github.com/kplan-bench/chain-{n}\n"),
    )
    .expect("write");
    let main = format!(
        r#"def run(plan, args = {{}}):
    prev = None
    for i in range({n}):
        env = {{"INDEX": str(i)}}
        if prev != None:
            env["UPSTREAM"] = "http://{{}}:8080".format(prev.hostname)
        cfg = plan.render_templates(
            config = {{"app.conf": struct(template = "index={{{{ .Index }}}}\nupstream={{{{ .Up }}}}\n", data = {{"Index": i, "Up": env.get("UPSTREAM", "none")}})}},
            name = "conf-{{}}".format(i),
        )
        prev = plan.add_service(
            name = "svc-{{}}".format(i),
            config = ServiceConfig(
                image = "kplan-test/busybox:local",
                ports = {{"http": PortSpec(number = 8080, application_protocol = "http")}},
                files = {{"/etc/app": cfg}},
                env_vars = env,
                cmd = ["httpd", "-f", "-p", "8080"],
            ),
        )
"#
    );
    std::fs::write(dir.join("main.star"), main).expect("write");
}

fn peak_rss_kib() -> i64 {
    // ru_maxrss of the largest child waited for so far (KiB on Linux).
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a full rusage into the pointer we pass.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    if rc != 0 {
        return -1;
    }
    // SAFETY: getrusage returned 0, so the struct is initialised.
    unsafe { usage.assume_init() }.ru_maxrss
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_kplan");
    let tmp = std::env::temp_dir().join(format!("kplan-bench-{}", std::process::id()));
    println!("kplan compile --target plan, N chained services (median of 5 runs)");
    println!(
        "{:>6} {:>12} {:>14} {:>12}",
        "N", "time", "per service", "peak RSS"
    );
    let mut rows = Vec::new();
    for n in [10usize, 100, 1000] {
        let dir = tmp.join(format!("chain-{n}"));
        package(&dir, n);
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let out = Command::new(bin)
                .args([
                    "compile",
                    dir.to_str().unwrap_or_default(),
                    "--target",
                    "plan",
                ])
                .output()
                .expect("run kplan");
            times.push(start.elapsed());
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        times.sort();
        let median = times[2];
        let rss = peak_rss_kib();
        println!(
            "{n:>6} {:>10.1}ms {:>12.3}ms {:>9.1}MiB",
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3 / n as f64,
            rss as f64 / 1024.0
        );
        rows.push((n, median));
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let growth = last.1.as_secs_f64() / first.1.as_secs_f64();
        println!(
            "growth from N={} to N={}: {:.1}x time for {}x services (goal: N=1000 under 300ms, linear)",
            first.0,
            last.0,
            growth,
            last.0 / first.0
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
