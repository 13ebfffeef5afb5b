// Keyspace::UsageOf: keys and bytes by namespace, as every kind of change keeps them.
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/keyspace.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

TEST(NamespaceUsageTest, CountsFollowEveryKindOfChangeAndSumToTheWhole) {
  FakeClock clock(absl::FromUnixSeconds(1'700'000'000));
  auto keyspace = Keyspace::Create({.shards = 4}, &clock).value();
  const std::string namespaces[] = {"a", "b", "tenant-c"};
  std::mt19937 random(7);
  for (int step = 0; step < 20'000; ++step) {
    const std::string& ns = namespaces[random() % 3];
    const std::string key = absl::StrCat("k", random() % 200);
    const KeyRef ref{.ns = ns, .key = key};
    switch (random() % 8) {
      case 0:
        (void)keyspace->Set(ref, std::string(random() % 300, 'v'));
        break;
      case 1:
        (void)keyspace->Delete(ref);
        break;
      case 2:
        (void)keyspace->HashSet(ref, absl::StrCat("f", random() % 20), "value");
        break;
      case 3:
        (void)keyspace->HashDelete(ref, absl::StrCat("f", random() % 20));
        break;
      case 4:
        (void)keyspace->ZsetUpsert(ref, SortedSetOptions{}, absl::StrCat("m", random() % 30),
                                   static_cast<int64_t>(random() % 1000), step);
        break;
      case 5:
        (void)keyspace->ZsetRemove(ref, absl::StrCat("m", random() % 30));
        break;
      case 6:
        (void)keyspace->SetDeadline(ref, clock.Now() + absl::Milliseconds(random() % 2000));
        break;
      case 7:
        clock.Advance(absl::Milliseconds(random() % 50));
        keyspace->SweepExpired(random() % 4);
        break;
    }
  }
  std::map<std::string, int64_t> keys;
  keyspace->ForEachKey(
      [&](const KeyRef& key, const Value&, int64_t) { ++keys[std::string(key.ns)]; });
  int64_t bytes = 0;
  for (const std::string& ns : namespaces) {
    const NamespaceUsage usage = keyspace->UsageOf(ns);
    EXPECT_EQ(usage.keys, keys[ns]) << ns;
    EXPECT_GT(usage.bytes, 0) << ns;
    bytes += usage.bytes;
  }
  EXPECT_EQ(static_cast<uint64_t>(bytes), keyspace->MemoryBytes());
  EXPECT_EQ(keyspace->UsageOf("never").keys, 0);

  // Emptied, every namespace is back to nothing.
  std::vector<std::pair<std::string, std::string>> all;
  keyspace->ForEachKey([&](const KeyRef& key, const Value&, int64_t) {
    all.emplace_back(std::string(key.ns), std::string(key.key));
  });
  for (const auto& [ns, key] : all) ASSERT_TRUE(keyspace->Delete({.ns = ns, .key = key}).ok());
  for (const std::string& ns : namespaces) {
    EXPECT_EQ(keyspace->UsageOf(ns).keys, 0) << ns;
    EXPECT_EQ(keyspace->UsageOf(ns).bytes, 0) << ns;
  }
  EXPECT_EQ(keyspace->MemoryBytes(), 0u);
  // Nothing is kept for a namespace once it holds nothing: what the accounting keeps is bounded
  // by the keys, whatever namespaces callers name.
  for (const ShardStats& shard : keyspace->Stats().shards) EXPECT_EQ(shard.namespaces, 0u);
}

}  // namespace
}  // namespace hotpath
