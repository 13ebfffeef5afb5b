// Properties of each algorithm against a simulated clock: bounds on what passes in any
// interval, long-run rates, honest retry-after hints, denied requests consuming nothing.
#include "services/ratelimit/limiter.h"

#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath::ratelimit {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = int64_t{1'700'000'000} * kSecond;

// One key's stored state, as the engine would keep it (forgotten after its deadline).
struct Key {
  std::optional<LimiterState> state;
  int64_t deadline_ns = 0;

  Decision Check(const Limit& limit, int64_t now, int64_t cost) {
    if (state.has_value() && deadline_ns != 0 && deadline_ns <= now) state.reset();
    StateWrite write;
    const Decision d = Decide(limit, state.has_value() ? &*state : nullptr, now, cost, &write);
    if (write.store) {
      state = write.state;
      deadline_ns = write.deadline_ns;
    }
    EXPECT_TRUE(d.allowed || !write.store) << "a denied request changed the state";
    return d;
  }
};

// One key under the exact sliding log, as the rate limiter keeps it.
struct LogKey {
  std::string log;
  int64_t deadline_ns = 0;

  Decision Check(const Limit& limit, int64_t now, int64_t cost) {
    if (deadline_ns != 0 && deadline_ns <= now) log.clear();
    LogWrite write;
    const Decision d = DecideLog(limit, log, now, cost, &write);
    if (write.store) {
      log = write.log;
      deadline_ns = write.deadline_ns;
    }
    EXPECT_TRUE(d.allowed || !write.store) << "a denied request changed the log";
    return d;
  }
};

// The most admitted in any span of `span_ns`, over admission times in order.
int64_t MaxInAnySpan(const std::vector<int64_t>& times, int64_t span_ns) {
  int64_t most = 0;
  size_t first = 0;
  for (size_t last = 0; last < times.size(); ++last) {
    while (times[last] - times[first] >= span_ns) ++first;
    most = std::max<int64_t>(most, static_cast<int64_t>(last - first + 1));
  }
  return most;
}

// Requests at random gaps (mean `mean_gap_ns`) for `duration_ns`; returns admission times.
std::vector<int64_t> Drive(const Limit& limit, int64_t mean_gap_ns, int64_t duration_ns,
                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(1.0 / static_cast<double>(mean_gap_ns));
  Key key;
  std::vector<int64_t> admitted;
  for (int64_t now = kStart; now < kStart + duration_ns;
       now += 1 + static_cast<int64_t>(gap(rng))) {
    if (key.Check(limit, now, 1).allowed) admitted.push_back(now);
  }
  return admitted;
}

TEST(Limiter, TokenBucketAndGcraAdmitTheRefillRateInTheLongRunAndBurstsUpToBurst) {
  for (Algorithm algorithm : {Algorithm::kTokenBucket, Algorithm::kGcra}) {
    // 1000 per second (a rate above 1000/s needs sub-millisecond arithmetic), bursts of 50,
    // under demand of about 5000 per second for 60 s.
    const Limit limit{.algorithm = algorithm, .limit = 1000, .period_ns = kSecond, .burst = 50};
    const std::vector<int64_t> admitted = Drive(limit, kSecond / 5000, 60 * kSecond, 7);
    const auto total = static_cast<int64_t>(admitted.size());
    EXPECT_LE(total, 50 + 60'000) << AlgorithmName(algorithm);
    EXPECT_GE(total, 60'000 - 1) << AlgorithmName(algorithm);
    // In any span, at most the burst plus what the rate refills in it.
    for (int64_t span : {kSecond / 1000, kSecond / 10, kSecond, 10 * kSecond}) {
      EXPECT_LE(MaxInAnySpan(admitted, span), 50 + span * 1000 / kSecond + 1)
          << AlgorithmName(algorithm) << " span " << span;
    }
  }
}

TEST(Limiter, FixedWindowNeverExceedsTheLimitInAnAlignedWindow) {
  const Limit limit{.algorithm = Algorithm::kFixedWindow, .limit = 100, .period_ns = kSecond};
  const std::vector<int64_t> admitted = Drive(limit, kSecond / 1000, 30 * kSecond, 3);
  std::map<int64_t, int64_t> per_window;
  for (int64_t t : admitted) ++per_window[t / kSecond];
  for (const auto& [window, count] : per_window) EXPECT_LE(count, 100) << window;
  EXPECT_EQ(admitted.size(), 30u * 100);            // demand far above the limit fills every window
  EXPECT_LE(MaxInAnySpan(admitted, kSecond), 200);  // the documented boundary effect
}

TEST(Limiter, SlidingWindowStaysWithinItsDocumentedBound) {
  const Limit limit{.algorithm = Algorithm::kSlidingWindow, .limit = 100, .period_ns = kSecond};
  const std::vector<int64_t> steady = Drive(limit, kSecond / 1000, 30 * kSecond, 5);
  // Demand spread evenly: close to exact, and well under the fixed window's 2x at boundaries.
  EXPECT_LE(MaxInAnySpan(steady, kSecond), 110);
  EXPECT_GE(steady.size(), 30u * 100 - 100);

  // The worst case: the previous window's requests all at its very end.
  Key key;
  int64_t window = (kStart / kSecond + 1) * kSecond;  // a window boundary
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(key.Check(limit, window - 1'000 + i, 1).allowed);
  int64_t admitted_after = 0;
  for (int64_t t = window; t < window + kSecond - 1'000; t += kSecond / 1000) {
    admitted_after += key.Check(limit, t, 1).allowed ? 1 : 0;
  }
  EXPECT_LE(100 + admitted_after, 200);
  EXPECT_GT(admitted_after, 0);
}

TEST(Limiter, TheExactSlidingLogNeverAdmitsMoreThanTheLimitInAnyWindow) {
  const Limit limit{.algorithm = Algorithm::kSlidingWindow, .limit = 50, .period_ns = kSecond};
  ASSERT_TRUE(UsesExactLog(limit));
  std::mt19937_64 rng(13);
  std::exponential_distribution<double> gap(1.0 / (kSecond / 400.0));
  LogKey key;
  std::vector<int64_t> admitted;
  for (int64_t now = kStart; now < kStart + 30 * kSecond;
       now += 1 + static_cast<int64_t>(gap(rng))) {
    const int64_t cost = 1 + static_cast<int64_t>(rng() % 3);
    if (key.Check(limit, now, cost).allowed) admitted.insert(admitted.end(), cost, now);
  }
  EXPECT_LE(MaxInAnySpan(admitted, kSecond), 50);  // exact, unlike the weighted counter
  EXPECT_GE(admitted.size(), 30u * 50 - 50);       // and it admits the limit's full rate
  EXPECT_LE(key.log.size(), 50u * 8);              // the log holds the window only
  EXPECT_FALSE(UsesExactLog({.algorithm = Algorithm::kSlidingWindow,
                             .limit = kExactLogMaxLimit + 1,
                             .period_ns = kSecond}));
}

TEST(Limiter, TheExactLogsHintsAreExactAndItsDenialsConsumeNothing) {
  std::mt19937_64 rng(17);
  const Limit limit{.algorithm = Algorithm::kSlidingWindow, .limit = 7, .period_ns = 3 * kSecond};
  LogKey key;
  int64_t now = kStart;
  int denials = 0;
  for (int i = 0; i < 2'000 && denials < 200; ++i) {
    const int64_t cost = 1 + static_cast<int64_t>(rng() % 3);
    const std::string before = key.log;
    const Decision d = key.Check(limit, now, cost);
    if (!d.allowed) {
      ++denials;
      EXPECT_EQ(key.log, before);
      LogKey early = key;
      EXPECT_FALSE(early.Check(limit, now + d.retry_after_ns - 1, cost).allowed);
      LogKey on_time = key;
      EXPECT_TRUE(on_time.Check(limit, now + d.retry_after_ns, cost).allowed);
    }
    now += static_cast<int64_t>(rng() % (kSecond / 4));
  }
  EXPECT_GT(denials, 10);
  LogKey fresh;
  EXPECT_TRUE(fresh.Check(limit, kStart, 8).impossible);
  EXPECT_EQ(fresh.Check(limit, kStart, 0).remaining, 7);
  EXPECT_TRUE(fresh.log.empty());
}

TEST(Limiter, ARetryAfterHintIsExactForEveryAlgorithm) {
  std::mt19937_64 rng(11);
  for (Algorithm algorithm : {Algorithm::kTokenBucket, Algorithm::kGcra, Algorithm::kFixedWindow,
                              Algorithm::kSlidingWindow}) {
    const Limit limit{.algorithm = algorithm, .limit = 7, .period_ns = 3 * kSecond};
    Key key;
    int64_t now = kStart + static_cast<int64_t>(rng() % kSecond);
    int denials = 0;
    for (int i = 0; i < 2'000 && denials < 200; ++i) {
      const int64_t cost = 1 + static_cast<int64_t>(rng() % 3);
      const Decision d = key.Check(limit, now, cost);
      if (!d.allowed) {
        ASSERT_FALSE(d.impossible);
        ASSERT_GT(d.retry_after_ns, 0);
        ++denials;
        Key early = key;
        EXPECT_FALSE(early.Check(limit, now + d.retry_after_ns - 1, cost).allowed)
            << AlgorithmName(algorithm) << ": the hint is not the earliest time";
        Key on_time = key;
        EXPECT_TRUE(on_time.Check(limit, now + d.retry_after_ns, cost).allowed)
            << AlgorithmName(algorithm) << ": a retry at the hint fails";
      }
      now += static_cast<int64_t>(rng() % (kSecond / 4));
    }
    EXPECT_GT(denials, 10) << AlgorithmName(algorithm);
  }
}

TEST(Limiter, DeniedRequestsConsumeNothingAndPeeksChangeNothing) {
  for (Algorithm algorithm : {Algorithm::kTokenBucket, Algorithm::kGcra, Algorithm::kFixedWindow,
                              Algorithm::kSlidingWindow}) {
    const Limit limit{.algorithm = algorithm, .limit = 3, .period_ns = kSecond};
    Key key;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(key.Check(limit, kStart, 1).allowed);
    const std::optional<LimiterState> full = key.state;
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(key.Check(limit, kStart, 1).allowed);
    EXPECT_EQ(key.state, full) << AlgorithmName(algorithm);
    const Decision peek = key.Check(limit, kStart, 0);
    EXPECT_TRUE(peek.allowed);
    EXPECT_EQ(peek.remaining, 0);
    EXPECT_EQ(key.state, full);
    Key fresh;
    const Decision fresh_peek = fresh.Check(limit, kStart, 0);
    EXPECT_EQ(fresh_peek.remaining, 3) << AlgorithmName(algorithm);
    EXPECT_FALSE(fresh.state.has_value());
  }
}

TEST(Limiter, ACostAboveTheCapacityIsImpossibleNotRetryable) {
  const Limit bucket{
      .algorithm = Algorithm::kTokenBucket, .limit = 10, .period_ns = kSecond, .burst = 5};
  Key key;
  const Decision d = key.Check(bucket, kStart, 6);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.impossible);
  EXPECT_EQ(d.retry_after_ns, 0);
  EXPECT_EQ(d.limit, 5);
  EXPECT_TRUE(key.Check(bucket, kStart, 5).allowed);
}

TEST(Limiter, RemainingAndResetDescribeTheState) {
  const Limit window{.algorithm = Algorithm::kFixedWindow, .limit = 10, .period_ns = 60 * kSecond};
  Key key;
  const int64_t start = (kStart / (60 * kSecond)) * 60 * kSecond;
  const Decision d = key.Check(window, start + 15 * kSecond, 4);
  EXPECT_EQ(d.remaining, 6);
  EXPECT_EQ(d.reset_after_ns, 45 * kSecond);
  EXPECT_EQ(key.deadline_ns, start + 60 * kSecond);  // windows of whole seconds: exact

  const Limit bucket{
      .algorithm = Algorithm::kTokenBucket, .limit = 1, .period_ns = kSecond, .burst = 10};
  Key b;
  EXPECT_EQ(b.Check(bucket, kStart, 4).reset_after_ns, 4 * kSecond);
  // Full again after 4 s, but kept while it may be checked again soon.
  EXPECT_EQ(b.deadline_ns, kStart + kKeepIdleNs);
  EXPECT_EQ(b.Check(bucket, kStart + 1, 1).reset_after_ns, 5 * kSecond - 1);
  EXPECT_EQ(b.deadline_ns, kStart + kKeepIdleNs + kSecond);  // rounded up to a whole second

  // A refill longer than the idle keep: the state goes once full.
  const Limit slow{
      .algorithm = Algorithm::kTokenBucket, .limit = 1, .period_ns = 60 * kSecond, .burst = 10};
  Key s;
  EXPECT_EQ(s.Check(slow, kStart, 1).reset_after_ns, 60 * kSecond);
  EXPECT_EQ(s.deadline_ns, kStart + 60 * kSecond);
}

TEST(Limiter, AStateOfAnotherAlgorithmCountsAsFresh) {
  Key key;
  const Limit window{.algorithm = Algorithm::kFixedWindow, .limit = 1, .period_ns = kSecond};
  ASSERT_TRUE(key.Check(window, kStart, 1).allowed);
  const Limit bucket{.algorithm = Algorithm::kTokenBucket, .limit = 1, .period_ns = kSecond};
  EXPECT_TRUE(key.Check(bucket, kStart, 1).allowed);
}

TEST(Limiter, ValidationNamesTheField) {
  EXPECT_THAT(ValidateLimit({.limit = 0, .period_ns = kSecond}, "limits[1].").message(),
              HasSubstr("limits[1].limit must be between 1 and"));
  EXPECT_THAT(ValidateLimit({.limit = 5, .period_ns = 0}).message(), HasSubstr("period"));
  EXPECT_THAT(
      ValidateLimit(
          {.algorithm = Algorithm::kFixedWindow, .limit = 5, .period_ns = kSecond, .burst = 9})
          .message(),
      HasSubstr("burst applies to token_bucket and gcra only"));
  EXPECT_THAT(
      ValidateLimit({.algorithm = Algorithm::kGcra, .limit = 5, .period_ns = kSecond, .burst = -1})
          .message(),
      HasSubstr("burst must be"));
  EXPECT_TRUE(
      ValidateLimit({.algorithm = Algorithm::kGcra, .limit = 5, .period_ns = kSecond, .burst = 50})
          .ok());
  EXPECT_EQ(ParseAlgorithm("leaky").status().code(), absl::StatusCode::kInvalidArgument);
  // Values outside the enum (the rate-limit fuzzer passed one through) are refused too.
  EXPECT_THAT(
      ValidateLimit({.algorithm = static_cast<Algorithm>(5), .limit = 5, .period_ns = kSecond},
                    "limits[0].")
          .message(),
      HasSubstr("limits[0].algorithm 5 is not one hotpath has"));
  EXPECT_FALSE(
      ValidateLimit({.algorithm = static_cast<Algorithm>(0), .limit = 5, .period_ns = kSecond})
          .ok());
}

TEST(Limiter, ExtremeLimitsStayExactAndRefillsBeyondACenturyAreRefused) {
  EXPECT_THAT(
      ValidateLimit(
          {.algorithm = Algorithm::kGcra, .limit = 1, .period_ns = kMaxPeriodNs, .burst = 1000})
          .message(),
      HasSubstr("the time to refill) must be at most 100 years"));
  for (Algorithm algorithm : {Algorithm::kTokenBucket, Algorithm::kGcra}) {
    const Limit huge{
        .algorithm = algorithm, .limit = kMaxLimit, .period_ns = kSecond, .burst = kMaxLimit};
    ASSERT_TRUE(ValidateLimit(huge).ok());
    Key key;
    EXPECT_TRUE(key.Check(huge, kStart, kMaxLimit).allowed) << AlgorithmName(algorithm);
    const Decision d = key.Check(huge, kStart, 1);
    EXPECT_FALSE(d.allowed) << AlgorithmName(algorithm);
    EXPECT_EQ(d.retry_after_ns, 1);  // one token per nanosecond
    // The longest refill allowed: a century (100 tokens, one per 366 days), still exact.
    const Limit slow{.algorithm = algorithm, .limit = 1, .period_ns = kMaxPeriodNs, .burst = 100};
    ASSERT_TRUE(ValidateLimit(slow).ok());
    Key slow_key;
    EXPECT_TRUE(slow_key.Check(slow, kStart, 100).allowed);
    const Decision wait = slow_key.Check(slow, kStart, 1);
    EXPECT_FALSE(wait.allowed);
    EXPECT_EQ(wait.retry_after_ns, kMaxPeriodNs) << AlgorithmName(algorithm);
    EXPECT_EQ(wait.reset_after_ns, kMaxRefillNs) << AlgorithmName(algorithm);
    EXPECT_GT(slow_key.deadline_ns, kStart);
  }
}

TEST(Limiter, AClockThatStepsBackNeitherWipesAWindowNorCreditsTimeTwice) {
  const int64_t boundary = (kStart / kSecond + 1) * kSecond;
  for (Algorithm algorithm : {Algorithm::kFixedWindow, Algorithm::kSlidingWindow}) {
    const Limit l{.algorithm = algorithm, .limit = 2, .period_ns = kSecond};
    Key key;
    ASSERT_TRUE(key.Check(l, boundary + 1, 2).allowed);  // the next window is full
    EXPECT_FALSE(key.Check(l, boundary - 1, 1).allowed) << AlgorithmName(algorithm);
  }
  const Limit bucket{
      .algorithm = Algorithm::kTokenBucket, .limit = 1000, .period_ns = kSecond, .burst = 1};
  Key key;
  ASSERT_TRUE(key.Check(bucket, kStart + kSecond, 1).allowed);  // empty at t + 1 s
  // Earlier readings (a thread that waited, a clock stepped back) get nothing refilled.
  EXPECT_FALSE(key.Check(bucket, kStart, 1).allowed);
  EXPECT_FALSE(key.Check(bucket, kStart + kSecond / 2, 1).allowed);
  EXPECT_TRUE(key.Check(bucket, kStart + kSecond + kSecond / 1000, 1).allowed);
}

}  // namespace
}  // namespace hotpath::ratelimit
