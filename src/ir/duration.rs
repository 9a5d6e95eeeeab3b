//! Go-style durations (`"1s"`, `"2m"`, `"1h30m"`), as Kurtosis accepts them.

use serde::{Serialize, Serializer};
use std::fmt;

/// A duration in nanoseconds, printed the way Go's `time.Duration.String()` prints it
/// (`2m0s`, `1.5s`, `300ms`), which is also how Kurtosis shows port waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(pub u64);

impl GoDuration {
    pub fn from_secs(s: u64) -> Self {
        GoDuration(s * 1_000_000_000)
    }
    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0)
    }

    /// Parses Go's duration syntax: a sequence of decimal numbers with unit suffixes
    /// `ns us µs ms s m h`, e.g. `300ms`, `1.5h`, `2h45m`. A bare `0` is allowed.
    /// Negative durations are rejected (Kurtosis never accepts them).
    pub fn parse(text: &str) -> Result<GoDuration, String> {
        let bad = || format!("invalid duration {text:?}: expected e.g. \"10s\", \"2m\", \"1h30m\"");
        let s = text.trim();
        if s == "0" {
            return Ok(GoDuration(0));
        }
        if s.is_empty() || s.starts_with('-') {
            return Err(bad());
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let mut total: f64 = 0.0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            if num_len == 0 {
                return Err(bad());
            }
            let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit = match &rest[..unit_len] {
                "ns" => 1.0,
                "us" | "µs" | "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                _ => return Err(bad()),
            };
            rest = &rest[unit_len..];
            total += value * unit;
        }
        if total > u64::MAX as f64 / 2.0 {
            return Err(bad());
        }
        #[expect(
            clippy::cast_sign_loss,
            reason = "digits and dots only (a sign is refused above), and at most u64::MAX / 2"
        )]
        let nanos = total.round() as u64;
        Ok(GoDuration(nanos))
    }
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return f.write_str("0s");
        }
        if ns < 1_000_000_000 {
            let (unit, div) = if ns < 1_000 {
                ("ns", 1)
            } else if ns < 1_000_000 {
                ("µs", 1_000)
            } else {
                ("ms", 1_000_000)
            };
            return write!(f, "{}{unit}", fraction(ns, div));
        }
        let h = ns / 3_600_000_000_000;
        let m = (ns / 60_000_000_000) % 60;
        let s_ns = ns % 60_000_000_000;
        let secs = fraction(s_ns, 1_000_000_000);
        if h > 0 {
            write!(f, "{h}h{m}m{secs}s")
        } else if m > 0 {
            write!(f, "{m}m{secs}s")
        } else {
            write!(f, "{secs}s")
        }
    }
}

/// `value / div` printed with the shortest exact decimal fraction.
fn fraction(value: u64, div: u64) -> String {
    let whole = value / div;
    let rem = value % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let frac = format!("{rem:0width$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::GoDuration;

    #[test]
    fn parses_and_prints_like_go() {
        for (text, shown) in [
            ("2m", "2m0s"),
            ("1s", "1s"),
            ("180s", "3m0s"),
            ("1.5s", "1.5s"),
            ("300ms", "300ms"),
            ("1h30m", "1h30m0s"),
            ("0", "0s"),
            ("15m", "15m0s"),
        ] {
            assert_eq!(
                GoDuration::parse(text).unwrap().to_string(),
                shown,
                "{text}"
            );
        }
        for bad in ["", "5", "1x", "-1s", "s", "1.2.3s"] {
            assert!(GoDuration::parse(bad).is_err(), "{bad}");
        }
    }
}
