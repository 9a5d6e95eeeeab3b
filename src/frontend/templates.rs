//! `render_templates` at compile time: Go templates rendered with the data the script
//! gave. Run-time values in the data become holes; a template that only prints them
//! renders into text with typed references, and one whose logic inspects them is kept
//! as a template for the executor to render once the values exist.

use crate::gotemplate::{ExecError, Number, NumberError, Piece, Template, Value};
use crate::ir::{Data, FileContent, Part, RuntimeRef, StrExpr};
use std::collections::BTreeMap;

/// Renders one file of a `render_templates` config.
/// `describe` names a run-time value for messages ("the hostname of service 'api'").
pub fn render(
    path: &str,
    template: &str,
    data: &Data,
    describe: &dyn Fn(&RuntimeRef) -> String,
    max_output: usize,
) -> Result<FileContent, String> {
    let parsed = Template::parse(path, template).map_err(|e| format!("render_templates: {e}"))?;
    let mut holes = Vec::new();
    let value = to_value(data, &mut holes).map_err(|e| format!("render_templates: {path}: {e}"))?;
    match parsed.execute_limited(&value, max_output) {
        Ok(pieces) => {
            let expr = StrExpr::from_parts(pieces.into_iter().map(|p| match p {
                Piece::Text(t) => Part::Lit(t),
                Piece::Hole(i) => match holes.get(i as usize) {
                    Some(r) => Part::Ref(r.clone()),
                    None => Part::Lit(String::new()),
                },
            }));
            Ok(match expr.as_literal() {
                Some(text) => FileContent::Static(text.into_bytes()),
                None => FileContent::Text(expr),
            })
        }
        Err(ExecError::NeedsRuntimeValue {
            hole,
            line,
            col,
            what,
        }) => {
            let value = holes
                .get(hole as usize)
                .map(describe)
                .unwrap_or_else(|| "a run-time value".into());
            Ok(FileContent::Template {
                template: template.to_owned(),
                data: data.clone(),
                reason: format!(
                    "{path}:{line}:{col}: {what} needs {value}, known only at run time"
                ),
            })
        }
        Err(e) => Err(format!("render_templates: {e}")),
    }
}

/// Template data as the engine's value (numbers as Kurtosis's float64 round trip
/// leaves them); every run-time reference becomes a hole numbered by its position in
/// `holes`.
pub fn to_value(data: &Data, holes: &mut Vec<RuntimeRef>) -> Result<Value, NumberError> {
    Ok(match data {
        Data::Null => Value::Null,
        Data::Bool(b) => Value::Bool(*b),
        Data::Number(n) => Value::Number(Number::from_json(n)?),
        Data::Str(s) => Value::String(
            s.parts()
                .iter()
                .map(|p| match p {
                    Part::Lit(l) => Piece::Text(l.clone()),
                    Part::Ref(r) => {
                        holes.push(r.clone());
                        Piece::Hole(holes.len() as u32 - 1)
                    }
                })
                .collect(),
        ),
        Data::List(items) => Value::List(
            items
                .iter()
                .map(|x| to_value(x, holes))
                .collect::<Result<_, _>>()?,
        ),
        Data::Object(entries) => {
            let map: BTreeMap<String, Value> = entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_value(v, holes)?)))
                .collect::<Result<_, NumberError>>()?;
            Value::Map(map)
        }
    })
}
