// Leaderboard activity in Prometheus:
//
//   hotpath_leaderboard_boards                          gauge    boards, all namespaces
//   hotpath_leaderboard_members{namespace,board}        gauge    members of each live season
//   hotpath_leaderboard_submissions_total{result}       counter  result changed (the entry
//                                                                changed), unchanged
//   hotpath_leaderboard_resets_total                    counter  seasons ended by a schedule
//   hotpath_leaderboard_watchers                        gauge    open Watch streams
//
// The board labels are bounded by leaderboard.max_boards, never by traffic (no member label).
// Board figures are read from the store at each scrape.
// Thread safety: Collect may run on the exposer's threads while the counters move.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "services/leaderboard/board_store.h"
#include "services/leaderboard/watch_hub.h"

namespace hotpath::leaderboard {

class LeaderboardMetrics final : public prometheus::Collectable {
 public:
  // `store` and `hub` must outlive this collectable's registration with the exposer.
  LeaderboardMetrics(BoardStore* store, const WatchHub* hub) : store_(store), hub_(hub) {}

  void Submitted(bool changed, uint64_t n = 1) {
    (changed ? changed_ : unchanged_).fetch_add(n, std::memory_order_relaxed);
  }
  void Reset() { resets_.fetch_add(1, std::memory_order_relaxed); }

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  BoardStore* const store_;
  const WatchHub* const hub_;
  std::atomic<uint64_t> changed_{0};
  std::atomic<uint64_t> unchanged_{0};
  std::atomic<uint64_t> resets_{0};
};

}  // namespace hotpath::leaderboard
