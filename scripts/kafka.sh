#!/usr/bin/env bash
# A real Kafka broker (KRaft, single node) for development and tests, from the Maven Central
# jars, without Docker:
#   scripts/kafka.sh up       fetch the jars once (scripts/kafka/pom.xml), format, start on 127.0.0.1:9092
#   scripts/kafka.sh status   say whether it answers
#   scripts/kafka.sh down     stop it (data is kept until 'scripts/kafka.sh reset')
#   scripts/kafka.sh reset    stop it and delete its data
# Idempotent. TANDEM_TEST_KAFKA_BOOTSTRAP set: nothing is started, that broker is used.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${TANDEM_SERVICES_DIR:-${TMPDIR:-/tmp}/tandem-services}/kafka"
LIBS="$STATE/libs"
DATA="$STATE/data"
PORT=9092

say() { printf 'kafka: %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

java_bin() {
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then printf '%s' "$JAVA_HOME/bin/java"; return; fi
    local c
    for c in /usr/lib/jvm/*; do
        [ -x "$c/bin/java" ] || continue
        case "$("$c/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')" in
            1[7-9]|[2-9][0-9]) printf '%s' "$c/bin/java"; return ;;
        esac
    done
    command -v java
}

fetch() {
    [ -f "$LIBS/.complete" ] && return 0
    say "fetching the broker jars from Maven Central (once)"
    mkdir -p "$LIBS"
    "${TANDEM_MVN:-mvn}" -B -ntp -q -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$LIBS" -DincludeScope=runtime >&2 || { say "could not fetch the jars"; return 1; }
    touch "$LIBS/.complete"
}

up() {
    if [ -n "${TANDEM_TEST_KAFKA_BOOTSTRAP:-}" ]; then say "using $TANDEM_TEST_KAFKA_BOOTSTRAP"; return 0; fi
    if port_open $PORT; then return 0; fi
    fetch || return 1
    local java
    java="$(java_bin)"
    mkdir -p "$DATA"
    sed "s#^log.dirs=.*##" "$HERE/kafka/server.properties" > "$STATE/server.properties"
    echo "log.dirs=$DATA" >> "$STATE/server.properties"
    if [ ! -f "$DATA/meta.properties" ]; then
        local id
        id="$("$java" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
        "$java" -cp "$LIBS/*" -Dlog4j2.configurationFile="$HERE/kafka/log4j2.yaml" kafka.tools.StorageTool format \
            -t "$id" -c "$STATE/server.properties" >"$STATE/format.log" 2>&1 \
            || { say "format failed: $(tail -3 "$STATE/format.log")"; return 1; }
    fi
    say "starting the broker on 127.0.0.1:$PORT"
    nohup "$java" -Xms256m -Xmx1g -XX:+UseG1GC -Dlog4j2.configurationFile="$HERE/kafka/log4j2.yaml" \
        -cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" >"$STATE/broker.log" 2>&1 &
    echo $! > "$STATE/broker.pid"
    local i
    for ((i = 0; i < 600; i++)); do
        port_open $PORT && { say "up (pid $(cat "$STATE/broker.pid"), log $STATE/broker.log)"; return 0; }
        kill -0 "$(cat "$STATE/broker.pid")" 2>/dev/null || break
        sleep 0.1
    done
    say "broker did not start: $(tail -5 "$STATE/broker.log")"
    return 1
}

down() {
    [ -f "$STATE/broker.pid" ] || return 0
    local pid
    pid="$(cat "$STATE/broker.pid")"
    if kill "$pid" 2>/dev/null; then
        local i
        for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        say "stopped"
    fi
    rm -f "$STATE/broker.pid"
}

case "${1:-status}" in
    up) up ;;
    down) down ;;
    reset) down; rm -rf "$DATA"; say "data deleted" ;;
    status) port_open $PORT && say "reachable on 127.0.0.1:$PORT" || { say "not running"; exit 1; } ;;
    *) say "usage: scripts/kafka.sh up|status|down|reset"; exit 2 ;;
esac
