{{/* Names, labels and the derived settings every template shares. */}}

{{- define "sports-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* release-chart, or the release name when it already holds the chart's. */}}
{{- define "sports-service.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The name of an in-chart component: fullname-COMPONENT. */}}
{{- define "sports-service.componentName" -}}
{{- printf "%s-%s" (include "sports-service.fullname" .root | trunc 52 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "sports-service.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sports-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "sports-service.name" . }}
{{- end -}}

{{- define "sports-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sports-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: api
{{- end -}}

{{/* Labels and selector labels of an in-chart component (dict root, component). */}}
{{- define "sports-service.componentLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sports-service.componentSelectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: {{ include "sports-service.name" .root }}
{{- end -}}

{{- define "sports-service.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sports-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sports-service.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, or repository@digest. */}}
{{- define "sports-service.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The port the service listens on (LISTEN_ADDR): the image's. */}}
{{- define "sports-service.containerPort" -}}8000{{- end -}}

{{/* EUREKA_URL: the in-chart server's, or the external one, or empty. */}}
{{- define "sports-service.eurekaURL" -}}
{{- if .Values.eureka.enabled -}}
{{- printf "http://%s:8761/eureka" (include "sports-service.componentName" (dict "root" . "component" "eureka")) -}}
{{- else -}}
{{- .Values.externalEureka.url -}}
{{- end -}}
{{- end -}}

{{/* OTEL_EXPORTER_OTLP_ENDPOINT: the in-chart Jaeger's, the external one, or empty. */}}
{{- define "sports-service.otlpEndpoint" -}}
{{- if .Values.jaeger.enabled -}}
{{- printf "http://%s:4318" (include "sports-service.componentName" (dict "root" . "component" "jaeger")) -}}
{{- else -}}
{{- .Values.externalTracing.otlpEndpoint -}}
{{- end -}}
{{- end -}}

{{- define "sports-service.otlpProtocol" -}}
{{- if .Values.jaeger.enabled -}}http/protobuf{{- else -}}{{ .Values.externalTracing.otlpProtocol }}{{- end -}}
{{- end -}}

{{/*
SHUTDOWN_DELAY in seconds. Unless set: long enough for the slowest caller to
stop sending to a terminating pod.
  - kube-proxy: the endpoint leaves the EndpointSlice when the pod is deleted,
    and every node's proxy rewrites its rules at most --iptables-min-sync-period
    (1 s) later; 10 s covers that with room for a loaded control plane (measured
    in docs/kubernetes.md).
  - Eureka callers (only with a registry): Eureka's read-only response cache
    30 s + a client's registry fetch 30 s + Spring Cloud LoadBalancer's cache
    35 s = 95 s (docs/deployment.md, "Stopping an instance").
*/}}
{{- define "sports-service.shutdownDelaySeconds" -}}
{{- if kindIs "invalid" .Values.shutdown.delaySeconds -}}
{{- if include "sports-service.eurekaURL" . -}}95{{- else -}}10{{- end -}}
{{- else -}}
{{- .Values.shutdown.delaySeconds | int -}}
{{- end -}}
{{- end -}}

{{/* The pod's grace period: delay + drain timeout + margin. */}}
{{- define "sports-service.terminationGracePeriodSeconds" -}}
{{- add (include "sports-service.shutdownDelaySeconds" . | int) (.Values.shutdown.timeoutSeconds | int) (.Values.shutdown.marginSeconds | int) -}}
{{- end -}}

{{/* MONGODB_URI of the in-chart MongoDB. */}}
{{- define "sports-service.inChartMongodbURI" -}}
{{- printf "mongodb://%s:27017" (include "sports-service.componentName" (dict "root" . "component" "mongodb")) -}}
{{- end -}}

{{/*
The keys the chart's own Secret holds: the secret settings given in the
values, plus the generated ones (secrets.generate). A generated value is read
back from the release's Secret when it exists, so an upgrade keeps it (and
with it every session and token).
*/}}
{{- define "sports-service.secretData" -}}
{{- $data := dict -}}
{{- range $key := list "JWT_SIGNING_KEYS" "ADMIN_PASSWORD" "API_TOKEN" "SESSION_KEY" -}}
{{- $v := index $.Values.secrets $key -}}
{{- if $v -}}{{- $_ := set $data $key $v -}}{{- end -}}
{{- end -}}
{{- if .Values.externalMongodb.uri -}}
{{- $_ := set $data "MONGODB_URI" .Values.externalMongodb.uri -}}
{{- end -}}
{{- if .Values.secrets.generate -}}
{{- $previous := dict -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "sports-service.fullname" .) -}}
{{- if $existing -}}{{- $previous = $existing.data | default dict -}}{{- end -}}
{{- $generate := list "SESSION_KEY" -}}
{{- if eq (toString (index .Values.config "AUTH_ENABLED" | default "false")) "true" -}}
{{- $generate = append $generate "JWT_SIGNING_KEYS" -}}
{{- end -}}
{{- range $key := $generate -}}
{{- if not (hasKey $data $key) -}}
{{- if hasKey $previous $key -}}
{{- $_ := set $data $key (index $previous $key | b64dec) -}}
{{- else if eq $key "SESSION_KEY" -}}
{{- $_ := set $data $key (randAlphaNum 48) -}}
{{- else -}}
{{- $_ := set $data $key (printf "helm:%s" (randBytes 32)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/*
Refuses values that cannot work, with a message saying what to set. The
schema (values.schema.json) has already checked the types.
*/}}
{{- define "sports-service.validate" -}}
{{- $sources := 0 -}}
{{- if .Values.mongodb.enabled -}}{{- $sources = add1 $sources -}}{{- end -}}
{{- if .Values.externalMongodb.uri -}}{{- $sources = add1 $sources -}}{{- end -}}
{{- if .Values.externalMongodb.existingSecret -}}{{- $sources = add1 $sources -}}{{- end -}}
{{- if eq $sources 0 -}}
{{- fail "MONGODB_URI is required: the image is built without the embedded database (-tags noembed). Set externalMongodb.uri, or externalMongodb.existingSecret (a Secret with the key MONGODB_URI), or mongodb.enabled=true for an in-chart MongoDB." -}}
{{- end -}}
{{- if gt $sources 1 -}}
{{- fail "MongoDB is given twice: set only one of externalMongodb.uri, externalMongodb.existingSecret and mongodb.enabled=true." -}}
{{- end -}}
{{- if and .Values.eureka.enabled .Values.externalEureka.url -}}
{{- fail "Eureka is given twice: set externalEureka.url or eureka.enabled=true, not both." -}}
{{- end -}}
{{- if and .Values.jaeger.enabled .Values.externalTracing.otlpEndpoint -}}
{{- fail "The trace collector is given twice: set externalTracing.otlpEndpoint or jaeger.enabled=true, not both." -}}
{{- end -}}
{{- $auth := eq (toString (index .Values.config "AUTH_ENABLED" | default "false")) "true" -}}
{{- if and $auth (not .Values.secrets.generate) (not .Values.secrets.JWT_SIGNING_KEYS) (not .Values.secrets.existingSecret) -}}
{{- fail "AUTH_ENABLED is true but no JWT_SIGNING_KEYS can reach the pods: set secrets.existingSecret (with the key JWT_SIGNING_KEYS), or secrets.generate=true." -}}
{{- end -}}
{{- if and .Values.secrets.ADMIN_PASSWORD (not (index .Values.config "ADMIN_USERNAME")) -}}
{{- fail "secrets.ADMIN_PASSWORD is set but config.ADMIN_USERNAME is not: the first admin needs both." -}}
{{- end -}}
{{- if and (index .Values.config "ADMIN_USERNAME") (not .Values.secrets.ADMIN_PASSWORD) (not .Values.secrets.existingSecret) -}}
{{- fail "config.ADMIN_USERNAME is set but no ADMIN_PASSWORD can reach the pods: put it in secrets.existingSecret (or secrets.ADMIN_PASSWORD)." -}}
{{- end -}}
{{- end -}}

{{/*
The restricted security context of every container (Pod Security Standards,
"restricted"), for a uid: dict "uid" N.
*/}}
{{- define "sports-service.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "sports-service.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
