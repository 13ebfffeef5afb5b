// What the fuzz targets share. A target's assertions are the sanitizers' (a crash, a leak,
// undefined behaviour, a timeout) and FUZZ_ASSERT_TRUE's (a broken promise of the code under
// test): either makes libFuzzer stop and keep the input.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/clock.h"
#include "engine/keyspace.h"

namespace hotpath::fuzz {

// A small keyspace on a fixed clock, made afresh per input so that one input's state never
// hides another's bug, and runs repeat exactly.
inline std::unique_ptr<Keyspace> FreshKeyspace(FakeClock* clock) {
  clock->Set(absl::FromUnixSeconds(1'800'000'000));
  return Keyspace::Create({.shards = 2}, clock).value();
}

// A promise of the code under test: when it is broken, say which and where, and abort, so
// that libFuzzer keeps the input.
#define FUZZ_ASSERT_TRUE(condition)                                                \
  do {                                                                             \
    if (!(condition)) {                                                            \
      std::fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                \
    }                                                                              \
  } while (false)

// Keys, types, deadlines and the memory they take, in order: what two keyspaces compare by.
inline std::string Dump(const Keyspace& keyspace) {
  std::vector<std::string> lines;
  keyspace.ForEachKey([&](const KeyRef& key, const Value& value, int64_t deadline_ms) {
    lines.push_back(std::string(key.ns) + '\0' + std::string(key.key) + '\0' +
                    std::to_string(static_cast<int>(value.type())) + '\0' +
                    std::to_string(deadline_ms));
  });
  std::sort(lines.begin(), lines.end());
  std::string dump = std::to_string(keyspace.MemoryBytes());
  for (const std::string& line : lines) dump += '\n' + line;
  return dump;
}

// Mostly one of a few valid names, so that operations meet each other; sometimes anything.
template <size_t N>
std::string Pick(FuzzedDataProvider& in, const char* const (&pool)[N]) {
  if (in.ConsumeBool()) return pool[in.ConsumeIntegralInRange<size_t>(0, N - 1)];
  return in.ConsumeRandomLengthString(32);
}

}  // namespace hotpath::fuzz
