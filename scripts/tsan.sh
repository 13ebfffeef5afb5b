#!/usr/bin/env bash
# make test-tsan: the engine and persistence suites under ThreadSanitizer. These are the layers
# with their own threads and locks (shards, the log writer, rewrites, the expiry sweeper).
#
# TSan must see every lock, and Debian's abseil is not built for it: absl::Mutex would look like
# no lock at all. So this builds abseil itself, with TSan, from the same source Debian builds
# its package from (the orig tarball in Debian's archive, checksum pinned, with Debian's
# options: own string_view/optional/any/variant, inline namespace debian3), once, into
# BUILD/deps. The services are left out: gRPC and protobuf come from Debian, uninstrumented
# and linked to Debian's abseil.
#   scripts/tsan.sh [BUILD_DIR]   (default build/tsan)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build/tsan}"
deps="$build/deps"
jobs="$(nproc)"
url="http://deb.debian.org/debian/pool/main/a/abseil/abseil_20220623.1.orig.tar.gz"
sha256="abfe2897f3a30edaa74bc34365afe3c2a3cd012091a97dc7e008f7016adcd5fe"
flags="-fsanitize=thread -g -O1"

if [ ! -f "$deps/install/.complete" ]; then
  echo "tsan: building abseil with TSan (once)"
  rm -rf "$deps" && mkdir -p "$deps/src"
  curl -fsSL "$url" -o "$deps/abseil.tar.gz"
  echo "$sha256  $deps/abseil.tar.gz" | sha256sum -c --quiet -
  tar xzf "$deps/abseil.tar.gz" -C "$deps/src" --strip-components=1
  # Debian's choices (/usr/include/absl/base/options.h), so the ABI matches what hotpath is
  # written and tested against.
  sed -i -e 's/^#define ABSL_OPTION_USE_STD_\(ANY\|OPTIONAL\|STRING_VIEW\|VARIANT\) 2$/#define ABSL_OPTION_USE_STD_\1 0/' \
    -e 's/^#define ABSL_OPTION_INLINE_NAMESPACE_NAME .*/#define ABSL_OPTION_INLINE_NAMESPACE_NAME debian3/' \
    -e 's/^#define ABSL_OPTION_HARDENED 0$/#define ABSL_OPTION_HARDENED 1/' \
    "$deps/src/absl/base/options.h"
  cmake -S "$deps/src" -B "$deps/build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_STANDARD=20 -DABSL_PROPAGATE_CXX_STD=ON \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" -DBUILD_TESTING=OFF \
    -DCMAKE_INSTALL_PREFIX="$deps/install" > "$deps/configure.log"
  cmake --build "$deps/build" -j "$jobs" > "$deps/build.log"
  cmake --install "$deps/build" > /dev/null
  touch "$deps/install/.complete"
fi

cmake -S "$root" -B "$build/hotpath" -DCMAKE_CXX_COMPILER=clang++ -DHOTPATH_CORE_ONLY=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$deps/install" \
  -Dabsl_DIR="$deps/install/lib/cmake/absl" -DCMAKE_CXX_FLAGS="$flags" > /dev/null
cmake --build "$build/hotpath" -j "$jobs"
cd "$build/hotpath"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/scripts/tsan.supp" ctest --output-on-failure -j "$jobs"
