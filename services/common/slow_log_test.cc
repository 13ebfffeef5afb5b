#include "services/common/slow_log.h"

#include "gtest/gtest.h"

namespace hotpath {
namespace {

TEST(SlowLogTest, KeepsTheNewestCallsAtOrOverTheThreshold) {
  SlowLog log(absl::Milliseconds(10), /*length=*/2);
  const absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  log.Record("/a.S/Fast", 0, t, absl::Milliseconds(9));
  log.Record("/a.S/One", 0, t, absl::Milliseconds(10));
  log.Record("/a.S/Two", 14, t, absl::Milliseconds(50));
  log.Record("/a.S/Three", 0, t, absl::Seconds(1));
  EXPECT_EQ(log.total(), 3);
  const std::vector<SlowCall> newest = log.Newest(0);
  ASSERT_EQ(newest.size(), 2);
  EXPECT_EQ(newest[0].method, "/a.S/Three");
  EXPECT_EQ(newest[0].id, 3);
  EXPECT_EQ(newest[1].method, "/a.S/Two");
  EXPECT_EQ(newest[1].code, 14);
  EXPECT_EQ(newest[1].duration, absl::Milliseconds(50));
  ASSERT_EQ(log.Newest(1).size(), 1);
  EXPECT_EQ(log.Newest(0, /*reset=*/true).size(), 2);
  EXPECT_TRUE(log.Newest(0).empty());
  log.Record("/a.S/Four", 0, t, absl::Seconds(1));
  EXPECT_EQ(log.Newest(0).at(0).id, 4);
}

}  // namespace
}  // namespace hotpath
