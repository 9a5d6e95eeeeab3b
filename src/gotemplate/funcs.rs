//! Go text/template's builtin functions (except `and`/`or`, which the executor
//! evaluates lazily).

use std::borrow::Cow;
use std::cmp::Ordering;

use super::format::{sprint, sprintf, sprintln};
use super::value::{plain, Out, Piece, V};

/// Why a builtin failed.
#[derive(Debug)]
pub(crate) enum FnErr {
    /// Go's error text (wrapped by the executor as "error calling NAME: ...").
    Msg(String),
    /// The result depends on the content of this hole; the string says what needed it.
    Need(u32, String),
}

type FResult<T> = Result<T, FnErr>;

fn msg<T>(m: impl Into<String>) -> FResult<T> {
    Err(FnErr::Msg(m.into()))
}

fn need(what: &str) -> impl Fn(u32) -> FnErr + '_ {
    move |h| FnErr::Need(h, what.to_string())
}

/// The builtins whose parameters are `reflect.Value` (nil literals are rejected).
pub(crate) fn takes_reflect_values(name: &str) -> bool {
    !matches!(
        name,
        "print" | "printf" | "println" | "html" | "js" | "urlquery"
    )
}

/// Argument count rule: (minimum, exact?).
pub(crate) fn arity(name: &str) -> (usize, bool) {
    match name {
        "not" | "len" => (1, true),
        "ne" | "lt" | "le" | "gt" | "ge" => (2, true),
        "and" | "or" | "index" | "slice" | "eq" | "call" | "printf" => (1, false),
        _ => (0, false),
    }
}

/// Calls builtin `name` on evaluated arguments.
pub(crate) fn call<'a>(name: &str, args: Vec<V<'a>>) -> FResult<V<'a>> {
    let first = args.first().cloned().unwrap_or(V::NoValue);
    let second = args.get(1).cloned().unwrap_or(V::NoValue);
    match name {
        "not" => Ok(V::Bool(!first.truth())),
        "len" => length(&first).map(V::Int),
        "index" => index(first, &args[1.min(args.len())..]),
        "slice" => slice(first, &args[1.min(args.len())..]),
        "eq" => eq(&first, &args[1.min(args.len())..]).map(V::Bool),
        "ne" => eq(&first, &args[1.min(args.len())..]).map(|b| V::Bool(!b)),
        "lt" => lt(&first, &second).map(V::Bool),
        "le" => le(&first, &second).map(V::Bool),
        "gt" => le(&first, &second).map(|b| V::Bool(!b)),
        "ge" => lt(&first, &second).map(|b| V::Bool(!b)),
        "call" => match first {
            V::NoValue | V::Nil => msg("call of nil"),
            v => msg(format!("non-function of type {}", v.type_name())),
        },
        "print" | "println" | "printf" => {
            let mut out = Out::default();
            let args: Vec<V> = args.into_iter().map(nil_arg).collect();
            match name {
                "print" => sprint(&mut out, &args).map_err(need("print"))?,
                "println" => sprintln(&mut out, &args).map_err(need("println"))?,
                _ => {
                    let format = match &first {
                        V::Str(p) => plain(p).map_err(need("printf's format"))?,
                        V::NoValue | V::Nil => return msg("invalid value; expected string"),
                        v => {
                            return msg(format!(
                                "wrong type for value; expected string; got {}",
                                v.type_name()
                            ))
                        }
                    };
                    sprintf(&mut out, &format, &args[1..]).map_err(need("printf"))?;
                }
            }
            Ok(V::Str(Cow::Owned(out.0)))
        }
        "html" => Ok(V::string(html_escape(&eval_args(args, "html")?))),
        "js" => Ok(V::string(js_escape(&eval_args(args, "js")?))),
        "urlquery" => Ok(V::string(query_escape(&eval_args(args, "urlquery")?))),
        _ => msg(format!("function {name:?} not defined")),
    }
}

/// A `...any` argument: the invalid value becomes nil.
fn nil_arg(v: V) -> V {
    match v {
        V::NoValue => V::Nil,
        v => v,
    }
}

/// Go's `evalArgs` for html/js/urlquery.
fn eval_args(args: Vec<V>, what: &str) -> FResult<String> {
    if let [V::Str(p)] = args.as_slice() {
        return Ok(plain(p).map_err(need(what))?.into_owned());
    }
    let mut out = Out::default();
    for (i, a) in args.iter().enumerate() {
        let a = match a {
            V::NoValue | V::Nil => V::string("<no value>".into()),
            a => a.clone(),
        };
        if i > 0
            && !matches!(a, V::Str(_) | V::Num(_))
            && !matches!(args[i - 1], V::Str(_) | V::Num(_))
        {
            out.text(" ");
        }
        sprint(&mut out, std::slice::from_ref(&a)).map_err(need(what))?;
    }
    Ok(plain(&out.0).map_err(need(what))?.into_owned())
}

fn length(v: &V) -> FResult<i64> {
    let n = match v {
        V::Str(p) => plain(p).map_err(need("len of a string"))?.len(),
        V::Num(n) => n.len(),
        V::List(l) => l.len(),
        V::Map(m) => m.len(),
        V::NoValue | V::Nil => return msg("len of nil pointer"),
        v => return msg(format!("len of type {}", v.type_name())),
    };
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Go's `indexArg`: an int index in `0..=cap`.
fn index_arg(v: &V, cap: usize) -> FResult<usize> {
    let x = match v {
        V::Int(i) => *i,
        V::NoValue | V::Nil => return msg("cannot index slice/array with nil"),
        v => {
            return msg(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ))
        }
    };
    match usize::try_from(x) {
        Ok(u) if u <= cap => Ok(u),
        _ => msg(format!("index out of range: {x}")),
    }
}

fn string_bytes<'b>(v: &'b V, what: &str) -> FResult<Option<Cow<'b, str>>> {
    Ok(match v {
        V::Str(p) => Some(plain(p).map_err(need(what))?),
        V::Num(n) => Some(Cow::Borrowed(n.as_ref())),
        _ => None,
    })
}

fn index<'a>(item: V<'a>, idx: &[V<'a>]) -> FResult<V<'a>> {
    let mut item = item;
    if let V::NoValue | V::Nil = item {
        return msg("index of untyped nil");
    }
    for i in idx {
        item = match item {
            V::NoValue | V::Nil => return msg("index of nil pointer"),
            V::List(l) => {
                let x = index_arg(i, l.len())?;
                match l.get(x) {
                    Some(e) => V::from_data(e),
                    None => return msg(format!("index out of range: {x}")),
                }
            }
            V::Str(_) | V::Num(_) => {
                let s = string_bytes(&item, "index of a string")?.unwrap_or_default();
                let x = index_arg(i, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => V::Int(i64::from(*b)),
                    None => return msg(format!("index out of range: {x}")),
                }
            }
            V::Map(m) => {
                let key = match i {
                    V::Str(p) => plain(p).map_err(need("index of a map by a key"))?,
                    V::NoValue | V::Nil => return msg("value is nil; should be of type string"),
                    v => {
                        return msg(format!(
                            "value has type {}; should be string",
                            v.type_name()
                        ))
                    }
                };
                match m.get(key.as_ref()) {
                    Some(e) => V::from_data(e),
                    None => V::Nil,
                }
            }
            v => return msg(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(item)
}

fn slice<'a>(item: V<'a>, idx: &[V<'a>]) -> FResult<V<'a>> {
    if let V::NoValue | V::Nil = item {
        return msg("slice of untyped nil");
    }
    if idx.len() > 3 {
        return msg(format!("too many slice indexes: {}", idx.len()));
    }
    let text = string_bytes(&item, "slice of a string")?;
    let len = match (&item, &text) {
        (_, Some(s)) => {
            if idx.len() == 3 {
                return msg("cannot 3-index slice a string");
            }
            s.len()
        }
        (V::List(l), None) => l.len(),
        (v, None) => return msg(format!("can't slice item of type {}", v.type_name())),
    };
    let mut bounds = [0, len, len];
    for (k, i) in idx.iter().enumerate() {
        bounds[k] = index_arg(i, len)?;
    }
    if bounds[0] > bounds[1] {
        return msg(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return msg(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    let (a, b) = (bounds[0], bounds[1]);
    Ok(match (&item, text) {
        (V::List(l), None) => V::List(&l[a..b]),
        (V::Num(_), Some(s)) => V::Num(Cow::Owned(lossy(&s.as_bytes()[a..b]))),
        (_, Some(s)) => V::string(lossy(&s.as_bytes()[a..b])),
        _ => V::NoValue,
    })
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    /// Lists and maps: not a basic kind.
    Composite,
}

fn kind(v: &V) -> Kind {
    match v {
        V::NoValue | V::Nil => Kind::Invalid,
        V::Bool(_) => Kind::Bool,
        V::Int(_) => Kind::Int,
        V::Float(_) => Kind::Float,
        V::Str(_) | V::Num(_) => Kind::Str,
        V::List(_) | V::Map(_) => Kind::Composite,
    }
}

fn pieces_of<'b>(v: &'b V) -> Cow<'b, [Piece]> {
    match v {
        V::Str(p) => Cow::Borrowed(p.as_ref()),
        V::Num(n) => Cow::Owned(vec![Piece::Text(n.to_string())]),
        _ => Cow::Owned(Vec::new()),
    }
}

fn normalize(p: &[Piece]) -> Vec<Piece> {
    let mut o = Out::default();
    o.pieces(p);
    o.0
}

/// Compares two string-kind values; identical hole sequences are equal.
fn str_cmp(a: &V, b: &V, what: &str) -> FResult<Ordering> {
    let (pa, pb) = (pieces_of(a), pieces_of(b));
    if normalize(&pa) == normalize(&pb) {
        return Ok(Ordering::Equal);
    }
    let sa = plain(&pa).map_err(need(what))?;
    let sb = plain(&pb).map_err(need(what))?;
    Ok(sa.as_ref().cmp(sb.as_ref()))
}

const BAD_CMP: &str = "incompatible types for comparison";
const BAD_CMP_TYPE: &str = "invalid type for comparison";

/// Go's `eq arg1 arg2...`: true if arg1 equals any of the others.
fn eq(a: &V, bs: &[V]) -> FResult<bool> {
    if bs.is_empty() {
        return msg("missing argument for comparison");
    }
    let ka = kind(a);
    for b in bs {
        let kb = kind(b);
        let truth = if ka != kb {
            if ka != Kind::Invalid && kb != Kind::Invalid {
                return msg(BAD_CMP);
            }
            false
        } else {
            match (a, b) {
                (V::Bool(x), V::Bool(y)) => x == y,
                (V::Int(x), V::Int(y)) => x == y,
                (V::Float(x), V::Float(y)) => x == y,
                _ if ka == Kind::Str => str_cmp(a, b, "eq on a string")? == Ordering::Equal,
                _ if ka == Kind::Invalid => true,
                _ => {
                    return msg(format!(
                        "non-comparable types {}: {}",
                        a.type_name(),
                        b.type_name()
                    ))
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &V, b: &V) -> FResult<bool> {
    let (ka, kb) = (kind(a), kind(b));
    for k in [ka, kb] {
        if matches!(k, Kind::Invalid | Kind::Composite) {
            return msg(BAD_CMP_TYPE);
        }
    }
    if ka != kb {
        return msg(BAD_CMP);
    }
    Ok(match (a, b) {
        (V::Int(x), V::Int(y)) => x < y,
        (V::Float(x), V::Float(y)) => x < y,
        _ if ka == Kind::Str => str_cmp(a, b, "ordering a string")? == Ordering::Less,
        _ => return msg(BAD_CMP_TYPE),
    })
}

fn le(a: &V, b: &V) -> FResult<bool> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Go's `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("&#34;"),
            '\'' => o.push_str("&#39;"),
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\0' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\'' => o.push_str("\\'"),
            '"' => o.push_str("\\\""),
            '<' => o.push_str("\\u003C"),
            '>' => o.push_str("\\u003E"),
            '&' => o.push_str("\\u0026"),
            '=' => o.push_str("\\u003D"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(char::from(b));
            }
            b' ' => o.push('+'),
            b => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}
