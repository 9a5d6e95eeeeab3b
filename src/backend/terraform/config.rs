//! The whole configuration, in a fixed order: the `terraform` block pinning the
//! provider, the variables (the name prefix, the network's name, each image, each
//! published port, all defaulting to the package's values), the network, images,
//! volumes, containers (services, then jobs), the `exec`s, and the outputs (each
//! service's name, hostname and published ports; the run() return value when it is
//! known at compile time).

use super::hcl::{self as h};
use super::model::{prefixed, NETWORK, NETWORK_VAR, PREFIX_VAR, PROVIDER_SOURCE, PROVIDER_VERSION};
use super::Ctx;
use crate::backend::lower::names;
use crate::backend::lower::NodeId;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Data, Part, RuntimeRef};
use hcl::expr::{Expression, Object, ObjectKey};
use hcl::structure::{Block, Body};

/// Terraform 1.4 brought `terraform_data`; `replace_triggered_by` and
/// `postcondition` are older.
const REQUIRED_VERSION: &str = ">= 1.4";

pub fn body(cx: &mut Ctx) -> Body {
    let mut b = Body::builder();
    let docker: Object<ObjectKey, Expression> = [
        (h::key("source"), h::string(PROVIDER_SOURCE)),
        (h::key("version"), h::string(PROVIDER_VERSION)),
    ]
    .into_iter()
    .collect();
    b = b.add_block(
        Block::builder("terraform")
            .add_attribute(("required_version", h::string(REQUIRED_VERSION)))
            .add_block(
                Block::builder("required_providers")
                    .add_attribute(("docker", Expression::Object(docker)))
                    .build(),
            )
            .build(),
    );
    let project = names::project_name(&cx.plan.package.name);
    b = b.add_block(variable(
        PREFIX_VAR,
        "string",
        h::string(&project),
        "The prefix of every container and volume name, so several environments can share one Docker engine.",
    ));
    b = b.add_block(variable(
        NETWORK_VAR,
        "string",
        h::string(&project),
        "The name of the Docker network the services share.",
    ));
    let (image_vars, image_res) = cx.images.blocks();
    b = b.add_blocks(image_vars);
    for (var, default, desc) in &cx.port_vars {
        b = b.add_block(variable(var, "number", Expression::from(*default), desc));
    }
    b = b.add_block(
        Block::builder("resource")
            .add_label("docker_network")
            .add_label(NETWORK)
            .add_attribute(("name", h::reference("var", &[NETWORK_VAR])))
            .build(),
    );
    b = b.add_blocks(image_res);
    for (label, suffix) in &cx.volumes {
        b = b.add_block(
            Block::builder("resource")
                .add_label("docker_volume")
                .add_label(label.as_str())
                .add_attribute(("name", prefixed(suffix)))
                .build(),
        );
    }
    for (node, c) in &cx.containers {
        b = b.add_block(c.block(cx.name(*node)));
    }
    for hk in &cx.hooks {
        b = b.add_block(exec_block(cx, hk));
    }
    for s in cx.model.services.keys() {
        b = b.add_block(service_output(cx, *s));
    }
    if let Some(out) = &cx.plan.output {
        match data(cx, out) {
            Some(v) => {
                b = b.add_block(
                    Block::builder("output")
                        .add_label("result")
                        .add_attribute(("description", h::string("The value the package's run() returns.")))
                        .add_attribute(("value", v))
                        .build(),
                );
            }
            None => cx.diags.push(
                Diagnostic::warning(
                    Code::KP220,
                    "the value run() returns holds values known only when the plan runs, so the Terraform configuration has no `result` output",
                    None,
                )
                .with_hint("read those values from the one-shots' logs (`terraform state show`), or return only values known at compile time"),
            ),
        }
    }
    b.build()
}

fn variable(name: &str, ty: &str, default: Expression, desc: &str) -> Block {
    Block::builder("variable")
        .add_label(name)
        .add_attribute(("type", h::reference(ty, &[])))
        .add_attribute(("default", default))
        .add_attribute(("description", h::string(desc)))
        .build()
}

/// `terraform_data` running an `exec` in its service's container with `docker exec`,
/// again whenever the container is replaced.
fn exec_block(cx: &Ctx, hk: &super::ExecHook) -> Block {
    let svc = cx.name(NodeId::Service(hk.service)).to_owned();
    let (command, words) = (&hk.command, &hk.words);
    let mut interp = vec![
        h::string("docker"),
        h::string("exec"),
        h::reference("docker_container", &[&svc, "name"]),
    ];
    interp.extend(words.iter().map(|w| h::string(w)));
    let mut b = Block::builder("resource")
        .add_label("terraform_data")
        .add_label(hk.label.as_str())
        .add_attribute((
            "triggers_replace",
            Expression::Array(vec![h::reference("docker_container", &[&svc, "id"])]),
        ));
    if !hk.after.is_empty() {
        let deps = hk
            .after
            .iter()
            .map(|a| {
                let (root, rest) = a.split_once('.').unwrap_or((a, ""));
                h::reference(root, &[rest])
            })
            .collect();
        b = b.add_attribute(("depends_on", Expression::Array(deps)));
    }
    b.add_block(
        Block::builder("provisioner")
            .add_label("local-exec")
            .add_attribute(("interpreter", Expression::Array(interp)))
            .add_attribute(("command", h::string(command)))
            .build(),
    )
    .build()
}

fn service_output(cx: &Ctx, id: crate::ir::ServiceId) -> Block {
    let name = cx.name(NodeId::Service(id)).to_owned();
    let svc = cx.plan.service(id);
    let ports: Object<ObjectKey, Expression> = svc
        .config
        .public_ports
        .keys()
        .filter(|p| svc.config.ports.contains_key(*p))
        .map(|p| {
            let var = format!("port_{}_{}", h::ident(&name), h::ident(p)).replace('-', "_");
            (h::key(p), h::reference("var", &[&var]))
        })
        .collect();
    let value: Object<ObjectKey, Expression> = [
        (
            h::key("name"),
            h::reference("docker_container", &[&name, "name"]),
        ),
        (h::key("hostname"), h::string(&name)),
        (h::key("published_ports"), Expression::Object(ports)),
    ]
    .into_iter()
    .collect();
    Block::builder("output")
        .add_label(format!("service_{}", name.replace('-', "_")))
        .add_attribute((
            "description",
            h::string(&format!("Service '{}': its container's name, its hostname on the network and its published ports.", svc.name)),
        ))
        .add_attribute(("value", Expression::Object(value)))
        .build()
}

/// A value known at compile time as an HCL value (service references as hostnames);
/// `None` when it holds a run-time value.
fn data(cx: &Ctx, d: &Data) -> Option<Expression> {
    Some(match d {
        Data::Null => Expression::Null,
        Data::Bool(b) => Expression::Bool(*b),
        Data::Number(n) => number(n)?,
        Data::Str(s) => {
            let mut out = String::new();
            for p in s.parts() {
                match p {
                    Part::Lit(l) => out.push_str(l),
                    Part::Ref(RuntimeRef::Service { service, field }) => {
                        out.push_str(&cx.service_text(*service, *field));
                    }
                    Part::Ref(RuntimeRef::Task { .. }) => return None,
                }
            }
            h::string(&out)
        }
        Data::List(items) => Expression::Array(
            items
                .iter()
                .map(|i| data(cx, i))
                .collect::<Option<Vec<_>>>()?,
        ),
        Data::Object(entries) => {
            let mut o: Object<ObjectKey, Expression> = Object::new();
            for (k, v) in entries {
                o.insert(h::key(k), data(cx, v)?);
            }
            Expression::Object(o)
        }
    })
}

/// A JSON number as HCL; a negative one as `tonumber("-N")` (see `model::int`).
fn number(text: &str) -> Option<Expression> {
    if text.starts_with('-') {
        return Some(
            hcl::expr::FuncCall::builder("tonumber")
                .arg(h::string(text))
                .build()
                .into(),
        );
    }
    if let Ok(i) = text.parse::<i64>() {
        return Some(Expression::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(Expression::from(u));
    }
    let f: f64 = text.parse().ok()?;
    hcl::Number::from_f64(f).map(Expression::Number)
}
