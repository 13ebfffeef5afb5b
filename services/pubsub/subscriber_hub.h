// SubscriberHub: the streams of PubSubService/Subscribe. A subscriber keeps a cursor (the last
// ID it was sent) per topic it follows and reads the shared log after it: no message is copied
// per subscriber, and one that falls behind simply reads on at its own pace (PushStreams: one
// response in flight, up to max_batch messages in it). A live-only subscriber more than
// max_lag messages behind is ended with RESOURCE_EXHAUSTED naming where to resume.
//
// A pattern subscriber follows every matching topic, including ones created later (from their
// first message).
//
// Thread safety: every method may be called from any thread. Stop() before destruction;
// gRPC must be done with every stream before the hub is destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "hotpath/pubsub/v1/pubsub.pb.h"
#include "services/common/push_streams.h"
#include "services/pubsub/topic_store.h"

namespace hotpath::pubsub {

class SubscriberHub {
 public:
  // `store` must outlive the hub.
  SubscriberHub(TopicStore* store, uint64_t max_lag) : store_(store), max_lag_(max_lag) {}

  void Start() { streams_.Start("hp-subscribers"); }
  // Ends every stream with UNAVAILABLE; streams opened later end at once.
  void Stop() { streams_.Stop(); }

  // A stream for a request the service has checked (a valid topic or pattern, a start that
  // fits it). Ends at once with the error when the start is out of range or the topic unknown.
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Open(const std::string& ns,
                                                        const v1::SubscribeRequest& request,
                                                        const StartPoint& start,
                                                        uint32_t max_batch);
  // New messages on (or the deletion of) a topic.
  void Published(const std::string& ns, const std::string& topic);
  // A new topic: pattern subscribers that match it start following it.
  void Created(const std::string& ns, const std::string& topic);

  size_t subscribers() const { return streams_.size(); }
  // Messages sent to subscribers so far.
  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }

 private:
  class Source;
  friend class Source;

  void Register(Source* source) ABSL_LOCKS_EXCLUDED(mu_);
  void Unregister(Source* source) ABSL_LOCKS_EXCLUDED(mu_);

  TopicStore* const store_;
  const uint64_t max_lag_;
  std::atomic<uint64_t> delivered_{0};
  PushStreams<v1::SubscribeResponse> streams_;
  absl::Mutex mu_;
  // Pattern subscribers by namespace, then pattern.
  absl::flat_hash_map<std::string, std::multimap<std::string, Source*>> patterns_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace hotpath::pubsub
