//! The value store in POSIX sh: words built at run time from literal text and value
//! files ([`Word`], [`Reads`]), writing a task's results ([`Writes`]), and files with
//! run-time holes rendered from literal parts and value files ([`render_script`]).
//! The scripts of kplan's other jobs on the store are [`super::value_scripts`]'s.
//!
//! Exactness: a value is read with `v=$(cat FILE && echo .); v=${v%.}`, which keeps
//! trailing newlines (a bare `$(...)` strips them), and is only ever expanded inside
//! double quotes, so no word splitting or globbing touches it; literal text is
//! single-quoted ([`super::script::quote`]). Files are written to `NAME.tmp` and
//! renamed, so a reader never sees half a value. Needs `sh`, `cat`, `mkdir`, `mv` (and
//! `jq` for extracts) in the image that runs the script.

use super::script::quote;
use super::text::{Seg, Text};
use super::values::ValueId;
use crate::ir::{ServiceField, ServiceId};
use std::collections::BTreeMap;

/// Where Docker-based targets mount the value store.
pub const VALUES_DIR: &str = "/kplan/values";

/// A piece of a [`Word`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Lit(String),
    /// The content of a value file (absolute path in the container).
    File(String),
}

/// One shell word made of literal text and run-time values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word(pub Vec<Piece>);

impl Word {
    pub fn lit(s: impl Into<String>) -> Word {
        Word(vec![Piece::Lit(s.into())])
    }

    /// The text when the word holds no value.
    pub fn as_lit(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(l) => s.push_str(l),
                Piece::File(_) => return None,
            }
        }
        Some(s)
    }

    pub fn has_values(&self) -> bool {
        self.as_lit().is_none()
    }
}

/// A text as a shell word: service references written by `service`, each run-time
/// value read from its file (`file`: the value's absolute path in the container).
pub fn word(
    t: &Text,
    service: &dyn Fn(ServiceId, ServiceField) -> String,
    file: &dyn Fn(ValueId) -> String,
) -> Word {
    let mut w = Word::default();
    let mut lit = String::new();
    for s in t.segs() {
        match s {
            Seg::Lit(l) => lit.push_str(l),
            Seg::Service(id, f) => lit.push_str(&service(*id, *f)),
            Seg::Value(v) => {
                if !lit.is_empty() {
                    w.0.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                w.0.push(Piece::File(file(*v)));
            }
        }
    }
    if !lit.is_empty() || w.0.is_empty() {
        w.0.push(Piece::Lit(lit));
    }
    w
}

/// A file with run-time holes as the literal pieces a render job concatenates with
/// the value files: each non-empty literal piece numbered in order (`(n, text)`),
/// and the sources in order, the `n`-th piece read from `part(n)`.
pub fn split_rendered(
    word: &Word,
    part: &dyn Fn(usize) -> String,
) -> (Vec<(usize, String)>, Vec<Source>) {
    let mut parts = Vec::new();
    let mut sources = Vec::new();
    for p in &word.0 {
        match p {
            Piece::Lit(l) if l.is_empty() => {}
            Piece::Lit(l) => {
                let n = parts.len();
                parts.push((n, l.clone()));
                sources.push(Source::Part(part(n)));
            }
            Piece::File(v) => sources.push(Source::Value(v.clone())),
        }
    }
    (parts, sources)
}

/// The value files a script reads, each into one variable, once.
#[derive(Debug, Default)]
pub struct Reads {
    vars: BTreeMap<String, String>,
    /// `v0=$(cat F && echo .) || {...}; v0=${v0%.}; ` for each file, in first-use order.
    pub prelude: String,
}

impl Reads {
    pub fn of<'a>(words: impl IntoIterator<Item = &'a Word>) -> Reads {
        let mut r = Reads::default();
        for w in words {
            for p in &w.0 {
                if let Piece::File(f) = p {
                    if !r.vars.contains_key(f) {
                        let v = format!("v{}", r.vars.len());
                        r.prelude.push_str(&format!(
                            "{v}=$(cat {q} && echo .) || {{ echo 'kplan: cannot read the run-time value in '{q} >&2; exit 1; }}; {v}=${{{v}%.}}; ",
                            q = quote(f)
                        ));
                        r.vars.insert(f.clone(), v);
                    }
                }
            }
        }
        r
    }

    /// The word as shell text: literals quoted, values as `"$vN"`.
    pub fn word(&self, w: &Word) -> String {
        if w.0.is_empty() {
            return "''".into();
        }
        w.0.iter()
            .map(|p| match p {
                Piece::Lit(l) => quote(l),
                Piece::File(f) => format!("\"${}\"", self.vars.get(f).cloned().unwrap_or_default()),
            })
            .collect()
    }

    pub fn words(&self, ws: &[Word]) -> String {
        ws.iter()
            .map(|w| self.word(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The results a task writes into the store (absolute paths in the container).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes {
    /// The command's output (a request's body).
    pub output: Option<String>,
    /// The exit code (a request's status).
    pub code: Option<String>,
}

impl Writes {
    /// A task's results as the files it writes, under the store mounted at `dir`.
    pub fn under(r: &super::program::Results, dir: &str) -> Writes {
        Writes {
            output: r.output.as_ref().map(|p| format!("{dir}/{p}")),
            code: r.code.as_ref().map(|p| format!("{dir}/{p}")),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.output.is_none() && self.code.is_none()
    }

    /// `mkdir -p DIR || exit 1; ` for the directories written into.
    pub fn mkdirs(&self) -> String {
        let mut dirs: Vec<&str> = [&self.output, &self.code]
            .into_iter()
            .flatten()
            .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d))
            .collect();
        dirs.dedup();
        dirs.iter()
            .map(|d| format!("mkdir -p {} || exit 1; ", quote(d)))
            .collect()
    }

    /// ` > OUTPUT.tmp 2>&1` when the output is kept.
    pub fn capture(&self) -> String {
        self.output
            .as_ref()
            .map(|o| format!(" > {} 2>&1", quote(&format!("{o}.tmp"))))
            .unwrap_or_default()
    }

    /// Shows the kept output in the container's log: `cat OUTPUT.tmp; `.
    pub fn show(&self) -> String {
        self.output
            .as_ref()
            .map(|o| format!("cat {}; ", quote(&format!("{o}.tmp"))))
            .unwrap_or_default()
    }

    /// Publishes the results: the output file renamed into place, `$CODE_VAR` written.
    pub fn publish(&self, code_var: &str) -> String {
        let mut s = String::new();
        if let Some(o) = &self.output {
            s.push_str(&format!(
                "mv {} {} || exit 1; ",
                quote(&format!("{o}.tmp")),
                quote(o)
            ));
        }
        if let Some(c) = &self.code {
            s.push_str(&format!(
                "printf %s \"${code_var}\" > {t} && mv {t} {c} || exit 1; ",
                t = quote(&format!("{c}.tmp")),
                c = quote(c)
            ));
        }
        s
    }
}

/// Where a rendered file's bytes come from, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file of literal text (absolute path in the container).
    Part(String),
    /// A value file.
    Value(String),
}

/// One file a render job writes: its path under `out`, mode and sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: String,
    pub mode: u32,
    pub sources: Vec<Source>,
}

/// Fills `out` with the static files under `src` (when there are any) and each
/// rendered file concatenated from its sources, replacing what an earlier run left.
pub fn render_script(out: &str, src: Option<&str>, files: &[RenderedFile]) -> String {
    let q = |p: &str| quote(p);
    let mut s = format!("rm -rf {o}/..?* {o}/.[!.]* {o}/* || exit 1; ", o = q(out));
    if let Some(src) = src {
        s.push_str(&format!("cp -a {}/. {}/ || exit 1; ", q(src), q(out)));
    }
    for f in files {
        let target = format!("{out}/{}", f.path);
        let tmp = format!("{target}.tmp");
        let dir = target.rsplit_once('/').map(|(d, _)| d).unwrap_or(out);
        let sources: Vec<String> = f
            .sources
            .iter()
            .map(|src| match src {
                Source::Part(p) | Source::Value(p) => q(p),
            })
            .collect();
        let cat = if sources.is_empty() {
            format!(": > {}", q(&tmp))
        } else {
            format!("cat {} > {}", sources.join(" "), q(&tmp))
        };
        s.push_str(&format!(
            "mkdir -p {} && {cat} && chmod {:o} {} && mv {} {} || exit 1; ",
            q(dir),
            f.mode & 0o7777,
            q(&tmp),
            q(&tmp),
            q(&target)
        ));
    }
    s.push_str("exit 0");
    s
}

/// Whether `name` can be exported by a POSIX shell.
pub fn is_shell_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::process::Command;

    /// Values no shell quoting may touch.
    pub(in super::super) const NASTY: [&str; 7] = [
        "it's a \"quoted\" $HOME value\nsecond  line *\n",
        "$(touch /tmp/kplan-pwned)`id`",
        "  lead and trail  ",
        "",
        "\n\n",
        "a\\b\\\\c'\"'",
        "*?[a-z]{x,y}~",
    ];

    /// Runs `script` with `/bin/sh -c` and returns its output; fails when it fails.
    pub(in super::super) fn sh(script: &str, args: &[&str]) -> Vec<u8> {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg("kplan-test")
            .args(args)
            .output()
            .expect("run /bin/sh");
        assert!(
            out.status.success(),
            "{script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[test]
    fn rendered_files_and_results_are_written_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = |p: &str| dir.path().join(p).to_string_lossy().into_owned();
        std::fs::create_dir_all(d("src/sub")).expect("mkdir");
        std::fs::create_dir_all(d("parts")).expect("mkdir");
        std::fs::create_dir_all(d("out")).expect("mkdir");
        std::fs::write(d("src/sub/static.txt"), "static\n").expect("write");
        std::fs::write(d("out/stale.txt"), "old").expect("write");
        std::fs::write(d("parts/0"), "a=").expect("write");
        std::fs::write(d("parts/1"), "\nend\n").expect("write");
        std::fs::write(d("value"), NASTY[0]).expect("write");
        let files = [RenderedFile {
            path: "conf/app file.conf".into(),
            mode: 0o640,
            sources: vec![
                Source::Part(d("parts/0")),
                Source::Value(d("value")),
                Source::Part(d("parts/1")),
            ],
        }];
        sh(&render_script(&d("out"), Some(&d("src")), &files), &[]);
        assert_eq!(
            std::fs::read_to_string(d("out/conf/app file.conf")).expect("rendered"),
            format!("a={}\nend\n", NASTY[0])
        );
        assert_eq!(
            std::fs::read_to_string(d("out/sub/static.txt")).expect("static"),
            "static\n"
        );
        assert!(!std::path::Path::new(&d("out/stale.txt")).exists());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d("out/conf/app file.conf"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn a_one_shot_keeps_its_output_and_code_exactly() {
        use super::super::program::Codes;
        use super::super::script::one_shot;
        let dir = tempfile::tempdir().expect("tempdir");
        let d = |p: &str| dir.path().join(p).to_string_lossy().into_owned();
        std::fs::write(d("in"), NASTY[0]).expect("write");
        // The value substituted into the script text (as Kurtosis does) and in an env var.
        let script = Word(vec![
            Piece::Lit("printf '%s' \"$V\"; cat <<'EOF'\n".into()),
            Piece::File(d("in")),
            Piece::Lit("EOF\nexit 3".into()),
        ]);
        let argv = [Word::lit("/bin/sh"), Word::lit("-c"), script];
        let env = [("V".to_owned(), Word(vec![Piece::File(d("in"))]))];
        let writes = Writes {
            output: Some(d("results/task/output")),
            code: Some(d("results/task/code")),
        };
        let codes = Codes {
            acceptable: vec![0, 3],
            skip: false,
        };
        let cmd = one_shot(&argv, &env, None, &codes, &[], &[], &writes);
        assert_eq!(cmd.entrypoint, ["/bin/sh", "-c"]);
        let out = Command::new("/bin/sh")
            .arg("-c")
            .args(&cmd.command)
            .output()
            .expect("run /bin/sh");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let output = format!("{}{}", NASTY[0], NASTY[0]);
        assert_eq!(
            std::fs::read_to_string(d("results/task/output")).expect("output"),
            output
        );
        assert_eq!(
            std::fs::read_to_string(d("results/task/code")).expect("code"),
            "3"
        );
        // The output is also shown in the container's log.
        assert_eq!(String::from_utf8_lossy(&out.stdout), output);
    }

    #[test]
    fn shell_names() {
        assert!(is_shell_name("A_1"));
        assert!(is_shell_name("_x"));
        assert!(!is_shell_name("1A"));
        assert!(!is_shell_name("a.b"));
        assert!(!is_shell_name(""));
    }
}
