#include "services/common/engine_metrics.h"

#include <string>

#include "services/common/single_value_family.h"

namespace hotpath {
namespace {

// Keys by the type of value they hold; "limiter" keys are the rate limiter's tracked keys.
prometheus::MetricFamily KeysByType(const KeyspaceStats& stats) {
  static const char* const kLabels[kValueTypes] = {"string", "counter",    "limiter",
                                                   "hash",   "sorted_set", "stream"};
  prometheus::MetricFamily family{"hotpath_engine_keys_by_type",
                                  "Keys held, by the type of value they hold.",
                                  prometheus::MetricType::Gauge,
                                  {}};
  for (size_t t = 0; t < kValueTypes; ++t) {
    prometheus::ClientMetric metric;
    metric.label.push_back({"type", kLabels[t]});
    metric.gauge.value = static_cast<double>(stats.keys_by_type[t]);
    family.metric.push_back(metric);
  }
  return family;
}

}  // namespace

std::vector<prometheus::MetricFamily> EngineMetrics::Collect() const {
  const KeyspaceStats stats = keyspace_->Stats();
  uint64_t mutations = 0;
  for (const ShardStats& shard : stats.shards) mutations += shard.sequence;
  using prometheus::MetricType;
  return {
      SingleValueFamily("hotpath_engine_shards", "Keyspace shards.", MetricType::Gauge,
                        static_cast<double>(keyspace_->shard_count())),
      SingleValueFamily("hotpath_engine_keys", "Keys held, including expired keys not yet removed.",
                        MetricType::Gauge, static_cast<double>(stats.keys)),
      KeysByType(stats),
      SingleValueFamily("hotpath_engine_keys_with_deadline", "Keys that carry a TTL.",
                        MetricType::Gauge, static_cast<double>(stats.keys_with_deadline)),
      SingleValueFamily("hotpath_engine_memory_bytes", "Approximate bytes held by the keyspace.",
                        MetricType::Gauge, static_cast<double>(stats.memory_bytes)),
      SingleValueFamily("hotpath_engine_memory_limit_bytes",
                        "The memory cap (engine.max_memory); 0 when there is none.",
                        MetricType::Gauge, static_cast<double>(memory_limit_)),
      SingleValueFamily("hotpath_engine_evicted_keys_total",
                        "Rate-limiter keys evicted because memory reached its cap.",
                        MetricType::Counter, static_cast<double>(stats.evicted_total)),
      SingleValueFamily("hotpath_engine_expired_keys_total",
                        "Keys removed because their TTL passed.", MetricType::Counter,
                        static_cast<double>(stats.expired_total)),
      SingleValueFamily("hotpath_engine_mutations_total",
                        "After-image records produced by mutations.", MetricType::Counter,
                        static_cast<double>(mutations)),
  };
}

}  // namespace hotpath
