// GroupStore: consumer groups on topics (work queues). Each message of the topic goes to one
// consumer of the group and stays pending, owned by that consumer, until acknowledged. A
// pending message whose ack deadline passed is delivered again (to whichever consumer pulls
// next) with its delivery count raised; one that reached max_deliveries leaves the group as a
// dead letter (dead_letters.h) instead. Retention that removes a pending message dead-letters
// it too (TopicStore::Publish), so trimming never strands a pending entry.
//
// A group is an engine stream group on the topic's pm: stream (position and pending entries,
// kept by the AOF and snapshots) plus its options in the topic's record. Every operation is one
// Keyspace::InShard step on the topic's shard. Times come from the keyspace's clock.
//
// Errors: InvalidArgument naming the field; NotFound for a missing topic or group;
// AlreadyExists for a taken group name; ResourceExhausted past max_groups_per_topic;
// OutOfRange for a start before what retention holds.
// Thread safety: every method may be called concurrently. The keyspace and the topic store
// must outlive the group store.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/keyspace.h"
#include "hotpath/pubsub/v1/pubsub.pb.h"
#include "services/pubsub/topic_store.h"

namespace hotpath::pubsub {

struct GroupLimits {
  size_t max_groups_per_topic = 100;
  absl::Duration default_ack_deadline = absl::Seconds(30);
  absl::Duration min_ack_deadline = absl::Milliseconds(100);
  absl::Duration max_ack_deadline = absl::Hours(12);
  uint32_t max_deliveries = 1000;  // the largest max_deliveries a group may set
};

// One message handed to a consumer.
struct Delivery {
  v1::Message message;
  StreamId id;
  uint32_t delivery_count = 0;  // 1 the first time
  int64_t deadline_ms = 0;      // when it becomes due again unless acknowledged
};

// What a pull hands out, and what it moved out of the group.
struct Pulled {
  std::vector<Delivery> deliveries;
  uint64_t redelivered = 0;    // of the deliveries, ones delivered before
  uint64_t dead_lettered = 0;  // left the group at max_deliveries
};

// Every group at once, for metrics.
struct GroupTotals {
  uint64_t groups = 0;
  uint64_t pending = 0;
  uint64_t lag = 0;      // summed over groups
  uint64_t max_lag = 0;  // of the group furthest behind
};

class GroupStore {
 public:
  GroupStore(Keyspace* keyspace, TopicStore* topics, const GroupLimits& limits)
      : keyspace_(keyspace), topics_(topics), limits_(limits) {}

  absl::StatusOr<v1::Group> CreateGroup(const std::string& ns, const std::string& topic,
                                        const std::string& group, const v1::GroupOptions& options,
                                        const StartPoint& start);
  // The group's view; its consumers are the ones owning pending messages (the service adds the
  // ones with open streams).
  absl::StatusOr<v1::Group> GetGroup(const std::string& ns, const std::string& topic,
                                     const std::string& group);
  absl::StatusOr<std::vector<v1::Group>> ListGroups(const std::string& ns,
                                                    const std::string& topic);
  absl::Status DeleteGroup(const std::string& ns, const std::string& topic,
                           const std::string& group);

  // Up to `max` messages for `consumer` (a valid name): with `claim_due`, first the pending
  // messages whose deadline passed (oldest first; those at max_deliveries become dead letters
  // instead), then messages the group has not delivered yet.
  absl::StatusOr<Pulled> Pull(const std::string& ns, const std::string& topic,
                              const std::string& group, const std::string& consumer, uint32_t max,
                              bool claim_due);
  // Acknowledges `ids`; returns how many were pending. IDs not pending are ignored (acked
  // already, or dead-lettered).
  absl::StatusOr<uint64_t> Ack(const std::string& ns, const std::string& topic,
                               const std::string& group, const std::vector<StreamId>& ids);
  // Makes those of `ids` that `consumer` holds due again after `delay` (a nack from a consumer
  // whose message went to another after its deadline changes nothing); returns how many.
  // InvalidArgument (nack_delay), before any change, for a delay below zero or above the
  // group's ack deadline.
  absl::StatusOr<uint64_t> Nack(const std::string& ns, const std::string& topic,
                                const std::string& group, const std::string& consumer,
                                const std::vector<StreamId>& ids, absl::Duration delay);
  // Removes `consumer`'s name from the group (its last stream ended). Messages it holds stay
  // pending under its name until their deadline, when any consumer takes them over; the name
  // coming back takes them back.
  absl::Status Forget(const std::string& ns, const std::string& topic, const std::string& group,
                      const std::string& consumer);

  // Drains dead-letter outboxes whose last drain failed (TopicStore::RetryDeadLetters).
  void RetryDeadLetters() { topics_->RetryDeadLetters(); }

  // Walks every topic's groups: one step per topic that has any.
  GroupTotals Totals();

  // Totals since start, for metrics.
  uint64_t acked() const { return acked_.load(std::memory_order_relaxed); }
  uint64_t nacked() const { return nacked_.load(std::memory_order_relaxed); }

 private:
  absl::StatusOr<v1::StoredGroup> CheckOptions(const std::string& topic, const std::string& group,
                                               const v1::GroupOptions& options) const;

  Keyspace* const keyspace_;
  TopicStore* const topics_;
  const GroupLimits limits_;
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> nacked_{0};
};

}  // namespace hotpath::pubsub
