#include "services/common/log.h"

#include "gtest/gtest.h"

namespace hotpath {
namespace {

constexpr char kTime[] = "2026-11-26T02:30:00.123Z";

TEST(LogTest, LogfmtQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTime, LogLevel::kInfo, "serving",
                          {{"grpc", "127.0.0.1:7070"}, {"data", ""}}),
            "ts=2026-11-26T02:30:00.123Z level=info event=serving grpc=127.0.0.1:7070 data=\"\"\n");
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTime, LogLevel::kWarn, "e",
                          {{"error", "bad \"x\" = 1\nnext"}}),
            "ts=2026-11-26T02:30:00.123Z level=warn event=e error=\"bad \\\"x\\\" = 1\\nnext\"\n");
  // JSON-style escapes that logfmt parsers read; UTF-8 kept, invalid bytes escaped.
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTime, LogLevel::kInfo, "e",
                          {{"path", "a\tb\r\x01 caf\xc3\xa9 \xff"}}),
            "ts=2026-11-26T02:30:00.123Z level=info event=e "
            "path=\"a\\tb\\r\\u0001 caf\xc3\xa9 \\u00ff\"\n");
}

TEST(LogTest, JsonEscapesEveryValue) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kTime, LogLevel::kError, "start_failed",
                          {{"error", "a\"b\\c\x01"}}),
            "{\"ts\":\"2026-11-26T02:30:00.123Z\",\"level\":\"error\",\"event\":\"start_failed\","
            "\"error\":\"a\\\"b\\\\c\\u0001\"}\n");
}

TEST(LogTest, LevelsAndFormatsParseByName) {
  EXPECT_EQ(ParseLogLevel("warn").value(), LogLevel::kWarn);
  EXPECT_EQ(ParseLogFormat("json").value(), LogFormat::kJson);
  EXPECT_FALSE(ParseLogLevel("loud").ok());
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

}  // namespace
}  // namespace hotpath
