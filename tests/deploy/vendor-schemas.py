#!/usr/bin/env python3
"""vendor-schemas.py: writes tests/deploy/schemas/, the JSON schemas kubeconform
validates the rendered manifests against, from registry packages only:

- Kubernetes 1.31 (strict: unknown fields are errors) from the PyPI package
  kubernetes-validate (its kubernetes-json-schema/v1.31.0-local-strict), only the
  kinds deploy/k8s uses plus the shared _definitions.json;
- KEDA's ScaledObject from the Go module github.com/kedacore/keda/v2
  (config/crd/bases), the Prometheus Operator's ServiceMonitor and PrometheusRule
  from github.com/prometheus-operator/prometheus-operator (example/
  prometheus-operator-crd), both fetched with `go mod download -json`;
- Strimzi's KafkaTopic is written here by hand from Strimzi's v1beta2 API
  reference: no registry package ships Strimzi's CRD files (the Maven artifact
  io.strimzi:api holds only Java classes).

File names follow kubeconform's {{.ResourceKind}}{{.KindSuffix}}.json.
  python3 tests/deploy/vendor-schemas.py   (needs go, pip and network to the registries)
"""
import json, os, subprocess, sys, tempfile, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "schemas")
K8S_VERSION = "v1.31.0-local-strict"
K8S_PKG = "kubernetes-validate==1.37.0"
K8S_KINDS = ["configmap-v1", "secret-v1", "service-v1", "serviceaccount-v1", "namespace-v1",
             "deployment-apps-v1", "poddisruptionbudget-policy-v1",
             "networkpolicy-networking-v1", "horizontalpodautoscaler-autoscaling-v2",
             "job-batch-v1"]
CRDS = [
    ("github.com/kedacore/keda/v2@v2.16.1", "config/crd/bases/keda.sh_scaledobjects.yaml"),
    ("github.com/prometheus-operator/prometheus-operator@v0.85.0",
     "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"),
    ("github.com/prometheus-operator/prometheus-operator@v0.85.0",
     "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"),
]

KAFKATOPIC = {
    "description": "Strimzi KafkaTopic kafka.strimzi.io/v1beta2 (hand-written from the API reference)",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"type": "string", "enum": ["kafka.strimzi.io/v1beta2"]},
        "kind": {"type": "string", "enum": ["KafkaTopic"]},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "topicName": {"type": "string"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object",
                           "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}},
            },
        },
        "status": {"type": "object"},
    },
}


def k8s():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, K8S_PKG],
                       check=True)
        whl = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(tmp, whl)) as z:
            base = "kubernetes_validate/kubernetes-json-schema/%s/" % K8S_VERSION
            for name in K8S_KINDS + ["_definitions"]:
                text = z.read(base + name + ".json").decode()
                # Their refs are absolute (/api/_definitions.json); make them relative files.
                # and drop $id, so refs resolve against the file's own location.
                text = text.replace('"/api/_definitions.json#', '"_definitions.json#')
                doc = json.loads(text)
                doc.pop("$id", None)
                indent = None if name == "_definitions" else 1
                text = json.dumps(doc, indent=indent, separators=(",", ":") if indent is None else None)
                with open(os.path.join(OUT, name + ".json"), "w") as f:
                    f.write(text)


def crd_schemas(module, path):
    import yaml
    info = json.loads(subprocess.run(["go", "mod", "download", "-json", module], check=True,
                                     capture_output=True, text=True).stdout)
    with open(os.path.join(info["Dir"], path)) as f:
        crd = yaml.safe_load(f)
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    for v in spec["versions"]:
        schema = v["schema"]["openAPIV3Schema"]
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "enum": ["%s/%s" % (group, v["name"])]}
        props["kind"] = {"type": "string", "enum": [kind]}
        name = "%s-%s-%s.json" % (kind.lower(), group.split(".")[0], v["name"])
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(schema, f, separators=(",", ":"))


def main():
    os.makedirs(OUT, exist_ok=True)
    k8s()
    for module, path in CRDS:
        crd_schemas(module, path)
    with open(os.path.join(OUT, "kafkatopic-kafka-v1beta2.json"), "w") as f:
        json.dump(KAFKATOPIC, f, indent=1)


if __name__ == "__main__":
    main()
