//! The POSIX-sh text kplan writes for containers: quoting, tests that compare a value
//! the way `verify`/`wait` assertions do, and the one copy of the scripts of one-shot
//! tasks (`run_sh`/`run_python` with their code checks, folded `verify`s and `store`
//! copies), `request`s (`wget` and the status of the last response) and `exec` hooks.
//! Every target that runs these in a container (Compose today; Terraform and Helm
//! jobs) renders them from here; the executor runs the same [`super::program`]
//! argv lists without a shell.
//!
//! Arguments never pass through word splitting or globbing: a command is either the
//! container's argv itself or `"$0" "$@"` of a wrapper that receives it as its own
//! arguments, and literal words are single-quoted ([`quote`]).

use super::program::{CodeVerify, Codes, HttpCall};
use super::store::{Reads, Word, Writes};
use crate::ir::{Assertion, Data, GoDuration, HttpMethod};

/// One word for `sh`, single-quoted unless it is plainly safe.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// An argv as one shell command line.
pub fn join(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

/// The text of a target value for comparison, or `None` for lists/objects.
pub fn data_text(d: &Data) -> Option<String> {
    match d {
        Data::Null => Some(String::new()),
        Data::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
        Data::Number(n) => Some(n.clone()),
        Data::Str(s) => s.as_literal(),
        Data::List(_) | Data::Object(_) => None,
    }
}

fn is_int(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// A shell condition that is true when `var` (a shell expression such as `"$rc"`)
/// satisfies `assertion` against `target`; `None` when the shell cannot express it.
pub fn test(var: &str, assertion: Assertion, target: &Data) -> Option<String> {
    let list = |negate: bool| -> Option<String> {
        let Data::List(items) = target else {
            return None;
        };
        let words: Option<Vec<String>> = items.iter().map(data_text).collect();
        let words = words?;
        if words.is_empty() {
            return Some(if negate { "true" } else { "false" }.into());
        }
        let pat = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join("|");
        let (yes, no) = if negate { (1, 0) } else { (0, 1) };
        Some(format!(
            "(case {var} in {pat}) exit {yes};; *) exit {no};; esac)"
        ))
    };
    match assertion {
        Assertion::In => list(false),
        Assertion::NotIn => list(true),
        Assertion::Eq | Assertion::Ne => {
            let t = data_text(target)?;
            let eq = assertion == Assertion::Eq;
            let op = match (eq, is_int(&t)) {
                (true, true) => "-eq",
                (true, false) => "=",
                (false, true) => "-ne",
                (false, false) => "!=",
            };
            Some(format!("[ {var} {op} {} ]", quote(&t)))
        }
        Assertion::Ge => numeric(var, "-ge", target),
        Assertion::Le => numeric(var, "-le", target),
        Assertion::Gt => numeric(var, "-gt", target),
        Assertion::Lt => numeric(var, "-lt", target),
    }
}

/// `[ VAR OP N ]` for an integer target; `None` otherwise (the shell compares integers).
fn numeric(var: &str, op: &str, target: &Data) -> Option<String> {
    let t = data_text(target)?;
    is_int(&t).then(|| format!("[ {var} {op} {t} ]"))
}

/// `{ out=$(CMD; echo x); out=${out%x}; TEST; }`: the output with its trailing
/// newlines kept (a bare `$(...)` strips them, Kurtosis compares them).
pub fn capture(line: &str, test: &str) -> String {
    format!("{{ out=$({line}; echo x); out=${{out%x}}; {test}; }}")
}

/// A pipeline printing the status code of the last response of a `wget` argv (as
/// [`wget_argv`] makes it): `wget -S` prints the response headers to stderr.
pub fn status_code_pipeline(argv: &[String]) -> String {
    let words: Vec<Word> = argv.iter().map(Word::lit).collect();
    status_pipeline(&words, &Reads::default(), None)
}

/// [`status_code_pipeline`] of words, writing the body to `body` (else discarding it).
fn status_pipeline(argv: &[Word], reads: &Reads, body: Option<&str>) -> String {
    let mut headers = argv.to_vec();
    if let Some(i) = headers
        .iter()
        .position(|x| x.as_lit().as_deref() == Some("-O"))
    {
        headers[i + 1] = Word::lit(body.unwrap_or("/dev/null"));
    }
    headers.insert(1, Word::lit("-S"));
    format!(
        "{} 2>&1 | sed -n 's/^ *HTTP\\/[0-9.]* \\([0-9][0-9]*\\).*/\\1/p' | tail -n 1",
        reads.words(&headers)
    )
}

/// `wget` arguments for an HTTP call to `authority` (`host:port`), printing the body;
/// `body` is the POST body's text.
pub fn wget_argv(call: &HttpCall, authority: &str, body: Option<&str>) -> Vec<String> {
    wget_words(call, authority, body.map(Word::lit))
        .iter()
        .filter_map(Word::as_lit)
        .collect()
}

/// [`wget_argv`] as words: the POST body may hold run-time values.
pub fn wget_words(call: &HttpCall, authority: &str, body: Option<Word>) -> Vec<Word> {
    let mut argv: Vec<Word> = ["wget", "-q", "-O", "-"].map(Word::lit).to_vec();
    for (k, v) in &call.headers {
        argv.push(Word::lit("--header"));
        argv.push(Word::lit(format!("{k}: {v}")));
    }
    match call.method {
        HttpMethod::Get => {}
        HttpMethod::Post => {
            if let Some(ct) = &call.content_type {
                argv.push(Word::lit("--header"));
                argv.push(Word::lit(format!("Content-Type: {ct}")));
            }
            let mut data = Word::lit("--post-data=");
            data.0.extend(body.map(|b| b.0).unwrap_or_default());
            argv.push(data);
        }
    }
    argv.push(Word::lit(format!("http://{authority}{}", call.endpoint)));
    argv
}

/// A shell snippet (ending in "; ") that exits with `$rc` unless it is acceptable;
/// `None` when the plain exit status already means the same (`[0]`).
pub fn code_check(codes: &Codes) -> Option<String> {
    if codes.skip {
        return Some(String::new());
    }
    if codes.acceptable == [0] {
        return None;
    }
    Some(format!(
        "case $rc in {}) ;; *) exit $rc;; esac; ",
        code_pattern(codes)
    ))
}

/// The acceptable codes as a `case` pattern: `0|3`.
fn code_pattern(codes: &Codes) -> String {
    codes
        .acceptable
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join("|")
}

/// Folded `verify`s of `$rc` (`[ "$rc" -eq 0 ] || exit 1; `...); those a shell test
/// cannot express are not folded (the lowering reports them).
pub fn verify_text(verify: &[CodeVerify]) -> String {
    verify
        .iter()
        .filter_map(|v| test("\"$rc\"", v.assertion, &v.target))
        .map(|t| format!("{t} || exit 1; "))
        .collect()
}

/// A container's entrypoint and command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub entrypoint: Vec<String>,
    pub command: Vec<String>,
}

/// A `run_sh`/`run_python` as a one-shot container: the command itself when nothing
/// else is needed, else a wrapper shell that reads the run-time values it uses and
/// exports the env vars holding one (`env`), installs the packages (`setup`), runs
/// `"$0" "$@"` (the command as its own arguments, so no re-quoting; a command holding
/// a value is written out with every word quoted), maps acceptable exit codes to
/// success, runs the folded `verify`s, copies each `store` source into its
/// destination directory and publishes the results the plan uses (`writes`).
#[allow(
    clippy::too_many_arguments,
    reason = "the parts of one task's script, each a different kind of input"
)]
pub fn one_shot(
    argv: &[Word],
    env: &[(String, Word)],
    setup: Option<&[String]>,
    codes: &Codes,
    verify: &[CodeVerify],
    store: &[(String, String)],
    writes: &Writes,
) -> Command {
    let mut copies = String::new();
    for (src, dest) in store {
        let src = if src.contains(['*', '?', '[']) && !src.contains(char::is_whitespace) {
            src.clone()
        } else {
            quote(src)
        };
        copies.push_str(&format!("cp -a {src} {dest}/ || exit 1; "));
    }
    let check = code_check(codes);
    let verified = verify_text(verify);
    let install = setup
        .map(|s| format!("{} || exit 1; ", join(s)))
        .unwrap_or_default();
    let inline = argv.iter().any(Word::has_values);
    let plain: Vec<String> = argv.iter().filter_map(Word::as_lit).collect();
    if copies.is_empty()
        && install.is_empty()
        && check.is_none()
        && verified.is_empty()
        && !inline
        && env.is_empty()
        && writes.is_empty()
    {
        return match plain.split_first() {
            Some((first, rest)) if first == "/bin/sh" => Command {
                entrypoint: vec!["/bin/sh".to_owned(), "-c".to_owned()],
                command: rest.iter().skip(1).cloned().collect(),
            },
            Some((first, rest)) => Command {
                entrypoint: vec![first.clone()],
                command: rest.to_vec(),
            },
            None => Command {
                entrypoint: Vec::new(),
                command: Vec::new(),
            },
        };
    }
    let reads = Reads::of(argv.iter().chain(env.iter().map(|(_, w)| w)));
    let exports: String = env
        .iter()
        .map(|(k, w)| format!("export {k}={}; ", reads.word(w)))
        .collect();
    let wrapper = format!(
        "{}{exports}{}",
        reads.prelude,
        run_checked(&install, argv, &reads, check, &verified, &copies, writes)
    );
    Command {
        entrypoint: vec!["/bin/sh".to_owned(), "-c".to_owned()],
        command: if inline {
            vec![wrapper]
        } else {
            [vec![wrapper], plain].concat()
        },
    }
}

/// The body of a wrapper after its values are read: the directories for the results,
/// `setup`, the command (its output kept when `writes` asks), `rc=$?`, the code
/// check (default: the exit status as is), the folded `verify`s, the `store` copies,
/// the published results, `exit 0`.
fn run_checked(
    setup: &str,
    argv: &[Word],
    reads: &Reads,
    check: Option<String>,
    verified: &str,
    copies: &str,
    writes: &Writes,
) -> String {
    format!(
        "{}{setup}{}{}; rc=$?; {}{}{verified}{copies}{}exit 0",
        writes.mkdirs(),
        run_words(argv, reads),
        writes.capture(),
        writes.show(),
        check.unwrap_or_else(|| "[ $rc -eq 0 ] || exit $rc; ".into()),
        writes.publish("rc"),
    )
}

/// How a wrapper runs its command: `"$0" "$@"` (the command as the wrapper's own
/// arguments, no re-quoting), or, when it holds a run-time value, written out with
/// every word quoted and each value as `"$vN"`.
fn run_words(argv: &[Word], reads: &Reads) -> String {
    if argv.iter().any(Word::has_values) {
        reads.words(argv)
    } else {
        "\"$0\" \"$@\"".to_owned()
    }
}

/// The script of a `request` one-shot: the status of the last response of `argv` (a
/// [`wget_argv`]), checked against the acceptable codes exactly (Kurtosis's default:
/// any code; no response is an error), the results the plan uses published
/// (`writes`: the body as `wget` saved it, empty for a response `wget` treats as an
/// error), then the folded `verify`s of `$rc`.
pub fn request_script(
    argv: &[Word],
    codes: &Codes,
    verify: &[CodeVerify],
    writes: &Writes,
) -> String {
    let accept = if codes.skip || codes.acceptable.is_empty() {
        "[ -n \"$code\" ]".to_owned()
    } else {
        format!(
            "case \"$code\" in {}) ;; *) echo \"plan.request: status '$code' is not acceptable\" >&2; exit 1;; esac",
            code_pattern(codes)
        )
    };
    let verified = verify_text(verify);
    let reads = Reads::of(argv);
    let body_tmp = writes.output.as_ref().map(|o| format!("{o}.tmp"));
    let pipeline = status_pipeline(argv, &reads, body_tmp.as_deref());
    if reads.prelude.is_empty() && writes.is_empty() {
        return format!(
            "code=$({pipeline}); {accept}{}",
            if verified.is_empty() {
                String::new()
            } else {
                format!("; rc=$code; {verified}exit 0")
            }
        );
    }
    let touch = body_tmp
        .map(|t| format!("[ -e {q} ] || : > {q}; ", q = quote(&t)))
        .unwrap_or_default();
    format!(
        "{}{}code=$({pipeline}); {accept}; {touch}{}rc=$code; {verified}exit 0",
        reads.prelude,
        writes.mkdirs(),
        writes.publish("code"),
    )
}

/// Shell text that polls a Docker healthcheck's test until it passes, giving up
/// (exit 1) after as long as the healthcheck allows: `n=0; until TEST; do ...; done; `.
pub fn ready_wait(test: &[String], interval: GoDuration, retries: u64) -> Option<String> {
    let test = match test.split_first()? {
        (kind, rest) if kind == "CMD" => join(rest),
        (kind, [line]) if kind == "CMD-SHELL" => line.clone(),
        _ => return None,
    };
    let secs = interval.as_std().as_secs().max(1);
    let tries = (retries * interval.0).div_ceil(secs * 1_000_000_000).max(1);
    Some(format!(
        "n=0; until {test}; do n=$((n+1)); [ $n -ge {tries} ] && {{ echo 'the service did not become ready' >&2; exit 1; }}; sleep {secs}; done; "
    ))
}

/// An `exec` as a container hook: the argv itself, or a `/bin/sh -c` wrapper that
/// first waits for readiness (`ready`, from [`ready_wait`]), reads the run-time
/// values the command uses, runs it (`"$0" "$@"`, or written out with every word
/// quoted when it holds a value), checks codes and folded `verify`s and publishes
/// the results the plan uses (`writes`).
pub fn hook_command(
    argv: Vec<Word>,
    codes: &Codes,
    verify: &[CodeVerify],
    ready: Option<String>,
    writes: &Writes,
) -> Vec<String> {
    let verified = verify_text(verify);
    let inline = argv.iter().any(Word::has_values);
    let plain: Vec<String> = argv.iter().filter_map(Word::as_lit).collect();
    match (code_check(codes), verified.as_str(), ready) {
        (None, "", None) if !inline && writes.is_empty() => plain,
        (check, verified, ready) => {
            let reads = Reads::of(&argv);
            let script = format!(
                "{}{}{}",
                ready.unwrap_or_default(),
                reads.prelude,
                run_checked("", &argv, &reads, check, verified, "", writes)
            );
            let mut out = vec!["/bin/sh".to_owned(), "-c".to_owned(), script];
            if !inline {
                out.extend(plain);
            }
            out
        }
    }
}

/// The script of a one-shot that copies a path (its `$0`) out of a service's image
/// and volumes into `/kplan/out`.
pub const COPY_SCRIPT: &str = "mkdir -p /kplan/out && cp -a \"$0\" /kplan/out/";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::StrExpr;

    #[test]
    fn quoting() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn tests() {
        let n = Data::Number("200".into());
        assert_eq!(
            test("\"$rc\"", Assertion::Eq, &n).unwrap(),
            "[ \"$rc\" -eq 200 ]"
        );
        let s = Data::Str(StrExpr::lit("ok"));
        assert_eq!(
            test("\"$o\"", Assertion::Ne, &s).unwrap(),
            "[ \"$o\" != ok ]"
        );
        let l = Data::List(vec![Data::Number("0".into()), Data::Number("1".into())]);
        assert_eq!(
            test("\"$rc\"", Assertion::In, &l).unwrap(),
            "(case \"$rc\" in 0|1) exit 0;; *) exit 1;; esac)"
        );
        assert!(test("x", Assertion::Gt, &s).is_none());
    }
}
