//! DNS-style names. [`dns_slug`] turns free text into one: lower-case ASCII letters
//! and digits, every other run of characters one `-`, no `-` at either end (the
//! frontend names artifacts this way and the validator suggests valid service names
//! with it). [`is_name`] checks the name rules of RFC 1035, RFC 6335 and Kubernetes
//! labels: they are character classes with a length bound, so a byte loop says what
//! their regular expressions would, without compiling a regex per process (that
//! compile was 9M of the 191M instructions of interpreting ethereum-package).

/// `"My Config.YAML"` -> `"my-config-yaml"`; empty when nothing alphanumeric is left.
pub fn dns_slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Whether `name` is 1 to `max` bytes, its first byte `first`, its last byte `last`
/// and every byte between `middle`: the regex `^F(M*L)?$` with a length bound. Bytes
/// of non-ASCII characters pass none of the predicates callers give.
pub fn is_name(
    name: &str,
    max: usize,
    first: fn(u8) -> bool,
    middle: fn(u8) -> bool,
    last: fn(u8) -> bool,
) -> bool {
    let b = name.as_bytes();
    match b {
        [] => false,
        [only] => b.len() <= max && first(*only),
        [head, inner @ .., tail] => {
            b.len() <= max && first(*head) && last(*tail) && inner.iter().all(|c| middle(*c))
        }
    }
}

/// A lower-case ASCII letter.
pub fn lower(c: u8) -> bool {
    c.is_ascii_lowercase()
}

/// A lower-case ASCII letter or a digit.
pub fn lower_digit(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// A lower-case ASCII letter, a digit or `-`.
pub fn lower_digit_dash(c: u8) -> bool {
    lower_digit(c) || c == b'-'
}

/// Every string of up to `len` characters over `alphabet`, for the tests that compare
/// a name check built on [`is_name`] with the regex it replaced.
#[cfg(test)]
pub fn strings_over(alphabet: &[char], len: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..len {
        last = last
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(dns_slug("My Config.YAML"), "my-config-yaml");
        assert_eq!(dns_slug("--a__b--"), "a-b");
        assert_eq!(dns_slug("ünïcode ok"), "n-code-ok");
        assert_eq!(dns_slug("???"), "");
    }

    #[test]
    fn names_follow_the_regex_they_replace() {
        let rfc1035 = |s: &str| is_name(s, 63, lower, lower_digit_dash, lower_digit);
        for ok in ["a", "ab", "a-b", "a1", "a--1", &"a".repeat(63)] {
            assert!(rfc1035(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "-a",
            "a-",
            "A",
            "aB",
            "a_b",
            "a.b",
            "é",
            "aé",
            &"a".repeat(64),
        ] {
            assert!(!rfc1035(bad), "{bad}");
        }
    }
}
