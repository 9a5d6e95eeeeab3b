//! POSIX shell text kplan generates for healthchecks, one-shot tasks and hooks:
//! quoting, and tests that compare a value the way `verify`/`wait` assertions do.

use crate::ir::{Assertion, Data};

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
