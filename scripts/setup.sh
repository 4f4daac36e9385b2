#!/usr/bin/env bash
# One command installs everything the project, its tests and the local cluster need on a
# fresh Debian 12 machine, as root: Debian packages, npm dependencies, the native addon
# and the TypeScript build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (it installs Debian packages): sudo bash scripts/setup.sh" >&2
  exit 1
fi

packages=(
  iptables iproute2 containernetworking-plugins   # pod networking, in-pod capture
  redis-server                                     # local API server store, global rate limits
  nghttp2-client python3-h2                        # independent HTTP/2 peers for interop tests
  stunnel4                                         # TLS tunnel baseline for benchmarks
  nginx                                            # reverse-proxy baseline for bench:waypoint
  curl openssl tcpdump procps psmisc               # probes and diagnostics used by tests
  python3 make g++                                 # native addon build (node-gyp)
  gcc                                              # the CNI plugin (node-agent/cni/plugin.c)
  chromium                                         # headless browser for the console's tests and screenshots
  prometheus                                       # the graph's long windows read from Prometheus (test/prometheus-graph.test.ts)
)
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The test suite and the local cluster start their own Redis on loopback; the distro's
# service is not needed and must not hold port 6379 or the data directory.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server || true
fi
# test/prometheus-graph.test.ts starts its own Prometheus on loopback; the distro's service
# is not needed and must not hold port 9090.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi
# bench:waypoint starts its own nginx in a pod's network namespace; the distro's service
# is not needed and must not hold port 80.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  systemctl stop nginx || true
elif pgrep -x nginx >/dev/null 2>&1; then
  # No systemd (a container): the package's init script may have started it.
  nginx -s quit 2>/dev/null || true
fi

npm ci --no-audit --no-fund
npm run build
echo "setup: done. Run the tests with: npm test"
