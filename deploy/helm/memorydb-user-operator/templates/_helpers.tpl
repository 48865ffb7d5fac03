{{/* Chart name, truncated to 63 characters. */}}
{{- define "memorydb-user-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, unless it already contains the chart name. */}}
{{- define "memorydb-user-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The full name and a suffix, "<fullname>-<suffix>", within 63 characters: the full name is
shortened rather than the suffix cut off, so that names stay distinct (two Roles in one
namespace) and Services stay valid DNS labels. Call with (list . "metrics").
*/}}
{{- define "memorydb-user-operator.suffixedName" -}}
{{- $suffix := index . 1 }}
{{- $base := include "memorydb-user-operator.fullname" (index . 0) | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{- define "memorydb-user-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "memorydb-user-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "memorydb-user-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "memorydb-user-operator.labels" -}}
helm.sh/chart: {{ include "memorydb-user-operator.chart" . }}
{{ include "memorydb-user-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: memorydb-user-operator
{{- end }}

{{- define "memorydb-user-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "memorydb-user-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "memorydb-user-operator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The watched namespaces as a list: watchNamespaces, or in namespace scope the release's. */}}
{{- define "memorydb-user-operator.watchNamespaces" -}}
{{- if .Values.watchNamespaces }}
{{- toJson (uniq .Values.watchNamespaces) }}
{{- else if eq .Values.installScope "namespace" }}
{{- toJson (list .Release.Namespace) }}
{{- else }}
{{- toJson (list) }}
{{- end }}
{{- end }}

{{- define "memorydb-user-operator.leaderElectionNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{/* The Secret holding the password verifiers' key, in the release namespace. */}}
{{- define "memorydb-user-operator.verifierSecret" -}}
{{- printf "%s-verifier" (include "memorydb-user-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "memorydb-user-operator.leaderElectionId" -}}
{{- default (include "memorydb-user-operator.fullname" .) .Values.leaderElection.id }}
{{- end }}

{{/* The rules the operator needs wherever it reconciles MemoryDBUsers. No wildcards. */}}
{{- define "memorydb-user-operator.reconcileRules" -}}
- apiGroups: [memorydb.operators.dev]
  resources: [memorydbusers]
  verbs: [list, watch, patch]
- apiGroups: [memorydb.operators.dev]
  resources: [memorydbusers/status]
  verbs: [patch]
# Password Secrets in each MemoryDBUser's own namespace (listed and watched as metadata only).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
# Generated passwords (generatePassword): their Secrets, created and patched by the operator.
- apiGroups: [""]
  resources: [secrets]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end }}

{{/*
Fails the render on what the schema cannot express (aws.region may be empty in values.yaml, a
comparison of two values). The clusterId and endpoint checks repeat the schema's for
--skip-schema-validation.
*/}}
{{- define "memorydb-user-operator.validate" -}}
{{- if not .Values.aws.region }}
{{- fail "aws.region is required (e.g. --set aws.region=us-east-1)" }}
{{- end }}
{{- if and (eq .Values.installScope "namespace") (not .Values.clusterId) }}
{{- fail "installScope=namespace needs clusterId: without cluster-wide rights the operator cannot read the kube-system namespace's UID (set a name unique among the clusters sharing the AWS account)" }}
{{- end }}
{{- if and .Values.aws.regionEndpoints .Values.aws.endpoint }}
{{- fail "set aws.endpoint or aws.regionEndpoints, not both" }}
{{- end }}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicas > 1 needs leaderElection.enabled=true (two active operators would fight)" }}
{{- end }}
{{- if eq (int .Values.metrics.port) (int .Values.health.port) }}
{{- fail (printf "metrics.port and health.port are both %d: the metrics and probe servers need a port each" (int .Values.health.port)) }}
{{- end }}
{{- end }}

{{/* A map as k=v pairs, comma-separated, sorted by key (DEFAULT_TAGS, MEMORYDB_ENDPOINT). */}}
{{- define "memorydb-user-operator.pairs" -}}
{{- $pairs := list }}
{{- range $k := keys . | sortAlpha }}
{{- $pairs = append $pairs (printf "%s=%s" $k (get $ $k)) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/* The metrics Service: job="<this name>" in Prometheus when scraped through the ServiceMonitor. */}}
{{- define "memorydb-user-operator.metricsService" -}}
{{- include "memorydb-user-operator.suffixedName" (list . "metrics") }}
{{- end }}

{{/* The accounts ConfigMap, in the release namespace. */}}
{{- define "memorydb-user-operator.accountsConfigMap" -}}
{{- default (include "memorydb-user-operator.suffixedName" (list . "accounts")) .Values.accounts.configMap.name }}
{{- end }}
