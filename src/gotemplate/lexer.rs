//! Lexer: splits a template into text and action tokens, applying Go's trim
//! markers (`{{- ` and ` -}}`) to the neighbouring text.

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    Left,
    Right,
    Dot,
    /// `.Name` (without the dot).
    Field(String),
    /// `$name` or `$` (with the dollar).
    Var(String),
    Ident(String),
    /// A decoded quoted or raw string.
    Str(String),
    /// Number text as written.
    Num(String),
    /// A character constant's value.
    Char(i64),
    Declare,
    Assign,
    Pipe,
    LParen,
    RParen,
    Comma,
    Eof,
}

impl Tok {
    /// How Go's parser names a token in "unexpected X" messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Text(t) => format!("{t:?}"),
            Tok::Left => "\"{{\"".into(),
            Tok::Right => "\"}}\"".into(),
            Tok::Dot => "\".\"".into(),
            Tok::Field(f) => format!("<.{f}>"),
            Tok::Var(v) => format!("<{v}>"),
            Tok::Ident(i) => format!("<{i}>"),
            Tok::Str(s) => format!("{s:?}"),
            Tok::Num(n) => format!("<{n}>"),
            Tok::Char(c) => format!("<char {c}>"),
            Tok::Declare => "\":=\"".into(),
            Tok::Assign => "\"=\"".into(),
            Tok::Pipe => "\"|\"".into(),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Eof => "EOF".into(),
        }
    }
}

/// A token with its byte offset and whether whitespace preceded it in an action.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
    pub(crate) space_before: bool,
}

const SPACE: [char; 4] = [' ', '\t', '\r', '\n'];

fn is_space(c: char) -> bool {
    SPACE.contains(&c)
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn has_left_trim(s: &str) -> bool {
    let mut c = s.chars();
    c.next() == Some('-') && c.next().is_some_and(is_space)
}

fn has_right_trim(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(is_space) && c.next() == Some('-') && s[2..].starts_with("}}")
}

/// A lexing error: byte offset and message.
pub(crate) type LexError = (usize, String);

/// Lexes the whole source.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut toks = Vec::new();
    let mut i = 0;
    let mut trim_next = false;
    loop {
        let next = src[i..].find("{{").map(|k| i + k);
        let end = next.unwrap_or(src.len());
        let mut text = &src[i..end];
        let mut text_pos = i;
        if trim_next {
            let t = text.trim_start_matches(SPACE);
            text_pos += text.len() - t.len();
            text = t;
        }
        let left_trim = next.is_some() && has_left_trim(&src[end + 2..]);
        if left_trim {
            text = text.trim_end_matches(SPACE);
        }
        if !text.is_empty() {
            toks.push(Token {
                tok: Tok::Text(text.to_string()),
                pos: text_pos,
                space_before: false,
            });
        }
        trim_next = false;
        let Some(start) = next else {
            toks.push(Token {
                tok: Tok::Eof,
                pos: src.len(),
                space_before: false,
            });
            return Ok(toks);
        };
        i = start + 2 + if left_trim { 2 } else { 0 };
        if src[i..].starts_with("/*") {
            let Some(k) = src[i + 2..].find("*/") else {
                return Err((start, "unclosed comment".into()));
            };
            let j = i + 2 + k + 2;
            if src[j..].starts_with("}}") {
                i = j + 2;
            } else if has_right_trim(&src[j..]) {
                i = j + 4;
                trim_next = true;
            } else {
                return Err((start, "comment ends before closing delimiter".into()));
            }
            continue;
        }
        toks.push(Token {
            tok: Tok::Left,
            pos: start,
            space_before: false,
        });
        let (ni, trim) = lex_action(src, i, start, &mut toks)?;
        i = ni;
        trim_next = trim;
    }
}

/// Lexes one action starting at `i`; returns the offset after `}}` and whether it trims.
fn lex_action(
    src: &str,
    mut i: usize,
    start: usize,
    toks: &mut Vec<Token>,
) -> Result<(usize, bool), LexError> {
    let mut space = false;
    loop {
        let rest = &src[i..];
        if rest.starts_with("}}") {
            toks.push(Token {
                tok: Tok::Right,
                pos: i,
                space_before: space,
            });
            return Ok((i + 2, false));
        }
        if has_right_trim(rest) {
            toks.push(Token {
                tok: Tok::Right,
                pos: i,
                space_before: true,
            });
            return Ok((i + 4, true));
        }
        let Some(c) = rest.chars().next() else {
            return Err((start, "unclosed action".into()));
        };
        if is_space(c) {
            space = true;
            i += 1;
            continue;
        }
        let pos = i;
        let next = rest[c.len_utf8()..].chars().next();
        let (tok, len) = match c {
            '|' => (Tok::Pipe, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '=' => (Tok::Assign, 1),
            ':' if next == Some('=') => (Tok::Declare, 2),
            '"' => lex_quoted(rest).map_err(|m| (pos, m))?,
            '`' => match rest[1..].find('`') {
                Some(k) => (Tok::Str(rest[1..1 + k].to_string()), k + 2),
                None => return Err((pos, "unterminated raw quoted string".into())),
            },
            '\'' => lex_char(rest).map_err(|m| (pos, m))?,
            '$' => {
                let n = word_len(&rest[1..]);
                check_terminator(src, i + 1 + n)?;
                (Tok::Var(rest[..1 + n].to_string()), 1 + n)
            }
            '.' if next.is_some_and(|d| d.is_ascii_digit()) => lex_number(src, i)?,
            '.' if next.is_some_and(is_alnum) => {
                let n = word_len(&rest[1..]);
                check_terminator(src, i + 1 + n)?;
                (Tok::Field(rest[1..1 + n].to_string()), 1 + n)
            }
            '.' => (Tok::Dot, 1),
            '+' | '-' | '0'..='9' => lex_number(src, i)?,
            c if is_alnum(c) => {
                let n = word_len(rest);
                check_terminator(src, i + n)?;
                (Tok::Ident(rest[..n].to_string()), n)
            }
            c => return Err((pos, format!("unexpected {c:?} in command"))),
        };
        toks.push(Token {
            tok,
            pos,
            space_before: space,
        });
        space = false;
        i += len;
    }
}

fn word_len(s: &str) -> usize {
    s.char_indices()
        .find(|(_, c)| !is_alnum(*c))
        .map_or(s.len(), |(k, _)| k)
}

/// Go's `atTerminator`: what may directly follow a word.
fn check_terminator(src: &str, i: usize) -> Result<(), LexError> {
    match src[i..].chars().next() {
        None => Ok(()),
        Some(c) if is_space(c) || ".,|:()".contains(c) || src[i..].starts_with("}}") => Ok(()),
        Some(c) => Err((i, format!("bad character U+{:04X} '{c}'", c as u32))),
    }
}

fn lex_number(src: &str, i: usize) -> Result<(Tok, usize), LexError> {
    let b = src.as_bytes();
    let mut j = i;
    if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
        j += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if j + 1 < b.len() && b[j] == b'0' {
        match b[j + 1] {
            b'x' | b'X' => {
                j += 2;
                digits = b"0123456789abcdefABCDEF_";
                exp = b"pP";
            }
            b'o' | b'O' => {
                j += 2;
                digits = b"01234567_";
            }
            b'b' | b'B' => {
                j += 2;
                digits = b"01_";
            }
            _ => {}
        }
    }
    while j < b.len() && digits.contains(&b[j]) {
        j += 1;
    }
    if j < b.len() && b[j] == b'.' {
        j += 1;
        while j < b.len() && digits.contains(&b[j]) {
            j += 1;
        }
    }
    if j < b.len() && exp.contains(&b[j]) {
        j += 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
    }
    let text = &src[i..j];
    let bad =
        src[j..].chars().next().is_some_and(is_alnum) || !text.bytes().any(|c| c.is_ascii_digit());
    if bad {
        let k = j + word_len(&src[j..]);
        return Err((i, format!("bad number syntax: {:?}", &src[i..k.max(j)])));
    }
    Ok((Tok::Num(text.to_string()), j - i))
}

/// Decodes one escape sequence after a backslash; returns the char and its length.
fn unescape(s: &str, quote: char) -> Result<(char, usize), String> {
    let bad = || "invalid syntax".to_string();
    let mut it = s.chars();
    let c = it.next().ok_or_else(bad)?;
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        c if c == quote => Some(c),
        _ => None,
    };
    if let Some(ch) = simple {
        return Ok((ch, 1));
    }
    let (radix, n) = match c {
        'x' => (16, 2),
        'u' => (16, 4),
        'U' => (16, 8),
        '0'..='7' => (8, 3),
        _ => return Err(bad()),
    };
    let skip = usize::from(radix == 16);
    let digits = s.get(skip..skip + n).ok_or_else(bad)?;
    let v = u32::from_str_radix(digits, radix).map_err(|_| bad())?;
    let ch = char::from_u32(v).ok_or_else(bad)?;
    Ok((ch, skip + n))
}

fn lex_quoted(rest: &str) -> Result<(Tok, usize), String> {
    let mut out = String::new();
    let mut k = 1;
    loop {
        let Some(c) = rest[k..].chars().next() else {
            return Err("unterminated quoted string".into());
        };
        match c {
            '"' => return Ok((Tok::Str(out), k + 1)),
            '\n' => return Err("unterminated quoted string".into()),
            '\\' => {
                let (ch, n) = unescape(&rest[k + 1..], '"')?;
                out.push(ch);
                k += 1 + n;
            }
            c => {
                out.push(c);
                k += c.len_utf8();
            }
        }
    }
}

fn lex_char(rest: &str) -> Result<(Tok, usize), String> {
    let unterminated = || "unterminated character constant".to_string();
    let c = rest[1..].chars().next().ok_or_else(unterminated)?;
    let (ch, n) = match c {
        '\\' => {
            let (ch, n) = unescape(&rest[2..], '\'')?;
            (ch, 1 + n)
        }
        '\n' | '\'' => return Err(unterminated()),
        c => (c, c.len_utf8()),
    };
    if !rest[1 + n..].starts_with('\'') {
        return Err(unterminated());
    }
    Ok((Tok::Char(i64::from(u32::from(ch))), n + 2))
}
