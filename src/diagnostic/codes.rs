//! The registry of diagnostic codes: every code kplan reports, with its default
//! severity, a one-line title and a longer explanation (what it means, an example, the
//! fix) that `kplan explain CODE` prints and `docs/diagnostics.md` lists.
//!
//! A [`super::Diagnostic`] is made only from a [`Code`], so a code cannot be reported
//! without being defined here; the test `diagnostic_codes` fails when one is defined
//! but reported nowhere in `src/`, and when `docs/diagnostics.md` is not what
//! [`reference()`] generates. The explanations are Markdown files in `explain/`, one per
//! code, as rustc keeps its error codes.
//!
//! To add a code: a line in the table below, `explain/KPnnn.md` (a paragraph saying
//! when it is reported, `Example:`, `Fix:`), then `KPLAN_BLESS=1 cargo test --test it
//! diagnostic_codes::` to regenerate `docs/diagnostics.md`.

use super::Severity;
use std::fmt::{self, Write as _};
use std::str::FromStr;

macro_rules! codes {
    ($($code:ident $severity:ident $title:literal;)*) => {
        /// A diagnostic code, printed and serialized as it is named (`KP201`). The
        /// variants are in numeric order, so ordering codes orders their names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $title] $code,)*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$code),*];

            /// The code as printed: `KP201`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$code => stringify!($code),)* }
            }

            /// The severity it is reported with (`kplan plan` shows `apply`'s
            /// pre-flight errors as warnings).
            pub fn severity(self) -> Severity {
                match self { $(Code::$code => Severity::$severity,)* }
            }

            /// What it means, in one line.
            pub fn title(self) -> &'static str {
                match self { $(Code::$code => $title,)* }
            }

            /// The explanation `kplan explain` prints: Markdown, with an example and the fix.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(Code::$code => include_str!(concat!("explain/", stringify!($code), ".md")),)*
                }
            }
        }
    };
}

codes! {
    KP001 Error "the package cannot be found or read";
    KP002 Error "kurtosis.yml cannot be used";
    KP003 Error "the package arguments (--args, --args-file) cannot be used";
    KP004 Error "a locator or path the package gives is refused or cannot be resolved";
    KP005 Error "the -o DIR directory cannot be created, read or written";
    KP010 Error "a Starlark syntax error";
    KP011 Error "evaluating the package failed";
    KP012 Error "the main function is missing or has the wrong parameters";
    KP013 Error "a file nests deeper than kplan parses";
    KP014 Error "the evaluation hit a resource limit";
    KP020 Warning "a deprecated argument is used";
    KP101 Error "a service name is not a valid DNS label";
    KP102 Error "a port id is not a valid RFC 6335 name";
    KP103 Error "a persistent directory key is not a valid DNS label";
    KP104 Error "a service is added twice";
    KP105 Error "a mounted files artifact does not exist (yet)";
    KP106 Error "an artifact name produced earlier in the run is reused";
    KP107 Error "an instruction names a service that does not exist at that point";
    KP108 Error "an HTTP recipe names a port the service does not have";
    KP109 Error "a public port is not among the service's ports";
    KP110 Error "a value of a service is used after the service was removed";
    KP111 Error "an image reference is empty";
    KP112 Error "a dependency cycle between steps";
    KP113 Error "an environment variable or build argument the engine cannot hold";
    KP201 Error "a value known only at run time cannot be carried to where it is used";
    KP202 Error "a service the package removes later is used";
    KP203 Error "an image the target cannot build faithfully";
    KP204 Error "files that cannot be placed";
    KP205 Error "a template cannot be rendered with the services' DNS names";
    KP206 Error "a plan.verify known at compile time fails";
    KP207 Error "the output has several files and needs -o DIR";
    KP210 Warning "plan.print is not part of the output";
    KP211 Warning "a readiness check, wait, request or verify is approximated";
    KP212 Warning "registry credentials are not written";
    KP213 Warning "a one-shot no later service waits for (Compose up --wait)";
    KP214 Error "a service reading a run-time value cannot start through kplan's wrapper";
    KP220 Warning "run()'s return value holds run-time values: no Terraform output";
    KP301 Error "an image a cluster cannot pull as written, or host devices";
    KP302 Error "files the Helm chart cannot place";
    KP303 Error "a template cannot be rendered with the release's Service names";
    KP305 Error "a one-shot step the Helm chart does not run";
    KP306 Error "--chart-version or --app-version is not valid";
    KP310 Warning "a setting a pod has no field for is not written";
    KP311 Warning "a start order the chart cannot keep";
    KP501 Error "an image is not in the local Docker engine (apply)";
    KP503 Error "an extract is not a valid jq filter (apply)";
    KP504 Error "a task runs against a service the package removes later (apply)";
}

/// Codes that share their first digit: the stage that reports them.
pub struct Family {
    /// `KP2xx`
    pub range: &'static str,
    pub name: &'static str,
    /// One paragraph for `docs/diagnostics.md`.
    pub about: &'static str,
}

pub static FAMILIES: [Family; 5] = [
    Family {
        range: "KP0xx",
        name: "package and interpretation",
        about: "Finding and reading the package, its arguments and the files it names, and evaluating its Starlark (KP001-KP005, KP010-KP014), and warnings while interpreting (KP020).",
    },
    Family {
        range: "KP1xx",
        name: "validation",
        about: "Checks of the whole plan before anything is written or changed, all reported at once (`kplan validate`, and before every `compile`, `plan` and `apply`).",
    },
    Family {
        range: "KP2xx",
        name: "static targets (Compose, Terraform)",
        about: "What `compile --target compose` and `--target terraform` cannot carry, with the producer, the consumer, why and what to do; the Helm target shares the ones its shared lowering reports (KP201, KP202, KP204, KP206, KP207, KP210, KP211, KP214). See `targets/compose/README.md` and `targets/terraform/README.md`.",
    },
    Family {
        range: "KP3xx",
        name: "the Helm target",
        about: "What `compile --target helm` cannot put in a chart. See `targets/helm/README.md`.",
    },
    Family {
        range: "KP5xx",
        name: "apply pre-flight",
        about: "Problems `kplan apply` finds before it changes anything (`kplan plan` shows them as warnings). KP502 (`private_ip_address_placeholder`) is retired: apply supports it.",
    },
];

impl Code {
    /// The family it belongs to, by its first digit.
    #[expect(
        clippy::expect_used,
        reason = "every code is in a family; a test checks"
    )]
    pub fn family(self) -> &'static Family {
        let digit = &self.as_str()[..3];
        FAMILIES
            .iter()
            .find(|f| f.range.starts_with(digit))
            .expect("every code is in a family (tested)")
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A name that is no code.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownCode;

impl FromStr for Code {
    type Err = UnknownCode;

    /// `KP201`, `kp201` or `201`.
    fn from_str(s: &str) -> Result<Self, UnknownCode> {
        let s = s.trim();
        let digits = match s.get(..2) {
            Some(p) if p.eq_ignore_ascii_case("kp") => &s[2..],
            _ => s,
        };
        Code::ALL
            .iter()
            .copied()
            .find(|c| &c.as_str()[2..] == digits)
            .ok_or(UnknownCode)
    }
}

/// The families as one line, for a hint: `KP0xx package and interpretation, ...`.
pub fn families_line() -> String {
    FAMILIES
        .iter()
        .map(|f| format!("{} {}", f.range, f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `docs/diagnostics.md`: every code, grouped by family, with its explanation.
pub fn reference() -> String {
    let mut out = String::from(
        "<!-- Generated by kplan from src/diagnostic/codes.rs and src/diagnostic/explain/; do not edit.\n     Regenerate: KPLAN_BLESS=1 cargo test --test it diagnostic_codes:: -->\n\n\
         # Diagnostic codes\n\n\
         Every diagnostic kplan reports has one of these codes. `kplan explain CODE` prints\n\
         the explanation of one (`kplan explain KP201`); `kplan explain` lists them all.\n",
    );
    for family in &FAMILIES {
        let _ = write!(
            out,
            "\n## {}: {}\n\n{}\n\n",
            family.range, family.name, family.about
        );
        out.push_str("| code | severity | meaning |\n|---|---|---|\n");
        let codes: Vec<Code> = Code::ALL
            .iter()
            .copied()
            .filter(|c| c.family().range == family.range)
            .collect();
        for c in &codes {
            let _ = writeln!(
                out,
                "| [{c}](#{}) | {} | {} |",
                c.as_str().to_lowercase(),
                c.severity().as_str(),
                c.title()
            );
        }
        for c in &codes {
            let _ = write!(
                out,
                "\n### {c}\n\n{} ({}).\n\n{}",
                capitalized(c.title()),
                c.severity().as_str(),
                c.explanation()
            );
        }
    }
    out
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_in_numeric_order_so_sorting_by_code_sorts_by_name() {
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn every_code_is_kp_and_three_digits_in_a_family() {
        for c in Code::ALL {
            let s = c.as_str();
            assert!(
                s.len() == 5 && s.starts_with("KP") && s[2..].bytes().all(|b| b.is_ascii_digit()),
                "{s}"
            );
            assert!(FAMILIES.iter().any(|f| f.range.starts_with(&s[..3])), "{s}");
        }
    }

    #[test]
    fn every_explanation_has_an_example_and_a_fix() {
        for c in Code::ALL {
            let e = c.explanation();
            assert!(e.contains("\nExample"), "{c}: no example");
            assert!(e.contains("\nFix: "), "{c}: no fix");
            assert!(
                e.ends_with('\n') && !e.ends_with("\n\n"),
                "{c}: one final newline"
            );
            assert!(!c.title().ends_with('.'), "{c}: a title is no sentence");
        }
    }

    #[test]
    fn codes_parse_with_or_without_the_prefix() {
        assert_eq!("KP201".parse(), Ok(Code::KP201));
        assert_eq!("kp201".parse(), Ok(Code::KP201));
        assert_eq!(" 201 ".parse(), Ok(Code::KP201));
        assert_eq!("KP999".parse::<Code>(), Err(UnknownCode));
        assert_eq!("KP".parse::<Code>(), Err(UnknownCode));
        assert_eq!("E0308".parse::<Code>(), Err(UnknownCode));
        assert_eq!("".parse::<Code>(), Err(UnknownCode));
    }

    #[test]
    fn serialized_and_printed_as_named() {
        assert_eq!(
            serde_json::to_string(&Code::KP014).expect("serializes"),
            "\"KP014\""
        );
        assert_eq!(Code::KP014.to_string(), "KP014");
    }
}
