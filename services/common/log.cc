#include "services/common/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/common/absl_view.h"
#include "services/common/utf8.h"

namespace hotpath {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> format_kind{static_cast<int>(LogFormat::kLogfmt)};
absl::Mutex write_mu;

// A quoted string with JSON's escapes (which logfmt parsers also read): '"', '\\', \n, \r,
// \t, other control characters as \u00XX, and bytes that are not valid UTF-8 as \u00XX of
// the byte (so the line stays valid UTF-8).
void AppendQuoted(std::string* out, std::string_view value) {
  out->push_back('"');
  for (size_t i = 0; i < value.size();) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    const size_t length = Utf8Length(value.substr(i));
    if (c >= 0x80 && length > 0) {
      out->append(value.substr(i, length));
      i += length;
      continue;
    }
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c < 0x20 || c >= 0x7f) {
      absl::StrAppendFormat(out, "\\u%04x", c);
    } else {
      out->push_back(static_cast<char>(c));
    }
    ++i;
  }
  out->push_back('"');
}

// logfmt: a bare value when it is printable ASCII with no space, quote or '='; else quoted.
void AppendLogfmtValue(std::string* out, std::string_view value) {
  bool bare = !value.empty();
  for (unsigned char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c >= 0x7f) bare = false;
  }
  if (bare) {
    out->append(value);
  } else {
    AppendQuoted(out, value);
  }
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LogLevelName(level)) return level;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", AbslView(text), "\" is not a log level (debug, info, warn, error)"));
}

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "logfmt") return LogFormat::kLogfmt;
  if (text == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("\"", AbslView(text), "\" is not a log format (logfmt, json)"));
}

void ConfigureLog(LogLevel min, LogFormat format) {
  min_level.store(static_cast<int>(min));
  format_kind.store(static_cast<int>(format));
}

std::string FormatLogLine(LogFormat format, std::string_view time_text, LogLevel level,
                          std::string_view event, std::initializer_list<LogField> fields) {
  std::string line;
  if (format == LogFormat::kJson) {
    line = absl::StrCat("{\"ts\":\"", AbslView(time_text), "\",\"level\":\"",
                        AbslView(LogLevelName(level)), "\",\"event\":");
    AppendQuoted(&line, event);
    for (const LogField& field : fields) {
      line.push_back(',');
      AppendQuoted(&line, field.key);
      line.push_back(':');
      AppendQuoted(&line, field.value);
    }
    line.push_back('}');
  } else {
    line = absl::StrCat("ts=", AbslView(time_text), " level=", AbslView(LogLevelName(level)),
                        " event=");
    AppendLogfmtValue(&line, event);
    for (const LogField& field : fields) {
      absl::StrAppend(&line, " ", AbslView(field.key), "=");
      AppendLogfmtValue(&line, field.value);
    }
  }
  line.push_back('\n');
  return line;
}

namespace {

void Write(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  const std::string time_text =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  const std::string line =
      FormatLogLine(static_cast<LogFormat>(format_kind.load(std::memory_order_relaxed)), time_text,
                    level, event, fields);
  absl::MutexLock lock(&write_mu);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < min_level.load(std::memory_order_relaxed)) return;
  Write(level, event, fields);
}

void LogAlways(std::string_view event, std::initializer_list<LogField> fields) {
  Write(LogLevel::kInfo, event, fields);
}

}  // namespace hotpath
