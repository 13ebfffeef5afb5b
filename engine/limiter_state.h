// LimiterState: the whole state of one rate-limit key in 32 bytes, stored inline in a Value
// (no heap), so a limiter key costs its key and entry plus these 32 bytes instead of a hash.
//
// The engine stores and persists it; the rate limiter (services/ratelimit/limiter.h) gives the
// slots meaning per algorithm, in Unix nanoseconds:
//   token bucket      slots = {tokens in billionths, last refill, -}
//   sliding window    slots = {window start, current count, previous count}
//   fixed window      slots = {window start, count, -}
//   GCRA              slots = {theoretical arrival time, its fraction in 1/limit ns, -}
#pragma once

#include <array>
#include <cstdint>

namespace hotpath {

struct LimiterState {
  uint8_t algorithm = 0;  // owned by the rate limiter; 0 means unset
  std::array<int64_t, 3> slots{};

  friend bool operator==(const LimiterState& a, const LimiterState& b) {
    return a.algorithm == b.algorithm && a.slots == b.slots;
  }
};

}  // namespace hotpath
