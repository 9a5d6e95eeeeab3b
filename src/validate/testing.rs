//! Small IR builders for the validator's unit tests: a plan is assembled from
//! services, artifacts and tasks with only the fields a check reads set.

use crate::ir::{
    Artifact, ArtifactSource, Image, PackageInfo, Plan, Port, Service, ServiceConfig, Span, Step,
    StepKind, Transport,
};
use std::collections::BTreeMap;

/// A position on line `line` of `main.star`.
pub fn at(line: u32) -> Span {
    Span::new("main.star", line, 5)
}

/// An empty plan.
pub fn plan() -> Plan {
    Plan {
        package: PackageInfo {
            name: "test".into(),
            main_file: "main.star".into(),
            main_function: "run".into(),
        },
        services: Vec::new(),
        artifacts: Vec::new(),
        tasks: Vec::new(),
        steps: Vec::new(),
        output: None,
    }
}

/// A service `name` running image `img`, added on line `line`, with nothing else set.
pub fn service(name: &str, line: u32) -> Service {
    Service {
        name: name.into(),
        config: ServiceConfig {
            image: Image::Name("img".into()),
            ports: BTreeMap::new(),
            public_ports: BTreeMap::new(),
            files: BTreeMap::new(),
            entrypoint: Vec::new(),
            cmd: Vec::new(),
            env_vars: BTreeMap::new(),
            private_ip_address_placeholder: String::new(),
            max_cpu: 0,
            min_cpu: 0,
            max_memory: 0,
            min_memory: 0,
            ready_conditions: None,
            labels: BTreeMap::new(),
            user: None,
            tolerations: Vec::new(),
            node_selectors: BTreeMap::new(),
            files_to_be_moved: BTreeMap::new(),
            tini_enabled: false,
            tty_enabled: false,
            devices: Vec::new(),
            publish_udp: false,
            capabilities: Vec::new(),
            gpu: None,
            privileged: false,
            host_pid_namespace: false,
            bind_mounts: BTreeMap::new(),
        },
        force_update: false,
        description: None,
        overridden_at: None,
        at: at(line),
    }
}

/// A TCP port `number` declared on line `line`.
pub fn port(number: u16, line: u32) -> Port {
    Port {
        number,
        transport_protocol: Transport::Tcp,
        application_protocol: None,
        wait: None,
        url: None,
        at: at(line),
        id_at: at(line),
    }
}

/// An `upload_files` artifact `name` on line `line`.
pub fn upload(name: &str, line: u32) -> Artifact {
    Artifact {
        name: name.into(),
        named: true,
        source: ArtifactSource::Upload {
            src: "./f".into(),
            files: Vec::new(),
        },
        description: None,
        at: at(line),
    }
}

/// A step of `kind` on line `line`.
pub fn step(kind: StepKind, line: u32) -> Step {
    Step { kind, at: at(line) }
}
