// hotpath.pubsub.v1.PubSubService over gRPC: checks the gate and the request, runs it on the
// TopicStore, and converts the answers. CreateTopic, DeleteTopic, Publish and PublishBatch
// answer once durable under the fsync policy (UNAVAILABLE, before anything changes, while the
// data directory cannot be written); reads answer at once. Subscribe streams are the
// SubscriberHub's.
//
// Thread safety: handlers run concurrently on gRPC's callback threads.
#pragma once

#include <atomic>
#include <cstdint>

#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "persistence/store.h"
#include "services/common/serving_gate.h"
#include "services/pubsub/subscriber_hub.h"
#include "services/pubsub/topic_store.h"

namespace hotpath::pubsub {

class PubSubService final : public v1::PubSubService::CallbackService {
 public:
  // `topics`, `hub` and `gate` must outlive the service; `store` too unless null (persistence
  // off). Calls answer UNAVAILABLE until the gate opens.
  PubSubService(TopicStore* topics, SubscriberHub* hub, Store* store, const ServingGate* gate)
      : topics_(topics), hub_(hub), store_(store), gate_(gate) {}

  grpc::ServerUnaryReactor* CreateTopic(grpc::CallbackServerContext* context,
                                        const v1::CreateTopicRequest* request,
                                        v1::CreateTopicResponse* response) override;
  grpc::ServerUnaryReactor* GetTopic(grpc::CallbackServerContext* context,
                                     const v1::GetTopicRequest* request,
                                     v1::GetTopicResponse* response) override;
  grpc::ServerUnaryReactor* ListTopics(grpc::CallbackServerContext* context,
                                       const v1::ListTopicsRequest* request,
                                       v1::ListTopicsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteTopic(grpc::CallbackServerContext* context,
                                        const v1::DeleteTopicRequest* request,
                                        v1::DeleteTopicResponse* response) override;
  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* context,
                                    const v1::PublishRequest* request,
                                    v1::PublishResponse* response) override;
  grpc::ServerUnaryReactor* PublishBatch(grpc::CallbackServerContext* context,
                                         const v1::PublishBatchRequest* request,
                                         v1::PublishBatchResponse* response) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) override;

  // Messages appended, and publishes answered as duplicates, so far.
  uint64_t published() const { return published_.load(std::memory_order_relaxed); }
  uint64_t duplicates() const { return duplicates_.load(std::memory_order_relaxed); }

 private:
  absl::Status Admit(bool writes) const;
  void Count(const v1::PublishResponse& result);

  TopicStore* const topics_;
  SubscriberHub* const hub_;
  Store* const store_;
  const ServingGate* const gate_;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> duplicates_{0};
};

}  // namespace hotpath::pubsub
