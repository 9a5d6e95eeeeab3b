//! Parser: tokens to an AST, with Go's parse-time checks (defined functions,
//! declared variables, `{{break}}` inside `{{range}}`) and a nesting bound.

use super::lexer::{lex, Tok, Token};
use super::value::Piece;
use super::ParseError;

/// Maximum nesting of control structures and parentheses.
pub(crate) const MAX_DEPTH: usize = 100;

/// Names of the builtin functions.
pub(crate) const FUNCS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

const KEYWORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "break", "continue", "define", "template", "block",
];

/// Where an executable node is, for error messages: byte offsets in the template's
/// source. Lines, columns and the node's text are worked out only for a message:
/// working them out for every node, each from the start of the source, was
/// quadratic in the template's size (and 1.9M of the 270M instructions of compiling
/// ethereum-package, which renders 175 actions).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loc {
    start: usize,
    end: usize,
}

impl Loc {
    /// 1-based line and column (in characters) of the node in `src`.
    pub(crate) fn line_col(self, src: &str) -> (usize, usize) {
        line_col(src, self.start)
    }

    /// Source text of the node (Go's error context).
    pub(crate) fn text(self, src: &str) -> &str {
        src.get(self.start..self.end).unwrap_or_default().trim_end()
    }
}

#[derive(Debug)]
pub(crate) enum Node {
    Text(Vec<Piece>),
    Action(Pipe),
    If(Control),
    With(Control),
    Range(Control),
    Break,
    Continue,
}

#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) pipe: Pipe,
    pub(crate) list: Vec<Node>,
    pub(crate) else_list: Option<Vec<Node>>,
    pub(crate) loc: Loc,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) decl: Vec<String>,
    pub(crate) is_assign: bool,
    pub(crate) cmds: Vec<Cmd>,
    pub(crate) loc: Loc,
}

#[derive(Debug)]
pub(crate) struct Cmd {
    pub(crate) args: Vec<Arg>,
    pub(crate) loc: Loc,
}

#[derive(Debug)]
pub(crate) enum Arg {
    Dot,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Vec<Piece>),
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B`
    Var(String, Vec<String>),
    /// A builtin function name.
    Func(String),
    /// `( pipeline )`
    Pipe(Box<Pipe>),
    /// `(pipeline).A.B` or `func.A`
    Chain(Box<Arg>, Vec<String>),
}

enum Stop {
    Eof,
    End,
    Else,
}

struct Parser<'s> {
    name: &'s str,
    src: &'s str,
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    depth: usize,
    range_depth: usize,
    /// Offset of the `{{` of the last `{{end}}`/`{{else}}` seen.
    stop_pos: usize,
}

type PResult<T> = Result<T, ParseError>;

/// Parses a template source into its top-level node list.
pub(crate) fn parse(name: &str, src: &str) -> PResult<Vec<Node>> {
    let toks = lex(src).map_err(|(pos, msg)| error_at(name, src, pos, msg))?;
    let mut p = Parser {
        name,
        src,
        toks,
        i: 0,
        vars: vec!["$".to_string()],
        depth: 0,
        range_depth: 0,
        stop_pos: 0,
    };
    let (list, stop) = p.list()?;
    match stop {
        Stop::Eof => Ok(list),
        Stop::End => Err(p.err_at(p.stop_pos, "unexpected {{end}}")),
        Stop::Else => Err(p.err_at(p.stop_pos, "unexpected {{else}}")),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let before = src.get(..pos).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |k| k + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn error_at(name: &str, src: &str, pos: usize, message: String) -> ParseError {
    let (line, col) = line_col(src, pos);
    ParseError {
        name: name.to_string(),
        line,
        col,
        message,
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        let k = self.i.min(self.toks.len().saturating_sub(1));
        &self.toks[k]
    }

    fn peek_tok(&self) -> &Tok {
        &self.peek().tok
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn err_at(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        error_at(self.name, self.src, pos, msg.into())
    }

    fn err_prev(&self, msg: impl Into<String>) -> ParseError {
        let k = self
            .i
            .saturating_sub(1)
            .min(self.toks.len().saturating_sub(1));
        self.err_at(self.toks[k].pos, msg)
    }

    fn loc(&self, start: usize) -> Loc {
        Loc {
            start,
            end: self.peek().pos.max(start),
        }
    }

    fn enter(&mut self, pos: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn expect_right(&mut self, context: &str) -> PResult<()> {
        let t = self.next();
        match t.tok {
            Tok::Right => Ok(()),
            other => Err(self.err_at(
                t.pos,
                format!("unexpected {} in {context}", other.describe()),
            )),
        }
    }

    /// Parses nodes until EOF, `{{end}}` or `{{else`; the stop token is consumed
    /// except for what follows `else`.
    fn list(&mut self) -> PResult<(Vec<Node>, Stop)> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Eof => return Ok((nodes, Stop::Eof)),
                Tok::Text(s) => nodes.push(Node::Text(vec![Piece::Text(s)])),
                Tok::Left => {
                    if let Some(stop) = self.action(&mut nodes)? {
                        return Ok((nodes, stop));
                    }
                }
                other => return Err(self.err_at(t.pos, format!("unexpected {}", other.describe()))),
            }
        }
    }

    /// A nested list: EOF is an error, variables declared inside go out of scope.
    fn nested_list(&mut self) -> PResult<(Vec<Node>, Stop)> {
        let mark = self.vars.len();
        let r = self.list()?;
        self.vars.truncate(mark);
        if let Stop::Eof = r.1 {
            return Err(self.err_prev("unexpected EOF"));
        }
        Ok(r)
    }

    /// After `{{`: parses one action, or returns the stop it denotes.
    fn action(&mut self, nodes: &mut Vec<Node>) -> PResult<Option<Stop>> {
        let t = self.peek().clone();
        self.stop_pos = self.toks[self.i.saturating_sub(1)].pos;
        if let Tok::Ident(word) = &t.tok {
            match word.as_str() {
                "end" => {
                    self.next();
                    self.expect_right("end")?;
                    return Ok(Some(Stop::End));
                }
                "else" => {
                    self.next();
                    return Ok(Some(Stop::Else));
                }
                "if" | "with" | "range" => {
                    self.next();
                    let node = self.control(word, t.pos)?;
                    nodes.push(node);
                    return Ok(None);
                }
                "break" | "continue" => {
                    self.next();
                    if self.range_depth == 0 {
                        return Err(
                            self.err_at(t.pos, format!("{{{{{word}}}}} outside {{{{range}}}}"))
                        );
                    }
                    self.expect_right(word)?;
                    nodes.push(if word == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    });
                    return Ok(None);
                }
                "define" | "template" | "block" => {
                    return Err(self.err_at(
                        t.pos,
                        format!("{{{{{word}}}}} is not supported by kplan's template engine"),
                    ));
                }
                _ => {}
            }
        }
        let pipe = self.pipeline("command", false)?;
        self.expect_right("command")?;
        nodes.push(Node::Action(pipe));
        Ok(None)
    }

    /// `if`, `with` or `range` after its keyword (at `pos`).
    fn control(&mut self, kind: &str, pos: usize) -> PResult<Node> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let pipe = self.pipeline(kind, kind == "range")?;
        let loc = self.loc(pos);
        self.expect_right(kind)?;
        if kind == "range" {
            self.range_depth += 1;
        }
        let (list, stop) = self.nested_list()?;
        if kind == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Stop::Else = stop {
            let t = self.peek().clone();
            if kind != "range" && t.tok == Tok::Ident(kind.to_string()) {
                // `else if` / `else with`: the nested control consumes the one {{end}}.
                self.next();
                else_list = Some(vec![self.control(kind, t.pos)?]);
            } else {
                self.expect_right("else")?;
                let (list, stop) = self.nested_list()?;
                if let Stop::Else = stop {
                    return Err(self.err_at(self.stop_pos, "expected end; found {{else}}"));
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(mark);
        self.depth -= 1;
        let c = Control {
            pipe,
            list,
            else_list,
            loc,
        };
        Ok(match kind {
            "if" => Node::If(c),
            "with" => Node::With(c),
            _ => Node::Range(c),
        })
    }

    /// A pipeline up to (not including) `}}` or `)`.
    fn pipeline(&mut self, context: &str, is_range: bool) -> PResult<Pipe> {
        let start = self.peek().pos;
        let mut decl = Vec::new();
        let mut is_assign = false;
        if let Tok::Var(_) = self.peek_tok() {
            let after = self.toks.get(self.i + 1).map(|t| t.tok.clone());
            if matches!(
                after,
                Some(Tok::Declare) | Some(Tok::Assign) | Some(Tok::Comma)
            ) {
                loop {
                    let v = self.next();
                    let Tok::Var(name) = v.tok else {
                        return Err(self.err_at(
                            v.pos,
                            format!("unexpected {} in {context}", v.tok.describe()),
                        ));
                    };
                    decl.push((name, v.pos));
                    let t = self.next();
                    match t.tok {
                        Tok::Declare => break,
                        Tok::Assign => {
                            is_assign = true;
                            break;
                        }
                        Tok::Comma if is_range && decl.len() < 2 => continue,
                        Tok::Comma => {
                            return Err(
                                self.err_at(t.pos, format!("too many declarations in {context}"))
                            )
                        }
                        other => {
                            return Err(self.err_at(
                                t.pos,
                                format!("unexpected {} in {context}", other.describe()),
                            ))
                        }
                    }
                }
            }
        }
        if is_assign {
            for (name, pos) in &decl {
                if !self.vars.contains(name) {
                    return Err(self.err_at(*pos, format!("undefined variable {name:?}")));
                }
            }
        } else {
            self.vars.extend(decl.iter().map(|(n, _)| n.clone()));
        }
        let mut cmds = Vec::new();
        loop {
            match self.peek_tok() {
                Tok::Right | Tok::RParen | Tok::Eof => break,
                _ => {}
            }
            cmds.push(self.command()?);
            if let Tok::Pipe = self.peek_tok() {
                self.next();
                if matches!(self.peek_tok(), Tok::Right | Tok::RParen) {
                    return Err(self.err_at(self.peek().pos, "missing command after |"));
                }
            } else {
                break;
            }
        }
        if cmds.is_empty() {
            return Err(self.err_at(self.peek().pos, format!("missing value for {context}")));
        }
        for (k, c) in cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Dot | Arg::Nil | Arg::Bool(_) | Arg::Int(_) | Arg::Float(_) | Arg::Str(_)
                )
            ) {
                return Err(self.err_at(
                    start,
                    format!("non executable command in pipeline stage {}", k + 1),
                ));
            }
        }
        Ok(Pipe {
            decl: decl.into_iter().map(|(n, _)| n).collect(),
            is_assign,
            cmds,
            loc: self.loc(start),
        })
    }

    fn command(&mut self) -> PResult<Cmd> {
        let start = self.peek().pos;
        let mut args = Vec::new();
        loop {
            args.push(self.operand()?);
            let t = self.peek();
            match t.tok {
                Tok::Right | Tok::RParen | Tok::Pipe => break,
                _ if t.space_before => {}
                _ => {
                    return Err(
                        self.err_at(t.pos, format!("unexpected {} in operand", t.tok.describe()))
                    )
                }
            }
        }
        Ok(Cmd {
            args,
            loc: self.loc(start),
        })
    }

    fn operand(&mut self) -> PResult<Arg> {
        let pos = self.peek().pos;
        let term = self.term()?;
        let mut fields = Vec::new();
        while let Tok::Field(f) = self.peek_tok() {
            if self.peek().space_before {
                break;
            }
            fields.push(f.clone());
            self.next();
        }
        if fields.is_empty() {
            return Ok(term);
        }
        Ok(match term {
            Arg::Field(mut f) => {
                f.extend(fields);
                Arg::Field(f)
            }
            Arg::Var(v, mut f) => {
                f.extend(fields);
                Arg::Var(v, f)
            }
            Arg::Pipe(_) | Arg::Func(_) => Arg::Chain(Box::new(term), fields),
            _ => return Err(self.err_at(pos, "unexpected . after term")),
        })
    }

    fn term(&mut self) -> PResult<Arg> {
        let t = self.next();
        Ok(match t.tok {
            Tok::Ident(w) => match w.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "nil" => Arg::Nil,
                w if KEYWORDS.contains(&w) => {
                    return Err(self.err_at(t.pos, format!("unexpected <{w}> in operand")))
                }
                w if FUNCS.contains(&w) => Arg::Func(w.to_string()),
                w => return Err(self.err_at(t.pos, format!("function {w:?} not defined"))),
            },
            Tok::Dot => Arg::Dot,
            Tok::Field(f) => Arg::Field(vec![f]),
            Tok::Var(v) => {
                if !self.vars.contains(&v) {
                    return Err(self.err_at(t.pos, format!("undefined variable {v:?}")));
                }
                Arg::Var(v, Vec::new())
            }
            Tok::LParen => {
                self.enter(t.pos)?;
                let p = self.pipeline("parenthesized pipeline", false)?;
                let close = self.next();
                if close.tok != Tok::RParen {
                    return Err(self.err_at(t.pos, "unclosed left paren"));
                }
                self.depth -= 1;
                Arg::Pipe(Box::new(p))
            }
            Tok::Str(s) => Arg::Str(vec![Piece::Text(s)]),
            Tok::Char(c) => Arg::Int(c),
            Tok::Num(n) => parse_number(&n).map_err(|m| self.err_at(t.pos, m))?,
            other => {
                return Err(
                    self.err_at(t.pos, format!("unexpected {} in operand", other.describe()))
                )
            }
        })
    }
}

/// Go's number constants: integers (with base prefixes, `0755` octal, `_`
/// separators) become `int`; anything with `.`, `e` or `E` becomes `float64`.
fn parse_number(text: &str) -> Result<Arg, String> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let radix_int = if let Some(h) = lower.strip_prefix("0x") {
        if h.contains(['.', 'p']) {
            return Err(format!("hexadecimal float {text} not supported"));
        }
        Some(i64::from_str_radix(h, 16))
    } else if let Some(o) = lower.strip_prefix("0o") {
        Some(i64::from_str_radix(o, 8))
    } else if let Some(b) = lower.strip_prefix("0b") {
        Some(i64::from_str_radix(b, 2))
    } else if lower.contains(['.', 'e']) {
        None
    } else if lower.len() > 1 && lower.starts_with('0') {
        Some(i64::from_str_radix(&lower[1..], 8))
    } else {
        Some(lower.parse::<i64>())
    };
    match radix_int {
        Some(Ok(n)) => Ok(Arg::Int(if neg { -n } else { n })),
        Some(Err(_)) => Err(format!("{text} overflows int or is malformed")),
        None => match body.parse::<f64>() {
            Ok(f) => Ok(Arg::Float(if neg { -f } else { f })),
            Err(_) => Err(format!("bad number syntax: {text:?}")),
        },
    }
}
