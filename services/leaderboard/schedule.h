// ResetSchedule: when a board's season ends, in UTC.
//
//   "daily"    every day at 00:00          ("0 0 * * *")
//   "weekly"   every Monday at 00:00       ("0 0 * * 1")
//   "monthly"  the 1st of a month at 00:00 ("0 0 1 * *")
//   or a five-field cron expression "minute hour day-of-month month day-of-week": each field *,
//   a number, a range a-b, a list a,b,c, any of them with a step /n; months and weekdays also
//   by three-letter English name; weekday 0 or 7 is Sunday. As in Vixie cron, when both day
//   fields are restricted a day matching either one fires, and when either starts with "*"
//   ("*/2" too) a day must match both.
//
// Errors: Parse returns InvalidArgument naming the field at fault.
// Thread safety: immutable after Parse; safe to share.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace hotpath::leaderboard {

class ResetSchedule {
 public:
  static absl::StatusOr<ResetSchedule> Parse(std::string_view text);

  // The first time the schedule fires strictly after `after_ms` (Unix milliseconds), in Unix
  // milliseconds. Nullopt when it never fires within the next eight years ("0 0 30 2 *").
  std::optional<int64_t> NextAfter(int64_t after_ms) const;
  // The latest time the schedule fires in (after_ms, at_ms], nullopt if none. Costs about as
  // many steps as firings in the last day (or month, or year, whichever first holds one).
  std::optional<int64_t> LastIn(int64_t after_ms, int64_t at_ms) const;

 private:
  ResetSchedule() = default;

  bool DayMatches(int day_of_month, int month, int weekday) const;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;      // 1..31
  std::bitset<13> months_;    // 1..12
  std::bitset<7> weekdays_;   // 0 = Sunday
  bool any_day_ = false;      // the day-of-month field started with "*"
  bool any_weekday_ = false;  // the day-of-week field started with "*"
};

}  // namespace hotpath::leaderboard
