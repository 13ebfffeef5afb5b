// KeyChooser: which key an operation touches, uniformly or with a Zipfian skew.
//
// Zipfian follows YCSB (Gray et al., "Quickly generating billion-record synthetic databases"):
// rank r is drawn with probability proportional to 1/r^theta, then mapped to a key by a fixed
// permutation (r * m mod keys, m coprime with keys) so the hot keys are spread over the key
// space rather than being keys 0, 1, 2, and every key can be drawn. theta 0.99 is YCSB's
// default; the constants cost O(keys) once, at construction.
//
// Thread safety: none; copy one per worker (copies share nothing and are cheap).
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/statusor.h"

namespace hotpath {

enum class Distribution { kUniform, kZipfian };

absl::StatusOr<Distribution> ParseDistribution(const std::string& name);

class KeyChooser {
 public:
  // `keys` >= 1; theta in (0, 1) for Zipfian.
  KeyChooser(uint64_t keys, Distribution distribution, double theta, uint64_t seed);

  // A key index in [0, keys).
  uint64_t Next();
  // A reseeded copy for one worker.
  KeyChooser ForWorker(uint64_t worker) const;

 private:
  uint64_t NextRank();

  uint64_t keys_;
  uint64_t seed_;
  uint64_t multiplier_ = 1;  // coprime with keys_: rank -> key is a permutation
  Distribution distribution_;
  double theta_ = 0;
  double zeta_n_ = 0;
  double alpha_ = 0;
  double eta_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace hotpath
