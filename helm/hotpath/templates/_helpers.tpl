{{/*
Helpers of the hotpath chart. The templates keep to the subset of Go templates and Helm
functions that tests/helm/render.py implements (the chart is tested with it, Helm is not
available there): add a function there before using it here.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "hotpath.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's resources: at most 52 characters, not the usual 63, because the
StatefulSet's pods carry the label controller-revision-hash=NAME-HASH (at most 63).
*/}}
{{- define "hotpath.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of the headless Service (the StatefulSet's serviceName; per-pod DNS names). */}}
{{- define "hotpath.headlessName" -}}
{{- printf "%s-headless" (include "hotpath.fullname" .) }}
{{- end }}

{{/* chart label: name-version */}}
{{- define "hotpath.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "hotpath.labels" -}}
helm.sh/chart: {{ include "hotpath.chart" . }}
{{ include "hotpath.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods (never change them: a StatefulSet's selector is immutable). */}}
{{- define "hotpath.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hotpath.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* ServiceAccount the pods run as. */}}
{{- define "hotpath.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hotpath.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: repository@digest, or repository:tag (tag defaults to appVersion). */}}
{{- define "hotpath.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Secret holding the access file. */}}
{{- define "hotpath.authSecretName" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else }}
{{- printf "%s-auth" (include "hotpath.fullname" .) }}
{{- end }}
{{- end }}

{{/*
hotpathd's configuration file: the options the chart owns (listen addresses, data directory,
mounted file paths), then the user's config.<section> maps. The schema keeps the owned options
out of config, so no key appears twice.
*/}}
{{- define "hotpath.config" -}}
server:
  grpc_address: "0.0.0.0:7070"
  metrics_address: "0.0.0.0:9464"
  {{- if not .Values.tls.enabled }}
  allow_plaintext: true
  {{- end }}
  {{- with .Values.config.server }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
persistence:
  data_dir: /var/lib/hotpath/data
  {{- with .Values.config.persistence }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- if or .Values.tls.enabled .Values.config.tls }}
tls:
  {{- if .Values.tls.enabled }}
  cert_file: /etc/hotpath/tls/tls.crt
  key_file: /etc/hotpath/tls/tls.key
  {{- if .Values.tls.clientAuth }}
  client_ca_file: /etc/hotpath/tls/ca.crt
  {{- end }}
  {{- end }}
  {{- with .Values.config.tls }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- if or .Values.auth.enabled .Values.config.auth }}
auth:
  {{- if .Values.auth.enabled }}
  access_file: /etc/hotpath/auth/access.yaml
  {{- end }}
  {{- with .Values.config.auth }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- if or .Values.rateLimit.policies .Values.rateLimit.envoyConfigs .Values.config.ratelimit }}
ratelimit:
  {{- if .Values.rateLimit.policies }}
  policy_file: /etc/hotpath/policies.yaml
  {{- end }}
  {{- if .Values.rateLimit.envoyConfigs }}
  envoy_config: /etc/hotpath/envoy
  {{- end }}
  {{- with .Values.config.ratelimit }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- with .Values.config.log }}
log:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.config.admin }}
admin:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.config.engine }}
engine:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.config.session }}
session:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.config.leaderboard }}
leaderboard:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.config.pubsub }}
pubsub:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* How the probes reach grpc.health.v1.Health (probes.type). */}}
{{- define "hotpath.probeHandler" -}}
{{- if eq .Values.probes.type "exec" -}}
{{- if not .Values.probes.execCommand }}{{ fail "probes.type exec needs probes.execCommand" }}{{ end -}}
exec:
  command:
    {{- toYaml .Values.probes.execCommand | nindent 4 }}
{{- else -}}
{{- if and .Values.tls.enabled (eq .Values.probes.type "grpc") }}
{{- fail "tls.enabled needs probes.type grpcTLS or exec: the kubelet's grpc probe speaks plaintext" }}
{{- end }}
{{- if and .Values.tls.clientAuth (eq .Values.probes.type "grpcTLS") }}
{{- fail "tls.clientAuth needs probes.type exec: the kubelet presents no client certificate" }}
{{- end -}}
grpc:
  port: 7070
  {{- with .Values.probes.service }}
  service: {{ . | quote }}
  {{- end }}
  {{- if eq .Values.probes.type "grpcTLS" }}
  mode: TLS
  {{- end }}
{{- end }}
{{- end }}

{{/*
Fails unless terminationGracePeriodSeconds leaves hotpathd time to drain and flush:
grace > preStopSleepSeconds + server.drain_timeout + 5. drain_timeout is whole seconds ("20s",
the schema's pattern) so it can be compared here; absent, hotpathd's default 10s applies.
*/}}
{{- define "hotpath.checkGrace" -}}
{{- $drain := default "10s" .Values.config.server.drain_timeout | trimSuffix "s" | atoi }}
{{- $needed := add $drain .Values.preStopSleepSeconds 5 }}
{{- if not (lt $needed (int .Values.terminationGracePeriodSeconds)) }}
{{- fail (printf "terminationGracePeriodSeconds must be more than preStopSleepSeconds + config.server.drain_timeout + 5 = %d" $needed) }}
{{- end }}
{{- end }}
