//! `kplan status`: the services of an enclave with their state, image, address and
//! ports.

use super::enclave::{self, EnclaveArgs};
use super::OutputFormat;
use crate::console::{errln, outln, style, Palette, Stream};
use crate::executor::{observe, render, LABEL_PORTS};
use clap::Args;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub enclave: EnclaveArgs,
    /// How to print the result: text for people, json for scripts.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(serde::Serialize)]
struct Row {
    service: String,
    state: String,
    image: String,
    ip: String,
    /// As kplan labelled the container: `name=number/transport[->host:N]`, comma-separated.
    #[serde(skip)]
    ports_text: String,
    ports: Vec<PortRow>,
    container: String,
}

/// One declared port, for `--output json`.
#[derive(serde::Serialize, Debug, PartialEq)]
struct PortRow {
    name: String,
    number: u16,
    transport: String,
    /// The host port of a public port.
    host_port: Option<u16>,
}

/// Parses the ports label (`http=8080/tcp->host:80,metrics=9090/tcp`); entries that do
/// not parse (a label edited by hand) are left out.
fn parse_ports(label: &str) -> Vec<PortRow> {
    label
        .split(',')
        .filter_map(|entry| {
            let (name, rest) = entry.split_once('=')?;
            let (port, host) = match rest.split_once("->host:") {
                Some((p, h)) => (p, Some(h.parse().ok()?)),
                None => (rest, None),
            };
            let (number, transport) = port.split_once('/')?;
            Some(PortRow {
                name: name.to_owned(),
                number: number.parse().ok()?,
                transport: transport.to_owned(),
                host_port: host,
            })
        })
        .collect()
}

/// A container state's colour: running green, stopped red, anything between yellow.
fn state_style(state: &str) -> anstyle::Style {
    match state {
        "running" => style::ADD,
        "exited" | "dead" => style::REMOVE,
        _ => style::CHANGE,
    }
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
    enclave::note_lock(&engine, &name);
    let observed = match observe::observe(&engine, &name) {
        Ok(o) => o,
        Err(e) => {
            errln!("error: {e:#}");
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
        .map(|c| {
            let text = ports(&c.id);
            Row {
                service: c.service.clone(),
                state: c.state.clone(),
                image: c.image.clone(),
                ip: c.ip.clone().unwrap_or_default(),
                ports: parse_ports(&text),
                ports_text: text,
                container: c.name.clone(),
            }
        })
        .collect();
    match args.output {
        OutputFormat::Json => {
            let doc =
                serde_json::json!({"enclave": name, "network": observed.network, "services": rows});
            super::json::print(&doc);
        }
        OutputFormat::Text => {
            outln!(
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
            let p = Palette::of(Stream::Out);
            let header = format!(
                "{:w$}  {:8}  {:wi$}  {:15}  PORTS",
                "SERVICE", "STATE", "IMAGE", "IP"
            );
            outln!("{}", p.paint(style::EMPHASIS, header));
            for r in &rows {
                outln!(
                    "{:w$}  {}  {:wi$}  {:15}  {}",
                    r.service,
                    p.paint(state_style(&r.state), format!("{:8}", r.state)),
                    r.image,
                    r.ip,
                    r.ports_text
                );
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::{parse_ports, PortRow};

    #[test]
    fn ports_label_becomes_structured() {
        assert_eq!(
            parse_ports("http=8080/tcp->host:80,dns=53/udp"),
            vec![
                PortRow {
                    name: "http".into(),
                    number: 8080,
                    transport: "tcp".into(),
                    host_port: Some(80),
                },
                PortRow {
                    name: "dns".into(),
                    number: 53,
                    transport: "udp".into(),
                    host_port: None,
                },
            ]
        );
        assert!(parse_ports("").is_empty());
        assert!(parse_ports("junk,x=notanumber/tcp").is_empty());
    }
}
