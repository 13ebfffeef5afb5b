// Pub/sub activity in Prometheus, read at each scrape:
//
//   hotpath_pubsub_topics                 gauge    topics, all namespaces
//   hotpath_pubsub_published_total        counter  messages appended
//   hotpath_pubsub_duplicates_total       counter  publishes answered as duplicates of an
//                                                  idempotency key
//   hotpath_pubsub_delivered_total        counter  messages sent to subscribers
//   hotpath_pubsub_subscribers            gauge    open Subscribe streams
//
// No topic, key or payload is ever a label.
// Thread safety: Collect may run on the exposer's threads while the service runs.
#pragma once

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "services/pubsub/pubsub_service.h"
#include "services/pubsub/subscriber_hub.h"
#include "services/pubsub/topic_store.h"

namespace hotpath::pubsub {

class PubSubMetrics final : public prometheus::Collectable {
 public:
  // Everything given must outlive this collectable's registration with the exposer.
  PubSubMetrics(TopicStore* topics, const SubscriberHub* hub, const PubSubService* service)
      : topics_(topics), hub_(hub), service_(service) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  TopicStore* const topics_;
  const SubscriberHub* const hub_;
  const PubSubService* const service_;
};

}  // namespace hotpath::pubsub
