#include "services/common/engine_metrics.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;

TEST(EngineMetrics, RendersTheKeyspaceStatsAtScrapeTime) {
  FakeClock clock;
  auto keyspace = Keyspace::Create({.shards = 8}, &clock).value();
  auto collectable = std::make_shared<EngineMetrics>(keyspace.get());

  ASSERT_TRUE(keyspace->Set({.key = "a"}, "1").ok());
  ASSERT_TRUE(keyspace->Set({.key = "b"}, "2", {.deadline = clock.Now() + absl::Seconds(1)}).ok());
  ASSERT_TRUE(keyspace->Set({.key = "c"}, "3", {.deadline = clock.Now() + absl::Seconds(1)}).ok());
  clock.Advance(absl::Seconds(1));
  ASSERT_EQ(keyspace->SweepExpired(10).removed, 2u);

  const std::string text = prometheus::TextSerializer().Serialize(collectable->Collect());
  EXPECT_THAT(text, HasSubstr("hotpath_engine_shards 8\n"));
  EXPECT_THAT(text, HasSubstr("hotpath_engine_keys 1\n"));
  EXPECT_THAT(text, HasSubstr("hotpath_engine_keys_with_deadline 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE hotpath_engine_expired_keys_total counter"));
  EXPECT_THAT(text, HasSubstr("hotpath_engine_expired_keys_total 2\n"));
  EXPECT_THAT(text, HasSubstr("hotpath_engine_mutations_total 5\n"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("hotpath_engine_memory_bytes ",
                                           keyspace->Stats().memory_bytes, "\n")));
}

}  // namespace
}  // namespace hotpath
