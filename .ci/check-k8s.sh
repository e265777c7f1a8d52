#!/usr/bin/env bash
# Validates deploy/k8s offline (no cluster, no internet): renders the Kustomize base and the
# production overlay with the subset of Kustomize in scripts/k8s/ and checks every object
# (Kubernetes schemas through kubernetes-models, references between objects, each service's
# production configuration). Where kubectl is installed, its `kubectl kustomize` must render
# the same objects, which keeps that subset honest. Needs the build (npm run build).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

if [ ! -f dist/scripts/check-k8s.js ]; then
  echo "dist/scripts/check-k8s.js is missing: run npm run build first" >&2
  exit 1
fi
node dist/scripts/check-k8s.js

if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl unavailable: the comparison with kubectl kustomize is skipped"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A copy without any real secrets.env: both renderers read the example in its place.
cp -R deploy/k8s "$work/k8s"
rm -f "$work/k8s/overlays/production/secrets.env"
cp "$work/k8s/overlays/production/secrets.env.example" "$work/k8s/overlays/production/secrets.env"
for dir in base overlays/production; do
  kubectl kustomize "$work/k8s/$dir" >"$work/rendered.yaml"
  node dist/scripts/check-k8s.js --same-as "$work/rendered.yaml" "$work/k8s/$dir"
done
echo "kubernetes manifests OK"
