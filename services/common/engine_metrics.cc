#include "services/common/engine_metrics.h"

#include <string>

#include "services/common/single_value_family.h"

namespace hotpath {

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
      SingleValueFamily("hotpath_engine_keys_with_deadline", "Keys that carry a TTL.",
                        MetricType::Gauge, static_cast<double>(stats.keys_with_deadline)),
      SingleValueFamily("hotpath_engine_memory_bytes", "Approximate bytes held by the keyspace.",
                        MetricType::Gauge, static_cast<double>(stats.memory_bytes)),
      SingleValueFamily("hotpath_engine_expired_keys_total",
                        "Keys removed because their TTL passed.", MetricType::Counter,
                        static_cast<double>(stats.expired_total)),
      SingleValueFamily("hotpath_engine_mutations_total",
                        "After-image records produced by mutations.", MetricType::Counter,
                        static_cast<double>(mutations)),
  };
}

}  // namespace hotpath
