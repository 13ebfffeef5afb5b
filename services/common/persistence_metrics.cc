#include "services/common/persistence_metrics.h"

#include <string>

#include "services/common/single_value_family.h"

namespace hotpath {

std::vector<prometheus::MetricFamily> PersistenceMetrics::Collect() const {
  const AofWriterStats stats = writer_->stats();
  using prometheus::MetricType;
  return {
      SingleValueFamily("hotpath_aof_records_total", "Records appended to the log.",
                        MetricType::Counter, static_cast<double>(stats.records)),
      SingleValueFamily("hotpath_aof_written_bytes",
                        "Bytes written to the log file by this process.", MetricType::Gauge,
                        static_cast<double>(stats.bytes_written)),
      SingleValueFamily("hotpath_aof_syncs_total", "fdatasync calls on the log.",
                        MetricType::Counter, static_cast<double>(stats.syncs)),
      SingleValueFamily("hotpath_aof_faults_total", "Failed writes or syncs of the log.",
                        MetricType::Counter, static_cast<double>(stats.faults)),
      SingleValueFamily("hotpath_aof_healthy", "1 while the log can be written, else 0.",
                        MetricType::Gauge, stats.healthy ? 1 : 0),
      SingleValueFamily("hotpath_recovery_records", "Records replayed at start.", MetricType::Gauge,
                        static_cast<double>(recovery_.records)),
      SingleValueFamily("hotpath_recovery_torn_bytes", "Bytes of a torn log tail cut at start.",
                        MetricType::Gauge, static_cast<double>(recovery_.torn_bytes)),
      SingleValueFamily("hotpath_recovery_duration_seconds", "Time recovery took at start.",
                        MetricType::Gauge, recovery_seconds_),
  };
}

}  // namespace hotpath
