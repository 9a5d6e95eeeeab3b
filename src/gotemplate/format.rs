//! Go `fmt` printing of template values: `Sprint`, `Sprintln`, `Sprintf` and
//! the default `%v` form. Strings containing holes are copied piece by piece
//! where the result does not depend on their content (`%v`/`%s` without width
//! or precision); otherwise the blocking hole is returned as `Err(hole)`.

use std::borrow::Cow;

use super::value::{plain, Out, Piece, V};

/// A parsed `%` directive.
#[derive(Debug, Clone, Copy, Default)]
struct Spec {
    verb: char,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

impl Spec {
    fn verb(verb: char) -> Spec {
        Spec {
            verb,
            ..Spec::default()
        }
    }
}

/// `fmt.Fprint` of one value (`%v`).
pub(crate) fn print_value(out: &mut Out, v: &V) -> Result<(), u32> {
    fmt_arg(out, v, Spec::verb('v'), 0)
}

fn is_stringish(v: &V) -> bool {
    matches!(v, V::Str(_) | V::Num(_))
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(out: &mut Out, args: &[V]) -> Result<(), u32> {
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !is_stringish(a) && !is_stringish(&args[i - 1]) {
            out.text(" ");
        }
        print_value(out, a)?;
    }
    Ok(())
}

/// `fmt.Sprintln`: spaces between all operands, newline at the end.
pub(crate) fn sprintln(out: &mut Out, args: &[V]) -> Result<(), u32> {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.text(" ");
        }
        print_value(out, a)?;
    }
    out.text("\n");
    Ok(())
}

/// `fmt.Sprintf`. Argument indexes (`%[1]d`) are not supported.
pub(crate) fn sprintf(out: &mut Out, format: &str, args: &[V]) -> Result<(), u32> {
    let mut argn = 0;
    let mut chars = format.char_indices().peekable();
    let mut lit_start = 0;
    while let Some((k, c)) = chars.next() {
        if c != '%' {
            continue;
        }
        out.text(&format[lit_start..k]);
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '+' => spec.plus = true,
                '-' => spec.minus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        match chars.peek() {
            Some(&(_, '*')) => {
                chars.next();
                match int_arg(args, &mut argn) {
                    Some(w) => {
                        if w < 0 {
                            spec.minus = true;
                            spec.zero = false;
                        }
                        spec.width = usize::try_from(w.unsigned_abs()).ok();
                    }
                    None => out.text("%!(BADWIDTH)"),
                }
            }
            _ => match parse_num(&mut chars) {
                Num::Absent => {}
                Num::Value(n) => spec.width = Some(n),
                Num::TooLarge => {
                    out.text("%!(NOVERB)");
                    lit_start = format.len();
                    break;
                }
            },
        }
        // Go reads a precision only when something follows the point.
        if let Some(&(pk, '.')) = chars.peek() {
            if pk + 1 < format.len() {
                chars.next();
                if let Some(&(_, '*')) = chars.peek() {
                    chars.next();
                    match int_arg(args, &mut argn) {
                        Some(p) if p >= 0 => spec.prec = usize::try_from(p).ok(),
                        _ => out.text("%!(BADPREC)"),
                    }
                } else {
                    match parse_num(&mut chars) {
                        Num::Absent => spec.prec = Some(0),
                        Num::Value(n) => spec.prec = Some(n),
                        Num::TooLarge => {
                            out.text("%!(NOVERB)");
                            lit_start = format.len();
                            break;
                        }
                    }
                }
            }
        }
        let Some((vk, verb)) = chars.next() else {
            out.text("%!(NOVERB)");
            lit_start = format.len();
            break;
        };
        lit_start = vk + verb.len_utf8();
        spec.verb = verb;
        if verb == '%' {
            out.text("%");
            continue;
        }
        match args.get(argn) {
            None => out.text(&format!("%!{verb}(MISSING)")),
            Some(a) => {
                argn += 1;
                fmt_arg(out, a, spec, 0)?;
            }
        }
    }
    out.text(&format[lit_start..]);
    if argn < args.len() {
        out.text("%!(EXTRA ");
        for (i, a) in args[argn..].iter().enumerate() {
            if i > 0 {
                out.text(", ");
            }
            if let V::Nil | V::NoValue = a {
                out.text("<nil>");
            } else {
                out.text(a.type_name());
                out.text("=");
                print_value(out, a)?;
            }
        }
        out.text(")");
    }
    Ok(())
}

/// Go's bound on a width or precision (`tooLarge` in fmt/print.go): a number is read
/// digit by digit while it is at most this, so the largest accepted is 10,000,009;
/// a longer one ends the directive with `%!(NOVERB)`, and a `*` argument past it is
/// `%!(BADWIDTH)`/`%!(BADPREC)`. Output is therefore bounded per directive.
const MAX_WIDTH: usize = 1_000_000;

/// A width or precision written in the format (Go's `parsenum`).
enum Num {
    Absent,
    Value(usize),
    TooLarge,
}

fn parse_num(chars: &mut std::iter::Peekable<std::str::CharIndices>) -> Num {
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        let Some(v) = d.to_digit(10) else { break };
        if n.unwrap_or(0) > MAX_WIDTH {
            return Num::TooLarge;
        }
        chars.next();
        n = Some(n.unwrap_or(0) * 10 + v as usize);
    }
    n.map_or(Num::Absent, Num::Value)
}

/// A `*` width or precision: the next argument when it is an int within Go's bound
/// (Go's `intFromArg`; an argument is consumed only when there is one).
fn int_arg(args: &[V], argn: &mut usize) -> Option<i64> {
    let a = args.get(*argn)?;
    *argn += 1;
    match a {
        V::Int(n) if n.unsigned_abs() <= MAX_WIDTH as u64 => Some(*n),
        _ => None,
    }
}

fn pad(out: &mut Out, s: &str, spec: Spec) {
    let n = s.chars().count();
    let w = spec.width.unwrap_or(0);
    if n >= w {
        out.text(s);
    } else if spec.minus {
        out.text(s);
        out.text(&" ".repeat(w - n));
    } else {
        let fill = if spec.zero { "0" } else { " " };
        out.text(&fill.repeat(w - n));
        out.text(s);
    }
}

/// Pads a number: zeros go between the sign/prefix and the digits.
fn pad_num(out: &mut Out, head: &str, digits: &str, spec: Spec) {
    let w = spec.width.unwrap_or(0);
    let n = head.chars().count() + digits.chars().count();
    if spec.zero && !spec.minus && n < w {
        out.text(head);
        out.text(&"0".repeat(w - n));
        out.text(digits);
    } else {
        pad(
            out,
            &format!("{head}{digits}"),
            Spec {
                zero: false,
                ..spec
            },
        );
    }
}

fn bad_verb(out: &mut Out, v: &V, verb: char) -> Result<(), u32> {
    out.text(&format!("%!{verb}("));
    if let V::Nil | V::NoValue = v {
        out.text("<nil>");
    } else {
        out.text(v.type_name());
        out.text("=");
        print_value(out, v)?;
    }
    out.text(")");
    Ok(())
}

fn fmt_arg(out: &mut Out, v: &V, spec: Spec, depth: usize) -> Result<(), u32> {
    match v {
        V::NoValue | V::Nil => {
            if depth > 0 || spec.verb == 'v' {
                pad(out, "<nil>", spec);
                Ok(())
            } else {
                bad_verb(out, v, spec.verb)
            }
        }
        V::Bool(b) => match spec.verb {
            't' | 'v' => {
                pad(out, if *b { "true" } else { "false" }, spec);
                Ok(())
            }
            _ => bad_verb(out, v, spec.verb),
        },
        V::Int(i) => fmt_int(out, v, *i, spec),
        V::Float(f) => fmt_float(out, v, *f, spec),
        V::Str(p) => fmt_str(out, v, p, spec),
        V::Num(n) => fmt_str(out, v, &[Piece::Text(n.to_string())], spec),
        V::List(items) => {
            let sharp_v = spec.sharp && spec.verb == 'v';
            out.text(if sharp_v { "[]interface {}{" } else { "[" });
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    out.text(if sharp_v { ", " } else { " " });
                }
                fmt_nested(out, &V::from_data(e), spec, depth)?;
            }
            out.text(if sharp_v { "}" } else { "]" });
            Ok(())
        }
        V::Map(m) => {
            let sharp_v = spec.sharp && spec.verb == 'v';
            out.text(if sharp_v {
                "map[string]interface {}{"
            } else {
                "map["
            });
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.text(if sharp_v { ", " } else { " " });
                }
                fmt_arg(out, &V::string(k.clone()), spec, depth + 1)?;
                out.text(":");
                fmt_nested(out, &V::from_data(e), spec, depth)?;
            }
            out.text(if sharp_v { "}" } else { "]" });
            Ok(())
        }
    }
}

/// An element inside a list or map (an `interface{}`): nil prints `<nil>`.
fn fmt_nested(out: &mut Out, v: &V, spec: Spec, depth: usize) -> Result<(), u32> {
    if spec.sharp && spec.verb == 'v' && matches!(v, V::Nil) {
        out.text("interface {}(nil)");
        return Ok(());
    }
    fmt_arg(out, v, spec, depth + 1)
}

fn fmt_int(out: &mut Out, v: &V, i: i64, spec: Spec) -> Result<(), u32> {
    let mag = i.unsigned_abs();
    let (mut digits, prefix) = match spec.verb {
        'd' | 'v' => (mag.to_string(), ""),
        'b' => (format!("{mag:b}"), if spec.sharp { "0b" } else { "" }),
        'o' => (format!("{mag:o}"), if spec.sharp { "0" } else { "" }),
        'O' => (format!("{mag:o}"), "0o"),
        'x' => (format!("{mag:x}"), if spec.sharp { "0x" } else { "" }),
        'X' => (format!("{mag:X}"), if spec.sharp { "0X" } else { "" }),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            pad(out, &c.to_string(), spec);
            return Ok(());
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            pad(out, &quote_with(&c.to_string(), '\''), spec);
            return Ok(());
        }
        'U' => {
            pad(out, &format!("U+{i:04X}"), spec);
            return Ok(());
        }
        _ => return bad_verb(out, v, spec.verb),
    };
    if let Some(p) = spec.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        if digits.len() < p {
            digits = format!("{}{digits}", "0".repeat(p - digits.len()));
        }
    }
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let head = format!("{sign}{prefix}");
    let spec = if spec.prec.is_some() {
        Spec {
            zero: false,
            ..spec
        }
    } else {
        spec
    };
    pad_num(out, &head, &digits, spec);
    Ok(())
}

/// Splits Rust's `{:e}` output into (digits without point, decimal exponent).
fn sci_parts(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    (mant.replace('.', ""), exp.parse().unwrap_or(0))
}

fn exp_form(digits: &str, exp: i32, upper: bool) -> String {
    let mut s = String::new();
    s.push_str(&digits[..1.min(digits.len())]);
    if digits.len() > 1 {
        s.push('.');
        s.push_str(&digits[1..]);
    }
    s.push(if upper { 'E' } else { 'e' });
    s.push(if exp < 0 { '-' } else { '+' });
    s.push_str(&format!("{:02}", exp.unsigned_abs()));
    s
}

fn dec_form(digits: &str, exp: i32) -> String {
    if exp < 0 {
        let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
        format!("0.{zeros}{digits}")
    } else {
        let point = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= point {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    }
}

/// More fraction digits than any float64 has (its exact decimal expansion has at most
/// 1074): `%.Nf` formats this many and appends zeros, because Rust's formatter refuses
/// precisions above 65535 (it panics) while Go's accepts up to 10,000,009.
const FRACTION_DIGITS: usize = 1100;
/// More significant digits than any float64 has (at most 767): `%.Ne` and `%.Ng` round
/// to at most this many, the rest are zeros.
const SIGNIFICANT_DIGITS: usize = 800;

/// strconv.FormatFloat(f, 'g', prec, 64) for a non-negative finite f.
fn fmt_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    let (digits, exp, eprec) = match prec {
        None => {
            let (d, e) = sci_parts(&format!("{f:e}"));
            (d, e, 6)
        }
        Some(p) => {
            let p = p.max(1);
            let (d, e) = sci_parts(&format!("{:.*e}", (p - 1).min(SIGNIFICANT_DIGITS), f));
            let d = d.trim_end_matches('0').to_string();
            let d = if d.is_empty() { "0".to_string() } else { d };
            let mut eprec = p;
            let nd = d.len();
            if eprec > nd && i64::try_from(nd).unwrap_or(0) > i64::from(e) {
                eprec = nd;
            }
            (d, e, eprec)
        }
    };
    if exp < -4 || i64::from(exp) >= i64::try_from(eprec).unwrap_or(i64::MAX) {
        exp_form(&digits, exp, upper)
    } else {
        dec_form(&digits, exp)
    }
}

fn fmt_float(out: &mut Out, v: &V, f: f64, spec: Spec) -> Result<(), u32> {
    let sign = if f.is_sign_negative() && !f.is_nan() {
        "-"
    } else if spec.plus || (f.is_infinite() && spec.verb == 'v') {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let a = f.abs();
    let body = if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        "Inf".to_string()
    } else {
        match spec.verb {
            'v' | 'g' => fmt_g(a, spec.prec, false),
            'G' => fmt_g(a, spec.prec, true),
            'e' | 'E' => {
                let prec = spec.prec.unwrap_or(6);
                let exact = prec.min(SIGNIFICANT_DIGITS);
                let (mut d, e) = sci_parts(&format!("{a:.exact$e}"));
                d.extend(std::iter::repeat_n('0', prec - exact));
                exp_form(&d, e, spec.verb == 'E')
            }
            'f' | 'F' => {
                let prec = spec.prec.unwrap_or(6);
                let exact = prec.min(FRACTION_DIGITS);
                let mut s = format!("{a:.exact$}");
                s.extend(std::iter::repeat_n('0', prec - exact));
                s
            }
            _ => return bad_verb(out, v, spec.verb),
        }
    };
    pad_num(out, sign, &body, spec);
    Ok(())
}

fn fmt_str(out: &mut Out, v: &V, pieces: &[Piece], spec: Spec) -> Result<(), u32> {
    let sharp_v = spec.sharp && spec.verb == 'v';
    match spec.verb {
        's' | 'v' if !sharp_v => {
            if spec.width.is_none() && spec.prec.is_none() {
                out.pieces(pieces);
                return Ok(());
            }
            let s = plain(pieces)?;
            pad(out, &truncate(&s, spec.prec), spec);
        }
        'v' | 'q' => {
            let s = plain(pieces)?;
            pad(out, &quote_with(&truncate(&s, spec.prec), '"'), spec);
        }
        'x' | 'X' => {
            let s = plain(pieces)?;
            let bytes = truncate_bytes(s.as_bytes(), spec.prec);
            let mut h = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if spec.space && i > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    h.push_str(if spec.verb == 'x' { "0x" } else { "0X" });
                }
                if spec.verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &h, spec);
        }
        _ => return bad_verb(out, v, spec.verb),
    }
    Ok(())
}

fn truncate(s: &str, prec: Option<usize>) -> Cow<'_, str> {
    match prec {
        Some(p) => Cow::Owned(s.chars().take(p).collect()),
        None => Cow::Borrowed(s),
    }
}

fn truncate_bytes(b: &[u8], prec: Option<usize>) -> &[u8] {
    match prec {
        Some(p) => &b[..p.min(b.len())],
        None => b,
    }
}

/// Go's `strconv.Quote` (with `"`) or `strconv.QuoteRune` (with `'`).
pub(crate) fn quote_with(s: &str, q: char) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push(q);
    for c in s.chars() {
        match c {
            c if c == q => {
                o.push('\\');
                o.push(c);
            }
            '\\' => o.push_str("\\\\"),
            '\x07' => o.push_str("\\a"),
            '\x08' => o.push_str("\\b"),
            '\x0c' => o.push_str("\\f"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '\x0b' => o.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => o.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    o.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    o.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => o.push(c),
        }
    }
    o.push(q);
    o
}
