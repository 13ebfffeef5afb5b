#include "tools/bench/latency_histogram.h"

#include <random>

#include "gtest/gtest.h"

namespace hotpath {
namespace {

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.Percentile(0.99), 0);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (int i = 1; i <= 100; ++i) histogram.Record(i);
  EXPECT_EQ(histogram.Percentile(0.5), 50);
  EXPECT_EQ(histogram.Percentile(0.99), 99);
  EXPECT_EQ(histogram.Percentile(1.0), 100);
  EXPECT_DOUBLE_EQ(histogram.mean(), 50.5);
}

TEST(LatencyHistogram, PercentilesStayWithinOnePercentOfTheTruth) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(11.0, 1.0);  // around 60 us, long tail
  std::vector<int64_t> samples;
  LatencyHistogram histogram;
  for (int i = 0; i < 200'000; ++i) {
    samples.push_back(static_cast<int64_t>(latency(rng)));
    histogram.Record(samples.back());
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {0.5, 0.9, 0.99, 0.999}) {
    const int64_t truth = samples[static_cast<size_t>(std::ceil(p * samples.size())) - 1];
    const int64_t reported = histogram.Percentile(p);
    EXPECT_GE(reported, truth) << p;
    EXPECT_LE(reported, truth * 1.01) << p;
  }
  EXPECT_EQ(histogram.max(), samples.back());
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a;
  LatencyHistogram b;
  for (int i = 0; i < 10; ++i) a.Record(1'000);
  for (int i = 0; i < 30; ++i) b.Record(1'000'000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 40u);
  EXPECT_LE(a.Percentile(0.25), 1'010);
  EXPECT_GE(a.Percentile(0.5), 1'000'000);
  EXPECT_EQ(a.max(), 1'000'000);
}

}  // namespace
}  // namespace hotpath
