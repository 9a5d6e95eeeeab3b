//! Whole-process measurements: each command is started, reaped with `wait4`, and its
//! wall time (a monotonic clock around start and reap) and peak RSS (the kernel's
//! `ru_maxrss` for that child alone) recorded, with its CPU time (user + system, the
//! kernel's accounting for that child: steadier than wall time on a busy machine). Commands of one comparison run in
//! turn (A B C A B C ...), so a change in the machine's load moves all of them alike.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One command to measure: what the table calls it, and how to start it.
pub struct Job {
    pub label: String,
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Medians over the runs of one job.
pub struct Figures {
    pub label: String,
    pub wall_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub cpu_ms: f64,
    pub peak_mib: f64,
}

/// One run: wall and CPU milliseconds and peak RSS in KiB; an error with stderr if it
/// failed.
fn run_once(job: &Job, scratch: &Path) -> Result<(f64, f64, i64), String> {
    let err_path = scratch.join("stderr.txt");
    let err = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let child = Command::new(&job.program)
        .args(&job.args)
        .envs(job.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .map_err(|e| format!("{}: {e}", job.program))?;
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 reaps our own child and fills the status and rusage we pass.
    let pid = unsafe {
        libc::wait4(
            libc::pid_t::try_from(child.id()).expect("a child's pid fits pid_t"),
            &mut status,
            0,
            usage.as_mut_ptr(),
        )
    };
    let wall = start.elapsed().as_secs_f64() * 1e3;
    if pid <= 0 {
        return Err(format!("wait4 failed for {}", job.label));
    }
    // SAFETY: wait4 succeeded, so the struct is initialised.
    let usage = unsafe { usage.assume_init() };
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        return Err(format!(
            "{} failed ({status}):\n{}",
            job.label,
            stderr.lines().take(10).collect::<Vec<_>>().join("\n")
        ));
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    Ok((
        wall,
        ms(usage.ru_utime) + ms(usage.ru_stime),
        usage.ru_maxrss,
    ))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs every job once untimed (warm caches), then `runs` times in turn; medians.
pub fn compare(jobs: &[Job], runs: usize, scratch: &Path) -> Result<Vec<Figures>, String> {
    let mut walls: Vec<Vec<f64>> = vec![Vec::new(); jobs.len()];
    let mut cpus: Vec<Vec<f64>> = vec![Vec::new(); jobs.len()];
    let mut peaks: Vec<Vec<f64>> = vec![Vec::new(); jobs.len()];
    for job in jobs {
        run_once(job, scratch)?;
    }
    for _ in 0..runs {
        for (i, job) in jobs.iter().enumerate() {
            let (wall, cpu, kib) = run_once(job, scratch)?;
            walls[i].push(wall);
            cpus[i].push(cpu);
            peaks[i].push(kib as f64 / 1024.0);
        }
    }
    let mut figures = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let w = &mut walls[i];
        figures.push(Figures {
            label: job.label.clone(),
            wall_ms: median(w),
            min_ms: w.iter().copied().fold(f64::INFINITY, f64::min),
            max_ms: w.iter().copied().fold(0.0, f64::max),
            cpu_ms: median(&mut cpus[i]),
            peak_mib: median(&mut peaks[i]),
        });
    }
    Ok(figures)
}

/// The 1-minute load average, for the report (timings on a busy machine stretch).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}
