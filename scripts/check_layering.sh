#!/usr/bin/env bash
# Fails if engine/ or persistence/ include gRPC, protobuf or Prometheus headers, or if
# engine/ reaches up into persistence/ or services/. Those headers sit in /usr/include, so
# CMake's link dependencies alone would not stop an include; this check does. Run by ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
status=0
forbidden='#include *[<"](grpc|grpcpp|google/protobuf|prometheus)/|\.pb\.h[">]'
for layer in engine persistence; do
  if hits=$(grep -rnE "$forbidden" "$layer"); then
    echo "$layer/ must not include gRPC, protobuf or Prometheus headers:"
    echo "$hits"
    status=1
  fi
done
if hits=$(grep -rnE '#include *"(persistence|services|tools)/' engine); then
  echo "engine/ must not include higher layers:"
  echo "$hits"
  status=1
fi
if hits=$(grep -rnE '#include *"(services|tools)/' persistence); then
  echo "persistence/ must not include higher layers:"
  echo "$hits"
  status=1
fi
[ "$status" -eq 0 ] && echo "layering ok: engine <- persistence <- services"
exit "$status"
