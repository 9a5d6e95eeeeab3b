//! Turning free text into a DNS-style name: lower-case ASCII letters and digits, every
//! other run of characters one `-`, no `-` at either end. The frontend names artifacts
//! this way and the validator suggests valid service names with it.

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

#[cfg(test)]
mod tests {
    use super::dns_slug;

    #[test]
    fn slugs() {
        assert_eq!(dns_slug("My Config.YAML"), "my-config-yaml");
        assert_eq!(dns_slug("--a__b--"), "a-b");
        assert_eq!(dns_slug("ünïcode ok"), "n-code-ok");
        assert_eq!(dns_slug("???"), "");
    }
}
