//! Addresses: each final service gets a ClusterIP Service named like its
//! Deployment, with every private port named by its port id; the package's
//! hostnames and IP addresses of the service resolve to that name (Kubernetes DNS).
//! A service without ports gets a headless Service, so its name still resolves (to
//! its pod). Public ports go through a second Service, `<service>-public`, whose
//! type is a value (`ClusterIP` by default; `NodePort` or `LoadBalancer` at install),
//! mapping each public port number to the private port.

use super::chart::PublicPort;
use super::tree::{Map, Node};
use super::Ctx;
use crate::backend::lower::NodeId;

pub fn lower(cx: &mut Ctx) {
    let model = cx.model;
    for id in model.services.keys() {
        let svc = cx.plan.service(*id);
        let c = &svc.config;
        let comp = cx.name(NodeId::Service(*id)).to_owned();
        let ports: Vec<Node> = c
            .ports
            .iter()
            .map(|(pid, p)| {
                Map::new()
                    .put("name", Node::str(pid))
                    .put("port", Node::Int(i64::from(p.number)))
                    .put("targetPort", Node::Int(i64::from(p.number)))
                    .put("protocol", Node::str(p.transport_protocol.as_str()))
                    .node()
            })
            .collect();
        let mut spec = Map::new();
        if ports.is_empty() {
            spec.set("clusterIP", Node::str("None"));
        } else {
            spec.set("type", Node::str("ClusterIP"));
        }
        spec.set("selector", cx.selector(&comp));
        if !ports.is_empty() {
            spec.set("ports", Node::Seq(ports));
        }
        let doc = service_doc(cx, &comp, &comp, spec);
        let line = cx.values_line(*id);
        cx.template(
            &format!("{comp}-service.yaml"),
            std::slice::from_ref(&line),
            doc,
        );

        let mut public_ports = Vec::new();
        let mut nodes = Vec::new();
        for (pid, public) in &c.public_ports {
            let Some(private) = c.ports.get(pid) else {
                continue;
            };
            public_ports.push(PublicPort {
                id: pid.clone(),
                public: public.number,
                private: private.number,
            });
            nodes.push(
                Map::new()
                    .put("name", Node::str(pid))
                    .put("port", Node::Int(i64::from(public.number)))
                    .put("targetPort", Node::Int(i64::from(private.number)))
                    .put("protocol", Node::str(private.transport_protocol.as_str()))
                    .node(),
            );
        }
        if nodes.is_empty() {
            continue;
        }
        let suffix = cx.suffixes.claim(&format!("{comp}-public"));
        let spec = Map::new()
            .put("type", Node::expr("{{ $svc.serviceType | toJson }}"))
            .put("selector", cx.selector(&comp))
            .put("ports", Node::Seq(nodes));
        let doc = service_doc(cx, &suffix, &comp, spec);
        cx.template(&format!("{suffix}-service.yaml"), &[line], doc);
        cx.public.push((*id, suffix, public_ports));
    }
}

fn service_doc(cx: &Ctx, suffix: &str, comp: &str, spec: Map) -> Node {
    Map::new()
        .put("apiVersion", Node::str("v1"))
        .put("kind", Node::str("Service"))
        .put(
            "metadata",
            Map::new()
                .put("name", cx.name_node(suffix))
                .put("labels", cx.labels(comp, Some("$svc.labels")))
                .node(),
        )
        .put("spec", spec.node())
        .node()
}
