// What the fuzz targets share. A target's assertions are the sanitizers' (a crash, a leak,
// undefined behaviour, a timeout) and FuzzCheck's (a broken promise of the code under test):
// either makes libFuzzer stop and keep the input.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "engine/common/clock.h"
#include "engine/keyspace.h"

namespace hotpath::fuzz {

// A small keyspace on a fixed clock, made afresh per input so that one input's state never
// hides another's bug, and runs repeat exactly.
inline std::unique_ptr<Keyspace> FreshKeyspace(FakeClock* clock) {
  clock->Set(absl::FromUnixSeconds(1'800'000'000));
  return Keyspace::Create({.shards = 2}, clock).value();
}

// A broken promise: say where, and abort, so that libFuzzer keeps the input.
inline void FuzzCheck(bool holds, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
  if (holds) return;
  std::fprintf(stderr, "FuzzCheck failed at %s:%d\n", file, line);
  std::abort();
}

// Mostly one of a few valid names, so that operations meet each other; sometimes anything.
template <size_t N>
std::string Pick(FuzzedDataProvider& in, const char* const (&pool)[N]) {
  if (in.ConsumeBool()) return pool[in.ConsumeIntegralInRange<size_t>(0, N - 1)];
  return in.ConsumeRandomLengthString(32);
}

}  // namespace hotpath::fuzz
