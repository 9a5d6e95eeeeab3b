#!/usr/bin/env python3
"""Records an enclave's engine state as kplan's `Observed` JSON (for diff unit tests).

    scripts/record-docker-state.py ENCLAVE > fixtures/docker-states/NAME.json
"""
import json, subprocess, sys

def settings(h):
    """What `docker update` can change, normalized as kplan's observe does."""
    pids = h.get("PidsLimit") or 0
    return {
        "nano_cpus": h.get("NanoCpus") or 0, "memory": h.get("Memory") or 0,
        "memory_swap": h.get("MemorySwap") or 0, "memory_reservation": h.get("MemoryReservation") or 0,
        "cpu_shares": h.get("CpuShares") or 0, "cpu_period": h.get("CpuPeriod") or 0,
        "cpu_quota": h.get("CpuQuota") or 0, "cpuset_cpus": h.get("CpusetCpus") or "",
        "cpuset_mems": h.get("CpusetMems") or "", "pids_limit": pids if pids > 0 else 0,
        "blkio_weight": h.get("BlkioWeight") or 0,
        "restart_policy": (h.get("RestartPolicy") or {}).get("Name") or "no",
    }

enclave = sys.argv[1]
ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=kplan.enclave={enclave}"],
                     capture_output=True, text=True, check=True).stdout.split()
containers = []
for c in json.loads(subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True).stdout) if ids else []:
    labels = c["Config"]["Labels"] or {}
    net = c["NetworkSettings"]["Networks"].get(f"kplan-{enclave}", {})
    containers.append({
        "id": c["Id"], "name": c["Name"].lstrip("/"), "kind": labels.get("kplan.kind", ""),
        "service": labels.get("kplan.service", ""), "config_hash": labels.get("kplan.config-hash"),
        "parts": json.loads(labels.get("kplan.config-parts", "{}")), "settings": settings(c["HostConfig"]),
        "state": c["State"]["Status"], "image": c["Config"]["Image"], "ip": net.get("IPAddress") or None,
    })
containers.sort(key=lambda c: (c["name"], c["id"]))
vols = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"label=kplan.enclave={enclave}"],
                      capture_output=True, text=True, check=True).stdout.split()
keys = sorted(json.loads(subprocess.run(["docker", "volume", "inspect", *vols], capture_output=True, text=True).stdout or "[]") and
              [v["Labels"].get("kplan.persistent-key", "") for v in json.loads(subprocess.run(["docker", "volume", "inspect", *vols], capture_output=True, text=True).stdout)]) if vols else []
net = subprocess.run(["docker", "network", "ls", "-q", "--filter", f"name=^kplan-{enclave}$"], capture_output=True, text=True).stdout.strip()
print(json.dumps({"enclave": enclave, "network": bool(net), "containers": containers, "volumes": keys}, indent=2))
