//! `kplan status`: the services of an enclave with their state, image, address and
//! ports.

use super::enclave::{self, EnclaveArgs};
use super::OutputFormat;
use crate::executor::{observe, render, LABEL_PORTS};
use clap::Args;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub enclave: EnclaveArgs,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(serde::Serialize)]
struct Row {
    service: String,
    state: String,
    image: String,
    ip: String,
    ports: String,
    container: String,
}

pub fn run(args: &StatusArgs) -> i32 {
    let engine = match enclave::connect() {
        Ok(e) => e,
        Err(c) => return c,
    };
    let name = match args.enclave.existing(&engine) {
        Ok(n) => n,
        Err(c) => return c,
    };
    let observed = match observe::observe(&engine, &name) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e:#}");
            return 1;
        }
    };
    let ports = |id: &str| -> String {
        engine
            .container_inspect(id)
            .ok()
            .flatten()
            .and_then(|c| c.labels.get(LABEL_PORTS).cloned())
            .unwrap_or_default()
    };
    let rows: Vec<Row> = observed
        .containers
        .iter()
        .filter(|c| c.kind == "service")
        .map(|c| Row {
            service: c.service.clone(),
            state: c.state.clone(),
            image: c.image.clone(),
            ip: c.ip.clone().unwrap_or_default(),
            ports: ports(&c.id),
            container: c.name.clone(),
        })
        .collect();
    match args.output {
        OutputFormat::Json => {
            let doc =
                serde_json::json!({"enclave": name, "network": observed.network, "services": rows});
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        OutputFormat::Text => {
            println!(
                "Enclave \"{name}\" ({})",
                render::count(rows.len(), "service")
            );
            let w = rows
                .iter()
                .map(|r| r.service.len())
                .max()
                .unwrap_or(7)
                .max(7);
            let wi = rows.iter().map(|r| r.image.len()).max().unwrap_or(5).max(5);
            println!(
                "{:w$}  {:8}  {:wi$}  {:15}  PORTS",
                "SERVICE", "STATE", "IMAGE", "IP"
            );
            for r in &rows {
                println!(
                    "{:w$}  {:8}  {:wi$}  {:15}  {}",
                    r.service, r.state, r.image, r.ip, r.ports
                );
            }
        }
    }
    0
}
