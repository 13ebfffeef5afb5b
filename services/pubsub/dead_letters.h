// Dead letters: messages that leave a consumer group unacknowledged, because they reached the
// group's max_deliveries or because retention removed them while they were still pending.
//
// A dead letter goes first to its topic's outbox (po:{T}<topic>, a stream in the topic's
// shard), in the same step that takes the message from the group, so a crash cannot lose it
// between the two. TopicStore::DrainDeadLetters then publishes each to the group's dead-letter
// topic under an idempotency key made from (topic, group, message ID), and only then removes it
// from the outbox: a drain repeated after a crash is a duplicate the dead-letter topic drops
// within its dedupe window. A group without a dead-letter topic drops such messages; both are
// counted in the group's record (StoredGroup.dead_lettered).
//
// The dead letter carries the message's payload and headers, plus the headers below.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/keyspace.h"
#include "hotpath/pubsub/v1/pubsub.pb.h"
#include "hotpath/pubsub/v1/storage.pb.h"
#include "services/pubsub/topic_layout.h"

namespace hotpath::pubsub {

inline constexpr char kReasonHeader[] = "hotpath-dead-letter-reason";
inline constexpr char kTopicHeader[] = "hotpath-dead-letter-topic";
inline constexpr char kGroupHeader[] = "hotpath-dead-letter-group";
inline constexpr char kIdHeader[] = "hotpath-dead-letter-id";
inline constexpr char kDeliveriesHeader[] = "hotpath-dead-letter-deliveries";

inline constexpr char kReasonMaxDeliveries[] = "max_deliveries";
inline constexpr char kReasonRetention[] = "retention";

// Within a step on the topic's shard: puts `entry` (a message of the topic, pending in `group`
// after `deliveries` deliveries) in the outbox when the group has a dead-letter topic, and
// counts it in `group` (the caller writes the record, and acknowledges or trims the message).
// Returns whether the outbox gained an entry.
absl::StatusOr<bool> AddDeadLetter(Shard::Locked& locked, const std::string& ns,
                                   const TopicPlace& place, v1::StoredGroup& group,
                                   const StreamEntry& entry, uint32_t deliveries,
                                   std::string_view reason);

// An outbox entry as what to publish where.
struct DeadLetter {
  std::string destination;
  v1::OutgoingMessage message;  // with its idempotency key
};
DeadLetter ParseDeadLetter(const StreamEntry& entry);

}  // namespace hotpath::pubsub
