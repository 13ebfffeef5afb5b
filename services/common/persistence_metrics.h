// Exposes the data directory's state to Prometheus, read at each scrape.
//
//   hotpath_aof_records_total                counter    records appended to the log
//   hotpath_aof_written_bytes_total          counter    bytes written to the log by this process
//   hotpath_aof_size_bytes                   gauge      bytes in the log segments
//   hotpath_aof_segments                     gauge      log segments in the manifest
//   hotpath_aof_fsync_duration_seconds       histogram  fdatasync latency
//   hotpath_aof_faults_total                 counter    failed writes or syncs
//   hotpath_aof_healthy                      gauge      1 while the log can be written, else 0
//   hotpath_base_size_bytes                  gauge      bytes in the base snapshot
//   hotpath_rewrites_total{result}           counter    rewrites finished, ok or failed
//   hotpath_rewrite_running                  gauge      1 while a rewrite runs
//   hotpath_rewrite_last_success             gauge      1 if the last rewrite succeeded
//   hotpath_rewrite_last_duration_seconds    gauge      how long the last rewrite took
//   hotpath_rewrite_last_timestamp_seconds   gauge      when the last rewrite finished
//   hotpath_recovery_base_keys               gauge      keys loaded from the base at start
//   hotpath_recovery_records                 gauge      log records replayed at start
//   hotpath_recovery_torn_tail_truncations   gauge      1 if start cut a torn tail, else 0
//   hotpath_recovery_torn_bytes              gauge      bytes of the torn tail cut at start
//   hotpath_recovery_duration_seconds        gauge      time recovery took at start
//
// Thread safety: Collect may run on the exposer's threads while the store works.
#pragma once

#include <vector>

#include "persistence/directory_recovery.h"
#include "persistence/store.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace hotpath {

class PersistenceMetrics final : public prometheus::Collectable {
 public:
  // `store` must outlive the collectable's registration.
  PersistenceMetrics(const Store* store, const DirectoryRecoveryStats& recovery)
      : store_(store), recovery_(recovery) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Store* const store_;
  const DirectoryRecoveryStats recovery_;
};

}  // namespace hotpath
