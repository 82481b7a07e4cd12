#!/usr/bin/env bash
# The TypeScript client's tests (@tandem/client in api-contract/typescript), against the packaged
# gateway: its Node tests, then the end-to-end tests in headless Chromium.
#   scripts/web-tests.sh [node|browser|all]     (default all)
# Installs what a fresh machine lacks: Node.js 20+ and npm, and Debian's chromium (no browser
# download: playwright-core drives the system browser). Needs JAVA_HOME (a JDK 21+; ./tandem sets
# it) and gateway/target/tandem-gateway.jar (./tandem test packages it first).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/api-contract/typescript"
what="${1:-all}"

say() { printf 'web-tests: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

APT_UPDATED=""
apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "$* missing and cannot be installed here (needs root and apt-get): install it and run again"
    fi
    if [ -z "$APT_UPDATED" ]; then
        say "apt-get update"
        apt-get update -qq >/dev/null || die "apt-get update failed"
        APT_UPDATED=1
    fi
    say "installing $* from the OS packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

node_major() { node -e 'console.log(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi
[ "$(node_major)" -ge 20 ] || die "Node.js 20+ needed, found $(node --version): install a newer Node.js"

CHROMIUM="${TANDEM_CHROMIUM:-/usr/bin/chromium}"
if [ "$what" != node ] && [ ! -x "$CHROMIUM" ]; then
    apt_install chromium
    [ -x "$CHROMIUM" ] || die "no browser at $CHROMIUM after installing chromium (set TANDEM_CHROMIUM)"
fi

[ -n "${JAVA_HOME:-}" ] || die "JAVA_HOME must point at a JDK 21+ (run through ./tandem test)"
export TANDEM_GATEWAY_JAR="${TANDEM_GATEWAY_JAR:-$ROOT/gateway/target/tandem-gateway.jar}"
[ -f "$TANDEM_GATEWAY_JAR" ] || die "no packaged gateway at $TANDEM_GATEWAY_JAR: run './tandem test' (or 'mvn -DskipTests -pl gateway -am package')"
export TANDEM_CHROMIUM="$CHROMIUM"

cd "$PKG"
# npm ci only when the lock file changed since the last install (it wipes node_modules)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi
case "$what" in
    node) npm test ;;
    browser) npm run test:browser ;;
    all) npm test && npm run test:browser ;;
    *) die "unknown argument '$what' (node, browser, all)" ;;
esac
