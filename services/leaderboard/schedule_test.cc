#include "services/leaderboard/schedule.h"

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath::leaderboard {
namespace {

using ::testing::HasSubstr;

int64_t At(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

int64_t Next(const std::string& schedule, int64_t after_ms) {
  return ResetSchedule::Parse(schedule).value().NextAfter(after_ms).value();
}

TEST(ResetSchedule, NamedSchedulesFireAtMidnightUtc) {
  // 2026-11-25 is a Wednesday.
  EXPECT_EQ(Next("daily", At(2026, 11, 25, 13, 5)), At(2026, 11, 26));
  EXPECT_EQ(Next("weekly", At(2026, 11, 25, 13, 5)), At(2026, 11, 30));  // Monday
  EXPECT_EQ(Next("monthly", At(2026, 11, 25, 13, 5)), At(2026, 12, 1));
  EXPECT_EQ(Next("monthly", At(2026, 12, 31, 23, 59, 59)), At(2027, 1, 1));
}

TEST(ResetSchedule, NextIsStrictlyAfterAFiringTime) {
  EXPECT_EQ(Next("daily", At(2026, 11, 26)), At(2026, 11, 27));
  EXPECT_EQ(Next("daily", At(2026, 11, 26) - 1), At(2026, 11, 26));
  EXPECT_EQ(Next("* * * * *", At(2026, 11, 26, 10, 0, 30)), At(2026, 11, 26, 10, 1));
}

TEST(ResetSchedule, CronFieldsWithListsRangesStepsAndNames) {
  // Every 15 minutes from 9 to 17 on weekdays.
  const std::string work = "*/15 9-17 * * mon-fri";
  EXPECT_EQ(Next(work, At(2026, 11, 25, 8, 59)), At(2026, 11, 25, 9, 0));
  EXPECT_EQ(Next(work, At(2026, 11, 25, 9, 0)), At(2026, 11, 25, 9, 15));
  EXPECT_EQ(Next(work, At(2026, 11, 25, 17, 45)), At(2026, 11, 26, 9, 0));
  EXPECT_EQ(Next(work, At(2026, 11, 27, 17, 45)), At(2026, 11, 30, 9, 0));  // Fri -> Mon
  EXPECT_EQ(Next("30 6 1,15 * *", At(2026, 11, 2)), At(2026, 11, 15, 6, 30));
  EXPECT_EQ(Next("0 0 1 jan *", At(2026, 11, 2)), At(2027, 1, 1));
  EXPECT_EQ(Next("0 12 * * 7", At(2026, 11, 25)), At(2026, 11, 29, 12));  // 7 is Sunday
  EXPECT_EQ(Next("5/20 * * * *", At(2026, 11, 25, 10, 26)), At(2026, 11, 25, 10, 45));
}

TEST(ResetSchedule, BothDayFieldsRestrictedMatchEitherAsCronDoes) {
  // The 1st of the month or any Friday.
  EXPECT_EQ(Next("0 0 1 * fri", At(2026, 11, 25)), At(2026, 11, 27));
  EXPECT_EQ(Next("0 0 1 * fri", At(2026, 11, 28)), At(2026, 12, 1));
}

TEST(ResetSchedule, LeapDayAndImpossibleDates) {
  EXPECT_EQ(Next("0 0 29 2 *", At(2026, 3, 1)), At(2028, 2, 29));
  EXPECT_FALSE(ResetSchedule::Parse("0 0 30 2 *").value().NextAfter(At(2026, 1, 1)).has_value());
}

TEST(ResetSchedule, StepsReadAsCronReadsThem) {
  // "a/n" runs from a to the end of the field, for n = 1 too.
  EXPECT_EQ(Next("50/1 * * * *", At(2026, 11, 25, 10, 52)), At(2026, 11, 25, 10, 53));
  // A day field starting with "*" does not restrict the day, even with a step: "every other
  // day of the month, on Mondays" means both.
  EXPECT_EQ(Next("0 0 */2 * mon", At(2026, 11, 25)), At(2026, 12, 7));  // Mon 7 Dec (odd day)
}

TEST(ResetSchedule, LastInFindsTheLatestFiringTime) {
  const ResetSchedule minutely = ResetSchedule::Parse("* * * * *").value();
  EXPECT_EQ(minutely.LastIn(At(2024, 1, 1), At(2026, 11, 25, 10, 30, 15)),
            At(2026, 11, 25, 10, 30));
  const ResetSchedule yearly = ResetSchedule::Parse("0 0 1 1 *").value();
  EXPECT_EQ(yearly.LastIn(At(2020, 6, 1), At(2026, 11, 25)), At(2026, 1, 1));
  const ResetSchedule leap = ResetSchedule::Parse("0 0 29 2 *").value();
  EXPECT_EQ(leap.LastIn(At(2020, 6, 1), At(2026, 11, 25)), At(2024, 2, 29));
  EXPECT_FALSE(leap.LastIn(At(2024, 3, 1), At(2026, 11, 25)).has_value());
  // The interval is open at its start and closed at its end.
  EXPECT_EQ(yearly.LastIn(At(2026, 1, 1) - 1, At(2026, 1, 1)), At(2026, 1, 1));
  EXPECT_FALSE(yearly.LastIn(At(2026, 1, 1), At(2026, 11, 25)).has_value());
}

TEST(ResetSchedule, RejectsBadExpressionsNamingTheField) {
  EXPECT_THAT(ResetSchedule::Parse("hourly").status().message(), HasSubstr("five-field"));
  EXPECT_THAT(ResetSchedule::Parse("60 * * * *").status().message(), HasSubstr("minute"));
  EXPECT_THAT(ResetSchedule::Parse("0 24 * * *").status().message(), HasSubstr("hour"));
  EXPECT_THAT(ResetSchedule::Parse("0 0 0 * *").status().message(), HasSubstr("day of month"));
  EXPECT_THAT(ResetSchedule::Parse("0 0 * 13 *").status().message(), HasSubstr("month"));
  EXPECT_THAT(ResetSchedule::Parse("0 0 * * 8").status().message(), HasSubstr("day of week"));
  EXPECT_THAT(ResetSchedule::Parse("*/0 * * * *").status().message(), HasSubstr("step"));
  EXPECT_THAT(ResetSchedule::Parse("1/2147483647 * * * *").status().message(), HasSubstr("step"));
  EXPECT_THAT(ResetSchedule::Parse("5-1 * * * *").status().message(), HasSubstr("backwards"));
  EXPECT_THAT(ResetSchedule::Parse("0 0 * * funday").status().message(), HasSubstr("day of week"));
  EXPECT_FALSE(ResetSchedule::Parse("0 0 * *").ok());
}

}  // namespace
}  // namespace hotpath::leaderboard
