//! Template data numbers as Kurtosis hands them to a template: `render_templates` data
//! goes through Go's `json.Unmarshal` into `interface{}` (every number becomes a
//! float64) and `json.Marshal` back before the template decodes it with `UseNumber`.
//! So a number's text is what Go's encoder writes for the nearest float64:
//! `12345678901234567890` becomes `12345678901234567000`, `1.0` becomes `1`, values of
//! 1e21 and more (or under 1e-6) take an exponent (`1e+21`, `1e-7`), and `-0.0` stays
//! `-0`. A number beyond float64 fails, as `json.Unmarshal` does.
//!
//! Go's encoder prints the shortest decimal that reads back as the same float64, in
//! `'f'` form or, outside [1e-6, 1e21), in `'e'` form with the exponent unpadded. Rust's
//! float formatting also prints the shortest round-trip digits, so only the layout is
//! done here.

use std::fmt;

/// A data number as the template sees it: Go's `json.Number`, holding the text Go's
/// JSON encoder writes for the number's float64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

/// A data number Go cannot decode into a float64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.0))]
pub struct NumberError(pub String);

fn describe(text: &str) -> String {
    if text.parse::<f64>().is_ok_and(f64::is_infinite) {
        format!("the number {text} is too large for a template: Kurtosis decodes template data numbers as Go float64 values (at most about 1.8e308); pass it as a string")
    } else {
        format!("{text} is not a finite JSON number, which template data must hold")
    }
}

impl Number {
    /// The number whose JSON text is `text`, as Kurtosis's round trip leaves it.
    pub fn from_json(text: &str) -> Result<Number, NumberError> {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() && is_json_number(text) => Ok(Number(go_json_float(f))),
            _ => Err(NumberError(text.to_owned())),
        }
    }

    /// The text a template prints.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// JSON's number syntax (Rust's float parser also takes `inf`, `+1`, `.5`, ...).
fn is_json_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, rest) = digits.split_at(
        digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len()),
    );
    let int_ok = int == "0" || (!int.is_empty() && !int.starts_with('0'));
    let rest = match rest.strip_prefix('.') {
        Some(frac) => {
            let end = frac
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(frac.len());
            if end == 0 {
                return false;
            }
            &frac[end..]
        }
        None => rest,
    };
    let exp_ok = match rest.strip_prefix(['e', 'E']) {
        Some(exp) => {
            let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit())
        }
        None => rest.is_empty(),
    };
    int_ok && exp_ok
}

/// Go's `encoding/json` encoding of a float64 (`floatEncoder`): `strconv` shortest
/// digits, `'e'` form outside [1e-6, 1e21) with `e-07` cleaned to `e-7`.
fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        match exp.strip_prefix('-') {
            Some(neg) => format!("{mantissa}e-{neg}"),
            None => format!("{mantissa}e+{exp}"),
        }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::Number;

    #[test]
    fn numbers_read_as_go_writes_them_after_a_float64_round_trip() {
        for (input, go) in [
            ("8080", "8080"),
            ("0", "0"),
            ("-0", "-0"),
            ("-0.0", "-0"),
            ("1.0", "1"),
            ("3.14", "3.14"),
            ("0.1", "0.1"),
            ("-2.5", "-2.5"),
            ("12345678901234567890", "12345678901234567000"),
            ("9007199254740993", "9007199254740992"),
            ("18446744073709551615", "18446744073709552000"),
            ("100000000000000000000", "100000000000000000000"),
            ("999999999999999999999", "1e+21"),
            ("1000000000000000000000", "1e+21"),
            ("1e21", "1e+21"),
            ("-1e21", "-1e+21"),
            ("123456789012345678901234", "1.2345678901234569e+23"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("1.5e-10", "1.5e-10"),
            ("5e-324", "5e-324"),
            ("1E2", "100"),
        ] {
            assert_eq!(
                Number::from_json(input).map(|n| n.to_string()),
                Ok(go.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn numbers_go_cannot_decode_are_errors() {
        let huge = format!("1{}", "0".repeat(400));
        for bad in [
            huge.as_str(),
            "1e400",
            "null",
            "inf",
            "NaN",
            "+1",
            ".5",
            "01",
            "1.",
        ] {
            let e = Number::from_json(bad).expect_err(bad);
            assert!(e.to_string().contains(bad), "{e}");
        }
        assert!(Number::from_json("1e400")
            .expect_err("overflow")
            .to_string()
            .contains("too large"));
    }
}
