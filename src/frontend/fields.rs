//! Names of a task result's fields (`code`, `output`, `body`, `extract.<key>`), parsed
//! into [`TaskField`] once, here: from a future reference's placeholder and from the
//! `field` a `wait` or `ReadyCondition` compares. Nothing after the frontend compares
//! field names as strings.

use crate::ir::{Recipe, TaskField};

/// The field called `name` of any task result.
pub fn parse(name: &str) -> Option<TaskField> {
    match name {
        "code" => Some(TaskField::Code),
        "output" => Some(TaskField::Output),
        "body" => Some(TaskField::Body),
        other => other
            .strip_prefix("extract.")
            .map(|k| TaskField::Extract(k.to_owned())),
    }
}

/// The field `name` of the result of `recipe`, which a `wait` or `ReadyCondition`
/// compares: `code`, `output` (exec) or `body` (HTTP), or `extract.<key>` for a key
/// the recipe extracts. Kurtosis would poll any other name until the timeout, as the
/// result never holds it; kplan says so while interpreting.
pub fn of_recipe(recipe: &Recipe, name: &str) -> Result<TaskField, String> {
    let (kind, main, extract) = match recipe {
        Recipe::Exec(r) => ("an ExecRecipe", TaskField::Output, &r.extract),
        Recipe::Http(r) => ("an HTTP recipe", TaskField::Body, &r.extract),
    };
    let field = parse(name).filter(|f| match f {
        TaskField::Code => true,
        TaskField::Output | TaskField::Body => *f == main,
        TaskField::Extract(k) => extract.contains_key(k),
    });
    field.ok_or_else(|| {
        let mut fields = vec!["code".to_owned(), main.name()];
        fields.extend(extract.keys().map(|k| format!("extract.{k}")));
        format!(
            "the result of {kind} holds no field '{name}', so the comparison could never pass; compare one of: {}",
            fields.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{ExecRecipe, HttpRecipe};

    fn exec(keys: &[&str]) -> Recipe {
        Recipe::Exec(ExecRecipe {
            command: Vec::new(),
            extract: keys.iter().map(|k| (k.to_string(), ".".into())).collect(),
        })
    }

    fn get() -> Recipe {
        Recipe::Http(HttpRecipe::get("http"))
    }

    #[test]
    fn names_parse_to_fields() {
        assert_eq!(parse("code"), Some(TaskField::Code));
        assert_eq!(parse("body"), Some(TaskField::Body));
        assert_eq!(parse("extract.a.b"), Some(TaskField::Extract("a.b".into())));
        assert_eq!(parse("status"), None);
        for f in [
            TaskField::Code,
            TaskField::Output,
            TaskField::Extract("k".into()),
        ] {
            assert_eq!(parse(&f.name()), Some(f));
        }
    }

    #[test]
    fn a_compared_field_is_one_the_recipe_result_holds() {
        assert_eq!(of_recipe(&exec(&[]), "output"), Ok(TaskField::Output));
        assert_eq!(
            of_recipe(&exec(&["v"]), "extract.v"),
            Ok(TaskField::Extract("v".into()))
        );
        assert_eq!(of_recipe(&get(), "code"), Ok(TaskField::Code));
        assert_eq!(of_recipe(&get(), "body"), Ok(TaskField::Body));
        assert_eq!(
            of_recipe(&exec(&["v"]), "body"),
            Err("the result of an ExecRecipe holds no field 'body', so the comparison could never pass; compare one of: code, output, extract.v".into())
        );
        assert!(of_recipe(&get(), "output").is_err());
        assert!(of_recipe(&get(), "extract.v").is_err());
        assert!(of_recipe(&get(), "status").is_err());
    }
}
