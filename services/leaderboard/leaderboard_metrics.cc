#include "services/leaderboard/leaderboard_metrics.h"

#include "services/common/single_value_family.h"

namespace hotpath::leaderboard {

std::vector<prometheus::MetricFamily> LeaderboardMetrics::Collect() const {
  const std::vector<BoardStore::Summary> boards = store_->Summaries();
  std::vector<prometheus::MetricFamily> families;
  families.push_back(SingleValueFamily("hotpath_leaderboard_boards", "Leaderboards held.",
                                       prometheus::MetricType::Gauge,
                                       static_cast<double>(boards.size())));
  prometheus::MetricFamily members{"hotpath_leaderboard_members",
                                   "Members of each board's live season.",
                                   prometheus::MetricType::Gauge,
                                   {}};
  for (const BoardStore::Summary& board : boards) {
    prometheus::ClientMetric metric;
    metric.label = {{"namespace", board.ns}, {"board", board.board}};
    metric.gauge.value = static_cast<double>(board.members);
    members.metric.push_back(std::move(metric));
  }
  families.push_back(std::move(members));
  prometheus::MetricFamily submissions{"hotpath_leaderboard_submissions_total",
                                       "Scores submitted, by whether they changed the entry.",
                                       prometheus::MetricType::Counter,
                                       {}};
  for (const auto& [result, count] :
       {std::pair{"changed", &changed_}, {"unchanged", &unchanged_}}) {
    prometheus::ClientMetric metric;
    metric.label = {{"result", result}};
    metric.counter.value = static_cast<double>(count->load(std::memory_order_relaxed));
    submissions.metric.push_back(std::move(metric));
  }
  families.push_back(std::move(submissions));
  families.push_back(SingleValueFamily(
      "hotpath_leaderboard_resets_total", "Seasons ended by their board's reset schedule.",
      prometheus::MetricType::Counter, static_cast<double>(resets_.load())));
  families.push_back(SingleValueFamily("hotpath_leaderboard_watchers", "Open Watch streams.",
                                       prometheus::MetricType::Gauge,
                                       static_cast<double>(hub_->watchers())));
  return families;
}

}  // namespace hotpath::leaderboard
