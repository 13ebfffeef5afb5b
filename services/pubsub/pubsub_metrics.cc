#include "services/pubsub/pubsub_metrics.h"

#include "services/common/single_value_family.h"
#include "services/pubsub/dead_letters.h"

namespace hotpath::pubsub {
namespace {

prometheus::ClientMetric CounterWithReason(const char* reason, uint64_t value) {
  prometheus::ClientMetric metric;
  metric.label.push_back({"reason", reason});
  metric.counter.value = static_cast<double>(value);
  return metric;
}

}  // namespace

std::vector<prometheus::MetricFamily> PubSubMetrics::Collect() const {
  using prometheus::MetricType;
  const GroupTotals groups = groups_->Totals();
  const auto gauge = [](const char* name, const char* help, uint64_t value) {
    return SingleValueFamily(name, help, MetricType::Gauge, static_cast<double>(value));
  };
  const auto counter = [](const char* name, const char* help, uint64_t value) {
    return SingleValueFamily(name, help, MetricType::Counter, static_cast<double>(value));
  };
  return {
      gauge("hotpath_pubsub_topics", "Topics, all namespaces.", topics_->TopicCount()),
      counter("hotpath_pubsub_published_total", "Messages appended to topics.",
              service_->published()),
      counter("hotpath_pubsub_duplicates_total",
              "Publishes answered as duplicates of an idempotency key.", service_->duplicates()),
      counter("hotpath_pubsub_delivered_total", "Messages sent to subscribers.", hub_->delivered()),
      gauge("hotpath_pubsub_subscribers", "Open Subscribe streams.", hub_->subscribers()),
      gauge("hotpath_pubsub_groups", "Consumer groups.", groups.groups),
      gauge("hotpath_pubsub_group_pending",
            "Messages delivered to consumer groups and not acknowledged, all groups.",
            groups.pending),
      gauge("hotpath_pubsub_group_lag",
            "Retained messages not yet delivered to their consumer groups, summed over groups.",
            groups.lag),
      gauge("hotpath_pubsub_group_max_lag", "The lag of the consumer group furthest behind.",
            groups.max_lag),
      gauge("hotpath_pubsub_consumers", "Open Consume streams.", consumers_->streams()),
      counter("hotpath_pubsub_group_delivered_total",
              "Deliveries to consumers of groups, redeliveries included.", consumers_->delivered()),
      counter("hotpath_pubsub_group_redelivered_total",
              "Deliveries of a message that was delivered before.", consumers_->redelivered()),
      counter("hotpath_pubsub_group_acked_total", "Messages acknowledged by consumers.",
              groups_->acked()),
      counter("hotpath_pubsub_group_nacked_total", "Messages nacked by consumers.",
              groups_->nacked()),
      prometheus::MetricFamily{
          "hotpath_pubsub_dead_lettered_total",
          "Messages that left a consumer group unacknowledged, by reason.",
          MetricType::Counter,
          {CounterWithReason(kReasonMaxDeliveries, consumers_->dead_lettered()),
           CounterWithReason(kReasonRetention, topics_->retention_dead_letters())}},
      counter("hotpath_pubsub_dead_letters_undeliverable_total",
              "Dead letters dropped because their topic was gone or refused them.",
              topics_->undeliverable_dead_letters()),
  };
}

}  // namespace hotpath::pubsub
