// Structured logs: one event per line, on stdout, as logfmt (the default) or JSON.
//
//   Log(LogLevel::kInfo, "serving", {{"grpc", address}, {"shards", absl::StrCat(n)}});
//   -> ts=2026-11-26T02:30:00.123Z level=info event=serving grpc=127.0.0.1:7070 shards=16
//
// Events are snake_case names (docs/observability.md lists hotpathd's). Callers never pass
// secrets, tokens or payloads: the log is for operators and may leave the machine.
// Thread safety: Log may be called from any thread; each line is written whole.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace hotpath {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

struct LogField {
  std::string_view key;
  std::string value;
};

// Lines below `min` are dropped. Until called: info and up, logfmt.
void ConfigureLog(LogLevel min, LogFormat format);
void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
// An info line written whatever log.level says: lifecycle events (serving, stopped) that
// supervisors and tests wait for.
void LogAlways(std::string_view event, std::initializer_list<LogField> fields = {});

// "debug", "info", "warn", "error"; "logfmt", "json". InvalidArgument otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text);
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text);
std::string_view LogLevelName(LogLevel level);

// One line as Log would write it, at `time_text` (tests).
std::string FormatLogLine(LogFormat format, std::string_view time_text, LogLevel level,
                          std::string_view event, std::initializer_list<LogField> fields);

}  // namespace hotpath
