#!/usr/bin/env bash
# Installs everything hotpath needs to build, run and test, on a bare Debian 12 or on a machine
# that already has a toolchain. Idempotent: when nothing is missing it only checks and returns.
#
# 1. Debian 12 packages (apt-get), installed only when missing.
# 2. buf (protos/ lint and breaking-change checks) from npm, pinned by tools/buf/package-lock.json,
#    into tools/buf/node_modules (not with --build-only).
# 3. prometheus-cpp 1.0.2 core + pull, which bookworm lacks: Debian 13's packages are downloaded
#    with a private apt configuration and unpacked into third_party/prefix (never into the system).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$root/third_party/prefix"
apt_dir="$root/third_party/apt"

# What building hotpath needs (all the Dockerfile's build stage installs: `--build-only`).
build_packages=(
  build-essential cmake pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev
  # hotpathd allocates through jemalloc, as Redis does: many small per-call allocations
  # across gRPC threads cost a third less than with glibc malloc (docs/benchmarks.md).
  libjemalloc-dev
  # SHA-256 of session tokens (libcrypto); gRPC's packages pull it in too.
  libssl-dev
  # prometheus-cpp's CMake config looks for these.
  civetweb libcivetweb-dev libcurl4-openssl-dev zlib1g-dev
  # hotpath-bench compares against a real Redis through hiredis.
  libhiredis-dev
  # The trixie download of prometheus-cpp.
  debian-archive-keyring
)
# What running every test needs besides.
test_packages=(
  clang
  # The TLS tests make their CA and certificates with the openssl command.
  openssl
  # hotpath-bench's smoke test runs against a real Redis.
  redis-server
  # promtool and a real Prometheus server for the observability tests (loopback only).
  prometheus
  # libFuzzer and the sanitizers' runtimes for clang (tests/fuzz, make fuzz).
  libclang-rt-14-dev
  # Tests and examples in Python; curl fetches abseil's and gRPC's sources for make test-tsan.
  python3 python3-grpcio python3-protobuf python3-yaml curl
  # The Helm chart's values are validated against values.schema.json (tests/helm).
  python3-jsonschema
)
# `bootstrap.sh --bench` adds what only `make bench` needs (the chart), `--tsan` what only
# `make test-tsan` needs (gRPC's build of its protoc plugin links libprotoc), `--docker` what
# `make docker-check` needs; `--build-only` installs only what building needs (no test servers,
# no buf).
build_only=false
packages=("${build_packages[@]}" "${test_packages[@]}")
case "${1:-}" in
  --bench) packages+=(python3-matplotlib) ;;
  --tsan) packages+=(libprotoc-dev) ;;
  --docker) packages+=(debootstrap) ;;
  --build-only)
    build_only=true
    packages=("${build_packages[@]}")
    ;;
esac
# buf comes from npm: Debian's nodejs and npm unless the machine already has an npm.
if ! $build_only && ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  [ "$status" = "installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_if_needed apt-get update -qq
  sudo_if_needed apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- buf from npm, at the version package-lock.json pins ----------------------------------------
buf_dir="$root/tools/buf"
buf_version="$(sed -n 's/.*"@bufbuild\/buf": "\(.*\)".*/\1/p' "$buf_dir/package.json")"
if ! $build_only &&
  [ "$("$buf_dir/node_modules/.bin/buf" --version 2>/dev/null || true)" != "$buf_version" ]; then
  echo "bootstrap: installing buf $buf_version into $buf_dir/node_modules"
  (cd "$buf_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# --- prometheus-cpp from Debian 13 into a project-local prefix ---------------------------------
# push is unpacked only because the CMake config checks its file; nothing links it (it needs
# trixie's libcurl4t64).
prom_debs=(prometheus-cpp-dev libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libprometheus-cpp-push1.0)
stamp="$prefix/.prometheus-cpp-1.0.2"
if [ -f "$stamp" ]; then
  exit 0
fi

# The archive URI comes from the machine's own apt sources, so a mirror configured there is used.
archive_uri() {
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk '
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") s = 1 }
      /^$/ { if (s && u != "") { print u; exit } u = ""; s = 0 }
      END { if (s && u != "") print u }' "$f" | head -n1)"
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  if [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)"
    [ -n "$uri" ] && { echo "$uri"; return; }
  fi
  echo "bootstrap: no Debian archive URI found in /etc/apt sources" >&2
  return 1
}

uri="$(archive_uri)"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$prefix"
cat > "$apt_dir/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main
SRC
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=root"
)
echo "bootstrap: fetching prometheus-cpp 1.0.2 from Debian 13 into $prefix"
apt-get "${apt_opts[@]}" update -qq
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download "${prom_debs[@]}" >/dev/null)
for deb in "$apt_dir"/debs/*.deb; do
  dpkg -x "$deb" "$prefix"
done
touch "$stamp"
echo "bootstrap: prometheus-cpp ready"
