//! Service instructions: `add_service`, `add_services`, `get_service`, `get_services`,
//! `set_service`, `remove_service`, `start_service`, `stop_service`.
//!
//! `methods` is long only as a `#[starlark_module]` declaration: it is the list of
//! these builtins, each its own function of less than 120 lines.

#![allow(
    clippy::too_many_arguments,
    reason = "argument lists mirror Kurtosis signatures, as long as Kurtosis made them"
)]

use super::check::Args;
use super::context::{other, Context};
use super::instruction::{call_site, convert};
use super::privileges;
use super::refs::placeholder;
use super::value::{KValue, Owned};
use super::ClusterType;
use crate::ir::{
    self, Part, RuntimeRef, ServiceConfig, ServiceField, ServiceId, Span, Step, StepKind, StrExpr,
};
use starlark::environment::MethodsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::dict::AllocDict;
use starlark::values::list::AllocList;
use starlark::values::Value;

/// The `Service` value `add_service` returns: name, hostname and ip_address
/// placeholders, and ports rebuilt from the config as Kurtosis does.
fn service_value(uuid: &str, name: &str, config: &ServiceConfig) -> KValue {
    let ports = config
        .ports
        .iter()
        .map(|(id, p)| {
            let mut fields = vec![
                ("number", Owned::Int(i64::from(p.number))),
                (
                    "transport_protocol",
                    Owned::Str(p.transport_protocol.as_str().into()),
                ),
            ];
            if let Some(app) = &p.application_protocol {
                fields.push(("application_protocol", Owned::Str(app.clone())));
            }
            if let Some(w) = p.wait {
                fields.push(("wait", Owned::Str(w.to_string())));
            }
            let url = p.url.clone().or_else(|| {
                p.application_protocol
                    .as_ref()
                    .map(|app| format!("{app}://{name}:{}", p.number))
            });
            if let Some(u) = url {
                fields.push(("url", Owned::Str(u)));
            }
            (
                Owned::Str(id.clone()),
                Owned::Kurtosis(KValue {
                    type_name: "PortSpec",
                    fields,
                    at: Some(p.at.clone()),
                }),
            )
        })
        .collect();
    KValue {
        type_name: "Service",
        fields: vec![
            ("name", Owned::Str(name.to_owned())),
            ("hostname", Owned::Str(placeholder(uuid, "hostname"))),
            ("ip_address", Owned::Str(placeholder(uuid, "ip_address"))),
            ("ports", Owned::Dict(ports)),
        ],
        at: None,
    }
}

/// Refuses what a service asks of the host unless the run opted in (see
/// [`privileges`]); privileged mode, host PID and bind mounts only exist on Docker.
fn check_privileged(ctx: &Context, config: &ServiceConfig, name: &str) -> starlark::Result<()> {
    let docker_only = privileges::docker_only(
        config.privileged,
        config.host_pid_namespace,
        config.bind_mounts.keys(),
    );
    if ctx.cluster == ClusterType::Kubernetes && !docker_only.is_empty() {
        return Err(other(format!(
            "service '{name}' asks for {}, which only work on Docker",
            privileges::list(&docker_only)
        )));
    }
    let asked = privileges::asked(config);
    if !asked.is_empty() && !ctx.allow_privileged {
        return Err(other(format!(
            "service '{name}' asks for {}, but this run did not opt in; pass --privileged if you trust this package",
            privileges::list(&asked)
        )));
    }
    Ok(())
}

/// Converts and records one service; returns its `Service` value.
fn record_service(
    ctx: &Context,
    name: String,
    config_k: &KValue,
    force_update: bool,
    description: Option<String>,
    at: &Span,
    from: Option<&starlark::codemap::FileSpan>,
) -> starlark::Result<(ServiceId, KValue)> {
    let mut config = convert(ctx, at, from, "add_service", |c| c.service_config(config_k))?;
    let keys = ctx.keys.borrow();
    for port in config
        .ports
        .values_mut()
        .chain(config.public_ports.values_mut())
    {
        if let Some(id_at) = keys.key_of(&port.at) {
            port.id_at = id_at.clone();
        }
    }
    drop(keys);
    check_privileged(ctx, &config, &name)?;
    let mut rec = ctx.rec.borrow_mut();
    let id = rec.next_service_id();
    own_address_refs(&mut config, id);
    let uuid = rec.refs.service(&name, id);
    let value = service_value(&uuid, &name, &config);
    rec.live.insert(name.clone(), (id, value.clone()));
    rec.services.push(ir::Service {
        name,
        config,
        force_update,
        description,
        overridden_at: None,
        at: at.clone(),
    });
    Ok((id, value))
}

/// Kurtosis replaces a service's `private_ip_address_placeholder` in its entrypoint,
/// cmd and env values with the address of its own container. Each occurrence becomes
/// a typed reference here, once, so nothing after the frontend scans text for it.
fn own_address_refs(config: &mut ServiceConfig, id: ServiceId) {
    let placeholder = config.private_ip_address_placeholder.clone();
    if placeholder.is_empty() {
        return;
    }
    let own = Part::Ref(RuntimeRef::Service {
        service: id,
        field: ServiceField::OwnIpAddress,
    });
    let split = |e: &StrExpr| -> StrExpr {
        let mut parts = Vec::new();
        for p in e.parts() {
            match p {
                Part::Lit(l) => {
                    for (i, piece) in l.split(placeholder.as_str()).enumerate() {
                        if i > 0 {
                            parts.push(own.clone());
                        }
                        parts.push(Part::Lit(piece.to_owned()));
                    }
                }
                Part::Ref(_) => parts.push(p.clone()),
            }
        }
        StrExpr::from_parts(parts)
    };
    for e in config
        .entrypoint
        .iter_mut()
        .chain(config.cmd.iter_mut())
        .chain(config.env_vars.values_mut())
    {
        *e = split(e);
    }
}

/// `set_service` merge rules (Kurtosis `upsert`).
fn merge(target: &mut ServiceConfig, set: &KValue, new: ServiceConfig) -> Result<(), String> {
    for field in [
        "env_vars",
        "entrypoint",
        "cmd",
        "ports",
        "public_ports",
        "files",
    ] {
        if set.get(field).is_some() {
            return Err(format!(
                "Overriding '{field}' with set_service is currently not supported; change the ServiceConfig given to add_service instead"
            ));
        }
    }
    target.image = new.image;
    if new.max_cpu != 0 {
        target.max_cpu = new.max_cpu;
    }
    if new.min_cpu != 0 {
        target.min_cpu = new.min_cpu;
    }
    if new.max_memory != 0 {
        target.max_memory = new.max_memory;
    }
    if new.min_memory != 0 {
        target.min_memory = new.min_memory;
    }
    if new.user.is_some() {
        target.user = new.user;
    }
    if !new.labels.is_empty() {
        target.labels = new.labels;
    }
    if !new.tolerations.is_empty() {
        target.tolerations = new.tolerations;
    }
    target.privileged |= new.privileged;
    target.host_pid_namespace |= new.host_pid_namespace;
    if !new.bind_mounts.is_empty() {
        target.bind_mounts = new.bind_mounts;
    }
    Ok(())
}

fn live_service(
    ctx: &Context,
    name: &str,
    instruction: &str,
) -> starlark::Result<(ServiceId, KValue)> {
    ctx.rec.borrow().live.get(name).cloned().ok_or_else(|| {
        other(format!(
            "Service '{name}' required by '{instruction}' instruction doesn't exist; add it with plan.add_service first"
        ))
    })
}

fn name_step(ctx: &Context, kind: StepKind, at: Span) {
    ctx.rec.borrow_mut().steps.push(Step { kind, at });
}

#[starlark_module]
pub fn methods(builder: &mut MethodsBuilder) {
    fn add_service<'v>(
        #[starlark(this)] _this: Value<'v>,
        name: Option<Value<'v>>,
        config: Option<Value<'v>>,
        force_update: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("add_service");
        let name = a.owned("name", name);
        let name = a.required("name", name);
        let name_s = a.non_empty_string("name", &name);
        let config = a.owned("config", config);
        let config = a.required("config", config);
        a.ktype("config", &config, &["ServiceConfig"]);
        let force = a.owned("force_update", force_update);
        let force = a.boolean("force_update", &force).unwrap_or(false);
        let d = a.owned("description", description);
        a.non_empty_string("description", &d);
        a.finish()?;
        let (Some(name), Some(Owned::Kurtosis(config))) = (name_s, config) else {
            return Err(other("add_service needs a name and a ServiceConfig"));
        };
        let plain_name = convert(ctx, &at, from.as_ref(), "add_service", |c| {
            c.plain("name", &name)
        })?;
        let (id, value) = record_service(
            ctx,
            plain_name,
            &config,
            force,
            super::instruction::description(&d),
            &at,
            from.as_ref(),
        )?;
        name_step(ctx, StepKind::AddServices(vec![id]), at);
        Ok(eval.heap().alloc(value))
    }

    fn add_services<'v>(
        #[starlark(this)] _this: Value<'v>,
        configs: Option<Value<'v>>,
        force_update: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("add_services");
        let configs = a.owned("configs", configs);
        let configs = a.required("configs", configs);
        let entries: Vec<(String, KValue)> = match a.dict("configs", &configs) {
            Some(entries) if entries.is_empty() => {
                a.fail("configs", "should be a non empty dictionary");
                Vec::new()
            }
            Some(entries) => entries
                .into_iter()
                .filter_map(|(k, v)| match v {
                    Owned::Kurtosis(kv) if kv.type_name == "ServiceConfig" => Some((k, kv.clone())),
                    other => {
                        a.fail(
                            "configs",
                            format!(
                                "One value (for '{k}') is not a ServiceConfig but a {}",
                                other.type_name()
                            ),
                        );
                        None
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        let force = a.owned("force_update", force_update);
        let force = a.boolean("force_update", &force).unwrap_or(false);
        let d = a.owned("description", description);
        a.non_empty_string("description", &d);
        a.finish()?;
        let mut ids = Vec::new();
        let mut out = Vec::new();
        for (name, config) in entries {
            let name = convert(ctx, &at, from.as_ref(), "add_services", |c| {
                c.plain("name", &name)
            })?;
            let (id, value) = record_service(
                ctx,
                name.clone(),
                &config,
                force,
                super::instruction::description(&d),
                &at,
                from.as_ref(),
            )?;
            ids.push(id);
            out.push((name, value));
        }
        name_step(ctx, StepKind::AddServices(ids), at);
        let heap = eval.heap();
        Ok(heap.alloc(AllocDict(
            out.into_iter()
                .map(|(k, v)| (k, heap.alloc(v)))
                .collect::<Vec<_>>(),
        )))
    }

    fn get_service<'v>(
        #[starlark(this)] _this: Value<'v>,
        name: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let mut a = Args::for_instruction("get_service");
        let name = a.owned("name", name);
        let name = a.required("name", name);
        let name = a.non_empty_string("name", &name);
        let d = a.owned("description", description);
        a.non_empty_string("description", &d);
        a.finish()?;
        let (_, value) = live_service(ctx, name.as_deref().unwrap_or_default(), "get_service")?;
        Ok(eval.heap().alloc(value))
    }

    fn get_services<'v>(
        #[starlark(this)] _this: Value<'v>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let mut a = Args::for_instruction("get_services");
        let d = a.owned("description", description);
        a.non_empty_string("description", &d);
        a.finish()?;
        let values: Vec<KValue> = ctx
            .rec
            .borrow()
            .live
            .values()
            .map(|(_, v)| v.clone())
            .collect();
        let heap = eval.heap();
        Ok(heap.alloc(AllocList(values.into_iter().map(|v| heap.alloc(v)))))
    }

    fn set_service<'v>(
        #[starlark(this)] _this: Value<'v>,
        name: Option<Value<'v>>,
        config: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("set_service");
        let name = a.owned("name", name);
        let name = a.required("name", name);
        let name = a.non_empty_string("name", &name);
        let config = a.owned("config", config);
        let config = a.required("config", config);
        a.ktype("config", &config, &["ServiceConfig"]);
        let d = a.owned("description", description);
        a.non_empty_string("description", &d);
        a.finish()?;
        let (Some(name), Some(Owned::Kurtosis(config))) = (name, config) else {
            return Err(other("set_service needs a name and a ServiceConfig"));
        };
        let (id, _) = live_service(ctx, &name, "set_service")?;
        let new = convert(ctx, &at, from.as_ref(), "set_service", |c| {
            c.service_config(&config)
        })?;
        let mut rec = ctx.rec.borrow_mut();
        let service = &mut rec.services[id.0 as usize];
        merge(&mut service.config, &config, new).map_err(other)?;
        service.overridden_at = Some(at);
        let merged = service.config.clone();
        drop(rec);
        check_privileged(ctx, &merged, &name)?;
        Ok(Value::new_none())
    }

    fn remove_service<'v>(
        #[starlark(this)] _this: Value<'v>,
        name: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        service_step(
            eval,
            "remove_service",
            name,
            description,
            StepKind::RemoveService,
        )
    }

    fn start_service<'v>(
        #[starlark(this)] _this: Value<'v>,
        name: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        service_step(
            eval,
            "start_service",
            name,
            description,
            StepKind::StartService,
        )
    }

    fn stop_service<'v>(
        #[starlark(this)] _this: Value<'v>,
        name: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        service_step(
            eval,
            "stop_service",
            name,
            description,
            StepKind::StopService,
        )
    }
}

/// `remove_service`, `start_service`, `stop_service`: a named step. Existence is the
/// validator's check, so every missing service is reported at once.
fn service_step<'v>(
    eval: &mut Evaluator<'v, '_, '_>,
    instruction: &'static str,
    name: Option<Value<'v>>,
    description: Option<Value<'v>>,
    kind: fn(String) -> StepKind,
) -> starlark::Result<Value<'v>> {
    let ctx = Context::from_eval(eval)?;
    let (_, at) = call_site(eval);
    let mut a = Args::for_instruction(instruction);
    let name = a.owned("name", name);
    let name = a.required("name", name);
    let name = a.non_empty_string("name", &name);
    let d = a.owned("description", description);
    a.non_empty_string("description", &d);
    a.finish()?;
    let name = name.unwrap_or_default();
    if instruction == "remove_service" {
        ctx.rec.borrow_mut().live.shift_remove(&name);
    }
    name_step(ctx, kind(name), at);
    Ok(Value::new_none())
}
