// TopicStore: durable topics on the engine's streams. Publishing (with idempotency keys and
// retention), and the reads subscribers are built on.
//
// Layout: topic_layout.h. A publish is one Keyspace::InShard step: the messages, their
// idempotency keys, and the trim retention asks for. The topic's record remembers the last
// message retention removed, so a reader resuming before it is told (OutOfRange) instead of
// being moved on silently; a reader resuming after a removed message that nothing followed
// into removal goes on normally.
//
// Retention: max_messages and max_age exactly, max_bytes by the log's own byte accounting
// (approximately); applied at each publish.
//
// Errors: InvalidArgument naming the field; NotFound for an unknown topic; AlreadyExists for
// a name taken; OutOfRange for a start before what retention holds (the message names the
// earliest retained ID); ResourceExhausted past max_topics; DataLoss for an unreadable record.
// Thread safety: every method may be called concurrently. The keyspace must outlive the store.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/keyspace.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "hotpath/pubsub/v1/pubsub.pb.h"
#include "services/pubsub/topic_layout.h"

namespace hotpath::pubsub {

// The server's own topics: read-only views of streams other services append to, in every
// namespace. "_sys.session-events" is the SessionService's lifecycle events (docs/sessions.md).
inline constexpr char kSessionEventsTopic[] = "_sys.session-events";
inline constexpr char kSessionEventsKey[] = "_sys:session-events";

struct TopicLimits {
  size_t max_payload_bytes = 1 << 20;
  size_t max_headers = 32;
  size_t max_header_bytes = 8 * 1024;  // names and values of one message's headers together
  size_t max_idempotency_key_bytes = 256;
  uint32_t max_batch = 1000;
  size_t max_topics = 10'000;  // all namespaces together
  // A publish to a missing topic creates it with the defaults below (else NotFound).
  bool auto_create = true;
  uint64_t default_max_messages = 1'000'000;
  absl::Duration default_max_age = absl::Hours(24 * 7);
  absl::Duration default_dedupe_window = absl::Minutes(2);
  absl::Duration max_dedupe_window = absl::Hours(24);
};

// Where a subscription starts.
struct StartPoint {
  enum class Kind { kLatest, kEarliest, kAfter, kAtTime };
  Kind kind = Kind::kLatest;
  StreamId after;     // kAfter
  int64_t at_ms = 0;  // kAtTime
};

class TopicStore {
 public:
  TopicStore(Keyspace* keyspace, const TopicLimits& limits)
      : keyspace_(keyspace), limits_(limits) {}

  // Learns the topics from the keyspace, then finishes what a crash interrupted (group
  // deletions, dead letters in outboxes). Once, after recovery, before any other call.
  absl::Status Start();

  absl::StatusOr<v1::Topic> CreateTopic(const std::string& ns, const std::string& topic,
                                        const v1::TopicOptions& options);
  absl::StatusOr<v1::Topic> GetTopic(const std::string& ns, const std::string& topic);
  absl::StatusOr<std::vector<v1::Topic>> ListTopics(const std::string& ns);
  absl::Status DeleteTopic(const std::string& ns, const std::string& topic);

  // Appends the messages in order as one step. Nothing is appended when one is invalid.
  // `field` names the list in errors ("message" for a single one, "messages").
  absl::StatusOr<std::vector<v1::PublishResponse>> Publish(
      const std::string& ns, const std::string& topic,
      const google::protobuf::RepeatedPtrField<v1::OutgoingMessage>& messages, const char* field);

  // Creates the topic with the server's defaults unless it exists, whatever auto_create says
  // (a dead-letter topic a group names).
  absl::Status CreateIfMissing(const std::string& ns, const std::string& topic);
  // Publishes what the topic's dead-letter outbox holds (dead_letters.h) to its destinations,
  // oldest first, past the per-message client limits. A letter whose destination is gone
  // (auto_create off, or max_topics reached) is dropped and counted; any other error stops the
  // drain, leaving the rest for RetryDeadLetters.
  absl::Status DrainDeadLetters(const std::string& ns, const std::string& topic);
  // Drains again the outboxes whose last drain stopped at an error. Called periodically.
  void RetryDeadLetters();
  uint64_t undeliverable_dead_letters() const {
    return undeliverable_dead_letters_.load(std::memory_order_relaxed);
  }

  // The ID after which a subscription starting at `start` delivers. Also for system topics,
  // which keep no record of what their trimming removed: resuming before their first message
  // is always OutOfRange there.
  absl::StatusOr<StreamId> Begin(const std::string& ns, const std::string& topic,
                                 const StartPoint& start);
  // Up to `max` messages after `after`; OutOfRange if retention removed some of them.
  absl::StatusOr<std::vector<v1::Message>> Read(const std::string& ns, const std::string& topic,
                                                StreamId after, uint32_t max);
  // How many messages follow `after`, counting up to `limit` at most.
  absl::StatusOr<uint64_t> CountAfter(const std::string& ns, const std::string& topic,
                                      StreamId after, uint64_t limit);
  // The namespace's topics matching `pattern`, by name.
  std::vector<std::string> Matching(const std::string& ns, const std::string& pattern);

  // Run after a publish appended messages, after a topic is created, and after one is deleted,
  // outside the store's locks. Set before Start.
  void set_on_publish(std::function<void(const std::string& ns, const std::string& topic)> fn) {
    on_publish_ = std::move(fn);
  }
  void set_on_created(std::function<void(const std::string& ns, const std::string& topic)> fn) {
    on_created_ = std::move(fn);
  }

  // Every topic, all namespaces, as (namespace, topic), in order.
  std::vector<std::pair<std::string, std::string>> AllTopics() {
    absl::MutexLock lock(&mu_);
    return {topics_.begin(), topics_.end()};
  }
  // Pending messages retention removed and so dead-lettered (dead_letters.h), since start.
  uint64_t retention_dead_letters() const {
    return retention_dead_letters_.load(std::memory_order_relaxed);
  }

  const TopicLimits& limits() const { return limits_; }
  size_t TopicCount() {
    absl::MutexLock lock(&mu_);
    return topics_.size();
  }

 private:
  using TopicId = std::pair<std::string, std::string>;  // namespace, topic

  absl::Status CheckMessage(const v1::OutgoingMessage& message, const std::string& field) const;
  // Creates the topic with the defaults unless it exists (auto_create).
  absl::Status EnsureTopic(const std::string& ns, const std::string& topic);
  // Publish without the per-message limits (for callers that checked, and dead letters).
  absl::StatusOr<std::vector<v1::PublishResponse>> Append(
      const std::string& ns, const std::string& topic,
      const google::protobuf::RepeatedPtrField<v1::OutgoingMessage>& messages);
  absl::Status Drain(const std::string& ns, const std::string& topic);
  v1::TopicOptions Defaults() const;
  // Destroys the topic's stream groups its record does not name: a group deletion that a crash
  // cut between the record and the stream (the record changes first).
  absl::Status DropUnrecordedGroups(const std::string& ns, const std::string& topic);
  absl::StatusOr<v1::Topic> CreateLocked(const std::string& ns, const std::string& topic,
                                         const v1::TopicOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Keyspace* const keyspace_;
  const TopicLimits limits_;
  std::function<void(const std::string&, const std::string&)> on_publish_;
  std::function<void(const std::string&, const std::string&)> on_created_;
  std::atomic<uint64_t> undeliverable_dead_letters_{0};
  std::atomic<uint64_t> retention_dead_letters_{0};

  // The topics. Create and Delete hold it across their step, so it agrees with the keyspace.
  absl::Mutex mu_;
  absl::btree_set<TopicId> topics_ ABSL_GUARDED_BY(mu_);
  // Topics whose last outbox drain stopped at an error.
  absl::btree_set<TopicId> undrained_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hotpath::pubsub
