#include "tools/bench/key_chooser.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"

namespace hotpath {
namespace {

std::vector<uint64_t> Counts(KeyChooser chooser, uint64_t keys, int draws) {
  std::vector<uint64_t> counts(keys);
  for (int i = 0; i < draws; ++i) {
    const uint64_t key = chooser.Next();
    EXPECT_LT(key, keys);
    ++counts[key];
  }
  std::sort(counts.rbegin(), counts.rend());
  return counts;
}

TEST(KeyChooser, UniformSpreadsEvenly) {
  const auto counts = Counts(KeyChooser(100, Distribution::kUniform, 0, 1), 100, 100'000);
  EXPECT_LT(counts.front(), 1'300u);  // expected 1000 each
  EXPECT_GT(counts.back(), 700u);
}

TEST(KeyChooser, ZipfianMakesAFewKeysHot) {
  const auto counts = Counts(KeyChooser(1000, Distribution::kZipfian, 0.99, 1), 1000, 200'000);
  // With theta 0.99 over 1000 keys the hottest key takes about 13% and the top 10 about 39%.
  uint64_t top10 = 0;
  for (int i = 0; i < 10; ++i) top10 += counts[i];
  EXPECT_GT(counts.front(), 200'000u / 10);
  EXPECT_GT(top10, 200'000u * 3 / 10);
  EXPECT_LT(counts.back(), 100u);
}

TEST(KeyChooser, ZipfianCanReachEveryKey) {
  // Ranks map to keys one to one, so with enough draws even the coldest key appears.
  const auto counts = Counts(KeyChooser(50, Distribution::kZipfian, 0.5, 9), 50, 200'000);
  EXPECT_GT(counts.back(), 0u);
}

TEST(KeyChooser, TheSeedChangesTheSequence) {
  KeyChooser a = KeyChooser(1'000'000, Distribution::kUniform, 0, 1).ForWorker(0);
  KeyChooser b = KeyChooser(1'000'000, Distribution::kUniform, 0, 2).ForWorker(0);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a.Next() == b.Next();
  EXPECT_LT(same, 5);
}

TEST(KeyChooser, WorkersDrawDifferentSequences) {
  const KeyChooser base(1'000'000, Distribution::kUniform, 0, 1);
  KeyChooser a = base.ForWorker(0);
  KeyChooser b = base.ForWorker(1);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a.Next() == b.Next();
  EXPECT_LT(same, 5);
}

TEST(ParseDistribution, NamesTheAllowedValues) {
  EXPECT_EQ(ParseDistribution("zipfian").value(), Distribution::kZipfian);
  EXPECT_FALSE(ParseDistribution("normal").ok());
}

}  // namespace
}  // namespace hotpath
