#include "services/pubsub/pubsub_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "services/common/grpc_status.h"
#include "services/common/push_streams.h"

namespace hotpath::pubsub {
namespace {

constexpr uint32_t kDefaultBatch = 100;
constexpr uint32_t kMaxBatch = 1000;

std::string NamespaceOf(const std::string& ns) { return ns.empty() ? "default" : ns; }

// The subscription's start, checked against its target.
absl::StatusOr<StartPoint> StartOf(const v1::SubscribeRequest& request) {
  StartPoint start;
  switch (request.start_case()) {
    case v1::SubscribeRequest::kEarliest:
      start.kind = StartPoint::Kind::kEarliest;
      break;
    case v1::SubscribeRequest::kAfterId: {
      if (request.target_case() != v1::SubscribeRequest::kTopic) {
        return absl::InvalidArgumentError("after_id needs a single topic, not a pattern");
      }
      start.kind = StartPoint::Kind::kAfter;
      HP_ASSIGN_OR_RETURN(start.after, ParseId(request.after_id(), "after_id"));
      break;
    }
    case v1::SubscribeRequest::kAtTime:
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

absl::Status PubSubService::Admit(bool writes) const {
  HP_RETURN_IF_ERROR(gate_->Check());
  if (writes && store_ != nullptr) return store_->CheckWritable();
  return absl::OkStatus();
}

void PubSubService::Count(const v1::PublishResponse& result) {
  (result.duplicate() ? duplicates_ : published_).fetch_add(1, std::memory_order_relaxed);
}

grpc::ServerUnaryReactor* PubSubService::CreateTopic(grpc::CallbackServerContext* context,
                                                     const v1::CreateTopicRequest* request,
                                                     v1::CreateTopicResponse* response) {
  if (absl::Status admitted = Admit(/*writes=*/true); !admitted.ok()) {
    return FinishNow(context, admitted);
  }
  absl::StatusOr<v1::Topic> topic = topics_->CreateTopic(NamespaceOf(request->namespace_()),
                                                         request->topic(), request->options());
  if (topic.ok()) *response->mutable_topic() = *std::move(topic);
  return FinishDurable(context, store_, topic.status(), topic.ok());
}

grpc::ServerUnaryReactor* PubSubService::GetTopic(grpc::CallbackServerContext* context,
                                                  const v1::GetTopicRequest* request,
                                                  v1::GetTopicResponse* response) {
  if (absl::Status admitted = Admit(/*writes=*/false); !admitted.ok()) {
    return FinishNow(context, admitted);
  }
  absl::StatusOr<v1::Topic> topic =
      topics_->GetTopic(NamespaceOf(request->namespace_()), request->topic());
  if (topic.ok()) *response->mutable_topic() = *std::move(topic);
  return FinishNow(context, topic.status());
}

grpc::ServerUnaryReactor* PubSubService::ListTopics(grpc::CallbackServerContext* context,
                                                    const v1::ListTopicsRequest* request,
                                                    v1::ListTopicsResponse* response) {
  if (absl::Status admitted = Admit(/*writes=*/false); !admitted.ok()) {
    return FinishNow(context, admitted);
  }
  absl::StatusOr<std::vector<v1::Topic>> topics =
      topics_->ListTopics(NamespaceOf(request->namespace_()));
  if (topics.ok()) {
    for (v1::Topic& topic : *topics) *response->add_topics() = std::move(topic);
  }
  return FinishNow(context, topics.status());
}

grpc::ServerUnaryReactor* PubSubService::DeleteTopic(grpc::CallbackServerContext* context,
                                                     const v1::DeleteTopicRequest* request,
                                                     v1::DeleteTopicResponse* /*response*/) {
  if (absl::Status admitted = Admit(/*writes=*/true); !admitted.ok()) {
    return FinishNow(context, admitted);
  }
  const absl::Status deleted =
      topics_->DeleteTopic(NamespaceOf(request->namespace_()), request->topic());
  return FinishDurable(context, store_, deleted, deleted.ok());
}

grpc::ServerUnaryReactor* PubSubService::Publish(grpc::CallbackServerContext* context,
                                                 const v1::PublishRequest* request,
                                                 v1::PublishResponse* response) {
  if (absl::Status admitted = Admit(/*writes=*/true); !admitted.ok()) {
    return FinishNow(context, admitted);
  }
  google::protobuf::RepeatedPtrField<v1::OutgoingMessage> one;
  *one.Add() = request->message();
  absl::StatusOr<std::vector<v1::PublishResponse>> results =
      topics_->Publish(NamespaceOf(request->namespace_()), request->topic(), one, "message");
  if (!results.ok()) return FinishNow(context, results.status());
  Count(results->front());
  *response = std::move(results->front());
  // A duplicate waits too: the first message may not be durable yet.
  return FinishDurable(context, store_, absl::OkStatus());
}

grpc::ServerUnaryReactor* PubSubService::PublishBatch(grpc::CallbackServerContext* context,
                                                      const v1::PublishBatchRequest* request,
                                                      v1::PublishBatchResponse* response) {
  if (absl::Status admitted = Admit(/*writes=*/true); !admitted.ok()) {
    return FinishNow(context, admitted);
  }
  absl::StatusOr<std::vector<v1::PublishResponse>> results = topics_->Publish(
      NamespaceOf(request->namespace_()), request->topic(), request->messages(), "messages");
  if (!results.ok()) return FinishNow(context, results.status());
  for (v1::PublishResponse& result : *results) {
    Count(result);
    *response->add_results() = std::move(result);
  }
  return FinishDurable(context, store_, absl::OkStatus());
}

grpc::ServerWriteReactor<v1::SubscribeResponse>* PubSubService::Subscribe(
    grpc::CallbackServerContext* /*context*/, const v1::SubscribeRequest* request) {
  using Streams = PushStreams<v1::SubscribeResponse>;
  if (absl::Status admitted = Admit(/*writes=*/false); !admitted.ok()) {
    return Streams::Refuse(admitted);
  }
  if (absl::Status target = CheckTarget(*request); !target.ok()) return Streams::Refuse(target);
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
