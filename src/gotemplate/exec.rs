//! Executor: walks the AST over data, with Go's variable scoping, pipelines
//! (the previous result is the last argument), and control flow.

use std::borrow::Cow;

use super::format::print_value;
use super::funcs::{self, FnErr};
use super::parser::{Arg, Cmd, Control, Loc, Node, Pipe};
use super::value::{Out, Piece, Value, V};
use super::ExecError;

enum Flow {
    Normal,
    Break,
    Continue,
}

struct State<'a> {
    name: &'a str,
    /// The template's source, for the positions in messages.
    src: &'a str,
    vars: Vec<(&'a str, V<'a>)>,
    out: Out,
    max_output: usize,
}

type XResult<T> = Result<T, ExecError>;

/// Runs a parsed template over `data`.
pub(crate) fn execute<'a>(
    name: &'a str,
    src: &'a str,
    root: &'a [Node],
    data: &'a Value,
    max_output: usize,
) -> XResult<Vec<Piece>> {
    // Go's Execute with nil data gives an invalid dot: `.x` is `<no value>`.
    let dot = match data {
        Value::Null => V::NoValue,
        d => V::from_data(d),
    };
    let mut st = State {
        name,
        src,
        vars: vec![("$", dot.clone())],
        out: Out::default(),
        max_output,
    };
    st.walk_list(&dot, root)?;
    Ok(st.out.0)
}

/// Go's "lovely!" step after each pipeline stage: a nil interface becomes invalid.
fn dig(v: V) -> V {
    match v {
        V::Nil => V::NoValue,
        v => v,
    }
}

impl<'a> State<'a> {
    fn fail(&self, loc: &Loc, message: impl Into<String>) -> ExecError {
        let mut context = loc.text(self.src).to_owned();
        if context.chars().count() > 20 {
            context = format!("{}...", context.chars().take(20).collect::<String>());
        }
        let (line, col) = loc.line_col(self.src);
        ExecError::Failed {
            name: self.name.to_string(),
            line,
            col,
            context,
            message: message.into(),
        }
    }

    fn need(&self, loc: &Loc, hole: u32, what: impl Into<String>) -> ExecError {
        let (line, col) = loc.line_col(self.src);
        ExecError::NeedsRuntimeValue {
            hole,
            line,
            col,
            what: what.into(),
        }
    }

    fn walk_list(&mut self, dot: &V<'a>, list: &'a [Node]) -> XResult<Flow> {
        for n in list {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    /// Fails at `loc` once the output is past its bound.
    fn bounded(&self, loc: &Loc) -> XResult<()> {
        if self.out.1 > self.max_output {
            return Err(self.fail(
                loc,
                format!(
                    "the output is larger than {} bytes (raise it with --max-template-output)",
                    self.max_output
                ),
            ));
        }
        Ok(())
    }

    fn walk(&mut self, dot: &V<'a>, node: &'a Node) -> XResult<Flow> {
        match node {
            Node::Text(p) => self.out.pieces(p),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    if let V::NoValue = v {
                        self.out.text("<no value>");
                    } else if let Err(h) = print_value(&mut self.out, &v) {
                        return Err(self.need(&pipe.loc, h, "printing"));
                    }
                }
                self.bounded(&pipe.loc)?;
            }
            Node::If(c) | Node::With(c) => {
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, &c.pipe)?;
                let flow = if v.truth() {
                    let inner = if let Node::With(_) = node { &v } else { dot };
                    self.walk_list(inner, &c.list)?
                } else if let Some(e) = &c.else_list {
                    self.walk_list(dot, e)?
                } else {
                    Flow::Normal
                };
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Range(c) => {
                let mark = self.vars.len();
                let flow = self.walk_range(dot, c)?;
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_range(&mut self, dot: &V<'a>, c: &'a Control) -> XResult<Flow> {
        let v = self.eval_pipeline(dot, &c.pipe)?;
        let mut items: Vec<(V<'a>, V<'a>)> = Vec::new();
        match v {
            V::List(l) => {
                for (i, e) in l.iter().enumerate() {
                    items.push((
                        V::Int(i64::try_from(i).unwrap_or(i64::MAX)),
                        V::from_data(e),
                    ));
                }
            }
            V::Map(m) => {
                for (k, e) in m {
                    items.push((V::string(k.clone()), V::from_data(e)));
                }
            }
            V::Int(n) => {
                if c.pipe.decl.len() > 1 {
                    return Err(self.fail(
                        &c.loc,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                // Counted, not collected: `range 1000000000` must not hold a billion
                // values (the output bound stops a body that prints).
                if n <= 0 {
                    if let Some(e) = &c.else_list {
                        return self.walk_list(dot, e);
                    }
                    return Ok(Flow::Normal);
                }
                let mark = self.vars.len();
                for i in 0..n {
                    let flow = self.iterate(c, mark, V::Int(i), V::Int(i))?;
                    self.bounded(&c.loc)?;
                    if let Flow::Break = flow {
                        break;
                    }
                }
                return Ok(Flow::Normal);
            }
            V::NoValue | V::Nil => {}
            other => {
                let mut o = Out::default();
                let _ = print_value(&mut o, &other);
                let shown = super::value::plain(&o.0).map(|s| s.into_owned());
                let shown = shown.unwrap_or_else(|_| other.type_name().to_string());
                return Err(self.fail(&c.loc, format!("range can't iterate over {shown}")));
            }
        }
        if items.is_empty() {
            if let Some(e) = &c.else_list {
                return self.walk_list(dot, e);
            }
            return Ok(Flow::Normal);
        }
        let mark = self.vars.len();
        for (key, elem) in items {
            let flow = self.iterate(c, mark, key, elem)?;
            self.bounded(&c.loc)?;
            if let Flow::Break = flow {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    /// One iteration of `range`: binds the variables, runs the body.
    fn iterate(&mut self, c: &'a Control, mark: usize, key: V<'a>, elem: V<'a>) -> XResult<Flow> {
        let decl = &c.pipe.decl;
        if c.pipe.is_assign {
            if let Some(last) = decl.last() {
                self.set_var(&c.loc, last, elem.clone())?;
            }
            if decl.len() > 1 {
                self.set_var(&c.loc, &decl[0], key)?;
            }
        } else {
            let n = self.vars.len();
            if !decl.is_empty() && n > 0 {
                self.vars[n - 1].1 = elem.clone();
            }
            if decl.len() > 1 && n > 1 {
                self.vars[n - 2].1 = key;
            }
        }
        let flow = self.walk_list(&elem, &c.list)?;
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn set_var(&mut self, loc: &Loc, name: &str, v: V<'a>) -> XResult<()> {
        for slot in self.vars.iter_mut().rev() {
            if slot.0 == name {
                slot.1 = v;
                return Ok(());
            }
        }
        Err(self.fail(loc, format!("undefined variable: {name}")))
    }

    fn var(&self, loc: &Loc, name: &str) -> XResult<V<'a>> {
        for slot in self.vars.iter().rev() {
            if slot.0 == name {
                return Ok(slot.1.clone());
            }
        }
        Err(self.fail(loc, format!("undefined variable: {name}")))
    }

    fn eval_pipeline(&mut self, dot: &V<'a>, pipe: &'a Pipe) -> XResult<V<'a>> {
        let mut val: Option<V<'a>> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, val.take())?;
            val = Some(dig(v));
        }
        let v = val.unwrap_or(V::NoValue);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&pipe.loc, name, v.clone())?;
            } else {
                self.vars.push((name.as_str(), v.clone()));
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, cmd: &Cmd, final_: &Option<V<'a>>) -> XResult<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            return Err(self.fail(
                &cmd.loc,
                format!(
                    "can't give argument to non-function {}",
                    cmd.loc.text(self.src)
                ),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &V<'a>, cmd: &'a Cmd, final_: Option<V<'a>>) -> XResult<V<'a>> {
        let Some(first) = cmd.args.first() else {
            return Err(self.fail(&cmd.loc, "empty command"));
        };
        let has_args = cmd.args.len() > 1 || final_.is_some();
        match first {
            Arg::Field(idents) => self.field_chain(&cmd.loc, dot.clone(), idents, has_args),
            Arg::Var(name, idents) => {
                let v = self.var(&cmd.loc, name)?;
                if idents.is_empty() {
                    self.not_a_function(cmd, &final_)?;
                    Ok(v)
                } else {
                    self.field_chain(&cmd.loc, v, idents, has_args)
                }
            }
            Arg::Chain(inner, idents) => {
                let v = self.eval_arg(dot, inner, &cmd.loc)?;
                self.field_chain(&cmd.loc, v, idents, has_args)
            }
            Arg::Func(name) => self.call(dot, name, &cmd.args[1..], final_, &cmd.loc),
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Nil => Err(self.fail(&cmd.loc, "nil is not a command")),
            other => {
                self.not_a_function(cmd, &final_)?;
                self.eval_arg(dot, other, &cmd.loc)
            }
        }
    }

    /// `.A.B.C` on `recv`; arguments are only legal on methods, which maps lack.
    fn field_chain(
        &self,
        loc: &Loc,
        recv: V<'a>,
        idents: &[String],
        has_args: bool,
    ) -> XResult<V<'a>> {
        let mut v = recv;
        for (k, name) in idents.iter().enumerate() {
            let last = k + 1 == idents.len();
            v = match v {
                V::NoValue => V::NoValue,
                V::Nil => {
                    return Err(
                        self.fail(loc, format!("nil pointer evaluating interface {{}}.{name}"))
                    )
                }
                V::Map(m) => {
                    if last && has_args {
                        return Err(
                            self.fail(loc, format!("{name} is not a method but has arguments"))
                        );
                    }
                    match m.get(name) {
                        Some(e) => V::from_data(e),
                        None => V::NoValue,
                    }
                }
                other => {
                    return Err(self.fail(
                        loc,
                        format!("can't evaluate field {name} in type {}", other.type_name()),
                    ))
                }
            };
        }
        Ok(v)
    }

    fn eval_arg(&mut self, dot: &V<'a>, arg: &'a Arg, loc: &Loc) -> XResult<V<'a>> {
        Ok(match arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => V::Nil,
            Arg::Bool(b) => V::Bool(*b),
            Arg::Int(i) => V::Int(*i),
            Arg::Float(f) => V::Float(*f),
            Arg::Str(p) => V::Str(Cow::Borrowed(p.as_slice())),
            Arg::Field(idents) => self.field_chain(loc, dot.clone(), idents, false)?,
            Arg::Var(name, idents) => {
                let v = self.var(loc, name)?;
                self.field_chain(loc, v, idents, false)?
            }
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Chain(inner, idents) => {
                let v = self.eval_arg(dot, inner, loc)?;
                self.field_chain(loc, v, idents, false)?
            }
            Arg::Func(name) => self.call(dot, name, &[], None, loc)?,
        })
    }

    fn call(
        &mut self,
        dot: &V<'a>,
        name: &str,
        args: &'a [Arg],
        final_: Option<V<'a>>,
        loc: &Loc,
    ) -> XResult<V<'a>> {
        let got = args.len() + usize::from(final_.is_some());
        let (want, exact) = funcs::arity(name);
        if exact && got != want {
            return Err(self.fail(
                loc,
                format!("wrong number of args for {name}: want {want} got {got}"),
            ));
        }
        if !exact && got < want {
            return Err(self.fail(
                loc,
                format!("wrong number of args for {name}: want at least {want} got {got}"),
            ));
        }
        if funcs::takes_reflect_values(name) {
            if args.iter().any(|a| matches!(a, Arg::Nil)) {
                return Err(self.fail(loc, "cannot assign nil to reflect.Value"));
            }
            if let Some(V::NoValue) = final_ {
                return Err(self.fail(loc, "invalid value; expected reflect.Value"));
            }
        }
        if name == "and" || name == "or" {
            let want_truth = name == "or";
            let mut last = V::NoValue;
            for a in args {
                let v = self.eval_arg(dot, a, loc)?;
                if v.truth() == want_truth {
                    return Ok(v);
                }
                last = v;
            }
            return Ok(final_.unwrap_or(last));
        }
        let mut vals = Vec::with_capacity(got);
        for a in args {
            vals.push(self.eval_arg(dot, a, loc)?);
        }
        vals.extend(final_);
        funcs::call(name, vals).map_err(|e| match e {
            FnErr::Msg(m) => self.fail(loc, format!("error calling {name}: {m}")),
            FnErr::Need(h, what) => self.need(loc, h, what),
        })
    }
}
