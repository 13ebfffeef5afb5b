// Exposes the append-only log's state to Prometheus, read at each scrape.
//
//   hotpath_aof_records_total          counter  records appended to the log
//   hotpath_aof_written_bytes          gauge    bytes written to the log file by this process
//   hotpath_aof_syncs_total            counter  fdatasync calls
//   hotpath_aof_faults_total           counter  failed writes or syncs
//   hotpath_aof_healthy                gauge    1 while the log can be written, else 0
//   hotpath_recovery_records           gauge    records replayed at start
//   hotpath_recovery_torn_bytes        gauge    bytes of a torn tail cut at start
//   hotpath_recovery_duration_seconds  gauge    time recovery took at start
//
// Thread safety: Collect may run on the exposer's threads while the writer works.
#pragma once

#include <vector>

#include "persistence/aof_writer.h"
#include "persistence/log_recovery.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace hotpath {

class PersistenceMetrics final : public prometheus::Collectable {
 public:
  // `writer` must outlive the collectable's registration.
  PersistenceMetrics(const AofWriter* writer, const LogRecoveryStats& recovery,
                     double recovery_seconds)
      : writer_(writer), recovery_(recovery), recovery_seconds_(recovery_seconds) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const AofWriter* const writer_;
  const LogRecoveryStats recovery_;
  const double recovery_seconds_;
};

}  // namespace hotpath
