// Checks over the keyspace: several limits as one step, batches all or nothing, validation
// that names the field, reset, and state recorded once per flush.
#include "services/ratelimit/rate_limiter.h"

#include "engine/testing/recording_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath::ratelimit {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;

class RateLimiterTest : public ::testing::Test {
 protected:
  RateLimiterTest()
      : keyspace_(Keyspace::Create({.shards = 16}, &clock_, &sink_).value()),
        limiter_(keyspace_.get()) {}

  static Limit Fixed(int64_t limit, int64_t period_ns) {
    return {.algorithm = Algorithm::kFixedWindow, .limit = limit, .period_ns = period_ns};
  }

  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  RecordingSink sink_;
  std::unique_ptr<Keyspace> keyspace_;
  RateLimiter limiter_;
};

TEST_F(RateLimiterTest, SeveralLimitsPassTogetherOrConsumeNothing) {
  const CheckSpec check{.key = "user7", .limits = {Fixed(2, kSecond), Fixed(3, 3600 * kSecond)}};
  EXPECT_EQ(limiter_.Check(check)->outcome, Outcome::kAllowed);
  EXPECT_EQ(limiter_.Check(check)->outcome, Outcome::kAllowed);
  const CheckResult denied = limiter_.Check(check).value();
  EXPECT_EQ(denied.outcome, Outcome::kDenied);
  EXPECT_TRUE(denied.limits[1].allowed);  // the hourly limit had room, but consumed nothing
  EXPECT_GT(denied.retry_after_ns, 0);
  EXPECT_LE(denied.retry_after_ns, kSecond);
  const CheckResult hourly =
      limiter_.Check({.key = "user7", .limits = {Fixed(3, 3600 * kSecond)}, .cost = 0}).value();
  EXPECT_EQ(hourly.remaining, 1);
  clock_.Advance(absl::Seconds(1));
  const CheckResult last = limiter_.Check(check).value();
  EXPECT_EQ(last.outcome, Outcome::kAllowed);
  EXPECT_EQ(last.remaining, 0);  // the tightest: the hour's last one is gone
  EXPECT_EQ(last.limit, 3);
}

TEST_F(RateLimiterTest, AnAllOrNothingBatchConsumesNothingUnlessEveryCheckPasses) {
  const CheckSpec a{.key = "a", .limits = {Fixed(5, kSecond)}};
  const CheckSpec b{.key = "b", .limits = {Fixed(1, kSecond)}};
  ASSERT_EQ(limiter_.Check(b)->outcome, Outcome::kAllowed);  // b is now full
  const BatchResult batch = limiter_.CheckBatch({a, b}, /*all_or_nothing=*/true).value();
  EXPECT_FALSE(batch.consumed);
  EXPECT_EQ(batch.results[0].outcome, Outcome::kAllowed);
  EXPECT_EQ(batch.results[1].outcome, Outcome::kDenied);
  EXPECT_EQ(limiter_.Check({.key = "a", .limits = a.limits, .cost = 0})->remaining, 5);

  // Without it, each check stands alone.
  const BatchResult loose = limiter_.CheckBatch({a, b}, /*all_or_nothing=*/false).value();
  EXPECT_TRUE(loose.consumed);
  EXPECT_EQ(limiter_.Check({.key = "a", .limits = a.limits, .cost = 0})->remaining, 4);
}

TEST_F(RateLimiterTest, AShadowCheckNeverFailsAnAllOrNothingBatch) {
  const CheckSpec a{.key = "a", .limits = {Fixed(5, kSecond)}};
  CheckSpec full{.key = "full", .limits = {Fixed(1, kSecond)}, .shadow = true};
  ASSERT_EQ(limiter_.Check(full)->outcome, Outcome::kAllowed);
  const BatchResult batch = limiter_.CheckBatch({a, full}, /*all_or_nothing=*/true).value();
  EXPECT_TRUE(batch.consumed);
  EXPECT_EQ(batch.results[0].outcome, Outcome::kAllowed);
  EXPECT_EQ(batch.results[1].outcome, Outcome::kDenied);  // the real answer, for the caller
  EXPECT_EQ(limiter_.Check({.key = "a", .limits = a.limits, .cost = 0})->remaining, 4);
}

TEST_F(RateLimiterTest, ALoneDeniedAtomicCheckReportsNothingConsumed) {
  // The only check in the all-or-nothing step is denied: nothing was consumed, and it says so,
  // though a shadow check beside it (outside the step) was allowed.
  const CheckSpec shadowed{.key = "shadowed", .limits = {Fixed(5, kSecond)}, .shadow = true};
  const CheckSpec one{.key = "one", .limits = {Fixed(1, kSecond)}};
  ASSERT_EQ(limiter_.Check(one)->outcome, Outcome::kAllowed);
  const BatchResult lone = limiter_.CheckBatch({shadowed, one}, /*all_or_nothing=*/true).value();
  EXPECT_EQ(lone.results[0].outcome, Outcome::kAllowed);
  EXPECT_EQ(lone.results[1].outcome, Outcome::kDenied);
  EXPECT_FALSE(lone.consumed);
}

TEST_F(RateLimiterTest, ABatchSeesWhatItsEarlierChecksTook) {
  const CheckSpec one{.key = "k", .limits = {Fixed(3, kSecond)}, .cost = 2};
  const BatchResult batch = limiter_.CheckBatch({one, one}, /*all_or_nothing=*/true).value();
  EXPECT_EQ(batch.results[0].outcome, Outcome::kAllowed);
  EXPECT_EQ(batch.results[1].outcome, Outcome::kDenied);
  EXPECT_FALSE(batch.consumed);
  const BatchResult in_turn = limiter_.CheckBatch({one, one}, false).value();
  EXPECT_EQ(in_turn.results[0].outcome, Outcome::kAllowed);
  EXPECT_EQ(in_turn.results[1].outcome, Outcome::kDenied);
  EXPECT_EQ(limiter_.Check({.key = "k", .limits = one.limits, .cost = 0})->remaining, 1);
}

TEST_F(RateLimiterTest, IndependentChecksOfManyKeysKeepRequestOrderPerKey) {
  std::vector<CheckSpec> checks;
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < 40; ++k) {
      checks.push_back({.key = "user" + std::to_string(k), .limits = {Fixed(2, kSecond)}});
    }
  }
  const BatchResult batch = limiter_.CheckBatch(checks, /*all_or_nothing=*/false).value();
  ASSERT_EQ(batch.results.size(), checks.size());
  for (size_t i = 0; i < checks.size(); ++i) {
    EXPECT_EQ(batch.results[i].outcome, i < 80 ? Outcome::kAllowed : Outcome::kDenied) << i;
  }
}

TEST_F(RateLimiterTest, AKeyWithAnEmptyHashTagStillKeepsRequestOrder) {
  // "}..." makes state keys "rl:{}...": no tag, so a key's limits may live in different
  // shards. Pick a key whose second limit's shard comes before its first's, so that running
  // the checks by shard would let the later checks of `tight` alone go first.
  const Limit loose = Fixed(100, kSecond);
  const Limit tight = Fixed(2, 3600 * kSecond);
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string candidate = "}odd" + std::to_string(i);
    const std::string a = RateLimiter::StateKey(candidate, loose);
    const std::string b = RateLimiter::StateKey(candidate, tight);
    if (keyspace_->ShardOf({.key = b}) < keyspace_->ShardOf({.key = a})) key = candidate;
  }
  const CheckSpec both{.key = key, .limits = {loose, tight}};
  const CheckSpec alone{.key = key, .limits = {tight}};
  const BatchResult batch = limiter_.CheckBatch({both, alone, both, alone}, false).value();
  EXPECT_EQ(batch.results[0].outcome, Outcome::kAllowed);
  EXPECT_EQ(batch.results[1].outcome, Outcome::kAllowed);
  EXPECT_EQ(batch.results[2].outcome, Outcome::kDenied);
  EXPECT_EQ(batch.results[3].outcome, Outcome::kDenied);
}

TEST_F(RateLimiterTest, KeysWithBracesKeepTheirStateWhereTheKeyspaceLooksForIt) {
  // The limiter routes a check by its key's hash tag without building every name; Reset finds
  // the state by the whole name, as any engine lookup does. A check routed elsewhere would
  // leave state that Reset cannot see.
  const std::vector<Limit> limits = {Fixed(5, kSecond), Fixed(50, 60 * kSecond)};
  for (const std::string key :
       {"plain", "a{b}c", "a}b", "{x}", "a{b", "}lead", "x{}y", "a{b}c}d", "}", "}}{", "{}"}) {
    SCOPED_TRACE(key);
    const CheckSpec check{.key = key, .limits = limits};
    ASSERT_EQ(limiter_.Check(check)->outcome, Outcome::kAllowed);
    ASSERT_EQ(limiter_.CheckBatch({check, check}, /*all_or_nothing=*/false)->results.size(), 2u);
    for (const Limit& limit : limits) {
      const CheckResult peek = limiter_.Check({.key = key, .limits = {limit}, .cost = 0}).value();
      EXPECT_EQ(peek.remaining, limit.limit - 3);
      EXPECT_TRUE(keyspace_->Exists(KeyRef{"default", RateLimiter::StateKey(key, limit)}).value());
    }
    EXPECT_TRUE(limiter_.Reset(check).value());
    for (const Limit& limit : limits) {
      EXPECT_FALSE(keyspace_->Exists(KeyRef{"default", RateLimiter::StateKey(key, limit)}).value());
    }
  }
}

TEST_F(RateLimiterTest, ACostNoLimitCanAdmitIsCostTooHigh) {
  const CheckResult r =
      limiter_.Check({.key = "k", .limits = {Fixed(3, kSecond)}, .cost = 4}).value();
  EXPECT_EQ(r.outcome, Outcome::kCostTooHigh);
  EXPECT_EQ(r.retry_after_ns, 0);
}

TEST_F(RateLimiterTest, ValidationNamesTheField) {
  EXPECT_THAT(
      RateLimiter::Validate({.key = "", .limits = {Fixed(1, kSecond)}}, "checks[2].").message(),
      HasSubstr("checks[2].key must be 1 to 4096 bytes"));
  EXPECT_THAT(RateLimiter::Validate({.key = "k"}).message(), HasSubstr("limits must hold 1 to 8"));
  EXPECT_THAT(RateLimiter::Validate({.key = "k", .limits = {Fixed(0, kSecond)}}).message(),
              HasSubstr("limits[0].limit must be between 1"));
  EXPECT_THAT(RateLimiter::Validate({.key = "k", .limits = {Fixed(1, kSecond), Fixed(1, kSecond)}})
                  .message(),
              HasSubstr("limits[1] repeats limits[0]"));
  EXPECT_THAT(
      RateLimiter::Validate({.key = "k", .limits = {Fixed(1, kSecond)}, .cost = -1}).message(),
      HasSubstr("cost must be between 0"));
  EXPECT_EQ(limiter_.Check({.ns = "", .key = "k", .limits = {Fixed(1, kSecond)}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RateLimiterTest, ResetForgetsTheState) {
  const CheckSpec check{.key = "k", .limits = {Fixed(1, kSecond)}};
  ASSERT_EQ(limiter_.Check(check)->outcome, Outcome::kAllowed);
  ASSERT_EQ(limiter_.Check(check)->outcome, Outcome::kDenied);
  EXPECT_TRUE(limiter_.Reset(check).value());
  EXPECT_EQ(limiter_.Check(check)->outcome, Outcome::kAllowed);
  EXPECT_FALSE(limiter_.Reset({.key = "never", .limits = check.limits}).value());
}

TEST_F(RateLimiterTest, StateIsRecordedOncePerKeyPerFlush) {
  const CheckSpec check{.key = "k", .limits = {Fixed(100, kSecond), Fixed(1000, 60 * kSecond)}};
  for (int i = 0; i < 50; ++i) ASSERT_EQ(limiter_.Check(check)->outcome, Outcome::kAllowed);
  EXPECT_TRUE(sink_.records().empty());
  EXPECT_EQ(keyspace_->FlushDeferred(), 2u);
  const auto records = sink_.records();
  ASSERT_EQ(records.size(), 2u);
  for (const Record& record : records) EXPECT_EQ(record.value->limiter().slots[1], 50);
}

TEST_F(RateLimiterTest, SmallSlidingWindowsAreExactLogsKeptAsStringsAndRecorded) {
  const CheckSpec check{
      .key = "k",
      .limits = {{.algorithm = Algorithm::kSlidingWindow, .limit = 3, .period_ns = kSecond}}};
  for (int i = 0; i < 3; ++i) ASSERT_EQ(limiter_.Check(check)->outcome, Outcome::kAllowed);
  clock_.Advance(absl::Milliseconds(500));
  const CheckResult denied = limiter_.Check(check).value();
  EXPECT_EQ(denied.outcome, Outcome::kDenied);
  EXPECT_EQ(denied.retry_after_ns, kSecond / 2);  // when the first three leave the window
  const std::string name = RateLimiter::StateKey("k", check.limits[0]);
  const KeyRef state{"default", name};
  EXPECT_EQ(keyspace_->Type(state).value(), ValueType::kString);
  EXPECT_EQ(keyspace_->FlushDeferred(), 1u);
  EXPECT_EQ(sink_.records().back().value->string().size(), 3u * 8);
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_EQ(limiter_.Check(check)->outcome, Outcome::kAllowed);
}

}  // namespace
}  // namespace hotpath::ratelimit
