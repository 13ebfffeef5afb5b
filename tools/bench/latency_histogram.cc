#include "tools/bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace hotpath {
namespace {

constexpr uint64_t kSubBuckets = 1u << 7;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(BucketOf((uint64_t{1} << kMaxBits) - 1) + 1) {}

size_t LatencyHistogram::BucketOf(uint64_t nanos) {
  nanos = std::min<uint64_t>(nanos, (uint64_t{1} << kMaxBits) - 1);
  if (nanos < kSubBuckets) return nanos;
  const int shift = std::bit_width(nanos) - 1 - kSubBits;
  return (shift + 1) * kSubBuckets + ((nanos >> shift) - kSubBuckets);
}

int64_t LatencyHistogram::UpperEdge(size_t bucket) {
  if (bucket < kSubBuckets) return static_cast<int64_t>(bucket);
  const int shift = static_cast<int>(bucket / kSubBuckets) - 1;
  const uint64_t sub = bucket % kSubBuckets + kSubBuckets;
  return static_cast<int64_t>(((sub + 1) << shift) - 1);
}

void LatencyHistogram::Record(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  ++counts_[BucketOf(static_cast<uint64_t>(nanos))];
  ++count_;
  sum_ += nanos;
  max_ = std::max(max_, nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

int64_t LatencyHistogram::Percentile(double fraction) const {
  if (count_ == 0) return 0;
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(UpperEdge(i), max_);
  }
  return max_;
}

}  // namespace hotpath
