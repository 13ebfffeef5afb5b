#include "services/pubsub/pubsub_service.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "services/common/namespace.h"
#include "services/common/push_streams.h"

namespace hotpath::pubsub {
namespace {

constexpr uint32_t kDefaultBatch = 100;
constexpr uint32_t kMaxBatch = 1000;

// Where a subscription or a group starts (the two requests share the oneof's shape).
template <typename Request>
absl::StatusOr<StartPoint> StartOf(const Request& request) {
  StartPoint start;
  switch (request.start_case()) {
    case Request::kEarliest:
      start.kind = StartPoint::Kind::kEarliest;
      break;
    case Request::kAfterId: {
      start.kind = StartPoint::Kind::kAfter;
      HP_ASSIGN_OR_RETURN(start.after, ParseId(request.after_id(), "after_id"));
      break;
    }
    case Request::kAtTime:
      if (request.at_time().seconds() < 0 || request.at_time().seconds() > 253'402'300'799 ||
          request.at_time().nanos() < 0) {
        return absl::InvalidArgumentError("at_time must be between 1970 and 9999");
      }
      start.kind = StartPoint::Kind::kAtTime;
      start.at_ms = request.at_time().seconds() * 1000 + request.at_time().nanos() / 1'000'000;
      break;
    default:
      start.kind = StartPoint::Kind::kLatest;
  }
  return start;
}

absl::Status CheckTarget(const v1::SubscribeRequest& request) {
  switch (request.target_case()) {
    case v1::SubscribeRequest::kTopic:
      return CheckTopicName(request.topic(), "topic");
    case v1::SubscribeRequest::kPattern:
      return CheckPattern(request.pattern());
    default:
      return absl::InvalidArgumentError("one of topic or pattern must be set");
  }
}

}  // namespace

absl::Status PubSubService::Admit(const grpc::ServerContextBase& context, auth::Scope scope,
                                  const std::string& ns, bool writes, bool grows) const {
  HP_RETURN_IF_ERROR(gate_->Admit(context, scope, NamespaceOf(ns), grows));
  if (writes && store_ != nullptr) return store_->CheckWritable();
  return absl::OkStatus();
}

void PubSubService::Count(const v1::PublishResponse& result) {
  (result.duplicate() ? duplicates_ : published_).fetch_add(1, std::memory_order_relaxed);
}

grpc::ServerUnaryReactor* PubSubService::CreateTopic(grpc::CallbackServerContext* context,
                                                     const v1::CreateTopicRequest* request,
                                                     v1::CreateTopicResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kPubsubAdmin, request->namespace_(),
                                    /*writes=*/true, /*grows=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<v1::Topic> topic = topics_->CreateTopic(NamespaceOf(request->namespace_()),
                                                         request->topic(), request->options());
  if (topic.ok()) *response->mutable_topic() = *std::move(topic);
  return call.FinishDurable(store_, topic.status(), topic.ok());
}

grpc::ServerUnaryReactor* PubSubService::GetTopic(grpc::CallbackServerContext* context,
                                                  const v1::GetTopicRequest* request,
                                                  v1::GetTopicResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kPubsubSubscribe, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<v1::Topic> topic =
      topics_->GetTopic(NamespaceOf(request->namespace_()), request->topic());
  if (topic.ok()) *response->mutable_topic() = *std::move(topic);
  return call.Finish(topic.status());
}

grpc::ServerUnaryReactor* PubSubService::ListTopics(grpc::CallbackServerContext* context,
                                                    const v1::ListTopicsRequest* request,
                                                    v1::ListTopicsResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kPubsubSubscribe, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<std::vector<v1::Topic>> topics =
      topics_->ListTopics(NamespaceOf(request->namespace_()));
  if (topics.ok()) {
    for (v1::Topic& topic : *topics) *response->add_topics() = std::move(topic);
  }
  return call.Finish(topics.status());
}

grpc::ServerUnaryReactor* PubSubService::DeleteTopic(grpc::CallbackServerContext* context,
                                                     const v1::DeleteTopicRequest* request,
                                                     v1::DeleteTopicResponse* /*response*/) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kPubsubAdmin, request->namespace_(), /*writes=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  const std::string ns = NamespaceOf(request->namespace_());
  const absl::Status deleted = topics_->DeleteTopic(ns, request->topic());
  if (deleted.ok()) consumers_->Gone(ns, request->topic(), "");
  return call.FinishDurable(store_, deleted, deleted.ok());
}

grpc::ServerUnaryReactor* PubSubService::Publish(grpc::CallbackServerContext* context,
                                                 const v1::PublishRequest* request,
                                                 v1::PublishResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kPubsubPublish, request->namespace_(),
                                    /*writes=*/true, /*grows=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  google::protobuf::RepeatedPtrField<v1::OutgoingMessage> one;
  *one.Add() = request->message();
  absl::StatusOr<std::vector<v1::PublishResponse>> results =
      topics_->Publish(NamespaceOf(request->namespace_()), request->topic(), one, "message");
  if (!results.ok()) return call.Finish(results.status());
  Count(results->front());
  *response = std::move(results->front());
  // A duplicate waits too: the first message may not be durable yet.
  return call.FinishDurable(store_, absl::OkStatus());
}

grpc::ServerUnaryReactor* PubSubService::PublishBatch(grpc::CallbackServerContext* context,
                                                      const v1::PublishBatchRequest* request,
                                                      v1::PublishBatchResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kPubsubPublish, request->namespace_(),
                                    /*writes=*/true, /*grows=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<std::vector<v1::PublishResponse>> results = topics_->Publish(
      NamespaceOf(request->namespace_()), request->topic(), request->messages(), "messages");
  if (!results.ok()) return call.Finish(results.status());
  for (v1::PublishResponse& result : *results) {
    Count(result);
    *response->add_results() = std::move(result);
  }
  return call.FinishDurable(store_, absl::OkStatus());
}

grpc::ServerWriteReactor<v1::SubscribeResponse>* PubSubService::Subscribe(
    grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) {
  using Streams = PushStreams<v1::SubscribeResponse>;
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kPubsubSubscribe, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return Streams::Refuse(admitted);
  }
  if (absl::Status target = CheckTarget(*request); !target.ok()) return Streams::Refuse(target);
  if (request->start_case() == v1::SubscribeRequest::kAfterId &&
      request->target_case() != v1::SubscribeRequest::kTopic) {
    return Streams::Refuse(
        absl::InvalidArgumentError("after_id needs a single topic, not a pattern"));
  }
  absl::StatusOr<StartPoint> start = StartOf(*request);
  if (!start.ok()) return Streams::Refuse(start.status());
  if (request->max_batch() > kMaxBatch) {
    return Streams::Refuse(
        absl::InvalidArgumentError(absl::StrCat("max_batch must be at most ", kMaxBatch)));
  }
  const uint32_t max_batch = request->max_batch() == 0 ? kDefaultBatch : request->max_batch();
  return hub_->Open(NamespaceOf(request->namespace_()), *request, *start, max_batch);
}

}  // namespace hotpath::pubsub

namespace hotpath::pubsub {

grpc::ServerUnaryReactor* PubSubService::CreateGroup(grpc::CallbackServerContext* context,
                                                     const v1::CreateGroupRequest* request,
                                                     v1::CreateGroupResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kPubsubAdmin, request->namespace_(),
                                    /*writes=*/true, /*grows=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<StartPoint> start = StartOf(*request);
  if (!start.ok()) return call.Finish(start.status());
  absl::StatusOr<v1::Group> group =
      groups_->CreateGroup(NamespaceOf(request->namespace_()), request->topic(), request->group(),
                           request->options(), *start);
  if (group.ok()) *response->mutable_group() = *std::move(group);
  return call.FinishDurable(store_, group.status(), group.ok());
}

void PubSubService::AddOpenStreams(const std::string& ns, v1::Group* group) const {
  std::map<std::string, uint32_t> open = consumers_->OpenStreams(ns, group->topic(), group->name());
  for (v1::ConsumerInfo& consumer : *group->mutable_consumers()) {
    auto it = open.find(consumer.name());
    if (it == open.end()) continue;
    consumer.set_open_streams(it->second);
    open.erase(it);
  }
  for (const auto& [name, streams] : open) {  // connected, owning nothing pending
    v1::ConsumerInfo* consumer = group->add_consumers();
    consumer->set_name(name);
    consumer->set_open_streams(streams);
  }
  std::sort(
      group->mutable_consumers()->begin(), group->mutable_consumers()->end(),
      [](const v1::ConsumerInfo& a, const v1::ConsumerInfo& b) { return a.name() < b.name(); });
}

grpc::ServerUnaryReactor* PubSubService::GetGroup(grpc::CallbackServerContext* context,
                                                  const v1::GetGroupRequest* request,
                                                  v1::GetGroupResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kPubsubSubscribe, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  const std::string ns = NamespaceOf(request->namespace_());
  absl::StatusOr<v1::Group> group = groups_->GetGroup(ns, request->topic(), request->group());
  if (group.ok()) {
    AddOpenStreams(ns, &*group);
    *response->mutable_group() = *std::move(group);
  }
  return call.Finish(group.status());
}

grpc::ServerUnaryReactor* PubSubService::ListGroups(grpc::CallbackServerContext* context,
                                                    const v1::ListGroupsRequest* request,
                                                    v1::ListGroupsResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kPubsubSubscribe, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  const std::string ns = NamespaceOf(request->namespace_());
  absl::StatusOr<std::vector<v1::Group>> groups = groups_->ListGroups(ns, request->topic());
  if (groups.ok()) {
    for (v1::Group& group : *groups) {
      AddOpenStreams(ns, &group);
      *response->add_groups() = std::move(group);
    }
  }
  return call.Finish(groups.status());
}

grpc::ServerUnaryReactor* PubSubService::DeleteGroup(grpc::CallbackServerContext* context,
                                                     const v1::DeleteGroupRequest* request,
                                                     v1::DeleteGroupResponse* /*response*/) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kPubsubAdmin, request->namespace_(), /*writes=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  const std::string ns = NamespaceOf(request->namespace_());
  const absl::Status deleted = groups_->DeleteGroup(ns, request->topic(), request->group());
  if (deleted.ok()) consumers_->Gone(ns, request->topic(), request->group());
  return call.FinishDurable(store_, deleted, deleted.ok());
}

grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse>* PubSubService::Consume(
    grpc::CallbackServerContext* context) {
  // The namespace comes with the first request: the stream is admitted to it then, and to the
  // scope (no namespace) now.
  absl::Status admitted = gate_->Admit(*context, auth::Scope::kPubsubSubscribe, std::nullopt);
  if (admitted.ok() && store_ != nullptr) admitted = store_->CheckWritable();
  if (!admitted.ok()) return ConsumerHub::Refuse(admitted);
  const ServingGate* gate = gate_;
  return consumers_->Open([gate, context](const std::string& ns) {
    return gate->Admit(*context, auth::Scope::kPubsubSubscribe, ns);
  });
}

}  // namespace hotpath::pubsub
