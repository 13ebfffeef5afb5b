#include "services/leaderboard/reset_scheduler.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace hotpath::leaderboard {
namespace {

absl::Time Utc(int y, int mo, int d, int h = 0) {
  return absl::FromCivil(absl::CivilHour(y, mo, d, h), absl::UTCTimeZone());
}

TEST(ResetScheduler, EndsADueSeasonWithNoCallOnTheBoard) {
  FakeClock clock;
  clock.Set(Utc(2026, 11, 25, 12));
  auto keyspace = Keyspace::Create({.shards = 2}, &clock).value();
  BoardStore store(keyspace.get(), BoardLimits{});
  absl::Notification reset;
  std::atomic<int> resets{0};
  store.set_on_reset([&] {
    if (resets.fetch_add(1) == 0) reset.Notify();
  });
  ASSERT_TRUE(store.Start().ok());
  v1::BoardOptions options;
  options.set_reset_schedule("daily");
  options.set_keep_seasons(1);
  ASSERT_TRUE(store.CreateBoard("default", "b", options).ok());

  ResetScheduler scheduler(&store, &clock, absl::Milliseconds(5));
  scheduler.Start();
  clock.Set(Utc(2026, 11, 26, 0) + absl::Seconds(1));
  // Nothing calls the store: only the scheduler can end the season.
  ASSERT_TRUE(reset.WaitForNotificationWithTimeout(absl::Seconds(30)));
  scheduler.Stop();
  EXPECT_EQ(resets.load(), 1);
  EXPECT_EQ(store.GetBoard("default", "b").value().live().number(), 2);
}

TEST(ResetScheduler, StopsPromptlyWhileWaitingForAFarReset) {
  FakeClock clock;
  clock.Set(Utc(2026, 11, 25, 12));
  auto keyspace = Keyspace::Create({.shards = 2}, &clock).value();
  BoardStore store(keyspace.get(), BoardLimits{});
  ASSERT_TRUE(store.Start().ok());
  v1::BoardOptions options;
  options.set_reset_schedule("monthly");
  ASSERT_TRUE(store.CreateBoard("default", "b", options).ok());
  // A poll far longer than any test: Stop must not wait it out.
  ResetScheduler scheduler(&store, &clock, absl::Hours(1));
  scheduler.Start();
  scheduler.Stop();
  EXPECT_EQ(store.GetBoard("default", "b").value().live().number(), 1);
}

}  // namespace
}  // namespace hotpath::leaderboard
