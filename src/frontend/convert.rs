//! Converting checked Kurtosis values ([`KValue`], [`Owned`]) into IR, parsing every
//! string that may hold a future reference into a [`StrExpr`] exactly once, and
//! refusing future references where Kurtosis would not substitute them.

use super::package::Refused;
use super::refs::RefTable;
use super::value::{format_float, KValue, Owned};
use crate::ir::{
    Assertion, Data, ExecRecipe, GoDuration, GpuConfig, HttpMethod, HttpRecipe, Image, Mount, Port,
    ReadyCondition, Recipe, ServiceConfig, Span, StrExpr, TaskField, Toleration, Transport, User,
};
use std::collections::BTreeMap;

/// Default `PortSpec.wait` (Kurtosis code: 2m).
pub const DEFAULT_PORT_WAIT_SECS: u64 = 120;
pub const DEFAULT_IP_PLACEHOLDER: &str = "KURTOSIS_IP_ADDR_PLACEHOLDER";

/// Resolves a build context locator and checks the paths given inside it, as
/// `(argument, path)` pairs (a build file, a flake directory); returns the context's
/// display path.
pub type BuildContext<'a> = &'a dyn Fn(&str, &[(&str, &str)]) -> Result<String, Refused>;

/// Conversion context: the placeholder table, where the value came from, and how to
/// resolve build contexts. Errors are collected, not returned one by one.
pub struct Conv<'a> {
    pub refs: &'a RefTable,
    pub at: &'a Span,
    pub errors: Vec<String>,
    /// Whether one of the errors is a refused path (KP004).
    pub refused: bool,
    /// Deprecated usage, reported as warnings.
    pub warnings: Vec<String>,
    pub build_context: BuildContext<'a>,
}

impl<'a> Conv<'a> {
    pub fn new(refs: &'a RefTable, at: &'a Span, build_context: BuildContext<'a>) -> Self {
        Conv {
            refs,
            at,
            errors: Vec::new(),
            refused: false,
            warnings: Vec::new(),
            build_context,
        }
    }

    pub fn fail(&mut self, msg: impl Into<String>) {
        self.errors.push(msg.into());
    }

    /// A string where run-time values are substituted.
    pub fn expr(&mut self, field: &str, s: &str) -> StrExpr {
        match self.refs.parse(s) {
            Ok(e) => e,
            Err(e) => {
                self.fail(format!("{field}: {e}"));
                StrExpr::lit(s)
            }
        }
    }

    /// A string where Kurtosis does not substitute run-time values.
    pub fn plain(&mut self, field: &str, s: &str) -> String {
        if RefTable::contains_ref(s) {
            self.fail(format!(
                "{field} holds a value known only at run time (a service's address or a task's output), but Kurtosis never substitutes run-time values there; use a value known when the package is interpreted (e.g. service.name instead of service.hostname)"
            ));
        }
        s.to_owned()
    }

    fn str_field(&mut self, k: &KValue, name: &str) -> Option<String> {
        match k.get(name) {
            Some(Owned::Str(s)) => Some(self.plain(name, s)),
            _ => None,
        }
    }

    fn int_field(k: &KValue, name: &str) -> Option<i64> {
        match k.get(name) {
            Some(Owned::Int(i)) => Some(*i),
            _ => None,
        }
    }

    fn bool_field(k: &KValue, name: &str, default: bool) -> bool {
        match k.get(name) {
            Some(Owned::Bool(b)) => *b,
            _ => default,
        }
    }

    fn str_list(&mut self, k: &KValue, name: &str, exprs: bool) -> Vec<StrExpr> {
        match k.get(name) {
            Some(Owned::List(items)) | Some(Owned::Tuple(items)) => items
                .iter()
                .filter_map(Owned::as_str)
                .map(|s| {
                    if exprs {
                        self.expr(name, s)
                    } else {
                        StrExpr::lit(self.plain(name, s))
                    }
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn plain_list(&mut self, k: &KValue, name: &str) -> Vec<String> {
        self.str_list(k, name, false)
            .into_iter()
            .filter_map(|e| e.as_literal())
            .collect()
    }

    fn plain_dict(&mut self, k: &KValue, name: &str) -> BTreeMap<String, String> {
        plain_dict_of(self, k.get(name), name)
    }

    /// `build_context_dir` of a build spec, resolved to the package display path, with
    /// the paths given inside it checked.
    fn context_dir(&mut self, k: &KValue, inside: &[(&str, &str)]) -> String {
        let ctx = self.str_field(k, "build_context_dir").unwrap_or_default();
        match (self.build_context)(&ctx, inside) {
            Ok(d) => d,
            Err(e) => {
                self.refused = true;
                self.fail(e.message);
                ctx
            }
        }
    }

    pub fn image(&mut self, v: &Owned) -> Image {
        match v {
            Owned::Str(s) => Image::Name(self.plain("image", s)),
            Owned::Kurtosis(k) => match k.type_name {
                "ImageSpec" => Image::Spec {
                    image: self.str_field(k, "image").unwrap_or_default(),
                    registry: self.str_field(k, "registry"),
                    username: self.str_field(k, "username"),
                    password: self.str_field(k, "password"),
                },
                "ImageBuildSpec" => {
                    let build_file = self
                        .str_field(k, "build_file")
                        .unwrap_or_else(|| "Dockerfile".into());
                    let ctx = self.context_dir(k, &[("build_file", &build_file)]);
                    Image::Build {
                        image_name: self.str_field(k, "image_name").unwrap_or_default(),
                        build_context_dir: ctx,
                        build_file,
                        target_stage: self.str_field(k, "target_stage").filter(|s| !s.is_empty()),
                        build_args: self.plain_dict(k, "build_args"),
                    }
                }
                "NixBuildSpec" => {
                    let flake = self.str_field(k, "flake_location_dir").unwrap_or_default();
                    let ctx = self.context_dir(k, &[("flake_location_dir", &flake)]);
                    Image::Nix {
                        image_name: self.str_field(k, "image_name").unwrap_or_default(),
                        build_context_dir: ctx,
                        flake_location_dir: flake,
                        flake_output: self
                            .str_field(k, "flake_output")
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| "default".into()),
                    }
                }
                other => {
                    self.fail(format!(
                        "image: expected a string or an image spec, got {other}"
                    ));
                    Image::Name(String::new())
                }
            },
            o => {
                self.fail(format!(
                    "image: expected a string or an image spec, got {}",
                    o.type_name()
                ));
                Image::Name(String::new())
            }
        }
    }

    pub fn port(&mut self, k: &KValue) -> Port {
        let transport = match k.get("transport_protocol").and_then(Owned::as_str) {
            Some("UDP") => Transport::Udp,
            Some("SCTP") => Transport::Sctp,
            _ => Transport::Tcp,
        };
        let wait = match k.get("wait") {
            None => Some(GoDuration::from_secs(DEFAULT_PORT_WAIT_SECS)),
            Some(Owned::None) => None,
            Some(Owned::Str(s)) => GoDuration::parse(s).ok(),
            Some(_) => None,
        };
        let at = k.at.clone().unwrap_or_else(|| self.at.clone());
        Port {
            number: Self::int_field(k, "number")
                .and_then(|n| u16::try_from(n).ok())
                .unwrap_or(0),
            transport_protocol: transport,
            application_protocol: self
                .str_field(k, "application_protocol")
                .filter(|s| !s.is_empty()),
            wait,
            url: self.str_field(k, "url"),
            id_at: at.clone(),
            at,
        }
    }

    pub fn recipe(&mut self, k: &KValue) -> Recipe {
        match k.type_name {
            "ExecRecipe" => Recipe::Exec(self.exec_recipe(k)),
            _ => Recipe::Http(self.http_recipe(k)),
        }
    }

    pub fn exec_recipe(&mut self, k: &KValue) -> ExecRecipe {
        ExecRecipe {
            command: self.str_list(k, "command", true),
            extract: self.plain_dict(k, "extract"),
        }
    }

    pub fn http_recipe(&mut self, k: &KValue) -> HttpRecipe {
        let post = k.type_name == "PostHttpRequestRecipe";
        HttpRecipe {
            method: if post {
                HttpMethod::Post
            } else {
                HttpMethod::Get
            },
            port_id: self.str_field(k, "port_id").unwrap_or_default(),
            endpoint: self.str_field(k, "endpoint").unwrap_or_default(),
            body: post.then(|| match k.get("body") {
                Some(Owned::Str(s)) => self.expr("body", s),
                _ => StrExpr::default(),
            }),
            content_type: post.then(|| {
                self.str_field(k, "content_type")
                    .unwrap_or_else(|| "application/json".into())
            }),
            extract: self.plain_dict(k, "extract"),
            headers: self.plain_dict(k, "headers"),
        }
    }

    /// The field `name` of `recipe`'s result that `what` (a `wait`, a `ReadyCondition`)
    /// compares.
    pub fn task_field(&mut self, what: &str, recipe: &Recipe, name: &str) -> TaskField {
        super::fields::of_recipe(recipe, name).unwrap_or_else(|e| {
            self.fail(format!("{what}: {e}"));
            TaskField::Code
        })
    }

    pub fn ready_condition(&mut self, k: &KValue) -> Option<ReadyCondition> {
        let recipe = k.get("recipe").and_then(|r| match r {
            Owned::Kurtosis(rk) => Some(self.recipe(rk)),
            _ => None,
        })?;
        let field = self.str_field(k, "field").unwrap_or_default();
        Some(ReadyCondition {
            field: self.task_field("ReadyCondition", &recipe, &field),
            recipe,
            assertion: k
                .get("assertion")
                .and_then(Owned::as_str)
                .and_then(Assertion::parse)
                .unwrap_or(Assertion::Eq),
            target_value: self.data(k.get("target_value").unwrap_or(&Owned::None)),
            interval: duration_or(k.get("interval"), GoDuration::from_secs(1)),
            timeout: duration_or(k.get("timeout"), GoDuration::from_secs(15 * 60)),
            at: k.at.clone().unwrap_or_else(|| self.at.clone()),
        })
    }

    /// JSON-like data: dict keys must be strings (as `json.encode` requires), and
    /// Kurtosis types are refused (Kurtosis re-evaluates template data in a Starlark
    /// that knows only `json` and `struct`).
    pub fn data(&mut self, v: &Owned) -> Data {
        match v {
            Owned::None => Data::Null,
            Owned::Bool(b) => Data::Bool(*b),
            Owned::Int(i) => Data::Number(i.to_string()),
            Owned::BigInt(s) => Data::Number(s.clone()),
            Owned::Float(f) => Data::Number(if f.is_finite() {
                format_json_float(*f)
            } else {
                "null".into()
            }),
            Owned::Str(s) => Data::Str(self.expr("value", s)),
            Owned::List(items) | Owned::Tuple(items) => {
                Data::List(items.iter().map(|x| self.data(x)).collect())
            }
            Owned::Dict(entries) => {
                let mut out = Vec::new();
                for (k, x) in entries {
                    match k {
                        Owned::Str(s) => out.push((s.clone(), self.data(x))),
                        other => self.fail(format!(
                            "dict keys in data must be strings, got {} {}",
                            other.type_name(),
                            other.repr()
                        )),
                    }
                }
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Data::Object(out)
            }
            Owned::Struct(fields) => {
                let mut out: Vec<(String, Data)> = fields
                    .iter()
                    .map(|(k, x)| (k.clone(), self.data(x)))
                    .collect();
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Data::Object(out)
            }
            Owned::Kurtosis(k) => {
                self.fail(format!(
                    "a {} cannot be used as data; pass its fields (e.g. port.number) instead",
                    k.type_name
                ));
                Data::Null
            }
        }
    }

    pub fn service_config(&mut self, k: &KValue) -> ServiceConfig {
        let image = match k.get("image") {
            Some(v) => self.image(v),
            None => Image::Name(String::new()),
        };
        let mut ports = BTreeMap::new();
        let mut public_ports = BTreeMap::new();
        for (field, map) in [("ports", &mut ports), ("public_ports", &mut public_ports)] {
            if let Some(Owned::Dict(entries)) = k.get(field) {
                for (id, p) in entries {
                    if let (Owned::Str(id), Owned::Kurtosis(pk)) = (id, p) {
                        map.insert(id.clone(), self.port(pk));
                    }
                }
            }
        }
        let files = self.mounts(k);
        let env_vars = self.env_vars(k);
        for (old, new) in [
            ("cpu_allocation", "max_cpu"),
            ("memory_allocation", "max_memory"),
        ] {
            if k.get(old).is_some() {
                self.warnings.push(format!(
                    "ServiceConfig argument '{old}' is deprecated; use '{new}'"
                ));
            }
        }
        let max_cpu =
            Self::int_field(k, "max_cpu").or_else(|| Self::int_field(k, "cpu_allocation"));
        let max_memory =
            Self::int_field(k, "max_memory").or_else(|| Self::int_field(k, "memory_allocation"));
        let ready_conditions = match k.get("ready_conditions") {
            Some(Owned::Kurtosis(r)) => self.ready_condition(r),
            _ => None,
        };
        let user = match k.get("user") {
            Some(Owned::Kurtosis(u)) => Some(User {
                uid: Self::int_field(u, "uid")
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(0),
                gid: Self::int_field(u, "gid").and_then(|v| u32::try_from(v).ok()),
            }),
            _ => None,
        };
        let tolerations = match k.get("tolerations") {
            Some(Owned::List(items)) => items
                .iter()
                .filter_map(|t| match t {
                    Owned::Kurtosis(t) => Some(self.toleration(t)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let gpu = match k.get("gpu") {
            Some(Owned::Kurtosis(g)) => Some(self.gpu(g)),
            _ => None,
        };
        ServiceConfig {
            image,
            ports,
            public_ports,
            files,
            entrypoint: self.str_list(k, "entrypoint", true),
            cmd: self.str_list(k, "cmd", true),
            env_vars,
            private_ip_address_placeholder: self
                .str_field(k, "private_ip_address_placeholder")
                .unwrap_or_else(|| DEFAULT_IP_PLACEHOLDER.into()),
            max_cpu: max_cpu.unwrap_or(0).max(0).unsigned_abs(),
            min_cpu: Self::int_field(k, "min_cpu")
                .unwrap_or(0)
                .max(0)
                .unsigned_abs(),
            max_memory: max_memory.unwrap_or(0).max(0).unsigned_abs(),
            min_memory: Self::int_field(k, "min_memory")
                .unwrap_or(0)
                .max(0)
                .unsigned_abs(),
            ready_conditions,
            labels: self.plain_dict(k, "labels"),
            user,
            tolerations,
            node_selectors: self.plain_dict(k, "node_selectors"),
            files_to_be_moved: self.plain_dict(k, "files_to_be_moved"),
            tini_enabled: Self::bool_field(k, "tini_enabled", true),
            tty_enabled: Self::bool_field(k, "tty_enabled", false),
            devices: self.plain_list(k, "devices"),
            publish_udp: Self::bool_field(k, "publish_udp", false),
            capabilities: self.plain_list(k, "capabilities"),
            gpu,
            privileged: Self::bool_field(k, "privileged", false),
            host_pid_namespace: Self::bool_field(k, "host_pid_namespace", false),
            bind_mounts: self.plain_dict(k, "bind_mounts"),
        }
    }

    /// `files` of a `ServiceConfig`: mount path -> artifact names or a persistent
    /// directory.
    fn mounts(&mut self, k: &KValue) -> BTreeMap<String, Mount> {
        let mut files = BTreeMap::new();
        if let Some(Owned::Dict(entries)) = k.get("files") {
            for (path, m) in entries {
                let Owned::Str(path) = path else { continue };
                let mount = match m {
                    Owned::Str(name) => Mount::Artifacts(vec![self.plain("files", name)]),
                    Owned::Kurtosis(d) => {
                        match (d.get("artifact_names"), d.get("persistent_key")) {
                            (Some(Owned::List(names)), _) => Mount::Artifacts(
                                names
                                    .iter()
                                    .filter_map(Owned::as_str)
                                    .map(|n| self.plain("files", n))
                                    .collect(),
                            ),
                            (_, Some(Owned::Str(key))) => Mount::Persistent {
                                key: self.plain("persistent_key", key),
                                size_mb: Self::int_field(d, "size")
                                    .and_then(|s| u64::try_from(s).ok()),
                            },
                            _ => continue,
                        }
                    }
                    _ => continue,
                };
                files.insert(path.clone(), mount);
            }
        }
        files
    }

    /// `env_vars` of a `ServiceConfig`, each value parsed for run-time references.
    fn env_vars(&mut self, k: &KValue) -> BTreeMap<String, StrExpr> {
        let mut env_vars = BTreeMap::new();
        if let Some(Owned::Dict(entries)) = k.get("env_vars") {
            for (key, v) in entries {
                if let (Owned::Str(key), Owned::Str(v)) = (key, v) {
                    let e = self.expr(&format!("env_vars[{key:?}]"), v);
                    env_vars.insert(key.clone(), e);
                }
            }
        }
        env_vars
    }

    pub fn toleration(&mut self, t: &KValue) -> Toleration {
        Toleration {
            key: self.str_field(t, "key"),
            operator: self.str_field(t, "operator"),
            value: self.str_field(t, "value"),
            effect: self.str_field(t, "effect"),
            toleration_seconds: Self::int_field(t, "toleration_seconds"),
        }
    }

    fn gpu(&mut self, g: &KValue) -> GpuConfig {
        let (docker_driver, kubernetes_resource) = match g.get("driver") {
            Some(Owned::Str(s)) => (s.clone(), format!("{s}.com/gpu")),
            Some(Owned::Dict(_)) => {
                let d = plain_dict_of(self, g.get("driver"), "driver");
                (
                    d.get("docker").cloned().unwrap_or_else(|| "nvidia".into()),
                    d.get("kubernetes")
                        .cloned()
                        .unwrap_or_else(|| "nvidia.com/gpu".into()),
                )
            }
            _ => ("nvidia".into(), "nvidia.com/gpu".into()),
        };
        let mut ulimits = BTreeMap::new();
        if let Some(Owned::Dict(entries)) = g.get("ulimits") {
            for (k, v) in entries {
                if let (Owned::Str(k), Owned::Int(v)) = (k, v) {
                    ulimits.insert(k.clone(), *v);
                }
            }
        }
        GpuConfig {
            count: Self::int_field(g, "count").unwrap_or(0),
            device_ids: self.plain_list(g, "device_ids"),
            shm_size: Self::int_field(g, "shm_size").and_then(|v| u64::try_from(v).ok()),
            ulimits,
            docker_driver,
            kubernetes_resource,
        }
    }
}

fn plain_dict_of(c: &mut Conv, v: Option<&Owned>, name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(Owned::Dict(entries)) = v {
        for (k, x) in entries {
            if let (Owned::Str(k), Owned::Str(x)) = (k, x) {
                let x = c.plain(&format!("{name}[{k:?}]"), x);
                out.insert(k.clone(), x);
            }
        }
    }
    out
}

fn duration_or(v: Option<&Owned>, default: GoDuration) -> GoDuration {
    match v {
        Some(Owned::Str(s)) => GoDuration::parse(s).unwrap_or(default),
        _ => default,
    }
}

/// Floats as starlark-go's `json.encode` writes them.
pub fn format_json_float(f: f64) -> String {
    let s = format_float(f);
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}
