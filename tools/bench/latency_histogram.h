// LatencyHistogram: records latencies in nanoseconds with bounded relative error, for
// percentiles over millions of samples in constant memory.
//
// Buckets are log-linear, as in HdrHistogram: below 128 ns one bucket per nanosecond, then
// every power of two is split into 128 equal buckets, so a reported percentile is within 0.8% of
// the true sample (it reports the bucket's upper edge). Covers up to 2^40 ns (18 minutes);
// larger values land in the last bucket.
//
// Thread safety: none; give each thread its own and Merge them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hotpath {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(int64_t nanos);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }
  // The smallest bucket edge at or below which `fraction` (0..1] of samples fall; 0 if empty.
  int64_t Percentile(double fraction) const;

 private:
  static constexpr int kSubBits = 7;
  static constexpr int kMaxBits = 40;
  static size_t BucketOf(uint64_t nanos);
  static int64_t UpperEdge(size_t bucket);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t max_ = 0;
};

}  // namespace hotpath
