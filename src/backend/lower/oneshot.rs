//! The commands of the model's one-shot jobs, for the targets that run jobs as
//! containers (Compose, Terraform): the `/bin/sh -c` script of a `request` (run in the
//! target service's image) and of kplan's own jobs (preparing the value store, jq
//! extracts, polling a `wait` whose result is read, a `verify`; run in the tools
//! image), and the command of a `run_sh`/`run_python`. Run-time values are read from
//! the value store mounted at [`VALUES_DIR`]. Images, mounts and names stay the
//! target's.

use super::program::Program;
use super::script::{one_shot, request_script, wget_words, Command};
use super::store::{Word, Writes, VALUES_DIR};
use super::text::Text;
use super::value_scripts::{
    extract_script, store_init_script, verify_script, wait_script, WaitField,
};
use super::JobKind;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Plan, ServiceId, TaskField};

/// A job that runs one `/bin/sh -c` script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellJob {
    /// In this service's image (a `request`).
    InServiceImage(ServiceId, String),
    /// In the tools image.
    InTools(String),
}

/// How a target writes what a script needs: a text as a shell word, a service's
/// hostname.
pub struct Writer<'a> {
    pub word: &'a dyn Fn(&Text) -> Word,
    pub host: &'a dyn Fn(ServiceId) -> String,
}

fn abs(p: &str) -> String {
    format!("{VALUES_DIR}/{p}")
}

fn abs_all(outputs: &[(String, String)]) -> Vec<(String, String)> {
    outputs.iter().map(|(f, p)| (f.clone(), abs(p))).collect()
}

/// The script of a job that is one shell script; `None` for the kinds whose container
/// the target builds itself (`run_sh`/`run_python`: [`program_command`]; copies and
/// renders, which need the target's mounts), and for a `wait` or `verify` whose
/// comparison no shell test expresses (KP201 for a `wait`, pushed onto `diags`).
pub fn shell_job(
    plan: &Plan,
    kind: &JobKind,
    w: &Writer,
    diags: &mut Vec<Diagnostic>,
) -> Option<ShellJob> {
    match kind {
        JobKind::Task(_) | JobKind::Copy { .. } | JobKind::Render { .. } => None,
        JobKind::Request(r) => {
            let authority = format!("{}:{}", (w.host)(r.call.service), r.call.port);
            let body = r.call.body.as_ref().map(|b| (w.word)(b));
            let argv = wget_words(&r.call, &authority, body);
            let writes = Writes::under(&r.results, VALUES_DIR);
            Some(ShellJob::InServiceImage(
                r.call.service,
                request_script(&argv, &r.codes, &r.verify, &writes),
            ))
        }
        JobKind::StoreInit => Some(ShellJob::InTools(store_init_script())),
        JobKind::Extract {
            input,
            json,
            outputs,
            ..
        } => Some(ShellJob::InTools(extract_script(
            &abs(input),
            *json,
            &abs_all(outputs),
        ))),
        JobKind::Wait {
            task,
            call,
            field,
            filter,
            assertion,
            target,
            interval,
            timeout,
            body,
            results,
            outputs,
        } => {
            let authority = format!("{}:{}", (w.host)(call.service), call.port);
            let req_body = call.body.as_ref().map(|b| (w.word)(b));
            let argv = wget_words(call, &authority, req_body);
            let field = match (field, filter) {
                (TaskField::Code, _) => WaitField::Code,
                (_, Some(f)) => WaitField::Extract(f.clone()),
                (TaskField::Output | TaskField::Body | TaskField::Extract(_), None) => {
                    WaitField::Body
                }
            };
            let secs = interval.as_std().as_secs().max(1);
            let tries = timeout.as_std().as_secs().div_ceil(secs).max(1);
            let script = wait_script(
                &argv,
                &abs(&format!("{body}.poll")),
                &field,
                *assertion,
                target,
                secs,
                tries,
                &Writes::under(results, VALUES_DIR),
                &abs_all(outputs),
            );
            if script.is_none() {
                let t = plan.task(*task);
                diags.push(
                    Diagnostic::error(
                        Code::KP201,
                        format!("the result of plan.wait is read, but its comparison ({} {}) cannot be written as a shell test, so kplan cannot poll it at run time", assertion.as_str(), serde_json::to_string(target).unwrap_or_default()),
                        Some(t.at.clone()),
                    )
                    .with_hint("compare with ==, != or IN against strings or integers, or deploy with `kplan apply`"),
                );
            }
            script.map(ShellJob::InTools)
        }
        JobKind::Verify {
            value,
            assertion,
            target,
            ..
        } => verify_script(&(w.word)(value), *assertion, target).map(ShellJob::InTools),
    }
}

/// The entrypoint and command of a `run_sh`/`run_python` container: the shared
/// one-shot wrapper ([`one_shot`]) with the run-time values it reads, the `store`
/// copies (source path -> directory in the container) and the results it publishes.
pub fn program_command(
    p: &Program,
    word: &dyn Fn(&Text) -> Word,
    store: &[(String, String)],
) -> Command {
    let argv: Vec<Word> = p.argv.iter().map(word).collect();
    let value_env: Vec<(String, Word)> = p
        .env
        .iter()
        .filter(|(_, v)| v.has_values())
        .map(|(k, v)| (k.clone(), word(v)))
        .collect();
    one_shot(
        &argv,
        &value_env,
        p.setup.as_deref(),
        &p.codes,
        &p.verify,
        store,
        &Writes::under(&p.results, VALUES_DIR),
    )
}
