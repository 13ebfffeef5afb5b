#include "services/pubsub/topic_store.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "services/pubsub/dead_letters.h"

namespace hotpath::pubsub {
namespace {

absl::Status NoTopic(const std::string& topic) {
  return absl::NotFoundError(absl::StrCat("topic \"", topic, "\" not found"));
}

// The ID just before `id`.
StreamId Pred(StreamId id) {
  if (id.seq > 0) return {id.ms, id.seq - 1};
  if (id.ms > 0) return {id.ms - 1, UINT64_MAX};
  return kMinStreamId;
}

StreamId TrimmedThrough(const v1::StoredTopic& stored) {
  return {stored.trimmed_through_ms(), stored.trimmed_through_seq()};
}

absl::Status Removed(StreamId after, const Stream* stream) {
  const std::optional<StreamId> first = stream == nullptr ? std::nullopt : stream->first_id();
  return absl::OutOfRangeError(absl::StrCat(
      "retention has removed messages after ", IdText(after), "; the earliest retained is ",
      first.has_value() ? IdText(*first) : "none (all were removed)"));
}

// What `stream` retains: its message count and first and last IDs.
void SetRetained(const Stream* stream, v1::Topic* topic) {
  if (stream == nullptr) return;
  topic->set_messages(stream->size());
  if (std::optional<StreamId> first = stream->first_id(); first.has_value()) {
    topic->set_first_id(IdText(*first));
  }
  if (stream->last_id() != kMinStreamId) topic->set_last_id(IdText(stream->last_id()));
}

v1::Topic ViewOf(const std::string& name, const v1::StoredTopic& stored, const Stream* stream) {
  v1::Topic topic;
  topic.set_name(name);
  v1::Retention* retention = topic.mutable_options()->mutable_retention();
  retention->set_max_messages(stored.max_messages());
  if (stored.max_age_ms() > 0) SetDuration(stored.max_age_ms(), retention->mutable_max_age());
  retention->set_max_bytes(stored.max_bytes());
  SetDuration(stored.dedupe_window_ms(), topic.mutable_options()->mutable_dedupe_window());
  topic.mutable_created()->set_seconds(stored.created_ms() / 1000);
  topic.mutable_created()->set_nanos(static_cast<int32_t>(stored.created_ms() % 1000) * 1'000'000);
  SetRetained(stream, &topic);
  return topic;
}

// The first ID retention keeps after a publish at `now_ms`, or nullopt when it keeps all.
std::optional<StreamId> KeepFrom(const v1::StoredTopic& stored, const Stream& stream,
                                 int64_t now_ms) {
  const std::optional<StreamId> first = stream.first_id();
  if (!first.has_value()) return std::nullopt;
  StreamId keep = *first;
  // The ID of the oldest entry kept when only `count` may stay.
  const auto keep_newest = [&](uint64_t count) {
    if (stream.size() <= count) return;
    keep = std::max(keep,
                    stream.Range(kMinStreamId, kMaxStreamId, stream.size() - count + 1).back().id);
  };
  if (stored.max_messages() > 0) keep_newest(stored.max_messages());
  if (stored.max_bytes() > 0 && stream.HeapBytes() > stored.max_bytes() && stream.size() > 1) {
    keep_newest(std::max<uint64_t>(1, stream.size() * stored.max_bytes() / stream.HeapBytes()));
  }
  if (stored.max_age_ms() > 0 && now_ms > stored.max_age_ms()) {
    keep = std::max(keep, StreamId{static_cast<uint64_t>(now_ms - stored.max_age_ms()), 0});
  }
  if (keep == *first) return std::nullopt;
  return keep;
}

// Where a topic's messages are and what retention removed, within a step.
struct Log {
  const Stream* stream = nullptr;
  StreamId through;           // the last message retention removed
  bool through_known = true;  // false for system topics: anything before the first may be gone
};

bool IsSystem(const std::string& topic) { return topic == kSessionEventsTopic; }

// The step's keys: a topic's record, or a system topic's stream.
KeyRef StepKey(const std::string& ns, const std::string& topic, const TopicPlace& place) {
  return IsSystem(topic) ? KeyRef{ns, kSessionEventsKey} : KeyRef{ns, place.meta_key};
}

absl::StatusOr<Log> LogOf(Shard::Locked& locked, const std::string& ns, const std::string& topic,
                          const TopicPlace& place) {
  if (IsSystem(topic)) {
    return Log{.stream = StreamAt(locked, KeyRef{ns, kSessionEventsKey}), .through_known = false};
  }
  HP_ASSIGN_OR_RETURN(const v1::StoredTopic stored, LoadTopic(locked, ns, place));
  return Log{.stream = StreamAt(locked, KeyRef{ns, place.stream_key}),
             .through = TrimmedThrough(stored)};
}

// Whether reading after `after` could miss messages retention removed.
bool Missed(const Log& log, StreamId after) {
  if (log.through_known) return after < log.through;
  const std::optional<StreamId> first =
      log.stream == nullptr ? std::nullopt : log.stream->first_id();
  return after != kMinStreamId && first.has_value() && after < Pred(*first);
}

}  // namespace

absl::Status TopicStore::CheckMessage(const v1::OutgoingMessage& message,
                                      const std::string& field) const {
  if (message.payload().size() > limits_.max_payload_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".payload is ", message.payload().size(), " bytes, over the limit of ",
                     limits_.max_payload_bytes, " (pubsub.max_payload_bytes)"));
  }
  if (static_cast<size_t>(message.headers_size()) > limits_.max_headers) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".headers holds more than ", limits_.max_headers, " headers"));
  }
  size_t header_bytes = 0;
  for (const auto& [name, value] : message.headers()) {
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".headers has an empty name"));
    }
    header_bytes += name.size() + value.size();
  }
  if (header_bytes > limits_.max_header_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".headers hold ", header_bytes,
                                                   " bytes, over the limit of ",
                                                   limits_.max_header_bytes));
  }
  if (message.idempotency_key().size() > limits_.max_idempotency_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".idempotency_key must be at most ",
                                                   limits_.max_idempotency_key_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Topic> TopicStore::CreateTopic(const std::string& ns, const std::string& topic,
                                                  const v1::TopicOptions& options) {
  HP_RETURN_IF_ERROR(CheckTopicName(topic, "topic"));
  if (topic.rfind("_sys.", 0) == 0) {
    return absl::InvalidArgumentError("topic names starting with \"_sys.\" are the server's own");
  }
  absl::StatusOr<v1::Topic> created;
  {
    absl::MutexLock lock(&mu_);
    created = CreateLocked(ns, topic, options);
  }
  // Outside the lock: subscribers with a matching pattern pick the topic up.
  if (created.ok() && on_created_) on_created_(ns, topic);
  return created;
}

absl::StatusOr<v1::Topic> TopicStore::CreateLocked(const std::string& ns, const std::string& topic,
                                                   const v1::TopicOptions& options) {
  v1::StoredTopic stored;
  const v1::Retention& retention = options.retention();
  stored.set_max_messages(retention.max_messages());
  stored.set_max_bytes(retention.max_bytes());
  if (retention.has_max_age()) {
    HP_ASSIGN_OR_RETURN(const int64_t max_age,
                        MillisOf(retention.max_age(), "options.retention.max_age"));
    stored.set_max_age_ms(max_age);
  }
  int64_t window = absl::ToInt64Milliseconds(limits_.default_dedupe_window);
  if (options.has_dedupe_window()) {
    HP_ASSIGN_OR_RETURN(window, MillisOf(options.dedupe_window(), "options.dedupe_window"));
    if (window > absl::ToInt64Milliseconds(limits_.max_dedupe_window)) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.dedupe_window must be at most ",
                       absl::FormatDuration(limits_.max_dedupe_window)));
    }
  }
  stored.set_dedupe_window_ms(window);
  if (topics_.size() >= limits_.max_topics) {
    return absl::ResourceExhaustedError(
        absl::StrCat("there are already ", limits_.max_topics, " topics (pubsub.max_topics)"));
  }
  const TopicPlace place = PlaceOfTopic(topic);
  const KeyRef meta{ns, place.meta_key};
  absl::StatusOr<v1::Topic> created =
      keyspace_->InShard({meta}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::Topic> {
        return locked.Apply(meta, [&](Shard::Access& access) -> absl::StatusOr<v1::Topic> {
          if (access.value() != nullptr) {
            return absl::AlreadyExistsError(absl::StrCat("topic \"", topic, "\" already exists"));
          }
          stored.set_created_ms(access.now_ms());
          WriteTopic(access, stored);
          return ViewOf(topic, stored, nullptr);
        });
      });
  if (created.ok()) {
    // A stream a deletion cut short by a crash keeps the old topic's groups: not this one's.
    HP_RETURN_IF_ERROR(DropUnrecordedGroups(ns, topic));
  }
  if (!created.ok()) return created.status();
  topics_.insert(TopicId(ns, topic));
  return created;
}

absl::Status TopicStore::EnsureTopic(const std::string& ns, const std::string& topic) {
  {
    absl::MutexLock lock(&mu_);
    if (topics_.contains(TopicId(ns, topic))) return absl::OkStatus();
  }
  if (!limits_.auto_create || topic.rfind("_sys.", 0) == 0) return NoTopic(topic);
  return CreateIfMissing(ns, topic);
}

absl::StatusOr<v1::Topic> TopicStore::GetTopic(const std::string& ns, const std::string& topic) {
  HP_RETURN_IF_ERROR(CheckTopicName(topic, "topic"));
  if (IsSystem(topic)) {  // no record: only what its stream retains
    const KeyRef key{ns, kSessionEventsKey};
    return keyspace_->InShard({key}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::Topic> {
      v1::Topic view;
      view.set_name(topic);
      SetRetained(StreamAt(locked, key), &view);
      return view;
    });
  }
  const TopicPlace place = PlaceOfTopic(topic);
  return keyspace_->InShard(
      {KeyRef{ns, place.meta_key}}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::Topic> {
        HP_ASSIGN_OR_RETURN(const v1::StoredTopic stored, LoadTopic(locked, ns, place));
        return ViewOf(topic, stored, StreamAt(locked, KeyRef{ns, place.stream_key}));
      });
}

absl::StatusOr<std::vector<v1::Topic>> TopicStore::ListTopics(const std::string& ns) {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = topics_.lower_bound(TopicId(ns, "")); it != topics_.end() && it->first == ns;
         ++it) {
      names.push_back(it->second);
    }
  }
  std::vector<v1::Topic> topics;
  for (const std::string& name : names) {
    absl::StatusOr<v1::Topic> topic = GetTopic(ns, name);
    if (absl::IsNotFound(topic.status())) continue;  // deleted meanwhile
    if (!topic.ok()) return topic.status();
    topics.push_back(*std::move(topic));
  }
  return topics;
}

absl::Status TopicStore::DeleteTopic(const std::string& ns, const std::string& topic) {
  HP_RETURN_IF_ERROR(CheckTopicName(topic, "topic"));
  const TopicPlace place = PlaceOfTopic(topic);
  {
    absl::MutexLock lock(&mu_);
    const KeyRef meta{ns, place.meta_key};
    HP_RETURN_IF_ERROR(keyspace_->InShard({meta}, [&](Shard::Locked& locked) -> absl::Status {
      HP_RETURN_IF_ERROR(LoadTopic(locked, ns, place).status());
      // The record goes first: a stream left by a crash is one no topic lists, and a topic
      // created again under the name starts from it (its IDs keep increasing).
      locked.Apply(meta, [](Shard::Access& access) { access.Delete(); });
      locked.Apply(KeyRef{ns, place.stream_key}, [](Shard::Access& access) { access.Delete(); });
      locked.Apply(KeyRef{ns, place.outbox_key}, [](Shard::Access& access) { access.Delete(); });
      return absl::OkStatus();
    }));
    topics_.erase(TopicId(ns, topic));
  }
  // Subscribers read again and find the topic gone.
  if (on_publish_) on_publish_(ns, topic);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::PublishResponse>> TopicStore::Publish(
    const std::string& ns, const std::string& topic,
    const google::protobuf::RepeatedPtrField<v1::OutgoingMessage>& messages, const char* field) {
  HP_RETURN_IF_ERROR(CheckTopicName(topic, "topic"));
  if (messages.empty() || static_cast<uint32_t>(messages.size()) > limits_.max_batch) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must hold 1 to ", limits_.max_batch, " messages"));
  }
  const bool single = messages.size() == 1 && std::string_view(field) == "message";
  for (int i = 0; i < messages.size(); ++i) {
    const std::string name = single ? std::string(field) : absl::StrCat(field, "[", i, "]");
    HP_RETURN_IF_ERROR(CheckMessage(messages[i], name));
  }
  return Append(ns, topic, messages);
}

absl::StatusOr<std::vector<v1::PublishResponse>> TopicStore::Append(
    const std::string& ns, const std::string& topic,
    const google::protobuf::RepeatedPtrField<v1::OutgoingMessage>& messages) {
  HP_RETURN_IF_ERROR(EnsureTopic(ns, topic));
  const TopicPlace place = PlaceOfTopic(topic);
  bool appended = false;
  bool dead_letters = false;
  uint64_t retention_dead_lettered = 0;
  absl::StatusOr<std::vector<v1::PublishResponse>> results = keyspace_->InShard(
      {KeyRef{ns, place.meta_key}},
      [&](Shard::Locked& locked) -> absl::StatusOr<std::vector<v1::PublishResponse>> {
        HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place));
        const KeyRef stream_ref{ns, place.stream_key};
        std::vector<v1::PublishResponse> out;
        out.reserve(messages.size());
        for (const v1::OutgoingMessage& message : messages) {
          v1::PublishResponse& result = out.emplace_back();
          std::string dedupe_key;
          if (!message.idempotency_key().empty()) {
            dedupe_key = place.DedupeKey(stored.created_ms(), message.idempotency_key());
            std::optional<std::string> seen =
                locked.Apply(KeyRef{ns, dedupe_key}, [](Shard::Access& access) {
                  const Value* value = access.value();
                  return value != nullptr && value->type() == ValueType::kString
                             ? std::optional<std::string>(value->string())
                             : std::nullopt;
                });
            if (seen.has_value()) {
              result.set_id(*seen);
              result.set_duplicate(true);
              continue;
            }
          }
          HP_ASSIGN_OR_RETURN(const StreamId id, locked.Apply(stream_ref, [&](Shard::Access& a) {
            return StreamAppendIn(a, std::nullopt, FieldsOf(message), {});
          }));
          appended = true;
          result.set_id(IdText(id));
          if (!dedupe_key.empty()) {
            locked.Apply(KeyRef{ns, dedupe_key}, [&](Shard::Access& access) {
              access.Upsert(Value::String(result.id()),
                            access.now_ms() + std::max<int64_t>(1, stored.dedupe_window_ms()));
            });
          }
        }
        // Retention, recording the last message it removes before removing it.
        const Stream* stream = StreamAt(locked, stream_ref);
        const std::optional<StreamId> keep =
            stream == nullptr ? std::nullopt : KeepFrom(stored, *stream, locked.now_ms());
        if (keep.has_value()) {
          // Messages still pending in a group leave it as dead letters rather than vanish.
          for (v1::StoredGroup& group : *stored.mutable_groups()) {
            absl::StatusOr<std::vector<PendingEntry>> doomed = stream->PendingDetail(
                group.name(), kMinStreamId, Pred(*keep), UINT64_MAX, "", INT64_MIN, 0);
            if (!doomed.ok()) continue;  // a group a crash left half made
            for (const PendingEntry& pending : *doomed) {
              const std::vector<StreamEntry> entry = stream->Range(pending.id, pending.id, 1);
              if (entry.empty()) continue;
              HP_ASSIGN_OR_RETURN(const bool added,
                                  AddDeadLetter(locked, ns, place, group, entry.front(),
                                                pending.delivery_count, kReasonRetention));
              dead_letters = dead_letters || added;
              ++retention_dead_lettered;
            }
          }
          const StreamId last_removed = stream->ReverseRange(Pred(*keep), kMinStreamId, 1).at(0).id;
          stored.set_trimmed_through_ms(last_removed.ms);
          stored.set_trimmed_through_seq(last_removed.seq);
          locked.Apply(KeyRef{ns, place.meta_key},
                       [&](Shard::Access& access) { WriteTopic(access, stored); });
          HP_RETURN_IF_ERROR(
              locked
                  .Apply(stream_ref,
                         [&](Shard::Access& access) {
                           return StreamTrimIn(
                               access, {.kind = StreamTrimPolicy::Kind::kMinId, .min_id = *keep});
                         })
                  .status());
        }
        return out;
      });
  if (appended && on_publish_) on_publish_(ns, topic);
  if (results.ok()) {
    retention_dead_letters_.fetch_add(retention_dead_lettered, std::memory_order_relaxed);
  }
  if (dead_letters) DrainDeadLetters(ns, topic).IgnoreError();  // retried at the next drain
  return results;
}

absl::Status TopicStore::DrainDeadLetters(const std::string& ns, const std::string& topic) {
  absl::Status drained = Drain(ns, topic);
  absl::MutexLock lock(&mu_);
  if (drained.ok()) {
    undrained_.erase(TopicId(ns, topic));
  } else {
    undrained_.insert(TopicId(ns, topic));
  }
  return drained;
}

void TopicStore::RetryDeadLetters() {
  std::vector<TopicId> undrained;
  {
    absl::MutexLock lock(&mu_);
    undrained.assign(undrained_.begin(), undrained_.end());
  }
  for (const auto& [ns, topic] : undrained) DrainDeadLetters(ns, topic).IgnoreError();
}

absl::Status TopicStore::Drain(const std::string& ns, const std::string& topic) {
  const TopicPlace place = PlaceOfTopic(topic);
  const KeyRef outbox{ns, place.outbox_key};  // a view: `place` must outlive it
  while (true) {
    HP_ASSIGN_OR_RETURN(
        const std::vector<StreamEntry> entries,
        keyspace_->InShard({outbox},
                           [&](Shard::Locked& locked) -> absl::StatusOr<std::vector<StreamEntry>> {
                             const Stream* stream = StreamAt(locked, outbox);
                             return stream == nullptr ? std::vector<StreamEntry>{}
                                                      : stream->ReadAfter(kMinStreamId, 64);
                           }));
    if (entries.empty()) return absl::OkStatus();
    for (const StreamEntry& entry : entries) {
      const DeadLetter letter = ParseDeadLetter(entry);
      google::protobuf::RepeatedPtrField<v1::OutgoingMessage> one;
      *one.Add() = letter.message;
      // Past the client limits: the dead-letter headers may take a message that was within
      // them over.
      absl::StatusOr<std::vector<v1::PublishResponse>> published =
          Append(ns, letter.destination, one);
      if (!published.ok()) {
        // A destination that cannot take it: gone with auto-creation off, or past max_topics
        // when it would be created again. Anything else (the topic's record unreadable) is
        // left for the next try (RetryDeadLetters).
        const absl::StatusCode code = published.status().code();
        if (code != absl::StatusCode::kNotFound && code != absl::StatusCode::kResourceExhausted &&
            code != absl::StatusCode::kInvalidArgument) {
          return published.status();
        }
        undeliverable_dead_letters_.fetch_add(1, std::memory_order_relaxed);
      }
      HP_RETURN_IF_ERROR(keyspace_->InShard({outbox}, [&](Shard::Locked& locked) {
        return locked.Apply(outbox, [&](Shard::Access& access) {
          return StreamTrimIn(access,
                              {.kind = StreamTrimPolicy::Kind::kMinId, .min_id = entry.id.Next()})
              .status();
        });
      }));
    }
  }
}

absl::Status TopicStore::CreateIfMissing(const std::string& ns, const std::string& topic) {
  HP_RETURN_IF_ERROR(CheckTopicName(topic, "topic"));
  absl::StatusOr<v1::Topic> created;
  {
    absl::MutexLock lock(&mu_);
    if (topics_.contains(TopicId(ns, topic))) return absl::OkStatus();
    created = CreateLocked(ns, topic, Defaults());
    if (absl::IsAlreadyExists(created.status())) {
      topics_.insert(TopicId(ns, topic));
      return absl::OkStatus();
    }
    if (!created.ok()) return created.status();
  }
  if (on_created_) on_created_(ns, topic);
  return absl::OkStatus();
}

v1::TopicOptions TopicStore::Defaults() const {
  v1::TopicOptions defaults;
  defaults.mutable_retention()->set_max_messages(limits_.default_max_messages);
  SetDuration(absl::ToInt64Milliseconds(limits_.default_max_age),
              defaults.mutable_retention()->mutable_max_age());
  return defaults;
}

absl::StatusOr<StreamId> TopicStore::Begin(const std::string& ns, const std::string& topic,
                                           const StartPoint& start) {
  HP_RETURN_IF_ERROR(CheckTopicName(topic, "topic"));
  const TopicPlace place = PlaceOfTopic(topic);
  return keyspace_->InShard(
      {StepKey(ns, topic, place)}, [&](Shard::Locked& locked) -> absl::StatusOr<StreamId> {
        HP_ASSIGN_OR_RETURN(const Log log, LogOf(locked, ns, topic, place));
        StreamId after = log.through;
        switch (start.kind) {
          case StartPoint::Kind::kLatest:
            return log.stream == nullptr ? log.through
                                         : std::max(log.through, log.stream->last_id());
          case StartPoint::Kind::kEarliest:
            return log.through;
          case StartPoint::Kind::kAfter:
            after = start.after;
            break;
          case StartPoint::Kind::kAtTime:
            after = Pred(StreamId{static_cast<uint64_t>(std::max<int64_t>(0, start.at_ms)), 0});
            break;
        }
        if (Missed(log, after)) return Removed(after, log.stream);
        return after;
      });
}

absl::StatusOr<std::vector<v1::Message>> TopicStore::Read(const std::string& ns,
                                                          const std::string& topic, StreamId after,
                                                          uint32_t max) {
  const TopicPlace place = PlaceOfTopic(topic);
  return keyspace_->InShard({StepKey(ns, topic, place)},
                            [&](Shard::Locked& locked) -> absl::StatusOr<std::vector<v1::Message>> {
                              HP_ASSIGN_OR_RETURN(const Log log, LogOf(locked, ns, topic, place));
                              if (Missed(log, after)) return Removed(after, log.stream);
                              std::vector<v1::Message> messages;
                              if (log.stream == nullptr) return messages;
                              for (const StreamEntry& entry : log.stream->ReadAfter(after, max)) {
                                FillMessage(topic, entry, &messages.emplace_back());
                              }
                              return messages;
                            });
}

absl::StatusOr<uint64_t> TopicStore::CountAfter(const std::string& ns, const std::string& topic,
                                                StreamId after, uint64_t limit) {
  const TopicPlace place = PlaceOfTopic(topic);
  return keyspace_->InShard({StepKey(ns, topic, place)},
                            [&](Shard::Locked& locked) -> absl::StatusOr<uint64_t> {
                              HP_ASSIGN_OR_RETURN(const Log log, LogOf(locked, ns, topic, place));
                              if (log.stream == nullptr) return uint64_t{0};
                              return log.stream->CountAfter(after, limit);
                            });
}

std::vector<std::string> TopicStore::Matching(const std::string& ns, const std::string& pattern) {
  std::vector<std::string> names;
  absl::MutexLock lock(&mu_);
  for (auto it = topics_.lower_bound(TopicId(ns, "")); it != topics_.end() && it->first == ns;
       ++it) {
    if (Matches(pattern, it->second)) names.push_back(it->second);
  }
  return names;
}

absl::Status TopicStore::Start() {
  std::vector<TopicId> found;
  // Topics a crash may have left something to finish for: a stream with groups (a deletion
  // cut short) or a non-empty outbox. Only they get a step at start.
  absl::btree_set<TopicId> unfinished;
  keyspace_->ForEachKey([&](const KeyRef& key, const Value& value, int64_t) {
    if (std::optional<std::string> topic = TopicOfKey(key.key, "pt");
        topic.has_value() && CheckTopicName(*topic, "topic").ok() &&
        PlaceOfTopic(*topic).meta_key == key.key) {
      // Only records this store writes: a valid name under its own key.
      found.emplace_back(std::string(key.ns), *std::move(topic));
      return;
    }
    if (value.type() != ValueType::kStream) return;
    const Stream& stream = value.stream();
    std::optional<std::string> topic;
    if (!stream.GroupNames().empty()) topic = TopicOfKey(key.key, "pm");
    if (!topic.has_value() && stream.size() > 0) topic = TopicOfKey(key.key, "po");
    if (topic.has_value()) unfinished.emplace(std::string(key.ns), *std::move(topic));
  });
  {
    absl::MutexLock lock(&mu_);
    for (const TopicId& id : found) topics_.insert(id);
  }
  for (const auto& [ns, topic] : found) {
    if (!unfinished.contains(TopicId(ns, topic))) continue;
    HP_RETURN_IF_ERROR(DropUnrecordedGroups(ns, topic));
    // Dead letters a crash left in the outbox; what cannot go now waits for the next drain.
    DrainDeadLetters(ns, topic).IgnoreError();
  }
  return absl::OkStatus();
}

absl::Status TopicStore::DropUnrecordedGroups(const std::string& ns, const std::string& topic) {
  const TopicPlace place = PlaceOfTopic(topic);
  return keyspace_->InShard({KeyRef{ns, place.meta_key}}, [&](Shard::Locked& locked) {
    HP_ASSIGN_OR_RETURN(v1::StoredTopic stored, LoadTopic(locked, ns, place));
    const KeyRef stream_ref{ns, place.stream_key};
    const Stream* stream = StreamAt(locked, stream_ref);
    if (stream == nullptr) return absl::OkStatus();
    for (const std::string& name : stream->GroupNames()) {
      if (FindGroup(stored, name) != nullptr) continue;
      HP_RETURN_IF_ERROR(locked.Apply(
          stream_ref, [&](Shard::Access& access) { return StreamDestroyGroupIn(access, name); }));
    }
    return absl::OkStatus();
  });
}

}  // namespace hotpath::pubsub
