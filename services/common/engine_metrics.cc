#include "services/common/engine_metrics.h"

#include <string>

namespace hotpath {
namespace {

prometheus::MetricFamily Single(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return prometheus::MetricFamily{std::move(name), std::move(help), type, {metric}};
}

}  // namespace

std::vector<prometheus::MetricFamily> EngineMetrics::Collect() const {
  const KeyspaceStats stats = keyspace_->Stats();
  uint64_t mutations = 0;
  for (const ShardStats& shard : stats.shards) mutations += shard.sequence;
  using prometheus::MetricType;
  return {
      Single("hotpath_engine_shards", "Keyspace shards.", MetricType::Gauge,
             static_cast<double>(keyspace_->shard_count())),
      Single("hotpath_engine_keys", "Keys held, including expired keys not yet removed.",
             MetricType::Gauge, static_cast<double>(stats.keys)),
      Single("hotpath_engine_keys_with_deadline", "Keys that carry a TTL.", MetricType::Gauge,
             static_cast<double>(stats.keys_with_deadline)),
      Single("hotpath_engine_memory_bytes", "Approximate bytes held by the keyspace.",
             MetricType::Gauge, static_cast<double>(stats.memory_bytes)),
      Single("hotpath_engine_expired_keys_total", "Keys removed because their TTL passed.",
             MetricType::Counter, static_cast<double>(stats.expired_total)),
      Single("hotpath_engine_mutations_total", "After-image records produced by mutations.",
             MetricType::Counter, static_cast<double>(mutations)),
  };
}

}  // namespace hotpath
