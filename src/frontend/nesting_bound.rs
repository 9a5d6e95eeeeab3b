//! A fast first pass for [`super::nesting`]: an upper bound of each measure it takes,
//! read from the bytes, so that a file well inside the limits is not lexed twice (the
//! lexer pass cost 38M of the 299M instructions of ethereum-package -> compose).
//!
//! Hand-written because no crate lexes Starlark other than starlark's own lexer, which
//! is what this pass avoids. It is exact where a mistake could lower the bound and
//! generous elsewhere:
//!
//! - brackets, commas, colons, `lambda`, statement ends (a newline outside brackets,
//!   strings and comments, not after `\`) and indentation are found exactly as the
//!   lexer finds them, so the resets of the measures happen at the same places;
//! - every operator character counts a level (`==` two, `=` one where the lexer's
//!   `=` adds none), so the bound of terms is at least the lexer's;
//! - an `elif` chain is never ended by a comment line (the lexer's pass may end it).
//!
//! Whatever it does not read exactly gives no bound: f-strings (their `{}` hold
//! code), tabs and carriage returns, characters outside ASCII in code, a `\` that
//! does not end a line or starts one, a number run into a name (`1e5`, `0x1f`), an
//! unfinished string. Then, and when a bound passes a limit, [`super::nesting`] takes
//! the exact measure with the lexer, so a file is refused only by the exact pass.

use super::nesting::Depth;

/// An upper bound of each measure [`super::nesting`] takes of `src`, or `None` when
/// `src` holds something this pass does not read exactly.
pub fn upper_bound(src: &str) -> Option<Depth> {
    let mut scan = Scan {
        b: src.as_bytes(),
        i: 0,
        line_begin: 0,
        line_start: true,
        deepest: Depth::default(),
        terms: 0,
        open: Vec::new(),
        lambdas: 0,
        parens: 0,
        indents: Vec::new(),
        chains: vec![0],
        chained: 0,
    };
    scan.run()?;
    Some(scan.deepest)
}

/// What a token does to the measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Names, literals, `;` and keywords that add no level.
    Flat,
    /// Operators and keywords that may add a level.
    Level,
    Lambda,
    Elif,
    Else,
    Open,
    Close,
    Comma,
    Colon,
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    /// Where the current physical line begins.
    line_begin: usize,
    /// At the start of a logical line: the next token is its first.
    line_start: bool,
    deepest: Depth,
    /// As in [`super::nesting`]: depth of the statement, and at each open bracket.
    terms: usize,
    open: Vec<(usize, usize)>,
    lambdas: usize,
    /// The lexer's count of open brackets (it may go below zero).
    parens: isize,
    /// The lexer's indentation stack, and the `elif` chain at each level.
    indents: Vec<usize>,
    chains: Vec<usize>,
    /// The sum of `chains`.
    chained: usize,
}

/// Whether a byte continues a name, by table: the scan spends most of its time in
/// names (two thirds of ethereum-package's bytes are name characters).
const NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_';
        c += 1;
    }
    t
};

/// How many bytes at the start of `b` are `is`.
fn run_of(b: &[u8], is: impl Fn(u8) -> bool) -> usize {
    let mut n = 0;
    while n < b.len() && is(b[n]) {
        n += 1;
    }
    n
}

impl Scan<'_> {
    fn at(&self, k: usize) -> u8 {
        self.b.get(self.i + k).copied().unwrap_or(0)
    }

    fn run(&mut self) -> Option<()> {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' => self.i += run_of(&self.b[self.i..], |c| c == b' '),
                b'\n' => {
                    self.i += 1;
                    self.line_begin = self.i;
                    if self.parens == 0 {
                        (self.terms, self.lambdas) = (0, 0);
                        self.open.clear();
                        self.line_start = true;
                    }
                }
                b'#' => {
                    self.i = memchr::memchr(b'\n', &self.b[self.i..])
                        .map_or(self.b.len(), |n| self.i + n);
                }
                b'\\' if self.at(1) == b'\n' && !self.line_start => {
                    self.i += 2;
                    self.line_begin = self.i;
                }
                b'"' | b'\'' => {
                    self.token(Kind::Flat);
                    self.string()?;
                }
                b'0'..=b'9' => {
                    self.token(Kind::Flat);
                    self.i += run_of(&self.b[self.i..], |c| c.is_ascii_digit());
                    if self.at(0).is_ascii_alphabetic() || self.at(0) == b'_' {
                        return None;
                    }
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.word()?,
                b'(' | b'[' | b'{' => self.punct(Kind::Open),
                b')' | b']' | b'}' => self.punct(Kind::Close),
                b',' => self.punct(Kind::Comma),
                b':' => self.punct(Kind::Colon),
                b';' => self.punct(Kind::Flat),
                b'+' | b'-' | b'*' | b'/' | b'%' | b'<' | b'>' | b'=' | b'!' | b'&' | b'|'
                | b'^' | b'~' | b'.' => self.punct(Kind::Level),
                _ => return None,
            }
        }
        Some(())
    }

    fn punct(&mut self, kind: Kind) {
        self.token(kind);
        self.i += 1;
    }

    /// A name or keyword, or the prefix of a string.
    fn word(&mut self) -> Option<()> {
        let start = self.i;
        self.i += run_of(&self.b[start..], |c| NAME[usize::from(c)]);
        let word = &self.b[start..self.i];
        if matches!(self.at(0), b'"' | b'\'') {
            match word {
                b"r" | b"b" | b"br" | b"rb" => {
                    self.token_at(start, Kind::Flat);
                    return self.string();
                }
                b"f" | b"fr" => return None,
                _ => {}
            }
        }
        let kind = match word {
            b"and" | b"or" | b"not" | b"if" | b"for" | b"in" => Kind::Level,
            b"lambda" => Kind::Lambda,
            b"elif" => Kind::Elif,
            b"else" => Kind::Else,
            _ => Kind::Flat,
        };
        self.token_at(start, kind);
        Some(())
    }

    /// Skips the string whose quote is at `i`, as the lexer does (a `\` takes the
    /// character after it, raw or not).
    fn string(&mut self) -> Option<()> {
        let q = self.at(0);
        let triple = self.at(1) == q && self.at(2) == q;
        self.i += if triple { 3 } else { 1 };
        loop {
            // Only a quote, a `\\` or a newline can end or change the string.
            self.i += memchr::memchr3(q, b'\\', b'\n', self.b.get(self.i..)?)?;
            match self.b[self.i] {
                b'\\' => self.i += 2,
                b'\n' if !triple => return None,
                b'\n' => {
                    self.i += 1;
                    self.line_begin = self.i;
                }
                _ if !triple || (self.at(1) == q && self.at(2) == q) => {
                    self.i += if triple { 3 } else { 1 };
                    return Some(());
                }
                _ => self.i += 1,
            }
        }
    }

    /// Counts a token starting at `i`.
    fn token(&mut self, kind: Kind) {
        self.token_at(self.i, kind);
    }

    /// Counts a token starting at `start`.
    #[inline]
    fn token_at(&mut self, start: usize, kind: Kind) {
        // Most tokens are names in the middle of a line: they change nothing.
        if kind == Kind::Flat && !self.line_start {
            return;
        }
        self.count(start, kind);
    }

    fn count(&mut self, start: usize, kind: Kind) {
        if std::mem::replace(&mut self.line_start, false) {
            self.indent(start - self.line_begin);
            match kind {
                Kind::Elif => {
                    self.chained += 1;
                    if let Some(c) = self.chains.last_mut() {
                        *c += 1;
                    }
                }
                Kind::Else => {}
                _ => {
                    let c = self.chains.last_mut().map_or(0, std::mem::take);
                    self.chained -= c;
                }
            }
            let blocks = self.chains.len() - 1 + self.chained;
            self.deepest.blocks = self.deepest.blocks.max(blocks);
        }
        match kind {
            Kind::Flat => return,
            Kind::Open => {
                self.parens += 1;
                self.terms += 1;
                self.open
                    .push((self.terms, std::mem::take(&mut self.lambdas)));
                self.deepest.brackets = self.deepest.brackets.max(self.open.len());
            }
            Kind::Close => {
                self.parens -= 1;
                (self.terms, self.lambdas) = self.open.pop().unwrap_or((self.terms, self.lambdas));
                return;
            }
            Kind::Comma => {
                if self.lambdas == 0 {
                    self.terms = self.open.last().map_or(0, |o| o.0);
                }
                return;
            }
            Kind::Colon => {
                self.lambdas = self.lambdas.saturating_sub(1);
                return;
            }
            Kind::Lambda => {
                self.lambdas += 1;
                self.terms += 1;
            }
            Kind::Level | Kind::Elif | Kind::Else => self.terms += 1,
        }
        self.deepest.terms = self.deepest.terms.max(self.terms);
    }

    /// The first token of a logical line is `width` columns in: opens or closes
    /// blocks as the lexer's indentation stack does.
    fn indent(&mut self, width: usize) {
        while width < self.indents.last().copied().unwrap_or(0) {
            self.indents.pop();
            self.chained -= self.chains.pop().unwrap_or(0);
        }
        if width > self.indents.last().copied().unwrap_or(0) {
            self.indents.push(width);
            self.chains.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::nesting::{self, MAX_BRACKETS, MAX_TERMS};
    use super::*;

    /// The bound is at least the exact measure, whenever there is one.
    fn assert_bounds(src: &str) {
        if let Some(bound) = upper_bound(src) {
            let exact = nesting::measure("f.star", src);
            let ok = bound.brackets >= exact.brackets
                && bound.terms >= exact.terms
                && bound.blocks >= exact.blocks;
            assert!(ok, "bound {bound:?} below exact {exact:?} for {src:?}");
        }
    }

    #[test]
    fn brackets_in_strings_and_comments_are_not_counted() {
        let deep = "(".repeat(3 * MAX_BRACKETS);
        let src = format!(
            "x = \"{deep}\"\ny = '{deep}' + r\"\\\"{deep}\"\n# {deep}\nz = \"\"\"\n{deep}\n\"\"\"\nw = b'{deep}'\n"
        );
        let bound = upper_bound(&src).expect("read exactly");
        assert!(bound.brackets == 0 && bound.terms <= 4, "{bound:?}");
        assert!(nesting::check("f.star", &src).is_ok());
    }

    #[test]
    fn past_a_limit_is_still_refused_by_the_exact_measure() {
        // Quotes that end no string, or strings that end early, must not hide code.
        for prefix in [
            "x = \"\\\"\" + ",
            "x = r'\\'' + ",
            "x = \"\"\"a\"b\"\"c\"\"\" + ",
            "x = '''\"\"\"''' + ",
        ] {
            let src = format!("{prefix}{}1\n", "-".repeat(MAX_TERMS + 1));
            assert!(nesting::check("f.star", &src).is_err(), "{src:?}");
            assert_bounds(&src);
        }
    }

    #[test]
    fn gives_no_bound_where_it_cannot_read_exactly() {
        for src in [
            "x = f\"{(1)}\"\n",
            "x = 1e5\n",
            "x\t= 1\n",
            "x = 1\r\n",
            "é = 1\n",
            "x = 'a\n",
            "x = 'a\\",
            "x = '''a\\",
        ] {
            assert_eq!(upper_bound(src), None, "{src:?}");
        }
    }

    #[test]
    fn bounds_the_exact_measure_of_any_token_soup() {
        const PIECES: &[&str] = &[
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            "lambda ",
            "and ",
            "not ",
            "-",
            "x",
            " ",
            "\n",
            "    ",
            "\\\n",
            "\"",
            "'",
            "\"\"\"",
            "'''",
            "# c",
            "r",
            "b",
            "\\",
            "elif ",
            "else",
            "if ",
            "1",
            ".",
            "=",
            "==",
            ";",
            "pass",
            "\ndef f():\n  ",
            "\n  ",
            "\n",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut src = String::new();
            seed ^= seed << 13;
            let len = (seed >> 58) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                src.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
            }
            assert_bounds(&src);
        }
    }

    #[test]
    fn bounds_the_packages_in_the_repository() {
        let mut files = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
        let mut read = 0;
        while let Some(p) = files.pop() {
            if p.is_dir() && !p.ends_with("target") && !p.ends_with(".git") {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else if p.extension().is_some_and(|e| e == "star") {
                let src = std::fs::read_to_string(&p).unwrap();
                assert_bounds(&src);
                read += usize::from(upper_bound(&src).is_some());
            }
        }
        assert!(read > 10, "only {read} files read exactly");
    }
}
