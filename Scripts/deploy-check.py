#!/usr/bin/env python3
"""Checks what Deploy/ ships for Kubernetes and containers without a cluster or an image builder
(neither runs on these machines; say so rather than pretend):

- every manifest under Deploy/kubernetes validates against the Kubernetes 1.37 schemas, strictly
  (kubernetes-validate: unknown fields are errors), and the kustomization lists every one;
- the ConfigMap's funnel.json passes `funnel config check`, with the Secret's FUNNEL_* values set;
- the shutdown arithmetic holds: the readiness probe notices an unready replica within
  server.shutdownDelayMs, and terminationGracePeriodSeconds outlasts that delay plus the drain;
- the probes call the gRPC health service (funnel query health) and GET /readyz;
- every Debian package the Containerfile's runtime stage installs exists in this machine's apt;
- the wheel's CronJobs (pipeline run, retrain, canary) have command lines the CLI accepts.

Usage: deploy-check.py FUNNEL_BINARY
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import kubernetes_validate
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBE = os.path.join(ROOT, "Deploy", "kubernetes")
VERSION = "1.37.0"
DRAIN_SECONDS = 30  # the longest call a replica finishes after GOAWAY (a BatchRecommend stream)


def fail(message):
    raise SystemExit(f"deploy-check: {message}")


def main():
    binary = sys.argv[1]
    documents = {}
    files = sorted(f for f in glob.glob(os.path.join(KUBE, "*.yaml")) if not f.endswith("kustomization.yaml"))
    for path in files:
        for doc in yaml.safe_load_all(open(path)):
            if doc is None:
                continue
            try:
                kubernetes_validate.validate(doc, VERSION, strict=True)
            except kubernetes_validate.ValidationError as e:
                fail(f"{os.path.basename(path)}: {doc['kind']}/{doc['metadata']['name']}: {e.message} at {list(e.path)}")
            documents[(doc["kind"], doc["metadata"]["name"])] = doc
    listed = yaml.safe_load(open(os.path.join(KUBE, "kustomization.yaml")))["resources"]
    missing = sorted(set(os.path.basename(f) for f in files) - set(listed))
    if missing:
        fail(f"kustomization.yaml leaves out {missing}")
    print(f"deploy-check: {len(documents)} resources in {len(files)} files valid against Kubernetes {VERSION} (strict)")

    config = documents[("ConfigMap", "funnel-config")]["data"]["funnel.json"]
    secrets = documents[("Secret", "funnel-secrets")]["stringData"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(config)
    env = dict(os.environ, **{k: v for k, v in secrets.items() if k.startswith("FUNNEL_")})
    result = subprocess.run([binary, "config", "check", f.name], capture_output=True, text=True, env=env)
    os.unlink(f.name)
    if result.returncode != 0:
        fail(f"funnel config check on the ConfigMap's funnel.json: {result.stdout}{result.stderr}")
    print(f"deploy-check: the ConfigMap's funnel.json passes funnel config check ({result.stdout.strip().splitlines()[-1]})")

    settings = json.loads(config)
    delay_ms = settings["server"]["shutdownDelayMs"]
    pod = documents[("Deployment", "funnel")]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    readiness = container["readinessProbe"]
    notice_ms = readiness["periodSeconds"] * readiness["failureThreshold"] * 1000
    if notice_ms >= delay_ms:
        fail(f"readiness notices a draining replica after {notice_ms} ms, not within shutdownDelayMs {delay_ms}")
    grace = pod["terminationGracePeriodSeconds"]
    if grace * 1000 <= delay_ms + DRAIN_SECONDS * 1000:
        fail(f"terminationGracePeriodSeconds {grace} does not outlast shutdownDelayMs {delay_ms} + a {DRAIN_SECONDS} s drain")
    if readiness.get("httpGet", {}).get("path") != "/readyz":
        fail("the readiness probe is not GET /readyz")
    for probe in ("startupProbe", "livenessProbe"):
        command = container[probe]["exec"]["command"]
        if command[:3] != ["funnel", "query", "health"]:
            fail(f"{probe} does not call the gRPC health service: {command}")
        # The command line parses (a usage error exits 64; a refused connection does not).
        result = subprocess.run([binary] + command[1:] + ["--target", "127.0.0.1:1"], capture_output=True, text=True)
        if result.returncode == 64:
            fail(f"{probe}'s command does not parse: {result.stderr.strip()}")
    print(f"deploy-check: unready within {notice_ms} ms of SIGTERM (delay {delay_ms} ms), grace {grace} s; "
          "probes on grpc.health.v1 and /readyz")

    # The wheel's CronJobs: every command line parses (run against a Redis nobody listens on, so
    # each stops at its first connection; exit 64 would be a command line the CLI refuses).
    jobs = [d for (kind, _), d in documents.items() if kind == "CronJob"]
    for job in jobs:
        container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        args = [a.replace("$(REDIS_URL)", "redis://127.0.0.1:1") for a in container["args"]]
        result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
        if result.returncode == 64:
            fail(f"CronJob {job['metadata']['name']}: its command does not parse: {result.stderr.strip() or result.stdout.strip()}")
    print(f"deploy-check: the {len(jobs)} CronJobs' command lines parse: {', '.join(sorted(j['metadata']['name'] for j in jobs))}")

    text = open(os.path.join(ROOT, "Deploy", "Containerfile")).read()
    runtime = text.split("FROM docker.io/library/debian:bookworm-slim", 1)[1]
    packages = re.search(r"apt-get install -y --no-install-recommends\s*\\\n(.*?)\n \&\&", runtime, re.S).group(1)
    names = [p for p in re.split(r"[\s\\]+", packages) if p]
    absent = [p for p in names if subprocess.run(["apt-cache", "show", p], capture_output=True).returncode != 0]
    if absent:
        fail(f"the Containerfile installs packages Debian does not have: {absent}")
    print(f"deploy-check: the Containerfile's {len(names)} runtime packages exist in Debian: {' '.join(names)}")
    print("deploy-check: not run here (no Kubernetes cluster, no image builder): kubectl apply, podman/docker build")


if __name__ == "__main__":
    main()
