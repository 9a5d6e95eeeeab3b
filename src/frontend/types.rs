//! Kurtosis type constructors (`ServiceConfig`, `PortSpec`, `Directory`, recipes, ...):
//! Kurtosis's argument names, positions and validation rules. Each returns a [`KValue`]
//! holding only the fields that were set; conversion to IR happens where the value is
//! used (`convert`).

#![allow(
    clippy::too_many_arguments,
    reason = "constructor argument lists mirror Kurtosis signatures"
)]

use super::check::Args;
use super::instruction::to_span;
use super::value::{KValue, Owned};
use crate::ir::Assertion;
use regex::Regex;
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::Value;
use std::sync::OnceLock;

fn make(
    type_name: &'static str,
    eval: &Evaluator,
    fields: Vec<(&'static str, Option<Owned>)>,
) -> KValue {
    KValue {
        type_name,
        fields: fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
        at: Some(to_span(eval.call_stack_top_location().as_ref())),
    }
}

#[expect(
    clippy::unreachable,
    reason = "a constant pattern; the tests compile it"
)]
fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|e| unreachable!("static regex: {e}")))
}

/// `description`: a non-empty string, accepted by every builtin.
fn description_arg(a: &mut Args, v: Option<Value>) -> Option<Owned> {
    let d = a.owned("description", v);
    a.non_empty_string("description", &d);
    d
}

fn check_port_spec(
    a: &mut Args,
    number: &Option<Owned>,
    transport: &Option<Owned>,
    app: &Option<Owned>,
    wait: &Option<Owned>,
    url: &Option<Owned>,
) {
    if let Some(n) = a.int("number", number) {
        if !(1..=65535).contains(&n) {
            a.fail(
                "number",
                format!("port number should be in range [1 - 65535], got {n}"),
            );
        }
    }
    if let Some(t) = a.string("transport_protocol", transport) {
        if !matches!(t.as_str(), "" | "TCP" | "UDP" | "SCTP") {
            a.fail(
                "transport_protocol",
                format!("must be one of TCP, UDP, SCTP, got '{t}'"),
            );
        }
    }
    if let Some(p) = a.string("application_protocol", app) {
        static RE: OnceLock<Regex> = OnceLock::new();
        if !re(&RE, r"^[a-zA-Z0-9+.\-]*$").is_match(&p) {
            a.fail(
                "application_protocol",
                format!("'{p}' may only contain letters, digits, '+', '.' and '-'"),
            );
        }
    }
    match wait {
        None | Some(Owned::None) => {}
        Some(Owned::Str(s)) if s.is_empty() => a.fail(
            "wait",
            "must not be empty; use None to disable the port check",
        ),
        w @ Some(_) => {
            a.duration("wait", w);
        }
    }
    a.non_empty_string("url", url);
}

fn check_label(a: &mut Args, key: &str, value: &str) {
    if super::refs::RefTable::contains_ref(value) {
        a.fail("labels", format!("the value of label '{key}' is known only at run time (a service's address or a task's output); labels must be known when the package is interpreted, e.g. use service.name"));
        return;
    }
    static KEY: OnceLock<Regex> = OnceLock::new();
    static VAL: OnceLock<Regex> = OnceLock::new();
    if key.is_empty()
        || key.len() > 63
        || !re(&KEY, r"^[a-z0-9]([a-z0-9\-_.]*[a-z0-9])?$").is_match(key)
    {
        a.fail("labels", format!("label key '{key}' is invalid: use at most 63 lower-case letters, digits, '-', '_' and '.', starting and ending with a letter or digit"));
    }
    if value.len() > 63
        || !(value.is_empty()
            || re(&VAL, r"^[A-Za-z0-9]([A-Za-z0-9\-_.]*[A-Za-z0-9])?$").is_match(value))
    {
        a.fail("labels", format!("label value '{value}' of '{key}' is invalid: use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or empty)"));
    }
}

fn check_assertion(a: &mut Args, v: &Option<Owned>, target: &Option<Owned>) {
    if let Some(s) = a.string("assertion", v) {
        match Assertion::parse(&s) {
            None => a.fail(
                "assertion",
                format!("'{s}' is not one of ==, !=, >=, <=, >, <, IN, NOT_IN"),
            ),
            Some(Assertion::In | Assertion::NotIn) => {
                if !matches!(
                    target,
                    Some(Owned::List(_) | Owned::Tuple(_) | Owned::Dict(_))
                ) {
                    a.fail(
                        "target_value",
                        format!("assertion '{s}' needs a list as target_value"),
                    );
                }
            }
            Some(_) => {}
        }
    }
}

const RECIPES: &[&str] = &[
    "ExecRecipe",
    "GetHttpRequestRecipe",
    "PostHttpRequestRecipe",
];
const IMAGES: &[&str] = &["ImageSpec", "ImageBuildSpec", "NixBuildSpec"];

#[allow(
    non_snake_case,
    reason = "the constructors have Kurtosis's names, as `PortSpec`"
)]
#[starlark_module]
pub fn kurtosis_types(builder: &mut GlobalsBuilder) {
    fn PortSpec<'v>(
        number: Option<Value<'v>>,
        transport_protocol: Option<Value<'v>>,
        application_protocol: Option<Value<'v>>,
        wait: Option<Value<'v>>,
        url: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("PortSpec");
        let number = a.owned("number", number);
        let transport = a.owned("transport_protocol", transport_protocol);
        let app = a.owned("application_protocol", application_protocol);
        let wait = a.owned_keep_none("wait", wait);
        let url = a.owned("url", url);
        let d = description_arg(&mut a, description);
        check_port_spec(&mut a, &number, &transport, &app, &wait, &url);
        a.finish()?;
        Ok(make(
            "PortSpec",
            eval,
            vec![
                ("number", number),
                ("transport_protocol", transport),
                ("application_protocol", app),
                ("wait", wait),
                ("url", url),
                ("description", d),
            ],
        ))
    }

    fn ServiceConfig<'v>(
        image: Option<Value<'v>>,
        ports: Option<Value<'v>>,
        public_ports: Option<Value<'v>>,
        files: Option<Value<'v>>,
        entrypoint: Option<Value<'v>>,
        cmd: Option<Value<'v>>,
        env_vars: Option<Value<'v>>,
        private_ip_address_placeholder: Option<Value<'v>>,
        cpu_allocation: Option<Value<'v>>,
        memory_allocation: Option<Value<'v>>,
        max_cpu: Option<Value<'v>>,
        min_cpu: Option<Value<'v>>,
        max_memory: Option<Value<'v>>,
        min_memory: Option<Value<'v>>,
        ready_conditions: Option<Value<'v>>,
        labels: Option<Value<'v>>,
        user: Option<Value<'v>>,
        tolerations: Option<Value<'v>>,
        node_selectors: Option<Value<'v>>,
        files_to_be_moved: Option<Value<'v>>,
        tini_enabled: Option<Value<'v>>,
        tty_enabled: Option<Value<'v>>,
        devices: Option<Value<'v>>,
        publish_udp: Option<Value<'v>>,
        capabilities: Option<Value<'v>>,
        gpu: Option<Value<'v>>,
        privileged: Option<Value<'v>>,
        host_pid_namespace: Option<Value<'v>>,
        bind_mounts: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("ServiceConfig");
        let image = a.owned("image", image);
        let image = a.required("image", image);
        if !matches!(image, Some(Owned::Str(_)) | None) {
            a.ktype("image", &image, IMAGES);
        }
        if let Some(Owned::Str(s)) = &image {
            if s.trim().is_empty() {
                a.fail("image", "must not be empty");
            }
        }
        let ports = a.owned("ports", ports);
        let public_ports = a.owned("public_ports", public_ports);
        for (name, p) in [("ports", &ports), ("public_ports", &public_ports)] {
            if let Some(entries) = a.dict(name, p) {
                for (k, v) in entries {
                    if v.as_kurtosis("PortSpec").is_none() {
                        a.fail(
                            name,
                            format!(
                                "value of '{k}' must be a PortSpec, got {} {}",
                                v.type_name(),
                                v.repr()
                            ),
                        );
                    }
                }
            }
        }
        let files = a.owned("files", files);
        if let Some(entries) = a.dict("files", &files) {
            for (k, v) in entries {
                if !(matches!(v, Owned::Str(_)) || v.as_kurtosis("Directory").is_some()) {
                    a.fail(
                        "files",
                        format!(
                            "value of '{k}' must be an artifact name or a Directory, got {} {}",
                            v.type_name(),
                            v.repr()
                        ),
                    );
                }
            }
        }
        let entrypoint = a.owned("entrypoint", entrypoint);
        a.string_list("entrypoint", &entrypoint);
        let cmd = a.owned("cmd", cmd);
        a.string_list("cmd", &cmd);
        let env_vars = a.owned("env_vars", env_vars);
        a.string_dict("env_vars", &env_vars);
        let placeholder = a.owned(
            "private_ip_address_placeholder",
            private_ip_address_placeholder,
        );
        a.non_empty_string("private_ip_address_placeholder", &placeholder);
        let cpu_allocation = a.owned("cpu_allocation", cpu_allocation);
        a.int_min("cpu_allocation", &cpu_allocation, 0);
        let memory_allocation = a.owned("memory_allocation", memory_allocation);
        if let Some(m) = a.int("memory_allocation", &memory_allocation) {
            if m != 0 && m < 6 {
                a.fail(
                    "memory_allocation",
                    format!("must be at least 6 (megabytes), got {m}"),
                );
            }
        }
        let max_cpu = a.owned("max_cpu", max_cpu);
        a.int_min("max_cpu", &max_cpu, 0);
        let min_cpu = a.owned("min_cpu", min_cpu);
        a.int_min("min_cpu", &min_cpu, 0);
        let max_memory = a.owned("max_memory", max_memory);
        if let Some(m) = a.int("max_memory", &max_memory) {
            if m != 0 && m < 6 {
                a.fail(
                    "max_memory",
                    format!("must be at least 6 (megabytes), got {m}"),
                );
            }
        }
        let min_memory = a.owned("min_memory", min_memory);
        a.int_min("min_memory", &min_memory, 0);
        let ready = a.owned("ready_conditions", ready_conditions);
        a.ktype("ready_conditions", &ready, &["ReadyCondition"]);
        let labels = a.owned("labels", labels);
        if let Some(entries) = a.string_dict("labels", &labels) {
            for (k, v) in entries {
                check_label(&mut a, &k, &v);
            }
        }
        let user = a.owned("user", user);
        a.ktype("user", &user, &["User"]);
        let tolerations = a.owned("tolerations", tolerations);
        match &tolerations {
            Some(Owned::List(items)) => {
                for t in items {
                    if t.as_kurtosis("Toleration").is_none() {
                        a.fail(
                            "tolerations",
                            format!(
                                "items must be Toleration, got {} {}",
                                t.type_name(),
                                t.repr()
                            ),
                        );
                    }
                }
            }
            None => {}
            Some(o) => a.fail(
                "tolerations",
                format!("expected a list of Toleration, got {}", o.type_name()),
            ),
        }
        let node_selectors = a.owned("node_selectors", node_selectors);
        a.string_dict("node_selectors", &node_selectors);
        let files_to_be_moved = a.owned("files_to_be_moved", files_to_be_moved);
        a.string_dict("files_to_be_moved", &files_to_be_moved);
        let tini = a.owned("tini_enabled", tini_enabled);
        a.boolean("tini_enabled", &tini);
        let tty = a.owned("tty_enabled", tty_enabled);
        a.boolean("tty_enabled", &tty);
        let devices = a.owned("devices", devices);
        a.string_list("devices", &devices);
        let publish_udp = a.owned("publish_udp", publish_udp);
        a.boolean("publish_udp", &publish_udp);
        let capabilities = a.owned("capabilities", capabilities);
        a.string_list("capabilities", &capabilities);
        let gpu = a.owned("gpu", gpu);
        a.ktype("gpu", &gpu, &["GpuConfig"]);
        let privileged = a.owned("privileged", privileged);
        a.boolean("privileged", &privileged);
        let host_pid = a.owned("host_pid_namespace", host_pid_namespace);
        a.boolean("host_pid_namespace", &host_pid);
        let bind_mounts = a.owned("bind_mounts", bind_mounts);
        if let Some(entries) = a.string_dict("bind_mounts", &bind_mounts) {
            for (host, _) in entries {
                if host != "/var/run/docker.sock" {
                    a.fail("bind_mounts", format!("host path '{host}' is not allowed; only /var/run/docker.sock may be bind-mounted"));
                }
            }
        }
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "ServiceConfig",
            eval,
            vec![
                ("image", image),
                ("ports", ports),
                ("public_ports", public_ports),
                ("files", files),
                ("entrypoint", entrypoint),
                ("cmd", cmd),
                ("env_vars", env_vars),
                ("private_ip_address_placeholder", placeholder),
                ("cpu_allocation", cpu_allocation),
                ("memory_allocation", memory_allocation),
                ("max_cpu", max_cpu),
                ("min_cpu", min_cpu),
                ("max_memory", max_memory),
                ("min_memory", min_memory),
                ("ready_conditions", ready),
                ("labels", labels),
                ("user", user),
                ("tolerations", tolerations),
                ("node_selectors", node_selectors),
                ("files_to_be_moved", files_to_be_moved),
                ("tini_enabled", tini),
                ("tty_enabled", tty),
                ("devices", devices),
                ("publish_udp", publish_udp),
                ("capabilities", capabilities),
                ("gpu", gpu),
                ("privileged", privileged),
                ("host_pid_namespace", host_pid),
                ("bind_mounts", bind_mounts),
                ("description", d),
            ],
        ))
    }

    fn Directory<'v>(
        artifact_names: Option<Value<'v>>,
        persistent_key: Option<Value<'v>>,
        size: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("Directory");
        let names = a.owned("artifact_names", artifact_names);
        if let Some(list) = a.string_list("artifact_names", &names) {
            if list.iter().any(String::is_empty) {
                a.fail("artifact_names", "artifact names must not be empty");
            }
        }
        let key = a.owned("persistent_key", persistent_key);
        a.non_empty_string("persistent_key", &key);
        if names.is_some() == key.is_some() {
            a.fail(
                "artifact_names",
                "set exactly one of 'artifact_names' and 'persistent_key' on a Directory",
            );
        }
        let size = a.owned("size", size);
        a.int_min("size", &size, 1);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "Directory",
            eval,
            vec![
                ("artifact_names", names),
                ("persistent_key", key),
                ("size", size),
                ("description", d),
            ],
        ))
    }

    fn ReadyCondition<'v>(
        recipe: Option<Value<'v>>,
        field: Option<Value<'v>>,
        assertion: Option<Value<'v>>,
        target_value: Option<Value<'v>>,
        interval: Option<Value<'v>>,
        timeout: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("ReadyCondition");
        let recipe = a.owned("recipe", recipe);
        let recipe = a.required("recipe", recipe);
        a.ktype("recipe", &recipe, RECIPES);
        let field = a.owned("field", field);
        let field = a.required("field", field);
        a.non_empty_string("field", &field);
        let assertion = a.owned("assertion", assertion);
        let assertion = a.required("assertion", assertion);
        let target = a.owned("target_value", target_value);
        let target = a.required("target_value", target);
        check_assertion(&mut a, &assertion, &target);
        let interval = a.owned("interval", interval);
        a.duration("interval", &interval);
        let timeout = a.owned("timeout", timeout);
        a.duration("timeout", &timeout);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "ReadyCondition",
            eval,
            vec![
                ("recipe", recipe),
                ("field", field),
                ("assertion", assertion),
                ("target_value", target),
                ("interval", interval),
                ("timeout", timeout),
                ("description", d),
            ],
        ))
    }

    fn ExecRecipe<'v>(
        command: Option<Value<'v>>,
        extract: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("ExecRecipe");
        let command = a.owned("command", command);
        let command = a.required("command", command);
        if let Some(c) = a.string_list("command", &command) {
            if c.is_empty() {
                a.fail("command", "must not be empty");
            }
        }
        let extract = a.owned("extract", extract);
        a.string_dict("extract", &extract);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "ExecRecipe",
            eval,
            vec![
                ("command", command),
                ("extract", extract),
                ("description", d),
            ],
        ))
    }

    fn GetHttpRequestRecipe<'v>(
        port_id: Option<Value<'v>>,
        endpoint: Option<Value<'v>>,
        extract: Option<Value<'v>>,
        headers: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("GetHttpRequestRecipe");
        let port_id = a.owned("port_id", port_id);
        let port_id = a.required("port_id", port_id);
        a.non_empty_string("port_id", &port_id);
        let endpoint = a.owned("endpoint", endpoint);
        let endpoint = a.required("endpoint", endpoint);
        a.string("endpoint", &endpoint);
        let extract = a.owned("extract", extract);
        a.string_dict("extract", &extract);
        let headers = a.owned("headers", headers);
        a.string_dict("headers", &headers);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "GetHttpRequestRecipe",
            eval,
            vec![
                ("port_id", port_id),
                ("endpoint", endpoint),
                ("extract", extract),
                ("headers", headers),
                ("description", d),
            ],
        ))
    }

    fn PostHttpRequestRecipe<'v>(
        port_id: Option<Value<'v>>,
        endpoint: Option<Value<'v>>,
        body: Option<Value<'v>>,
        content_type: Option<Value<'v>>,
        extract: Option<Value<'v>>,
        headers: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("PostHttpRequestRecipe");
        let port_id = a.owned("port_id", port_id);
        let port_id = a.required("port_id", port_id);
        a.non_empty_string("port_id", &port_id);
        let endpoint = a.owned("endpoint", endpoint);
        let endpoint = a.required("endpoint", endpoint);
        a.string("endpoint", &endpoint);
        let body = a.owned("body", body);
        a.string("body", &body);
        let content_type = a.owned("content_type", content_type);
        a.string("content_type", &content_type);
        let extract = a.owned("extract", extract);
        a.string_dict("extract", &extract);
        let headers = a.owned("headers", headers);
        a.string_dict("headers", &headers);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "PostHttpRequestRecipe",
            eval,
            vec![
                ("port_id", port_id),
                ("endpoint", endpoint),
                ("body", body),
                ("content_type", content_type),
                ("extract", extract),
                ("headers", headers),
                ("description", d),
            ],
        ))
    }

    fn StoreSpec<'v>(
        src: Option<Value<'v>>,
        name: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("StoreSpec");
        let src = a.owned("src", src);
        let src = a.required("src", src);
        a.non_empty_string("src", &src);
        let name = a.owned("name", name);
        a.non_empty_string("name", &name);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "StoreSpec",
            eval,
            vec![("src", src), ("name", name), ("description", d)],
        ))
    }

    fn User<'v>(
        uid: Option<Value<'v>>,
        gid: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("User");
        let uid = a.owned("uid", uid);
        let uid = a.required("uid", uid);
        a.int_min("uid", &uid, 0);
        let gid = a.owned("gid", gid);
        a.int_min("gid", &gid, 0);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "User",
            eval,
            vec![("uid", uid), ("gid", gid), ("description", d)],
        ))
    }

    fn Toleration<'v>(
        key: Option<Value<'v>>,
        operator: Option<Value<'v>>,
        value: Option<Value<'v>>,
        effect: Option<Value<'v>>,
        toleration_seconds: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("Toleration");
        let key = a.owned("key", key);
        let k = a.string("key", &key);
        let operator = a.owned("operator", operator);
        let op = a.string("operator", &operator);
        if let Some(o) = &op {
            if !matches!(o.as_str(), "Exists" | "Equal") {
                a.fail(
                    "operator",
                    format!("must be 'Exists' or 'Equal', got '{o}'"),
                );
            }
        }
        let value = a.owned("value", value);
        let v = a.string("value", &value);
        let effect = a.owned("effect", effect);
        if let Some(e) = a.string("effect", &effect) {
            if !matches!(
                e.as_str(),
                "" | "NoSchedule" | "NoExecute" | "PreferNoSchedule"
            ) {
                a.fail(
                    "effect",
                    format!("must be NoSchedule, NoExecute or PreferNoSchedule, got '{e}'"),
                );
            }
        }
        let secs = a.owned("toleration_seconds", toleration_seconds);
        a.int("toleration_seconds", &secs);
        if k.as_deref().unwrap_or("").is_empty() && op.as_deref() != Some("Exists") {
            a.fail("key", "is required unless operator is 'Exists'");
        }
        if op.as_deref() == Some("Exists") && !v.as_deref().unwrap_or("").is_empty() {
            a.fail("value", "must be empty when operator is 'Exists'");
        }
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "Toleration",
            eval,
            vec![
                ("key", key),
                ("operator", operator),
                ("value", value),
                ("effect", effect),
                ("toleration_seconds", secs),
                ("description", d),
            ],
        ))
    }

    fn GpuConfig<'v>(
        count: Option<Value<'v>>,
        device_ids: Option<Value<'v>>,
        shm_size: Option<Value<'v>>,
        ulimits: Option<Value<'v>>,
        driver: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("GpuConfig");
        let count = a.owned("count", count);
        let c = a.int_min("count", &count, -1);
        let device_ids = a.owned("device_ids", device_ids);
        let ids = a.string_list("device_ids", &device_ids);
        if c.unwrap_or(0) != 0 && !ids.unwrap_or_default().is_empty() {
            a.fail("device_ids", "set either 'count' or 'device_ids', not both");
        }
        let shm = a.owned("shm_size", shm_size);
        a.int_min("shm_size", &shm, 0);
        let ulimits = a.owned("ulimits", ulimits);
        if let Some(entries) = a.dict("ulimits", &ulimits) {
            for (k, v) in entries {
                if !matches!(v, Owned::Int(_)) {
                    a.fail("ulimits", format!("value of '{k}' must be an int"));
                }
            }
        }
        let driver = a.owned("driver", driver);
        match &driver {
            None | Some(Owned::Str(_)) => {}
            Some(Owned::Dict(_)) => {
                if let Some(entries) = a.string_dict("driver", &driver) {
                    for (k, _) in entries {
                        if k != "docker" && k != "kubernetes" {
                            a.fail(
                                "driver",
                                format!("unknown key '{k}'; use 'docker' and 'kubernetes'"),
                            );
                        }
                    }
                }
            }
            Some(o) => a.fail(
                "driver",
                format!("expected a string or a dict, got {}", o.type_name()),
            ),
        }
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "GpuConfig",
            eval,
            vec![
                ("count", count),
                ("device_ids", device_ids),
                ("shm_size", shm),
                ("ulimits", ulimits),
                ("driver", driver),
                ("description", d),
            ],
        ))
    }

    fn ImageSpec<'v>(
        image: Option<Value<'v>>,
        registry: Option<Value<'v>>,
        username: Option<Value<'v>>,
        password: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("ImageSpec");
        let image = a.owned("image", image);
        let image = a.required("image", image);
        a.non_empty_string("image", &image);
        let registry = a.owned("registry", registry);
        a.non_empty_string("registry", &registry);
        let username = a.owned("username", username);
        a.non_empty_string("username", &username);
        let password = a.owned("password", password);
        a.non_empty_string("password", &password);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "ImageSpec",
            eval,
            vec![
                ("image", image),
                ("registry", registry),
                ("username", username),
                ("password", password),
                ("description", d),
            ],
        ))
    }

    fn ImageBuildSpec<'v>(
        image_name: Option<Value<'v>>,
        build_context_dir: Option<Value<'v>>,
        build_file: Option<Value<'v>>,
        target_stage: Option<Value<'v>>,
        build_args: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("ImageBuildSpec");
        let image_name = a.owned("image_name", image_name);
        let image_name = a.required("image_name", image_name);
        a.non_empty_string("image_name", &image_name);
        let ctx = a.owned("build_context_dir", build_context_dir);
        let ctx = a.required("build_context_dir", ctx);
        a.non_empty_string("build_context_dir", &ctx);
        let build_file = a.owned("build_file", build_file);
        a.non_empty_string("build_file", &build_file);
        let target_stage = a.owned("target_stage", target_stage);
        a.string("target_stage", &target_stage);
        let build_args = a.owned("build_args", build_args);
        a.string_dict("build_args", &build_args);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "ImageBuildSpec",
            eval,
            vec![
                ("image_name", image_name),
                ("build_context_dir", ctx),
                ("build_file", build_file),
                ("target_stage", target_stage),
                ("build_args", build_args),
                ("description", d),
            ],
        ))
    }

    fn NixBuildSpec<'v>(
        flake_location_dir: Option<Value<'v>>,
        build_context_dir: Option<Value<'v>>,
        image_name: Option<Value<'v>>,
        flake_output: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("NixBuildSpec");
        let flake = a.owned("flake_location_dir", flake_location_dir);
        let flake = a.required("flake_location_dir", flake);
        a.non_empty_string("flake_location_dir", &flake);
        let ctx = a.owned("build_context_dir", build_context_dir);
        let ctx = a.required("build_context_dir", ctx);
        a.non_empty_string("build_context_dir", &ctx);
        let image_name = a.owned("image_name", image_name);
        let image_name = a.required("image_name", image_name);
        a.non_empty_string("image_name", &image_name);
        let out = a.owned("flake_output", flake_output);
        a.string("flake_output", &out);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "NixBuildSpec",
            eval,
            vec![
                ("flake_location_dir", flake),
                ("build_context_dir", ctx),
                ("image_name", image_name),
                ("flake_output", out),
                ("description", d),
            ],
        ))
    }

    fn Service<'v>(
        name: Option<Value<'v>>,
        hostname: Option<Value<'v>>,
        ip_address: Option<Value<'v>>,
        ports: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<KValue> {
        let mut a = Args::for_type("Service");
        let name = a.owned("name", name);
        let name = a.required("name", name);
        a.non_empty_string("name", &name);
        let hostname = a.owned("hostname", hostname);
        let hostname = a.required("hostname", hostname);
        a.string("hostname", &hostname);
        let ip = a.owned("ip_address", ip_address);
        let ip = a.required("ip_address", ip);
        a.string("ip_address", &ip);
        let ports = a.owned("ports", ports);
        let ports = a.required("ports", ports);
        a.dict("ports", &ports);
        let d = description_arg(&mut a, description);
        a.finish()?;
        Ok(make(
            "Service",
            eval,
            vec![
                ("name", name),
                ("hostname", hostname),
                ("ip_address", ip),
                ("ports", ports),
                ("description", d),
            ],
        ))
    }
}
