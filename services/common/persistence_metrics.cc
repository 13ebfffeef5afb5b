#include "services/common/persistence_metrics.h"

#include <string>

#include "services/common/single_value_family.h"

namespace hotpath {
namespace {

prometheus::MetricFamily SyncHistogram(const AofWriterStats& stats) {
  prometheus::ClientMetric metric;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < AofWriterStats::kSyncBucketBounds.size(); ++i) {
    cumulative += stats.sync_buckets[i];
    metric.histogram.bucket.push_back({cumulative, AofWriterStats::kSyncBucketBounds[i]});
  }
  cumulative += stats.sync_buckets.back();
  metric.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = stats.sync_seconds;
  return prometheus::MetricFamily{"hotpath_aof_fsync_duration_seconds",
                                  "Latency of fdatasync calls on the log.",
                                  prometheus::MetricType::Histogram,
                                  {metric}};
}

prometheus::MetricFamily Rewrites(const RewriteStats& stats) {
  prometheus::MetricFamily family{"hotpath_rewrites_total",
                                  "Rewrites of the data directory finished, by result.",
                                  prometheus::MetricType::Counter,
                                  {}};
  for (const auto& [result, count] : {std::pair{"ok", stats.completed}, {"failed", stats.failed}}) {
    prometheus::ClientMetric metric;
    metric.label.push_back({"result", result});
    metric.counter.value = static_cast<double>(count);
    family.metric.push_back(metric);
  }
  return family;
}

}  // namespace

std::vector<prometheus::MetricFamily> PersistenceMetrics::Collect() const {
  const StoreStats stats = store_->stats();
  const bool rewritten = stats.rewrite.last_finished != absl::InfinitePast();
  using prometheus::MetricType;
  auto value = [](auto v) { return static_cast<double>(v); };
  return {
      SingleValueFamily("hotpath_aof_records_total", "Records appended to the log.",
                        MetricType::Counter, value(stats.writer.records)),
      SingleValueFamily("hotpath_aof_written_bytes_total",
                        "Bytes written to the log by this process.", MetricType::Counter,
                        value(stats.writer.bytes_written)),
      SingleValueFamily("hotpath_aof_size_bytes", "Bytes in the log segments.", MetricType::Gauge,
                        value(stats.segment_bytes)),
      SingleValueFamily("hotpath_aof_segments", "Log segments in the manifest.", MetricType::Gauge,
                        value(stats.segments)),
      SyncHistogram(stats.writer),
      SingleValueFamily("hotpath_aof_faults_total", "Failed writes or syncs of the log.",
                        MetricType::Counter, value(stats.writer.faults)),
      SingleValueFamily("hotpath_aof_group_holds_total",
                        "Holds begun (fsync always): a sync held for as many writes as the last "
                        "one answered, until they wait or about a sync's time passed.",
                        MetricType::Counter, value(stats.writer.group_holds)),
      SingleValueFamily("hotpath_aof_healthy", "1 while the log can be written, else 0.",
                        MetricType::Gauge, stats.writer.healthy ? 1 : 0),
      SingleValueFamily("hotpath_base_size_bytes", "Bytes in the base snapshot.", MetricType::Gauge,
                        value(stats.base_bytes)),
      Rewrites(stats.rewrite),
      SingleValueFamily("hotpath_rewrite_running", "1 while a rewrite runs, else 0.",
                        MetricType::Gauge, stats.rewrite.running ? 1 : 0),
      SingleValueFamily("hotpath_rewrite_last_success",
                        "1 if the last rewrite succeeded (or none ran yet), else 0.",
                        MetricType::Gauge, stats.rewrite.last_status.ok() ? 1 : 0),
      SingleValueFamily("hotpath_rewrite_last_duration_seconds", "How long the last rewrite took.",
                        MetricType::Gauge, absl::ToDoubleSeconds(stats.rewrite.last_duration)),
      SingleValueFamily(
          "hotpath_rewrite_last_timestamp_seconds",
          "Unix time the last rewrite finished; 0 if none did.", MetricType::Gauge,
          rewritten ? absl::ToDoubleSeconds(stats.rewrite.last_finished - absl::UnixEpoch()) : 0),
      SingleValueFamily("hotpath_recovery_base_keys", "Keys loaded from the base at start.",
                        MetricType::Gauge, value(recovery_.base.keys)),
      SingleValueFamily("hotpath_recovery_records", "Log records replayed at start.",
                        MetricType::Gauge, value(recovery_.records)),
      SingleValueFamily("hotpath_recovery_torn_tail_truncations",
                        "1 if start cut a torn tail off the log, else 0.", MetricType::Gauge,
                        recovery_.torn_bytes > 0 ? 1 : 0),
      SingleValueFamily("hotpath_recovery_torn_bytes", "Bytes of the torn log tail cut at start.",
                        MetricType::Gauge, value(recovery_.torn_bytes)),
      SingleValueFamily("hotpath_recovery_duration_seconds", "Time recovery took at start.",
                        MetricType::Gauge, absl::ToDoubleSeconds(recovery_.duration)),
  };
}

}  // namespace hotpath
