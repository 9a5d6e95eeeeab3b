//! The scripts of kplan's own jobs on the value store, in POSIX sh: preparing the
//! store ([`store_init_script`]), computing jq extracts with Kurtosis's rules
//! ([`extract_script`]), checking a `verify` ([`verify_script`]), polling a `wait`
//! whose result is read ([`wait_script`]), and the wrapper that starts a service whose
//! entrypoint, cmd or env holds a run-time value ([`start_script`]). The words they
//! read and the results they write are [`super::store`]'s, with its exactness rules.

use super::script::{quote, test};
use super::store::{Reads, Word, Writes, VALUES_DIR};
use crate::ir::{Assertion, Data};

/// Makes the store writable by every user a producer may run as.
pub fn store_init_script() -> String {
    format!("chmod 1777 {VALUES_DIR}")
}

/// The jq program of an extract with Kurtosis's rules (see [`super::values`]).
pub fn jq_program(filter: &str, json: bool) -> String {
    let input = if json {
        "(if length != 1 then error(\"the response body is not one JSON value\") else .[0] end)"
    } else {
        "."
    };
    // The filter on its own lines, so a `#` comment in it ends there.
    format!(
        "{input}\n| [ (\n{filter}\n) ]\n| if length == 0 then error(\"the filter gave no result\") elif length == 1 then .[0] else . end\n| if type == \"string\" then . elif type == \"number\" and . == floor and (if . < 0 then 0 - . else . end) < 9e15 then (floor | tostring) else tojson end\n"
    )
}

/// Computes jq extracts of `input` (a request's body, parsed as JSON, or an exec's
/// output, as one JSON string) into their files.
pub fn extract_script(input: &str, json: bool, outputs: &[(String, String)]) -> String {
    let mut s = String::new();
    for (filter, out) in outputs {
        let tmp = format!("{out}.tmp");
        s.push_str(&format!(
            "jq -j {}-s {} < {} > {} && mv {} {} || exit 1; ",
            if json { "" } else { "-R " },
            quote(&jq_program(filter, json)),
            quote(input),
            quote(&tmp),
            quote(&tmp),
            quote(out)
        ));
    }
    s.push_str("exit 0");
    s
}

/// Checks a `verify` of a run-time value; `None` when a shell test cannot express
/// the comparison.
pub fn verify_script(value: &Word, assertion: Assertion, target: &Data) -> Option<String> {
    let check = test("\"$v\"", assertion, target)?;
    let reads = Reads::of([value]);
    let want = format!(
        "{} {}",
        assertion.as_str(),
        serde_json::to_string(target).unwrap_or_default()
    );
    Some(format!(
        "{}v={}; {check} || {{ printf 'plan.verify failed: %s %s\\n' \"$v\" {} >&2; exit 1; }}; exit 0",
        reads.prelude,
        reads.word(value),
        quote(&want)
    ))
}

/// The field a wait job compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitField {
    Code,
    Body,
    /// A jq filter on the body (parsed as JSON).
    Extract(String),
}

/// Polls an HTTP request (`argv`: [`super::script::wget_words`], its body saved to
/// `body_tmp`) until `field assertion target` holds, at most `tries` times `secs`
/// apart, as `kplan apply` waits; then computes the extracts read (`outputs`: jq
/// filter, file) from that last body and publishes the results (`writes`). `None`
/// when a shell test cannot express the comparison.
#[allow(
    clippy::too_many_arguments,
    reason = "a wait's fields with its retry budget, each a different kind of input"
)]
pub fn wait_script(
    argv: &[Word],
    body_tmp: &str,
    field: &WaitField,
    assertion: Assertion,
    target: &Data,
    secs: u64,
    tries: u64,
    writes: &Writes,
    outputs: &[(String, String)],
) -> Option<String> {
    let check = test("\"$v\"", assertion, target)?;
    let reads = Reads::of(argv);
    let mut headers = argv.to_vec();
    if let Some(i) = headers
        .iter()
        .position(|x| x.as_lit().as_deref() == Some("-O"))
    {
        headers[i + 1] = Word::lit(body_tmp);
    }
    headers.insert(1, Word::lit("-S"));
    let b = quote(body_tmp);
    let get = match field {
        WaitField::Code => "v=$code".to_owned(),
        WaitField::Body => format!("v=$(cat {b} && echo .) && v=${{v%.}}"),
        WaitField::Extract(filter) => format!(
            "v=$(jq -j -s {} < {b} 2>/dev/null && echo .) && v=${{v%.}}",
            quote(&jq_program(filter, true))
        ),
    };
    let mut s = format!("{}{}", reads.prelude, writes.mkdirs());
    if let Some((d, _)) = body_tmp.rsplit_once('/') {
        let mkdir = format!("mkdir -p {} || exit 1; ", quote(d));
        if !s.contains(&mkdir) {
            s.push_str(&mkdir);
        }
    }
    s.push_str(&format!(
        "n=0; while :; do rm -f {b}; code=$({} 2>&1 | sed -n 's/^ *HTTP\\/[0-9.]* \\([0-9][0-9]*\\).*/\\1/p' | tail -n 1); [ -e {b} ] || : > {b}; if [ -n \"$code\" ] && {get}; then {check} && break; fi; n=$((n+1)); [ $n -ge {tries} ] && {{ echo 'plan.wait: the condition did not hold in time' >&2; exit 1; }}; sleep {secs}; done; ",
        reads.words(&headers)
    ));
    for (filter, out) in outputs {
        let tmp = format!("{out}.tmp");
        s.push_str(&format!(
            "jq -j -s {} < {b} > {} && mv {} {} || exit 1; ",
            quote(&jq_program(filter, true)),
            quote(&tmp),
            quote(&tmp),
            quote(out)
        ));
    }
    if let Some(o) = &writes.output {
        s.push_str(&format!(
            "cp {b} {} || exit 1; ",
            quote(&format!("{o}.tmp"))
        ));
    }
    s.push_str(&writes.publish("code"));
    s.push_str("exit 0");
    Some(s)
}

/// Starts a service whose entrypoint, cmd or env holds a run-time value: reads the
/// values, exports the env vars that hold one, and `exec`s the full argv (the
/// image's entrypoint and cmd when the package sets none) with every argument exact.
pub fn start_script(argv: &[Word], env: &[(String, Word)]) -> String {
    let reads = Reads::of(argv.iter().chain(env.iter().map(|(_, w)| w)));
    let mut s = reads.prelude.clone();
    for (k, w) in env {
        s.push_str(&format!("export {k}={}; ", reads.word(w)));
    }
    s.push_str(&format!("exec {}", reads.words(argv)));
    s
}

#[cfg(test)]
mod tests {
    use super::super::store::tests::{sh, NASTY};
    use super::super::store::Piece;
    use super::*;
    use std::process::Command;

    #[test]
    fn the_start_wrapper_passes_every_value_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, v) in NASTY.iter().enumerate() {
            let f = dir.path().join(format!("v{i}"));
            std::fs::write(&f, v).expect("write value");
            let file = f.to_string_lossy().into_owned();
            let argv = vec![
                Word::lit("printf"),
                Word::lit("%s|%s|%s"),
                Word(vec![Piece::File(file.clone())]),
                Word(vec![
                    Piece::Lit("pre '$x' ".into()),
                    Piece::File(file.clone()),
                    Piece::Lit(" post".into()),
                ]),
                Word(vec![Piece::Lit("$ENV_V".into())]),
            ];
            let env = vec![("ENV_V".to_owned(), Word(vec![Piece::File(file.clone())]))];
            // `exec printf ...` prints the three arguments as received; the env var
            // is read back through a second shell, so its value must be exact too.
            let out = sh(&start_script(&argv, &env), &[]);
            assert_eq!(
                String::from_utf8(out).expect("utf-8"),
                format!("{v}|pre '$x' {v} post|$ENV_V"),
                "value {v:?}"
            );
            let read_env = [
                Word::lit("sh"),
                Word::lit("-c"),
                Word::lit("printf %s \"$ENV_V\""),
            ];
            let env_back = sh(&start_script(&read_env, &env), &[]);
            assert_eq!(String::from_utf8(env_back).expect("utf-8"), *v);
        }
        assert!(!std::path::Path::new("/tmp/kplan-pwned").exists());
    }

    #[test]
    fn a_missing_value_stops_the_wrapper() {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(start_script(
                &[
                    Word::lit("echo"),
                    Word(vec![Piece::File("/nonexistent/kplan".into())]),
                ],
                &[],
            ))
            .output()
            .expect("run /bin/sh");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the run-time value"));
    }
}
