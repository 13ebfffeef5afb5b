// Clock: the one source of "now" for the engine and everything above it.
//
// Time is injected so expiry, rate-limit windows and session timeouts are tested without
// sleeping: production code uses SystemClock, tests use FakeClock and advance it by hand.
//
//   FakeClock clock(absl::FromUnixMillis(1'000));
//   auto keyspace = Keyspace::Create({.shards = 4}, &clock).value();
//   clock.Advance(absl::Seconds(10));
//
// Thread safety: every Clock is safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace hotpath {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time. Deadlines (TTLs) are stored as absolute Unix milliseconds from this clock.
  virtual absl::Time Now() const = 0;

  int64_t NowMillis() const { return absl::ToUnixMillis(Now()); }
};

// The real clock. Use SystemClock::Get(); it has no state.
class SystemClock final : public Clock {
 public:
  static const SystemClock* Get();
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that moves only when told to. Safe to read and advance concurrently.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000))
      : nanos_(absl::ToUnixNanos(start)) {}

  absl::Time Now() const override { return absl::FromUnixNanos(nanos_.load()); }
  void Advance(absl::Duration by) { nanos_.fetch_add(absl::ToInt64Nanoseconds(by)); }
  void Set(absl::Time to) { nanos_.store(absl::ToUnixNanos(to)); }

 private:
  std::atomic<int64_t> nanos_;
};

inline const SystemClock* SystemClock::Get() {
  static const SystemClock clock;
  return &clock;
}

}  // namespace hotpath
