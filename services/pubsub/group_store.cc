#include "services/pubsub/group_store.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "services/pubsub/dead_letters.h"
#include "services/pubsub/topic_layout.h"

namespace hotpath::pubsub {
namespace {

absl::Status NoGroup(const std::string& topic, const std::string& group) {
  return absl::NotFoundError(absl::StrCat("topic \"", topic, "\" has no group \"", group, "\""));
}

absl::Status CheckNames(const std::string& topic, const std::string& group) {
  HP_RETURN_IF_ERROR(CheckTopicName(topic, "topic"));
  if (topic.rfind("_sys.", 0) == 0) {
    return absl::InvalidArgumentError("system topics take subscribers, not consumer groups");
  }
  return CheckTopicName(group, "group");
}

void SetTime(int64_t ms, google::protobuf::Timestamp* out) {
  out->set_seconds(ms / 1000);
  out->set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
}

// The group's view from its record and its stream group.
absl::StatusOr<v1::Group> ViewOf(const std::string& topic, const v1::StoredGroup& stored,
                                 const Stream& stream) {
  v1::Group group;
  group.set_topic(topic);
  group.set_name(stored.name());
  v1::GroupOptions* options = group.mutable_options();
  SetDuration(stored.ack_deadline_ms(), options->mutable_ack_deadline());
  options->set_max_deliveries(stored.max_deliveries());
  options->set_dead_letter_topic(stored.dead_letter_topic());
  SetTime(stored.created_ms(), group.mutable_created());
  HP_ASSIGN_OR_RETURN(const StreamId through, stream.LastDelivered(stored.name()));
  group.set_delivered_through(IdText(through));
  group.set_lag(stream.CountAfter(through, UINT64_MAX));
  HP_ASSIGN_OR_RETURN(const PendingSummary pending, stream.Pending(stored.name()));
  group.set_pending(pending.count);
  for (const auto& [name, count] : pending.per_consumer) {
    v1::ConsumerInfo* consumer = group.add_consumers();
    consumer->set_name(name);
    consumer->set_pending(count);
  }
  group.set_dead_lettered(stored.dead_lettered());
  return group;
}

// A group's record and its stream within a step. The keys view the strings here and `ns`, so
// a Place is neither copied nor moved, and `ns` must outlive it.
struct Place {
  Place(const std::string& ns, const std::string& name)
      : topic(PlaceOfTopic(name)), meta{ns, topic.meta_key}, stream{ns, topic.stream_key} {}
  Place(const Place&) = delete;
  Place& operator=(const Place&) = delete;

  const TopicPlace topic;
  const KeyRef meta;
  const KeyRef stream;
};

// The stream of a topic that has groups: a group's creation made it.
absl::StatusOr<Stream*> GroupStream(Shard::Locked& locked, const Place& place) {
  Stream* stream = StreamAt(locked, place.stream);
  if (stream == nullptr) return absl::DataLossError("a consumer group's stream is missing");
  return stream;
}

}  // namespace

absl::StatusOr<v1::StoredGroup> GroupStore::CheckOptions(const std::string& topic,
                                                         const std::string& group,
                                                         const v1::GroupOptions& options) const {
  v1::StoredGroup stored;
  stored.set_name(group);
  int64_t deadline = absl::ToInt64Milliseconds(limits_.default_ack_deadline);
  if (options.has_ack_deadline()) {
    HP_ASSIGN_OR_RETURN(deadline, MillisOf(options.ack_deadline(), "options.ack_deadline"));
    if (deadline < absl::ToInt64Milliseconds(limits_.min_ack_deadline) ||
        deadline > absl::ToInt64Milliseconds(limits_.max_ack_deadline)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.ack_deadline must be ", absl::FormatDuration(limits_.min_ack_deadline), " to ",
          absl::FormatDuration(limits_.max_ack_deadline)));
    }
  }
  stored.set_ack_deadline_ms(deadline);
  if (options.max_deliveries() > limits_.max_deliveries) {
    return absl::InvalidArgumentError(absl::StrCat("options.max_deliveries must be at most ",
                                                   limits_.max_deliveries, " (0: unlimited)"));
  }
  stored.set_max_deliveries(options.max_deliveries());
  const std::string& dead_letters = options.dead_letter_topic();
  if (!dead_letters.empty()) {
    HP_RETURN_IF_ERROR(CheckTopicName(dead_letters, "options.dead_letter_topic"));
    if (dead_letters == topic) {
      return absl::InvalidArgumentError(
          "options.dead_letter_topic must differ from the group's topic");
    }
    if (dead_letters.rfind("_sys.", 0) == 0) {
      return absl::InvalidArgumentError(
          "options.dead_letter_topic cannot be a system topic (\"_sys.\")");
    }
  }
  stored.set_dead_letter_topic(dead_letters);
  return stored;
}

absl::StatusOr<v1::Group> GroupStore::CreateGroup(const std::string& ns, const std::string& topic,
                                                  const std::string& group,
                                                  const v1::GroupOptions& options,
                                                  const StartPoint& start) {
  HP_RETURN_IF_ERROR(CheckNames(topic, group));
  HP_ASSIGN_OR_RETURN(v1::StoredGroup stored_group, CheckOptions(topic, group, options));
  HP_ASSIGN_OR_RETURN(const StreamId from, topics_->Begin(ns, topic, start));
  const Place place(ns, topic);
  // Whether the group can be made, before its dead-letter topic is: a refused CreateGroup
  // leaves nothing behind. The step below checks again.
  const auto check = [&](Shard::Locked& locked) -> absl::StatusOr<v1::StoredTopic> {
    HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place.topic));
    if (FindGroup(stored, group) != nullptr) {
      return absl::AlreadyExistsError(
          absl::StrCat("topic \"", topic, "\" already has a group \"", group, "\""));
    }
    if (static_cast<size_t>(stored.groups_size()) >= limits_.max_groups_per_topic) {
      return absl::ResourceExhaustedError(absl::StrCat("topic \"", topic, "\" already has ",
                                                       limits_.max_groups_per_topic, " groups"));
    }
    return stored;
  };
  HP_RETURN_IF_ERROR(keyspace_->InShard({place.meta}, check).status());
  if (!stored_group.dead_letter_topic().empty()) {
    HP_RETURN_IF_ERROR(topics_->CreateIfMissing(ns, stored_group.dead_letter_topic()));
  }
  return keyspace_->InShard({place.meta}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::Group> {
    HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, check(locked));
    // The stream group first: a record never names a group the stream lacks.
    HP_RETURN_IF_ERROR(locked.Apply(place.stream, [&](Shard::Access& access) {
      return StreamCreateGroupIn(access, group, from);
    }));
    stored_group.set_created_ms(locked.now_ms());
    *stored.add_groups() = stored_group;
    std::sort(
        stored.mutable_groups()->begin(), stored.mutable_groups()->end(),
        [](const v1::StoredGroup& a, const v1::StoredGroup& b) { return a.name() < b.name(); });
    locked.Apply(place.meta, [&](Shard::Access& access) { WriteTopic(access, stored); });
    HP_ASSIGN_OR_RETURN(Stream * stream, GroupStream(locked, place));
    return ViewOf(topic, stored_group, *stream);
  });
}

absl::StatusOr<v1::Group> GroupStore::GetGroup(const std::string& ns, const std::string& topic,
                                               const std::string& group) {
  HP_RETURN_IF_ERROR(CheckNames(topic, group));
  const Place place(ns, topic);
  return keyspace_->InShard({place.meta}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::Group> {
    HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place.topic));
    const v1::StoredGroup* found = FindGroup(stored, group);
    if (found == nullptr) return NoGroup(topic, group);
    HP_ASSIGN_OR_RETURN(Stream * stream, GroupStream(locked, place));
    return ViewOf(topic, *found, *stream);
  });
}

absl::StatusOr<std::vector<v1::Group>> GroupStore::ListGroups(const std::string& ns,
                                                              const std::string& topic) {
  HP_RETURN_IF_ERROR(CheckTopicName(topic, "topic"));
  const Place place(ns, topic);
  return keyspace_->InShard(
      {place.meta}, [&](Shard::Locked& locked) -> absl::StatusOr<std::vector<v1::Group>> {
        HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place.topic));
        std::vector<v1::Group> groups;
        if (stored.groups().empty()) return groups;
        HP_ASSIGN_OR_RETURN(Stream * stream, GroupStream(locked, place));
        for (const v1::StoredGroup& group : stored.groups()) {
          HP_ASSIGN_OR_RETURN(v1::Group view, ViewOf(topic, group, *stream));
          groups.push_back(std::move(view));
        }
        return groups;
      });
}

absl::Status GroupStore::DeleteGroup(const std::string& ns, const std::string& topic,
                                     const std::string& group) {
  HP_RETURN_IF_ERROR(CheckNames(topic, group));
  const Place place(ns, topic);
  return keyspace_->InShard({place.meta}, [&](Shard::Locked& locked) -> absl::Status {
    HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place.topic));
    auto& groups = *stored.mutable_groups();
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const v1::StoredGroup& g) { return g.name() == group; });
    if (it == groups.end()) return NoGroup(topic, group);
    groups.erase(it);
    // The record first: a crash before the stream group goes leaves one that start-up drops
    // (TopicStore::Start), never a record naming a group that is gone.
    locked.Apply(place.meta, [&](Shard::Access& access) { WriteTopic(access, stored); });
    return locked.Apply(place.stream,
                        [&](Shard::Access& access) { return StreamDestroyGroupIn(access, group); });
  });
}

absl::StatusOr<Pulled> GroupStore::Pull(const std::string& ns, const std::string& topic,
                                        const std::string& group, const std::string& consumer,
                                        uint32_t max, bool claim_due) {
  const Place place(ns, topic);
  bool dead_letters = false;
  absl::StatusOr<Pulled> pulled =
      keyspace_->InShard({place.meta}, [&](Shard::Locked& locked) -> absl::StatusOr<Pulled> {
        HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place.topic));
        v1::StoredGroup* options = FindGroup(stored, group);
        if (options == nullptr) return NoGroup(topic, group);
        HP_ASSIGN_OR_RETURN(Stream * stream, GroupStream(locked, place));
        const int64_t now = locked.now_ms();
        const int64_t deadline = options->ack_deadline_ms();
        Pulled out;
        const auto deliver = [&](const StreamEntry& entry, uint32_t count) {
          Delivery& delivery = out.deliveries.emplace_back();
          FillMessage(topic, entry, &delivery.message);
          delivery.id = entry.id;
          delivery.delivery_count = count;
          delivery.deadline_ms = now + deadline;
        };
        bool record_changed = false;
        if (claim_due && max > 0) {
          HP_ASSIGN_OR_RETURN(
              const std::vector<PendingEntry> due,
              stream->PendingDetail(group, kMinStreamId, kMaxStreamId, max, "", deadline, now));
          for (const PendingEntry& pending : due) {
            const std::vector<StreamEntry> entry = stream->Range(pending.id, pending.id, 1);
            const bool spent = options->max_deliveries() > 0 &&
                               pending.delivery_count >= options->max_deliveries();
            if (entry.empty() || spent) {
              if (!entry.empty()) {
                HP_ASSIGN_OR_RETURN(const bool added,
                                    AddDeadLetter(locked, ns, place.topic, *options, entry.front(),
                                                  pending.delivery_count, kReasonMaxDeliveries));
                dead_letters = dead_letters || added;
                record_changed = true;
                ++out.dead_lettered;
              }
              HP_RETURN_IF_ERROR(locked
                                     .Apply(place.stream,
                                            [&](Shard::Access& access) {
                                              return StreamAckIn(access, group, {pending.id});
                                            })
                                     .status());
              continue;
            }
            const uint32_t count = pending.delivery_count + 1;
            HP_RETURN_IF_ERROR(locked.Apply(place.stream, [&](Shard::Access& access) {
              return StreamSetPendingIn(access, group,
                                        {.id = pending.id,
                                         .consumer = consumer,
                                         .delivery_count = count,
                                         .last_delivery_ms = now});
            }));
            deliver(entry.front(), count);
            ++out.redelivered;
          }
        }
        if (out.deliveries.size() < max) {
          HP_ASSIGN_OR_RETURN(const std::vector<StreamEntry> fresh,
                              locked.Apply(place.stream, [&](Shard::Access& access) {
                                return StreamReadGroupIn(access, group, consumer,
                                                         max - out.deliveries.size());
                              }));
          for (const StreamEntry& entry : fresh) deliver(entry, 1);
        }
        if (record_changed) {
          locked.Apply(place.meta, [&](Shard::Access& access) { WriteTopic(access, stored); });
        }
        return out;
      });
  if (dead_letters) topics_->DrainDeadLetters(ns, topic).IgnoreError();  // retried at the next
  return pulled;
}

absl::StatusOr<uint64_t> GroupStore::Ack(const std::string& ns, const std::string& topic,
                                         const std::string& group,
                                         const std::vector<StreamId>& ids) {
  const Place place(ns, topic);
  absl::StatusOr<uint64_t> acked =
      keyspace_->InShard({place.meta}, [&](Shard::Locked& locked) -> absl::StatusOr<uint64_t> {
        HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place.topic));
        if (FindGroup(stored, group) == nullptr) return NoGroup(topic, group);
        return locked.Apply(place.stream,
                            [&](Shard::Access& access) { return StreamAckIn(access, group, ids); });
      });
  if (acked.ok()) acked_.fetch_add(*acked, std::memory_order_relaxed);
  return acked;
}

absl::StatusOr<uint64_t> GroupStore::Nack(const std::string& ns, const std::string& topic,
                                          const std::string& group, const std::string& consumer,
                                          const std::vector<StreamId>& ids, absl::Duration delay) {
  const Place place(ns, topic);
  absl::StatusOr<uint64_t> nacked =
      keyspace_->InShard({place.meta}, [&](Shard::Locked& locked) -> absl::StatusOr<uint64_t> {
        HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place.topic));
        const v1::StoredGroup* options = FindGroup(stored, group);
        if (options == nullptr) return NoGroup(topic, group);
        HP_ASSIGN_OR_RETURN(Stream * stream, GroupStream(locked, place));
        const int64_t wait = absl::ToInt64Milliseconds(delay);
        if (wait < 0 || wait > options->ack_deadline_ms()) {
          return absl::InvalidArgumentError(
              absl::StrCat("nack_delay must be 0 to the group's ack deadline (",
                           options->ack_deadline_ms(), " ms)"));
        }
        uint64_t count = 0;
        for (StreamId id : ids) {
          HP_ASSIGN_OR_RETURN(std::vector<PendingEntry> pending,
                              stream->PendingDetail(group, id, id, 1, consumer, INT64_MIN, 0));
          if (pending.empty()) continue;
          // Delivered (as far as the deadline goes) `ack_deadline - wait` ago: due in `wait`.
          PendingEntry due = pending.front();
          due.last_delivery_ms = locked.now_ms() - options->ack_deadline_ms() + wait;
          HP_RETURN_IF_ERROR(locked.Apply(place.stream, [&](Shard::Access& access) {
            return StreamSetPendingIn(access, group, due);
          }));
          ++count;
        }
        return count;
      });
  if (nacked.ok()) nacked_.fetch_add(*nacked, std::memory_order_relaxed);
  return nacked;
}

absl::Status GroupStore::Forget(const std::string& ns, const std::string& topic,
                                const std::string& group, const std::string& consumer) {
  const Place place(ns, topic);
  return keyspace_->InShard({place.meta}, [&](Shard::Locked& locked) -> absl::Status {
    HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place.topic));
    if (FindGroup(stored, group) == nullptr) return NoGroup(topic, group);
    HP_ASSIGN_OR_RETURN(Stream * stream, GroupStream(locked, place));
    if (!stream->HasConsumer(group, consumer)) return absl::OkStatus();
    return locked.Apply(place.stream, [&](Shard::Access& access) {
      return StreamDeleteConsumerIn(access, group, consumer).status();
    });
  });
}

GroupTotals GroupStore::Totals() {
  GroupTotals totals;
  for (const auto& [ns, topic] : topics_->AllTopics()) {
    absl::StatusOr<std::vector<v1::Group>> groups = ListGroups(ns, topic);
    if (!groups.ok()) continue;  // deleted meanwhile
    for (const v1::Group& group : *groups) {
      ++totals.groups;
      totals.pending += group.pending();
      totals.lag += group.lag();
      totals.max_lag = std::max<uint64_t>(totals.max_lag, group.lag());
    }
  }
  return totals;
}

}  // namespace hotpath::pubsub
