//! `--target helm`: renders the deployment model ([`super::lower`]) as a Helm chart
//! directory (`Chart.yaml`, `values.yaml`, `values.schema.json`, `templates/`) that
//! `helm lint --strict` accepts and that renders to valid Kubernetes objects.
//!
//! The shared lowering decides what runs (services, typed probes, artifacts, edges);
//! this module decides how a chart holds it: object names scoped to the release
//! (`_helpers.tpl`, [`chart`]), what users override (`values.yaml` and its schema,
//! [`values`]), workloads ([`workload`]), Services ([`network`]), ConfigMaps and
//! PersistentVolumeClaims ([`files`]), readiness probes and start order
//! ([`readiness`]), one-shot jobs as Kubernetes Jobs ([`jobs`]) and the run-time
//! storage they publish into ([`store`]: the shared value store and run-time
//! artifacts as claims, done markers that pods wait for), all written as typed
//! trees ([`tree`]) whose user strings are escaped for YAML and for Helm's template
//! engine. The lowering table, and what cannot be lowered and why, is in
//! `targets/helm/README.md`.
//!
//! Diagnostics (KP3xx), all collected before anything is written:
//!
//! | code  | severity | meaning |
//! |-------|----------|---------|
//! | KP201 | error    | a run-time value the shared lowering cannot carry (a template's logic, a readiness check, an exec `wait`'s result) |
//! | KP202 | error    | a service the package removes later is used (shared lowering) |
//! | KP206 | error    | a `verify` known at compile time that fails (shared lowering) |
//! | KP301 | error    | an image a cluster cannot pull as written (built from the package, Nix) |
//! | KP302 | error    | files that cannot be placed (a ConfigMap over 1 MiB, an unsafe path, a run-time artifact merged with others in one directory, `files_to_be_moved`) |
//! | KP303 | error    | a template that cannot be rendered at compile time |
//! | KP305 | error    | a one-shot task the chart does not run (privileges or host mounts; a copy out of a service the package leaves stopped) |
//! | KP214 | error    | a service reading a run-time value whose image entrypoint is unknown (shared lowering) |
//! | KP306 | error    | `--chart-version`/`--app-version` that Helm refuses |
//! | KP211 | warning  | a readiness check approximated (shared lowering) |
//! | KP310 | warning  | a field Kubernetes has no place for (ulimits, GPU device ids, registry credentials) |
//! | KP311 | warning  | a start order the chart cannot keep (waiting for a service with no TCP port) |

mod chart;
mod files;
mod jobs;
mod network;
mod readiness;
mod store;
mod tree;
mod values;
mod workload;

use super::lower::names::{self, Namer};
use super::lower::store::{Word, VALUES_DIR};
use super::lower::text::{Seg, Text};
use super::lower::{self, Model, NodeId, Vocabulary};
use super::{Compiled, Options, Output};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ArtifactId, Plan, PlanInfo, ServiceId};
use std::collections::BTreeMap;
use tree::{Node, Piece};

/// How Helm names itself in diagnostics.
pub const WORDS: Vocabulary = Vocabulary {
    target: "Helm",
    project: "a Helm chart",
    the_project: "the Helm chart",
    file: "a chart template",
};

/// The chart version when `--chart-version` is not given.
pub const DEFAULT_CHART_VERSION: &str = "0.1.0";

/// Lowers the plan to a chart; `Err` holds every error (and the warnings).
pub fn compile(plan: &Plan, info: &PlanInfo, opts: &Options) -> Result<Compiled, Vec<Diagnostic>> {
    let rules = lower::Rules {
        words: WORDS,
        values: lower::Carry::Files,
        images: &opts.images,
    };
    let model = lower::lower(plan, info, &rules);
    let mut cx = Ctx::new(plan, info, &model, opts);
    cx.diags = model.diagnostics.clone();
    chart::write(&mut cx, opts);
    store::plan(&mut cx);
    store::claims(&mut cx);
    files::place(&mut cx);
    files::claims(&mut cx);
    readiness::collect(&mut cx);
    workload::lower(&mut cx);
    network::lower(&mut cx);
    jobs::lower(&mut cx);
    values::write(&mut cx);
    chart::notes(&mut cx);
    if opts.to_stdout {
        cx.diags.push(
            Diagnostic::error(
                Code::KP207,
                "a Helm chart is a directory of files, which cannot go to stdout",
                None,
            )
            .with_hint("pass -o DIR to write the chart into DIR"),
        );
    }
    Compiled::finish(cx.out, cx.diags)
}

/// The rendering context shared by the per-object renderers.
pub(crate) struct Ctx<'a> {
    pub plan: &'a Plan,
    pub info: &'a PlanInfo,
    pub model: &'a Model,
    pub diags: Vec<Diagnostic>,
    pub out: Output,
    /// The chart's name: `Chart.yaml`'s `name` and the prefix of its named templates.
    pub chart: String,
    /// The component name of each node (DNS-1123 label): the suffix of its objects'
    /// names after the release's full name, and its `app.kubernetes.io/component`.
    pub names: BTreeMap<NodeId, String>,
    /// Object name suffixes taken by ConfigMaps and PVCs, beside the components.
    pub suffixes: Namer,
    /// Where each compile-time artifact's files live.
    pub configmaps: BTreeMap<ArtifactId, files::ConfigMap>,
    /// The readiness probe of each service that has checks.
    pub probes: BTreeMap<ServiceId, Node>,
    /// The defaults of `values.yaml`, per service.
    pub values: BTreeMap<ServiceId, values::ServiceValues>,
    /// The image of kplan's own wait containers.
    pub tools_image: String,
    /// Whether an init container runs in the tools image (then it is a value).
    pub uses_tools: bool,
    /// The Docker form of each service's checks (for hooks that wait for them).
    pub health: BTreeMap<ServiceId, lower::probe::DockerHealthcheck>,
    /// The `lifecycle` of each service with `exec`s.
    pub post_start: BTreeMap<ServiceId, Node>,
    /// The wait init containers of each service that depends on others.
    pub init_containers: BTreeMap<ServiceId, Vec<Node>>,
    /// Persistent key -> its claim's object suffix.
    pub claims: BTreeMap<String, String>,
    /// Services with public ports: their public Service's suffix and ports.
    pub public: Vec<(ServiceId, String, Vec<chart::PublicPort>)>,
    /// The run-time storage: the value store's claim, each run-time artifact's
    /// claim, the jobs lowered as Jobs ([`store`]).
    pub runtime: store::Runtime,
    /// Makes [`Ctx::marker`]s unforgeable: a digest of the plan, which no string of
    /// the package can contain.
    nonce: String,
}

impl<'a> Ctx<'a> {
    fn new(plan: &'a Plan, info: &'a PlanInfo, model: &'a Model, opts: &Options) -> Self {
        let names = names::assign(plan, model, &dns_label);
        let mut suffixes = Namer::default();
        for n in names.values() {
            suffixes.claim(n);
        }
        Ctx {
            plan,
            info,
            model,
            diags: Vec::new(),
            out: Output::default(),
            chart: chart_name(&plan.package.name),
            names,
            suffixes,
            configmaps: BTreeMap::new(),
            probes: BTreeMap::new(),
            values: BTreeMap::new(),
            tools_image: opts.tools_image().to_owned(),
            uses_tools: false,
            claims: BTreeMap::new(),
            init_containers: BTreeMap::new(),
            health: BTreeMap::new(),
            post_start: BTreeMap::new(),
            public: Vec::new(),
            runtime: store::Runtime::default(),
            nonce: plan_nonce(plan),
        }
    }

    /// The component name of a node.
    pub fn name(&self, n: NodeId) -> &str {
        self.names.get(&n).map(String::as_str).unwrap_or_default()
    }

    /// The action that renders the release-scoped name of the object(s) with this
    /// suffix (`<fullname>-<suffix>`, at most 63 characters).
    pub fn object_name(&self, suffix: &str) -> String {
        format!(
            "{{{{ include \"{}.objectName\" (list $ {}) }}}}",
            self.chart,
            go_string(suffix)
        )
    }

    /// `metadata.name` of an object.
    pub fn name_node(&self, suffix: &str) -> Node {
        Node::expr(self.object_name(suffix))
    }

    /// The action that renders an object's labels (standard labels for `component`,
    /// plus `extra`, a template expression for a map, when given) as a JSON map.
    pub fn labels(&self, component: &str, extra: Option<&str>) -> Node {
        let extra = extra.map(|e| format!(" \"extra\" {e}")).unwrap_or_default();
        Node::expr(format!(
            "{{{{ include \"{}.labels\" (dict \"root\" $ \"component\" {}{extra}) }}}}",
            self.chart,
            go_string(component)
        ))
    }

    /// The action that renders the selector labels of a component as a JSON map.
    pub fn selector(&self, component: &str) -> Node {
        Node::expr(format!(
            "{{{{ include \"{}.selectorLabels\" (dict \"root\" $ \"component\" {}) }}}}",
            self.chart,
            go_string(component)
        ))
    }

    /// The pieces of a text of the model: service references become the
    /// release-scoped name of the service's Service (DNS resolves it).
    pub fn pieces(&self, t: &Text) -> Vec<Piece> {
        t.segs()
            .iter()
            .filter_map(|s| match s {
                Seg::Lit(l) => Some(Piece::Lit(l.clone())),
                Seg::Service(id, _) => Some(Piece::Action(self.service_host(*id))),
                // Run-time values are read by the wrapper scripts ([`Ctx::word`]);
                // a text that reaches here holds none.
                Seg::Value(_) => None,
            })
            .collect()
    }

    /// The action rendering the DNS name of a service (its ClusterIP Service, which
    /// is also what an IP address reference resolves to).
    pub fn service_host(&self, id: ServiceId) -> String {
        let name = self.name(NodeId::Service(id)).to_owned();
        self.object_name(&name)
    }

    /// A marker standing for the name of service `id` in text made elsewhere (a
    /// rendered template, a shell script of the shared lowering), turned into an
    /// action by [`Ctx::unmark`]. It holds the plan's digest, so text of the package
    /// that happens to hold the same private-use characters is never taken for one.
    pub fn marker(&self, id: ServiceId) -> String {
        format!(
            "{MARK_OPEN}{}:{}{MARK_CLOSE}",
            self.nonce,
            self.name(NodeId::Service(id))
        )
    }

    /// Text with [`Ctx::marker`]s as pieces: the markers become name actions, and
    /// everything else (including look-alikes without the plan's digest) stays text.
    pub fn unmark(&self, s: &str) -> Vec<Piece> {
        let open = format!("{MARK_OPEN}{}:", self.nonce);
        let mut out: Vec<Piece> = Vec::new();
        let mut lit = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(&open) {
            let after = &rest[i + open.len()..];
            let Some(j) = after.find(MARK_CLOSE) else {
                break;
            };
            lit.push_str(&rest[..i]);
            if !lit.is_empty() {
                out.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            out.push(Piece::Action(self.object_name(&after[..j])));
            rest = &after[j + MARK_CLOSE.len_utf8()..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            out.push(Piece::Lit(lit));
        }
        out
    }

    /// A text as a shell word of the shared scripts: service references as
    /// [`Ctx::marker`]s, run-time values read from their files in the store.
    pub fn word(&self, t: &Text) -> Word {
        lower::store::word(t, &|id, _| self.marker(id), &|v| {
            format!("{VALUES_DIR}/{}", self.model.values.flow(v).path)
        })
    }

    /// The claim suffixes of service `id`'s persistent directories.
    pub fn claims_of(&self, id: ServiceId) -> Vec<String> {
        self.plan
            .service(id)
            .config
            .files
            .values()
            .filter_map(|m| match m {
                crate::ir::Mount::Persistent { key, .. } => self.claims.get(key).cloned(),
                crate::ir::Mount::Artifacts(_) => None,
            })
            .collect()
    }

    /// The values of service `id` as a template variable name is bound to at the
    /// top of its files.
    pub fn values_line(&self, id: ServiceId) -> String {
        format!(
            "{{{{- $svc := index .Values.services {} }}}}",
            go_string(&self.plan.service(id).name)
        )
    }

    /// A template file: kplan's header, template lines, then the YAML document.
    pub fn template(&mut self, file: &str, lines: &[String], doc: Node) {
        let mut s = format!(
            "{{{{- /* Generated by kplan from package {}. Do not edit. */}}}}\n",
            comment_safe(&self.plan.package.name)
        );
        for l in lines {
            s.push_str(l);
            s.push('\n');
        }
        s.push_str(&tree::emit(&doc));
        self.out.add(format!("templates/{file}"), s);
    }
}

/// Private-use characters around a service's component name in [`Ctx::marker`].
const MARK_OPEN: char = '\u{F8F0}';
const MARK_CLOSE: char = '\u{F8F1}';

/// A digest of the plan (16 hex digits of its JSON's SHA-256): compile stays pure.
fn plan_nonce(plan: &Plan) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(plan).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..8])
}

/// A Go template string literal (for names passed to helpers).
pub fn go_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Text that may sit inside a `{{/* */}}` comment or after `#` on one line.
fn comment_safe(s: &str) -> String {
    s.replace("*/", "* /").replace(['\n', '\r'], " ")
}

/// A DNS-1123 label piece: lower-case alphanumerics and `-`, starting with a letter.
fn dns_label(base: &str) -> String {
    let s = names::sanitize(&base.to_ascii_lowercase(), "-", "x");
    let s = s.trim_end_matches('-');
    let s = if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("x{s}")
    } else {
        s.to_owned()
    };
    s.chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// The chart's name: the package's last path segment as a DNS-1123 label.
fn chart_name(package: &str) -> String {
    dns_label(names::package_base(package))
}
