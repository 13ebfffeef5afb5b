#include "tools/bench/key_chooser.h"

#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace hotpath {
namespace {

double Zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 1; i <= n; ++i) sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

// 64-bit mix (splitmix64's finaliser): derives independent worker seeds.
uint64_t Scramble(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

absl::StatusOr<Distribution> ParseDistribution(const std::string& name) {
  if (name == "uniform") return Distribution::kUniform;
  if (name == "zipfian") return Distribution::kZipfian;
  return absl::InvalidArgumentError(
      absl::StrCat("distribution must be uniform or zipfian, got \"", name, "\""));
}

KeyChooser::KeyChooser(uint64_t keys, Distribution distribution, double theta, uint64_t seed)
    : keys_(keys < 1 ? 1 : keys),
      seed_(seed),
      distribution_(distribution),
      theta_(theta),
      rng_(seed) {
  multiplier_ = (0x9e3779b97f4a7c15ull % keys_) | 1;
  while (std::gcd(multiplier_, keys_) != 1) ++multiplier_;
  if (distribution_ == Distribution::kZipfian) {
    zeta_n_ = Zeta(keys_, theta_);
    const double zeta_2 = Zeta(2, theta_);
    alpha_ = 1.0 / (1.0 - theta_);
    eta_ =
        (1.0 - std::pow(2.0 / static_cast<double>(keys_), 1.0 - theta_)) / (1.0 - zeta_2 / zeta_n_);
  }
}

KeyChooser KeyChooser::ForWorker(uint64_t worker) const {
  KeyChooser copy = *this;
  copy.rng_.seed(Scramble(seed_ ^ Scramble(worker + 1)));
  return copy;
}

uint64_t KeyChooser::NextRank() {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const double uz = u * zeta_n_;
  if (uz < 1.0) return 0;
  if (uz < 1.0 + std::pow(0.5, theta_)) return 1;
  const auto rank =
      static_cast<uint64_t>(static_cast<double>(keys_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return rank < keys_ ? rank : keys_ - 1;
}

uint64_t KeyChooser::Next() {
  if (distribution_ == Distribution::kUniform) {
    return std::uniform_int_distribution<uint64_t>(0, keys_ - 1)(rng_);
  }
  return static_cast<uint64_t>(static_cast<unsigned __int128>(NextRank()) * multiplier_ % keys_);
}

}  // namespace hotpath
