// Rate-limit algorithms: pure functions from (limit, stored state, now, cost) to a decision
// and the next state, in integer nanoseconds. The engine stores the state (LimiterState, 32
// bytes inline) and runs a decision as one atomic read-modify-write (Keyspace::UpdateLimiter);
// nothing here reads a clock. docs/ratelimit.md explains the algorithms and their trade-offs.
//
//   token bucket    `burst` tokens at most, refilled at `limit` per `period`; a request takes
//                   `cost` tokens. Allows bursts up to `burst`, then the steady rate.
//   GCRA            the same contract as the token bucket (generic cell rate algorithm, one
//                   timestamp of state): `limit` per `period`, bursts of up to `burst`.
//   fixed window    at most `limit` per window; windows are aligned to multiples of `period`
//                   since the Unix epoch (as envoyproxy/ratelimit does), so up to 2x `limit`
//                   can pass around a window boundary.
//   sliding window  exact for small limits (at most kExactLogMaxLimit): a log of the admitted
//                   requests' times, so never more than `limit` in any `period` (DecideLog).
//                   Above that, the two-window weighted counter (Decide): the previous
//                   window's count, weighted by how much of it the sliding window still
//                   covers, plus the current one's; exact when the previous window's requests
//                   were spread evenly, and never above 2x `limit` in any `period` otherwise.
//
// Denied requests consume nothing. A cost that exceeds what the limit can ever admit at once
// (`burst` for the buckets, `limit` for the windows) is `impossible`: no retry will pass.
// A cost of 0 only looks (peek). A state written by another algorithm counts as fresh.
// Thread safety: the functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/limiter_state.h"

namespace hotpath::ratelimit {

enum class Algorithm : uint8_t {
  kTokenBucket = 1,
  kGcra = 2,
  kFixedWindow = 3,
  kSlidingWindow = 4,
};

// "token_bucket", "gcra", "fixed_window" or "sliding_window".
absl::StatusOr<Algorithm> ParseAlgorithm(std::string_view name);
std::string_view AlgorithmName(Algorithm algorithm);

inline constexpr int64_t kMaxLimit = 1'000'000'000;
inline constexpr int64_t kMaxPeriodNs = int64_t{366} * 24 * 3600 * 1'000'000'000;
// The longest a limit may take to refill its whole capacity (capacity * period / limit), so
// that every time a decision computes stays far inside int64 nanoseconds: 100 years.
inline constexpr int64_t kMaxRefillNs = int64_t{100} * 366 * 24 * 3600 * 1'000'000'000;

// A stored state is kept at least this long after its last change, even once it equals a
// fresh one: a key checked every few seconds is then updated in place rather than deleted
// and created again. Memory holds every key changed in the last 10 s (docs/ratelimit.md).
inline constexpr int64_t kKeepIdleNs = int64_t{10} * 1'000'000'000;

struct Limit {
  Algorithm algorithm = Algorithm::kSlidingWindow;
  int64_t limit = 0;      // requests per period: the window's cap, or the refill rate
  int64_t period_ns = 0;  // the window, or the refill period
  int64_t burst = 0;      // token bucket and GCRA: capacity; 0 means `limit`

  int64_t capacity() const {
    const bool bucket = algorithm == Algorithm::kTokenBucket || algorithm == Algorithm::kGcra;
    return bucket && burst > 0 ? burst : limit;
  }
};

// InvalidArgument naming the field (prefixed with `field_prefix`) for a limit or period that
// is not positive or too large, or a burst on a window algorithm or out of range.
absl::Status ValidateLimit(const Limit& limit, std::string_view field_prefix = "");

struct Decision {
  bool allowed = false;
  bool impossible = false;     // cost > capacity: denied, and no retry can pass
  int64_t limit = 0;           // the capacity: burst for buckets, limit for windows
  int64_t remaining = 0;       // what a request could still take now (after this one)
  int64_t reset_after_ns = 0;  // until the limiter is back to its full capacity
  int64_t retry_after_ns = 0;  // denied and possible: until this cost could pass
};

// What Decide wants stored: `store` false leaves the stored state as it is.
struct StateWrite {
  bool store = false;
  LimiterState state;
  // When the state may be forgotten: once it equals a fresh one and kKeepIdleNs have passed,
  // rounded up to a whole second.
  int64_t deadline_ns = 0;
};

// Decides one request of `cost` (>= 0) against a valid `limit`. `state` is null for a fresh key.
// For kSlidingWindow this is the weighted counter; see UsesExactLog.
Decision Decide(const Limit& limit, const LimiterState* state, int64_t now_ns, int64_t cost,
                StateWrite* write);

// Sliding windows up to this limit keep an exact log: 8 bytes per admitted request in the
// window, so at most 8 * 64 = 512 bytes a key.
inline constexpr int64_t kExactLogMaxLimit = 64;
inline bool UsesExactLog(const Limit& limit) {
  return limit.algorithm == Algorithm::kSlidingWindow && limit.limit <= kExactLogMaxLimit;
}

// What DecideLog wants stored: the log's new bytes.
struct LogWrite {
  bool store = false;
  std::string log;
  int64_t deadline_ns = 0;  // as StateWrite's: every entry has left the window, and kKeepIdleNs
};

// The exact sliding window: `log` holds the times of the admitted requests still in the
// window, in order (empty for a fresh key). A request passes when the requests in
// (now - period, now] plus its cost stay within the limit. For a limit that UsesExactLog.
Decision DecideLog(const Limit& limit, std::string_view log, int64_t now_ns, int64_t cost,
                   LogWrite* write);

}  // namespace hotpath::ratelimit
