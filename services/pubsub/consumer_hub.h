// ConsumerHub: the streams of PubSubService/Consume, one consumer of a group each.
//
// The first request names the group (ConsumeStart); the stream then answers with the
// consumer's name, and sends deliveries while fewer than the window (max_outstanding) are
// outstanding: delivered on this stream and neither acknowledged, nacked, nor past their ack
// deadline. Later requests change the window and carry acks and nacks, applied as they arrive
// (durable as the fsync policy makes every write; an ack lost to a crash means a redelivery).
//
// The hub's one thread pulls for streams that may have something to send: after a publish on
// their topic (Published), an ack or nack, a written response, and every `tick`, when it also
// claims pending messages whose deadline passed (GroupStore::Pull's claim_due) and retries
// dead-letter outboxes a drain left behind. One response is in flight per stream. When a
// consumer name's last stream ends, the name leaves the group (GroupStore::Forget).
//
// A stream ends with the error when its group or topic goes (NOT_FOUND), a request is bad
// (INVALID_ARGUMENT naming the field), with OK when the client half-closes, and with
// UNAVAILABLE at Stop.
//
// Thread safety: every method may be called from any thread. Stop() before destruction; gRPC
// must be done with every stream before the hub is destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/common/clock.h"
#include "grpcpp/support/server_callback.h"
#include "hotpath/pubsub/v1/pubsub.pb.h"
#include "services/pubsub/group_store.h"

namespace hotpath::pubsub {

class ConsumerHub {
 public:
  // `groups` and `clock` must outlive the hub.
  ConsumerHub(GroupStore* groups, const Clock* clock, absl::Duration tick)
      : groups_(groups), clock_(clock), tick_(tick) {}
  ConsumerHub(const ConsumerHub&) = delete;
  ConsumerHub& operator=(const ConsumerHub&) = delete;
  ~ConsumerHub() { Stop(); }

  void Start();
  // Ends every stream with UNAVAILABLE; streams opened later end at once.
  void Stop();

  // Admits the namespace the stream's first request names (authorization): the stream ends
  // with what it returns when that is not OK.
  using NamespaceCheck = std::function<absl::Status(const std::string& ns)>;

  grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse>* Open(NamespaceCheck check);
  // A stream that ends at once with `status` (a refused call).
  static grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse>* Refuse(
      const absl::Status& status);

  // New messages on a topic: its consumers pull.
  void Published(const std::string& ns, const std::string& topic);
  // The group (or, with `group` empty, every group of the topic) was deleted: its streams end
  // with NOT_FOUND, whether or not they have room to pull.
  void Gone(const std::string& ns, const std::string& topic, const std::string& group);
  // Open streams of a group by consumer name.
  std::map<std::string, uint32_t> OpenStreams(const std::string& ns, const std::string& topic,
                                              const std::string& group) const;

  size_t streams() const;
  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  uint64_t redelivered() const { return redelivered_.load(std::memory_order_relaxed); }
  uint64_t dead_lettered() const { return dead_lettered_.load(std::memory_order_relaxed); }

 private:
  class Consumer;
  friend class Consumer;

  void Enqueue(Consumer* consumer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Register(Consumer* consumer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unregister(Consumer* consumer);
  void Run();

  GroupStore* const groups_;
  const Clock* const clock_;
  const absl::Duration tick_;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> redelivered_{0};
  std::atomic<uint64_t> dead_lettered_{0};

  mutable absl::Mutex mu_;
  absl::flat_hash_set<Consumer*> all_ ABSL_GUARDED_BY(mu_);
  // Started streams by topic ("<ns>\n<topic>").
  absl::flat_hash_map<std::string, absl::flat_hash_set<Consumer*>> by_topic_ ABSL_GUARDED_BY(mu_);
  std::vector<Consumer*> queue_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace hotpath::pubsub
