#!/usr/bin/env bash
# Regenerates the copies in deploy/ from their sources; test/deploy fails when they differ.
#   crds/*.yaml                                         -> deploy/crds/, the Helm chart's crds/
#   argocd/memorydb.operators.dev/MemoryDBUser/health.lua -> argocd/argocd-cm.yaml
#   monitoring/{prometheusrule.yaml,dashboard.json}     -> the Helm chart's files/monitoring/
set -euo pipefail
cd "$(dirname "$0")"
for dir in crds helm/memorydb-user-operator/crds; do
  find "$dir" -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml -delete
  cp ../crds/*.yaml "$dir"/
done
mkdir -p helm/memorydb-user-operator/files/monitoring
cp monitoring/prometheusrule.yaml monitoring/dashboard.json helm/memorydb-user-operator/files/monitoring/
{
  cat <<'HEAD'
# Argo CD health check for MemoryDBUser. Merge into Argo CD's argocd-cm ConfigMap, e.g.
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file deploy/argocd/argocd-cm.yaml
# Generated from memorydb.operators.dev/MemoryDBUser/health.lua by deploy/sync.sh: edit that file.
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
data:
  resource.customizations.health.memorydb.operators.dev_MemoryDBUser: |
HEAD
  sed 's/^/    /; s/^ *$//' argocd/memorydb.operators.dev/MemoryDBUser/health.lua
} > argocd/argocd-cm.yaml
