#include "services/leaderboard/schedule.h"

#include <array>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"

namespace hotpath::leaderboard {
namespace {

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                      "thu", "fri", "sat"};

struct FieldSpec {
  const char* name;
  int low;
  int high;
  const char* const* names;  // names[i] stands for low + i (months) or i (weekdays); or null
  int name_count;
};

absl::StatusOr<int> ValueOf(std::string_view text, const FieldSpec& spec) {
  int value = 0;
  if (absl::SimpleAtoi(AbslView(text), &value)) {
    if (value < spec.low || value > spec.high) {
      return absl::InvalidArgumentError(absl::StrCat("reset_schedule: ", spec.name, " value ",
                                                     value, " is outside ", spec.low, "-",
                                                     spec.high));
    }
    return value;
  }
  const std::string lower = absl::AsciiStrToLower(AbslView(text));
  for (int i = 0; i < spec.name_count; ++i) {
    if (lower == spec.names[i]) return spec.low == 1 ? i + 1 : i;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("reset_schedule: ", spec.name, " value \"", AbslView(text), "\" is not valid"));
}

// Sets the bits of `field` in [spec.low, spec.high]; returns whether the field was "*".
absl::StatusOr<bool> ParseField(std::string_view field, const FieldSpec& spec,
                                std::vector<bool>* bits) {
  bits->assign(spec.high + 1, false);
  for (absl::string_view split_item : absl::StrSplit(AbslView(field), ',')) {
    const std::string_view item(split_item.data(), split_item.size());
    int step = 1;
    std::string_view range = item;
    const size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      range = item.substr(0, slash);
      if (!absl::SimpleAtoi(AbslView(item.substr(slash + 1)), &step) || step < 1 ||
          step > spec.high - spec.low + 1) {
        return absl::InvalidArgumentError(absl::StrCat("reset_schedule: ", spec.name, " step in \"",
                                                       AbslView(item), "\" must be 1 to ",
                                                       spec.high - spec.low + 1));
      }
    }
    int first = spec.low;
    int last = spec.high;
    if (range != "*") {
      const size_t dash = range.find('-');
      HP_ASSIGN_OR_RETURN(first, ValueOf(range.substr(0, dash), spec));
      last = first;
      if (dash != std::string_view::npos) {
        HP_ASSIGN_OR_RETURN(last, ValueOf(range.substr(dash + 1), spec));
      } else if (slash != std::string_view::npos) {
        last = spec.high;  // "a/n": from a to the end, as cron reads it
      }
      if (last < first) {
        return absl::InvalidArgumentError(absl::StrCat("reset_schedule: ", spec.name, " range \"",
                                                       AbslView(range), "\" runs backwards"));
      }
    }
    for (int v = first; v <= last; v += step) (*bits)[v] = true;
  }
  // As in Vixie cron, a day field starting with "*" ("*/2" too) does not restrict the day.
  return !field.empty() && field.front() == '*';
}

}  // namespace

absl::StatusOr<ResetSchedule> ResetSchedule::Parse(std::string_view text) {
  std::string_view expression = text;
  if (text == "daily") expression = "0 0 * * *";
  if (text == "weekly") expression = "0 0 * * 1";
  if (text == "monthly") expression = "0 0 1 * *";
  std::vector<std::string_view> fields;
  for (absl::string_view field : absl::StrSplit(AbslView(expression), ' ', absl::SkipEmpty())) {
    fields.emplace_back(field.data(), field.size());
  }
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("reset_schedule \"", AbslView(text),
                     "\" is neither daily, weekly, monthly nor a five-field cron expression"));
  }
  static const FieldSpec kSpecs[5] = {
      {"minute", 0, 59, nullptr, 0},
      {"hour", 0, 23, nullptr, 0},
      {"day of month", 1, 31, nullptr, 0},
      {"month", 1, 12, kMonthNames.data(), 12},
      {"day of week", 0, 7, kWeekdayNames.data(), 7},
  };
  ResetSchedule schedule;
  std::vector<bool> bits;
  HP_RETURN_IF_ERROR(ParseField(fields[0], kSpecs[0], &bits).status());
  for (int i = 0; i < 60; ++i) schedule.minutes_[i] = bits[i];
  HP_RETURN_IF_ERROR(ParseField(fields[1], kSpecs[1], &bits).status());
  for (int i = 0; i < 24; ++i) schedule.hours_[i] = bits[i];
  HP_ASSIGN_OR_RETURN(schedule.any_day_, ParseField(fields[2], kSpecs[2], &bits));
  for (int i = 1; i <= 31; ++i) schedule.days_[i] = bits[i];
  HP_RETURN_IF_ERROR(ParseField(fields[3], kSpecs[3], &bits).status());
  for (int i = 1; i <= 12; ++i) schedule.months_[i] = bits[i];
  HP_ASSIGN_OR_RETURN(schedule.any_weekday_, ParseField(fields[4], kSpecs[4], &bits));
  for (int i = 0; i <= 6; ++i) schedule.weekdays_[i] = bits[i];
  if (bits[7]) schedule.weekdays_[0] = true;
  return schedule;
}

bool ResetSchedule::DayMatches(int day_of_month, int month, int weekday) const {
  if (!months_[month]) return false;
  const bool day = days_[day_of_month];
  const bool week = weekdays_[weekday];
  // Vixie cron's rule: either day field given as "*..." makes both apply; otherwise a day
  // matching either fires.
  return any_day_ || any_weekday_ ? day && week : day || week;
}

std::optional<int64_t> ResetSchedule::LastIn(int64_t after_ms, int64_t at_ms) const {
  // Windows ending at `at_ms`, widening: the first that holds a firing time holds the latest,
  // and a frequent schedule is found in a narrow one, so the walk stays short either way.
  constexpr int64_t kDayMs = 24 * 3600 * 1000LL;
  for (const int64_t window : {kDayMs, 32 * kDayMs, 400 * kDayMs, INT64_MAX}) {
    const int64_t from = at_ms - after_ms > window ? at_ms - window : after_ms;
    std::optional<int64_t> last;
    for (std::optional<int64_t> t = NextAfter(from); t.has_value() && *t <= at_ms;
         t = NextAfter(*t)) {
      last = t;
    }
    if (last.has_value() || from == after_ms) return last;
  }
  return std::nullopt;
}

std::optional<int64_t> ResetSchedule::NextAfter(int64_t after_ms) const {
  const absl::TimeZone utc = absl::UTCTimeZone();
  // The first whole minute strictly after `after_ms`.
  const absl::CivilMinute start = absl::ToCivilMinute(absl::FromUnixMillis(after_ms), utc) + 1;
  absl::CivilDay day = absl::CivilDay(start);
  constexpr int kDaysSearched = 8 * 366;
  for (int i = 0; i < kDaysSearched; ++i, ++day) {
    const int weekday = static_cast<int>(absl::GetWeekday(day));  // Monday = 0 in abseil
    if (!DayMatches(day.day(), day.month(), (weekday + 1) % 7)) continue;
    const bool first_day = i == 0;
    for (int hour = first_day ? start.hour() : 0; hour < 24; ++hour) {
      if (!hours_[hour]) continue;
      const int first_minute = first_day && hour == start.hour() ? start.minute() : 0;
      for (int minute = first_minute; minute < 60; ++minute) {
        if (!minutes_[minute]) continue;
        const absl::CivilMinute fire(day.year(), day.month(), day.day(), hour, minute);
        return absl::ToUnixMillis(absl::FromCivil(fire, utc));
      }
    }
  }
  return std::nullopt;
}

}  // namespace hotpath::leaderboard
