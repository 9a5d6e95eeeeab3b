//! The scale series: generated packages of N chained services (each service's env
//! refers to the previous one's hostname, and each mounts a rendered template),
//! compiled for every target. Growth from N=10 to N=1000 should be linear.

use crate::measure::{compare, Job};
use crate::{compile_job, print_table};
use std::path::Path;

pub const SIZES: [usize; 3] = [10, 100, 1000];

fn package(dir: &Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("kurtosis.yml"),
        format!("name: github.com/kplan-bench/chain-{n}\n"),
    )?;
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
    std::fs::write(dir.join("main.star"), main)
}

/// Times every target on every size; prints one table and the growth per target.
pub fn series(kplan: &str, targets: &[String], runs: usize, scratch: &Path) -> Result<(), String> {
    let mut jobs: Vec<Job> = Vec::new();
    for n in SIZES {
        let dir = scratch.join(format!("chain-{n}"));
        package(&dir, n).map_err(|e| e.to_string())?;
        for t in targets {
            let mut job = compile_job(kplan, &dir, t, &scratch.join(format!("chain-{n}-{t}")), &[]);
            job.label = format!("N={n:<5} {}", job.label);
            jobs.push(job);
        }
    }
    let rows = compare(&jobs, runs, scratch)?;
    print_table(
        &format!("N chained services, whole process, median of {runs}"),
        &rows,
        &[],
    );
    for (i, t) in targets.iter().enumerate() {
        let first = &rows[i];
        let last = &rows[(SIZES.len() - 1) * targets.len() + i];
        println!(
            "--target {t}: N={} -> N={}: {:.1}x time for {}x services; {:.2} ms per service at N={}",
            SIZES[0],
            SIZES[SIZES.len() - 1],
            last.wall_ms / first.wall_ms,
            SIZES[SIZES.len() - 1] / SIZES[0],
            last.wall_ms / SIZES[SIZES.len() - 1] as f64,
            SIZES[SIZES.len() - 1],
        );
    }
    println!("goal: N=1000 under 150 ms, linear");
    Ok(())
}
