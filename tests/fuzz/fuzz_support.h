// What the persistence fuzzers share: a small keyspace to load into, made afresh per input so
// that one input's state never hides another's bug.
#pragma once

#include <memory>

#include "engine/common/clock.h"
#include "engine/keyspace.h"

namespace hotpath::fuzz {

inline std::unique_ptr<Keyspace> FreshKeyspace() {
  static FakeClock clock;  // deadlines against a fixed time: runs repeat exactly
  clock.Set(absl::FromUnixSeconds(1'800'000'000));
  return Keyspace::Create({.shards = 2}, &clock).value();
}

}  // namespace hotpath::fuzz
