// Pub/sub activity in Prometheus, read at each scrape:
//
//   hotpath_pubsub_topics                      gauge    topics, all namespaces
//   hotpath_pubsub_published_total             counter  messages appended
//   hotpath_pubsub_duplicates_total            counter  publishes answered as duplicates of an
//                                                       idempotency key
//   hotpath_pubsub_delivered_total             counter  messages sent to subscribers
//   hotpath_pubsub_subscribers                 gauge    open Subscribe streams
//   hotpath_pubsub_groups                      gauge    consumer groups
//   hotpath_pubsub_group_pending               gauge    messages delivered to groups and not
//                                                       acknowledged, all groups
//   hotpath_pubsub_group_lag                   gauge    retained messages not yet delivered,
//                                                       summed over groups
//   hotpath_pubsub_group_max_lag               gauge    the lag of the group furthest behind
//   hotpath_pubsub_consumers                   gauge    open Consume streams
//   hotpath_pubsub_group_delivered_total       counter  deliveries to consumers, redeliveries
//                                                       included
//   hotpath_pubsub_group_redelivered_total     counter  deliveries of a message delivered before
//   hotpath_pubsub_group_acked_total           counter  messages acknowledged
//   hotpath_pubsub_group_nacked_total          counter  messages nacked
//   hotpath_pubsub_dead_lettered_total{reason} counter  messages that left a group
//                                                       unacknowledged: reason="max_deliveries"
//                                                       or "retention"
//   hotpath_pubsub_dead_letters_undeliverable_total
//                                              counter  dead letters their topic refused or
//                                                       lacked, dropped
//
// No topic, group, consumer, key or payload is ever a label. The group gauges walk every
// topic (one engine step each) at each scrape.
// Thread safety: Collect may run on the exposer's threads while the service runs.
#pragma once

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "services/pubsub/consumer_hub.h"
#include "services/pubsub/group_store.h"
#include "services/pubsub/pubsub_service.h"
#include "services/pubsub/subscriber_hub.h"
#include "services/pubsub/topic_store.h"

namespace hotpath::pubsub {

class PubSubMetrics final : public prometheus::Collectable {
 public:
  // Everything given must outlive this collectable's registration with the exposer.
  PubSubMetrics(TopicStore* topics, const SubscriberHub* hub, GroupStore* groups,
                const ConsumerHub* consumers, const PubSubService* service)
      : topics_(topics), hub_(hub), groups_(groups), consumers_(consumers), service_(service) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  TopicStore* const topics_;
  const SubscriberHub* const hub_;
  GroupStore* const groups_;
  const ConsumerHub* const consumers_;
  const PubSubService* const service_;
};

}  // namespace hotpath::pubsub
