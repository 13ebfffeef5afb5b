// A Prometheus metric family holding one unlabelled sample, for collectables that render
// plain stats at scrape time (engine_metrics, persistence_metrics).
#pragma once

#include <string>
#include <utility>

#include "prometheus/metric_family.h"

namespace hotpath {

inline prometheus::MetricFamily SingleValueFamily(std::string name, std::string help,
                                                  prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return prometheus::MetricFamily{std::move(name), std::move(help), type, {metric}};
}

}  // namespace hotpath
