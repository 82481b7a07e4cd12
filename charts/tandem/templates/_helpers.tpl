{{/* Chart name, overridable. */}}
{{- define "tandem.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified object name prefix: release-chart, unless the release already contains it. */}}
{{- define "tandem.fullname" -}}
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

{{- define "tandem.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "tandem.labels" -}}
helm.sh/chart: {{ include "tandem.chart" . }}
{{ include "tandem.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: gateway
{{- end }}

{{/* Labels the Service, PDB and spread constraints select pods by; never change them (immutable selector). */}}
{{- define "tandem.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tandem.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tandem.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tandem.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tandem.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the HS256 shared secret. */}}
{{- define "tandem.hs256SecretName" -}}
{{- default (printf "%s-auth" (include "tandem.fullname" .)) .Values.auth.hs256.existingSecret }}
{{- end }}

{{/* Where the ConfigMap's application.yaml is mounted; TANDEM_CONFIG_FILE points at it. */}}
{{- define "tandem.configDir" -}}/etc/tandem/config{{- end }}
{{- define "tandem.jwksDir" -}}/etc/tandem/jwks{{- end }}
{{- define "tandem.pushDir" -}}/etc/tandem/push{{- end }}

{{/*
The gateway configuration (application.yaml) as a dict, so that extraConfig can be deep-merged
over it and the result rendered with toYaml (no hand-written YAML indentation).
*/}}
{{- define "tandem.applicationConfig" -}}
{{- $v := .Values -}}
{{- $auth := dict "hs256-secret" "" "service-role" $v.auth.serviceRole -}}
{{- if $v.auth.jwks.url }}{{- $_ := set $auth "jwks-url" $v.auth.jwks.url }}{{- end }}
{{- if $v.auth.jwks.existingSecret }}{{- $_ := set $auth "jwks-file" (printf "%s/%s" (include "tandem.jwksDir" .) $v.auth.jwks.secretKey) }}{{- end }}
{{- if $v.auth.issuer }}{{- $_ := set $auth "issuer" $v.auth.issuer }}{{- end }}
{{- if $v.auth.audience }}{{- $_ := set $auth "audience" $v.auth.audience }}{{- end }}
{{- if $v.auth.algorithms }}{{- $_ := set $auth "algorithms" $v.auth.algorithms }}{{- end }}
{{- /* dev-mode off: a pod must never trust the public development secret */}}
{{- $tandem := dict "dev-mode" false "drain-timeout" (printf "PT%dS" (int $v.gateway.drainTimeoutSeconds)) "origins" $v.gateway.origins "connections-per-address" (int $v.gateway.connectionsPerAddress) "auth" $auth -}}
{{- if $v.gateway.limits }}{{- $_ := set $tandem "limits" $v.gateway.limits }}{{- end }}
{{- $channels := dict "max-per-tenant" (int $v.gateway.maxChannelsPerTenant) -}}
{{- if $v.gateway.channelNamespaces }}{{- $_ := set $channels "namespaces" $v.gateway.channelNamespaces }}{{- end }}
{{- $_ := set $tandem "channels" $channels }}
{{- $_ := set $tandem "inbox" (dict "ttl" $v.gateway.inbox.ttl "max-messages" (int $v.gateway.inbox.maxMessages)) }}
{{- if $v.kafka.bootstrapServers }}
{{- $kafka := dict -}}
{{- if $v.kafka.groupId }}{{- $_ := set $kafka "group-id" $v.kafka.groupId }}{{- end }}
{{- if $v.kafka.topicIn }}{{- $_ := set $kafka "topic-in" $v.kafka.topicIn }}{{- end }}
{{- if $v.kafka.topicDeadLetter }}{{- $_ := set $kafka "topic-dead-letter" $v.kafka.topicDeadLetter }}{{- end }}
{{- if $v.kafka.routes }}{{- $_ := set $kafka "routes" $v.kafka.routes }}{{- end }}
{{- if $kafka }}{{- $_ := set $tandem "kafka" $kafka }}{{- end }}
{{- end }}
{{- $push := dict -}}
{{- if $v.push.vapid.existingSecret }}
{{- $_ := set $push "webpush" (dict "enabled" true "vapid-key-file" (printf "%s/vapid/%s" (include "tandem.pushDir" .) $v.push.vapid.secretKey) "subject" $v.push.subject) }}
{{- end }}
{{- if $v.push.fcm.existingSecret }}
{{- $_ := set $push "fcm" (dict "service-account-file" (printf "%s/fcm/%s" (include "tandem.pushDir" .) $v.push.fcm.secretKey)) }}
{{- end }}
{{- if $v.push.apns.existingSecret }}
{{- $_ := set $push "apns" (dict "key-file" (printf "%s/apns/%s" (include "tandem.pushDir" .) $v.push.apns.secretKey) "key-id" $v.push.apns.keyId "team-id" $v.push.apns.teamId "topic" $v.push.apns.topic "environment" $v.push.apns.environment) }}
{{- end }}
{{- if $v.push.notices }}{{- $_ := set $push "notices" $v.push.notices }}{{- end }}
{{- if $push }}{{- $_ := set $tandem "push" $push }}{{- end }}
{{- $server := dict "port" (int $v.gateway.port) "host" "0.0.0.0" "max-payload-size" (int $v.gateway.maxPayloadSize) -}}
{{- $cfg := dict "server" $server "tandem" $tandem -}}
{{- $cfg = mustMergeOverwrite $cfg (deepCopy $v.gateway.extraConfig) -}}
{{- toYaml $cfg }}
{{- end }}

{{/* Render-time checks the JSON schema cannot express (relations between values). */}}
{{- define "tandem.validate" -}}
{{- $v := .Values -}}
{{- $needed := add (int $v.preStopSleepSeconds) (int $v.gateway.drainTimeoutSeconds) -}}
{{- if le (int $v.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be more than preStopSleepSeconds + gateway.drainTimeoutSeconds (%d), or Kubernetes kills pods before their clients are drained" (int $v.terminationGracePeriodSeconds) (int $needed)) }}
{{- end }}
{{- if and (not $v.auth.hs256.enabled) (not $v.auth.jwks.url) (not $v.auth.jwks.existingSecret) }}
{{- fail "auth: enable auth.hs256 or set auth.jwks.url / auth.jwks.existingSecret, or no token can be verified" }}
{{- end }}
{{- if and $v.push.vapid.existingSecret (not $v.push.subject) }}
{{- fail "push.vapid.existingSecret is set: push.subject (a mailto: or https: contact for push services) is required" }}
{{- end }}
{{- if and $v.push.apns.existingSecret (not (and $v.push.apns.keyId $v.push.apns.teamId $v.push.apns.topic)) }}
{{- fail "push.apns.existingSecret is set: push.apns.keyId, teamId and topic are required" }}
{{- end }}
{{- if and $v.redis.address $v.redis.clusterNodes }}
{{- fail "set either redis.address (one Redis) or redis.clusterNodes (a Redis Cluster), not both" }}
{{- end }}
{{- if and $v.postgres.url (not $v.postgres.existingSecret) }}
{{- fail "postgres.url is set: postgres.existingSecret must name the Secret with the database credentials" }}
{{- end }}
{{- if hasKey ($v.gateway.extraConfig.tandem | default dict) "drain-timeout" }}
{{- fail "set the drain timeout with gateway.drainTimeoutSeconds, not gateway.extraConfig (the grace period is computed from it)" }}
{{- end }}
{{- if hasKey ($v.gateway.extraConfig.server | default dict) "port" }}
{{- fail "set the port with gateway.port, not gateway.extraConfig (the container port, probes and Service follow it)" }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
