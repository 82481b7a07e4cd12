#!/usr/bin/env bash
# Local backing services for development and tests, without Docker:
#   scripts/services.sh up      start PostgreSQL and Redis if they are not running
#                               (installing them from the OS packages when missing and root)
#                               and a Kafka broker (scripts/kafka.sh, jars from Maven Central)
#   scripts/services.sh status  say what is reachable
#   scripts/services.sh down    stop what this script started
# Idempotent. Endpoints (override with the same variables the tests read):
#   PostgreSQL  TANDEM_TEST_POSTGRES_URL  default jdbc:postgresql://127.0.0.1:5432/test (user postgres, trust auth)
#   Redis       TANDEM_TEST_REDIS_URL     default redis://127.0.0.1:6379
#   Kafka       TANDEM_TEST_KAFKA_BOOTSTRAP default 127.0.0.1:9092
set -uo pipefail
STATE="${TANDEM_SERVICES_DIR:-${TMPDIR:-/tmp}/tandem-services}"
mkdir -p "$STATE"

say() { printf 'services: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && exec 3>&- 3<&-; }

wait_port() { # host port seconds
    local i
    for ((i = 0; i < $3 * 10; i++)); do port_open "$1" "$2" && return 0; sleep 0.1; done
    return 1
}

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "cannot install $* (need root and apt-get); install it yourself"
        return 1
    fi
    if [ ! -f "$STATE/apt-updated" ]; then
        apt-get update -qq >/dev/null 2>&1 && touch "$STATE/apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

postgres_up() {
    if [ -n "${TANDEM_TEST_POSTGRES_URL:-}" ]; then say "PostgreSQL: using $TANDEM_TEST_POSTGRES_URL"; return 0; fi
    if port_open 127.0.0.1 5432; then ensure_test_db; return 0; fi
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        say "PostgreSQL: installing the OS package"
        apt_install postgresql || return 1
    fi
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    if [ -z "$version" ]; then say "PostgreSQL: no cluster found under /etc/postgresql"; return 1; fi
    # trust local TCP connections, as the tests expect (development machines only)
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ -w "$hba" ] && ! grep -q "tandem-services" "$hba"; then
        sed -i '1i host all all 127.0.0.1/32 trust # tandem-services\nhost all all ::1/128 trust # tandem-services' "$hba"
    fi
    say "PostgreSQL $version: starting"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
    wait_port 127.0.0.1 5432 30 || { say "PostgreSQL did not start"; return 1; }
    touch "$STATE/postgres-started-$version"
    ensure_test_db
}

ensure_test_db() {
    command -v psql >/dev/null 2>&1 || return 0
    if ! psql -w -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; then
        psql -w -h 127.0.0.1 -U postgres -d postgres -tAc 'create database test' >/dev/null 2>&1 \
            || su postgres -c "psql -tAc 'create database test'" >/dev/null 2>&1 || true
    fi
}

redis_up() {
    if [ -n "${TANDEM_TEST_REDIS_URL:-}" ]; then say "Redis: using $TANDEM_TEST_REDIS_URL"; return 0; fi
    if port_open 127.0.0.1 6379; then return 0; fi
    if ! command -v redis-server >/dev/null 2>&1; then
        say "Redis: installing the OS package"
        apt_install redis-server || return 1
    fi
    say "Redis: starting"
    mkdir -p "$STATE/redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir "$STATE/redis" --logfile "$STATE/redis/redis.log" --pidfile "$STATE/redis/redis.pid" >/dev/null
    wait_port 127.0.0.1 6379 15 || { say "Redis did not start"; return 1; }
    touch "$STATE/redis-started"
}

status() {
    port_open 127.0.0.1 5432 && say "PostgreSQL: reachable on 127.0.0.1:5432" || say "PostgreSQL: not reachable"
    port_open 127.0.0.1 6379 && say "Redis: reachable on 127.0.0.1:6379" || say "Redis: not reachable"
    port_open 127.0.0.1 9092 && say "Kafka: reachable on 127.0.0.1:9092" || say "Kafka: not reachable"
}

down() {
    "$(dirname "${BASH_SOURCE[0]}")/kafka.sh" down
    if [ -f "$STATE/redis-started" ] && [ -f "$STATE/redis/redis.pid" ]; then
        kill "$(cat "$STATE/redis/redis.pid")" 2>/dev/null && say "Redis: stopped"
        rm -f "$STATE/redis-started"
    fi
    local f
    for f in "$STATE"/postgres-started-*; do
        [ -e "$f" ] || continue
        pg_ctlcluster --skip-systemctl-redirect "${f##*-}" main stop >/dev/null 2>&1 && say "PostgreSQL: stopped"
        rm -f "$f"
    done
}

docker_engine() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

case "${1:-status}" in
    up)
        if docker_engine && [ -z "${TANDEM_LOCAL_SERVICES:-}" ]; then
            say "Docker engine found: tests start their services with Testcontainers"
            exit 0
        fi
        rc=0
        postgres_up || rc=1
        redis_up || rc=1
        "$(dirname "${BASH_SOURCE[0]}")/kafka.sh" up || rc=1
        status
        exit $rc
        ;;
    status) status ;;
    down) down ;;
    *) say "usage: scripts/services.sh up|status|down"; exit 2 ;;
esac
