#include "services/pubsub/pubsub_metrics.h"

#include "services/common/single_value_family.h"

namespace hotpath::pubsub {

std::vector<prometheus::MetricFamily> PubSubMetrics::Collect() const {
  using prometheus::MetricType;
  return {
      SingleValueFamily("hotpath_pubsub_topics", "Topics, all namespaces.", MetricType::Gauge,
                        static_cast<double>(topics_->TopicCount())),
      SingleValueFamily("hotpath_pubsub_published_total", "Messages appended to topics.",
                        MetricType::Counter, static_cast<double>(service_->published())),
      SingleValueFamily("hotpath_pubsub_duplicates_total",
                        "Publishes answered as duplicates of an idempotency key.",
                        MetricType::Counter, static_cast<double>(service_->duplicates())),
      SingleValueFamily("hotpath_pubsub_delivered_total", "Messages sent to subscribers.",
                        MetricType::Counter, static_cast<double>(hub_->delivered())),
      SingleValueFamily("hotpath_pubsub_subscribers", "Open Subscribe streams.", MetricType::Gauge,
                        static_cast<double>(hub_->subscribers())),
  };
}

}  // namespace hotpath::pubsub
