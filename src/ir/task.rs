//! Tasks: instructions that run once (exec, request, wait, verify, print, run_sh,
//! run_python) and may produce run-time values.

use super::{Data, GoDuration, Image, Span, StrExpr, TaskField};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub kind: TaskKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub at: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum TaskKind {
    /// `plan.exec(service_name, recipe, acceptable_codes, skip_code_check)`.
    Exec {
        service_name: String,
        recipe: ExecRecipe,
        acceptable_codes: Vec<i64>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        skip_code_check: bool,
    },
    /// `plan.request(service_name, recipe, acceptable_codes, skip_code_check)`.
    Request {
        service_name: String,
        recipe: HttpRecipe,
        acceptable_codes: Vec<i64>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        skip_code_check: bool,
    },
    /// `plan.wait(service_name, recipe, field, assertion, target_value, interval, timeout)`.
    Wait {
        service_name: String,
        recipe: Recipe,
        /// The field of the recipe's result compared; one the result holds.
        field: TaskField,
        assertion: Assertion,
        target_value: Data,
        interval: GoDuration,
        timeout: GoDuration,
    },
    /// `plan.verify(value, assertion, target_value)`.
    Verify {
        value: StrExpr,
        assertion: Assertion,
        target_value: Data,
    },
    /// `plan.print(msg)`.
    Print { message: StrExpr },
    /// `plan.run_sh(...)`.
    RunSh {
        name: String,
        run: StrExpr,
        image: Image,
        /// Mount path -> artifact name.
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        files: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        store: Vec<StoreSpec>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        env_vars: BTreeMap<String, StrExpr>,
        /// `None` = no timeout.
        wait: Option<GoDuration>,
        acceptable_codes: Vec<i64>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        skip_code_check: bool,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        node_selectors: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tolerations: Vec<super::Toleration>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        privileged: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        host_pid_namespace: bool,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        bind_mounts: BTreeMap<String, String>,
    },
    /// `plan.run_python(...)`.
    RunPython {
        name: String,
        run: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        args: Vec<StrExpr>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        packages: Vec<String>,
        image: Image,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        files: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        store: Vec<StoreSpec>,
        wait: Option<GoDuration>,
        acceptable_codes: Vec<i64>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        skip_code_check: bool,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        node_selectors: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tolerations: Vec<super::Toleration>,
    },
}

impl TaskKind {
    /// The instruction name as written in Starlark (`exec`, `run_sh`, ...).
    pub fn instruction(&self) -> &'static str {
        match self {
            TaskKind::Exec { .. } => "exec",
            TaskKind::Request { .. } => "request",
            TaskKind::Wait { .. } => "wait",
            TaskKind::Verify { .. } => "verify",
            TaskKind::Print { .. } => "print",
            TaskKind::RunSh { .. } => "run_sh",
            TaskKind::RunPython { .. } => "run_python",
        }
    }

    /// The service the task runs against, for exec/request/wait.
    pub fn service_name(&self) -> Option<&str> {
        match self {
            TaskKind::Exec { service_name, .. }
            | TaskKind::Request { service_name, .. }
            | TaskKind::Wait { service_name, .. } => Some(service_name),
            TaskKind::Verify { .. }
            | TaskKind::Print { .. }
            | TaskKind::RunSh { .. }
            | TaskKind::RunPython { .. } => None,
        }
    }
}

/// A `StoreSpec(src, name)` of a `run_sh`/`run_python`; `name` is the artifact produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreSpec {
    pub src: String,
    pub name: String,
}

/// A recipe used by `wait` and `ReadyCondition`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipe {
    Exec(ExecRecipe),
    Http(HttpRecipe),
}

/// `ExecRecipe(command, extract)`: argv (no implicit shell) and jq extractors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecRecipe {
    pub command: Vec<StrExpr>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extract: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HttpMethod {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
}

/// `GetHttpRequestRecipe` / `PostHttpRequestRecipe`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpRecipe {
    pub method: HttpMethod,
    pub port_id: String,
    pub endpoint: String,
    /// POST only; the only field with run-time substitution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<StrExpr>,
    /// POST only (default `application/json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extract: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[cfg(test)]
impl HttpRecipe {
    /// `GetHttpRequestRecipe(port_id, endpoint="/")`, for unit tests.
    pub fn get(port_id: &str) -> HttpRecipe {
        HttpRecipe {
            method: HttpMethod::Get,
            port_id: port_id.into(),
            endpoint: "/".into(),
            body: None,
            content_type: None,
            extract: BTreeMap::new(),
            headers: BTreeMap::new(),
        }
    }
}

/// The comparison of `verify`, `wait` and `ReadyCondition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Assertion {
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "IN")]
    In,
    #[serde(rename = "NOT_IN")]
    NotIn,
}

impl Assertion {
    pub const ALL: [(&'static str, Assertion); 8] = [
        ("==", Assertion::Eq),
        ("!=", Assertion::Ne),
        (">=", Assertion::Ge),
        ("<=", Assertion::Le),
        (">", Assertion::Gt),
        ("<", Assertion::Lt),
        ("IN", Assertion::In),
        ("NOT_IN", Assertion::NotIn),
    ];

    pub fn parse(s: &str) -> Option<Assertion> {
        Self::ALL.iter().find(|(t, _)| *t == s).map(|(_, a)| *a)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Assertion::Eq => "==",
            Assertion::Ne => "!=",
            Assertion::Ge => ">=",
            Assertion::Le => "<=",
            Assertion::Gt => ">",
            Assertion::Lt => "<",
            Assertion::In => "IN",
            Assertion::NotIn => "NOT_IN",
        }
    }
}
