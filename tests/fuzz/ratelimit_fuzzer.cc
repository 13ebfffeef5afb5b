// Fuzzes rate-limit request handling below gRPC: checks, peeks, batches (all or nothing or
// not), resets and clock steps with any limits (every algorithm, any count, period and burst,
// valid or not) on the RateLimiter that RateLimitService and Envoy's API run every request on.
// Bad input must come back as INVALID_ARGUMENT from Validate; for valid checks the answers must
// keep the promises the API states: remaining within the capacity, durations not negative, a
// denied check consuming nothing, a cost over the capacity answered as impossible.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "services/ratelimit/rate_limiter.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace ratelimit = hotpath::ratelimit;
using hotpath::fuzz::Pick;

ratelimit::Limit LimitOf(FuzzedDataProvider& in) {
  ratelimit::Limit limit;
  limit.algorithm = static_cast<ratelimit::Algorithm>(in.ConsumeIntegralInRange<int>(0, 5));
  // Mostly small counts and periods, so that limits fill and refill; sometimes anything.
  limit.limit =
      in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(0, 10) : in.ConsumeIntegral<int64_t>();
  limit.period_ns = in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(0, 5) * 1'000'000'000
                                     : in.ConsumeIntegral<int64_t>();
  limit.burst = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<int64_t>(-1, 20);
  return limit;
}

ratelimit::CheckSpec SpecOf(FuzzedDataProvider& in) {
  static const char* const kKeys[] = {"user-1", "user-2", "{tag}a", "{tag}b"};
  ratelimit::CheckSpec spec;
  spec.ns = in.ConsumeBool() ? "default" : "tenant";
  spec.key = Pick(in, kKeys);
  for (int i = in.ConsumeIntegralInRange<int>(0, 3); i > 0; --i) spec.limits.push_back(LimitOf(in));
  spec.cost =
      in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(0, 4) : in.ConsumeIntegral<int64_t>();
  spec.shadow = in.ConsumeIntegralInRange<int>(0, 7) == 0;
  return spec;
}

// The promises of one answer to a valid check.
void CheckAnswer(const ratelimit::CheckSpec& spec, const ratelimit::CheckResult& result) {
  FUZZ_ASSERT_TRUE(result.limits.size() == spec.limits.size());
  bool all_allowed = true;
  bool any_impossible = false;
  for (size_t i = 0; i < result.limits.size(); ++i) {
    const ratelimit::Decision& d = result.limits[i];
    FUZZ_ASSERT_TRUE(d.limit == spec.limits[i].capacity());
    FUZZ_ASSERT_TRUE(d.remaining >= 0 && d.remaining <= d.limit);
    FUZZ_ASSERT_TRUE(d.reset_after_ns >= 0 && d.retry_after_ns >= 0);
    FUZZ_ASSERT_TRUE(d.impossible == (spec.cost > d.limit));
    if (d.impossible) FUZZ_ASSERT_TRUE(!d.allowed);
    if (d.allowed) FUZZ_ASSERT_TRUE(d.retry_after_ns == 0);
    all_allowed = all_allowed && d.allowed;
    any_impossible = any_impossible || d.impossible;
  }
  const ratelimit::Outcome expected = all_allowed      ? ratelimit::Outcome::kAllowed
                                      : any_impossible ? ratelimit::Outcome::kCostTooHigh
                                                       : ratelimit::Outcome::kDenied;
  FUZZ_ASSERT_TRUE(result.outcome == expected);
}

// What each limit has left, as a peek (cost 0) sees it.
std::vector<int64_t> Remaining(ratelimit::RateLimiter& limiter, ratelimit::CheckSpec spec) {
  spec.cost = 0;
  absl::StatusOr<ratelimit::CheckResult> peek = limiter.Check(spec);
  FUZZ_ASSERT_TRUE(peek.ok());
  std::vector<int64_t> remaining;
  for (const ratelimit::Decision& d : peek->limits) remaining.push_back(d.remaining);
  return remaining;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  hotpath::FakeClock clock;
  auto keyspace = hotpath::fuzz::FreshKeyspace(&clock);
  ratelimit::RateLimiter limiter(keyspace.get());

  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: {
        const ratelimit::CheckSpec spec = SpecOf(in);
        const absl::Status valid = ratelimit::RateLimiter::Validate(spec);
        if (!valid.ok()) {
          FUZZ_ASSERT_TRUE(absl::IsInvalidArgument(valid));
          break;
        }
        const std::vector<int64_t> before = Remaining(limiter, spec);
        absl::StatusOr<ratelimit::CheckResult> result = limiter.Check(spec);
        FUZZ_ASSERT_TRUE(result.ok());
        CheckAnswer(spec, *result);
        // Denied checks do not eat quota; peeks never do.
        if (result->outcome != ratelimit::Outcome::kAllowed || spec.cost == 0) {
          FUZZ_ASSERT_TRUE(Remaining(limiter, spec) == before);
        }
        break;
      }
      case 1: {
        std::vector<ratelimit::CheckSpec> specs;
        bool valid = true;
        for (int i = in.ConsumeIntegralInRange<int>(1, 4); i > 0; --i) {
          specs.push_back(SpecOf(in));
          valid = valid && ratelimit::RateLimiter::Validate(specs.back()).ok();
        }
        if (!valid) break;
        const bool all_or_nothing = in.ConsumeBool();
        absl::StatusOr<ratelimit::BatchResult> batch = limiter.CheckBatch(specs, all_or_nothing);
        FUZZ_ASSERT_TRUE(batch.ok());
        FUZZ_ASSERT_TRUE(batch->results.size() == specs.size());
        if (!all_or_nothing) FUZZ_ASSERT_TRUE(batch->consumed);
        break;
      }
      case 2: {
        const ratelimit::CheckSpec spec = SpecOf(in);
        if (!ratelimit::RateLimiter::Validate(spec).ok()) break;
        FUZZ_ASSERT_TRUE(limiter.Reset(spec).ok());
        // A reset limit starts full.
        const std::vector<int64_t> after = Remaining(limiter, spec);
        for (size_t i = 0; i < after.size(); ++i) {
          FUZZ_ASSERT_TRUE(after[i] == spec.limits[i].capacity());
        }
        break;
      }
      case 3:
        clock.Advance(absl::Milliseconds(in.ConsumeIntegralInRange<int64_t>(0, 10'000)));
        break;
    }
  }
  return 0;
}
