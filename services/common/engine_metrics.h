// Exposes the engine's plain statistics to Prometheus. The engine knows nothing of Prometheus:
// at each scrape this collectable reads Keyspace::Stats() and renders it.
//
//   hotpath_engine_shards                  gauge    keyspace shards
//   hotpath_engine_keys                    gauge    keys held (expired keys not yet removed count)
//   hotpath_engine_keys_by_type{type}      gauge    keys by value type (string, counter,
//                                                   limiter, hash, sorted_set, stream)
//   hotpath_engine_keys_with_deadline      gauge    keys with a TTL
//   hotpath_engine_memory_bytes            gauge    approximate bytes held by the keyspace
//   hotpath_engine_memory_limit_bytes      gauge    the memory cap (engine.max_memory; 0: none)
//   hotpath_engine_evicted_keys_total      counter  rate-limiter keys evicted at the memory cap
//   hotpath_engine_expired_keys_total      counter  keys removed because their TTL passed
//   hotpath_engine_mutations_total         counter  after-image records produced
//
// Thread safety: Collect may run on the exposer's threads while the keyspace is in use.
#pragma once

#include <vector>

#include "engine/keyspace.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace hotpath {

class EngineMetrics final : public prometheus::Collectable {
 public:
  // `keyspace` must outlive this collectable's registration with the exposer. `memory_limit`
  // is the configured cap (0: none).
  explicit EngineMetrics(const Keyspace* keyspace, uint64_t memory_limit = 0)
      : keyspace_(keyspace), memory_limit_(memory_limit) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Keyspace* const keyspace_;
  const uint64_t memory_limit_;
};

}  // namespace hotpath
