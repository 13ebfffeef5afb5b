// hotpath.pubsub.v1.PubSubService over gRPC: checks the gate and the request, runs it on the
// TopicStore or GroupStore, and converts the answers. CreateTopic, DeleteTopic, Publish,
// PublishBatch, CreateGroup and DeleteGroup answer once durable under the fsync policy
// (UNAVAILABLE, before anything changes, while the data directory cannot be written); reads
// answer at once. Subscribe streams are the SubscriberHub's, Consume streams the
// ConsumerHub's.
//
// Thread safety: handlers run concurrently on gRPC's callback threads.
#pragma once

#include <atomic>
#include <cstdint>

#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "persistence/store.h"
#include "services/common/serving_gate.h"
#include "services/common/unary_call.h"
#include "services/pubsub/consumer_hub.h"
#include "services/pubsub/group_store.h"
#include "services/pubsub/subscriber_hub.h"
#include "services/pubsub/topic_store.h"

namespace hotpath::pubsub {

class PubSubService final : public v1::PubSubService::CallbackService {
 public:
  // Everything given must outlive the service; `store` and `calls` too unless null
  // (persistence off, calls not metered). Calls answer UNAVAILABLE until the gate opens.
  PubSubService(TopicStore* topics, SubscriberHub* hub, GroupStore* groups, ConsumerHub* consumers,
                Store* store, const ServingGate* gate, RpcMetrics* calls = nullptr)
      : topics_(topics),
        hub_(hub),
        groups_(groups),
        consumers_(consumers),
        store_(store),
        gate_(gate),
        calls_(calls) {}

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
  grpc::ServerUnaryReactor* CreateGroup(grpc::CallbackServerContext* context,
                                        const v1::CreateGroupRequest* request,
                                        v1::CreateGroupResponse* response) override;
  grpc::ServerUnaryReactor* GetGroup(grpc::CallbackServerContext* context,
                                     const v1::GetGroupRequest* request,
                                     v1::GetGroupResponse* response) override;
  grpc::ServerUnaryReactor* ListGroups(grpc::CallbackServerContext* context,
                                       const v1::ListGroupsRequest* request,
                                       v1::ListGroupsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteGroup(grpc::CallbackServerContext* context,
                                        const v1::DeleteGroupRequest* request,
                                        v1::DeleteGroupResponse* response) override;
  grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse>* Consume(
      grpc::CallbackServerContext* context) override;

  // Messages appended, and publishes answered as duplicates, so far.
  uint64_t published() const { return published_.load(std::memory_order_relaxed); }
  uint64_t duplicates() const { return duplicates_.load(std::memory_order_relaxed); }

 private:
  // Starts metering a unary call of this service: `method` is the handler's __func__, which
  // is the RPC's name.
  UnaryCall Call(grpc::CallbackServerContext* context, const char* method) const {
    return UnaryCall(context, calls_, v1::PubSubService::service_full_name(), method);
  }
  // Whether a call may go on: the gate's admission (deadline, credentials for `scope` in
  // namespace `ns`, empty meaning the default; loading; and the memory cap when it `grows`),
  // then for calls that `writes`, whether the data directory takes writes.
  absl::Status Admit(const grpc::ServerContextBase& context, auth::Scope scope,
                     const std::string& ns, bool writes, bool grows = false) const;
  void Count(const v1::PublishResponse& result);
  // Fills in each consumer's open streams, adding connected consumers that own nothing.
  void AddOpenStreams(const std::string& ns, v1::Group* group) const;

  TopicStore* const topics_;
  SubscriberHub* const hub_;
  GroupStore* const groups_;
  ConsumerHub* const consumers_;
  Store* const store_;
  const ServingGate* const gate_;
  RpcMetrics* const calls_;  // null: calls not metered
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> duplicates_{0};
};

}  // namespace hotpath::pubsub
