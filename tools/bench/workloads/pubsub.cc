// pubsub-publish and pubsub-delivery (pubsub-consume is in pubsub_consume.cc).
//
//   publish   PubSubService/Publish of a --payload-byte message (answered once durable) vs
//             XADD of the same
//   delivery  one operation is a Publish followed by its arrival at every one of
//             --subscribers Subscribe streams: the time from publish to the last subscriber
//             having it (publish-to-subscriber latency; with --rate, at a fixed message rate).
//             hotpath only.
#include <hiredis/hiredis.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "tools/bench/workload.h"
#include "tools/bench/workloads/pubsub_arrivals.h"

namespace hotpath {
namespace {

namespace ps = hotpath::pubsub::v1;

constexpr char kTopic[] = "bench.events";

std::string Payload(const WorkloadOptions& options) {
  return std::string(std::max<size_t>(options.payload_bytes, 16), 'x');
}

class PublishOp final : public HotpathOp {
 public:
  PublishOp(std::shared_ptr<grpc::Channel> channel, WorkerContext* worker, std::string payload)
      : stub_(ps::PubSubService::NewStub(std::move(channel))),
        worker_(worker),
        payload_(std::move(payload)) {}

  void Start(std::function<void(bool)> done) override {
    context_ = NewCallContext();
    request_.set_topic(kTopic);
    request_.mutable_message()->set_payload(payload_);
    publish_.Start(stub_->PrepareAsyncPublish(context_.get(), request_, worker_->queue), &response_,
                   std::move(done));
  }

 private:
  std::unique_ptr<ps::PubSubService::Stub> stub_;
  WorkerContext* const worker_;
  const std::string payload_;
  UnaryCall<ps::PublishResponse> publish_;
  std::unique_ptr<grpc::ClientContext> context_;
  ps::PublishRequest request_;
  ps::PublishResponse response_;
};

class PublishWorkload final : public Workload {
 public:
  std::string name() const override { return "pubsub-publish"; }
  std::string description() const override {
    return "Publish of a --payload-byte message (answered once durable) vs XADD";
  }
  absl::Status Validate(const WorkloadOptions& options) const override {
    if (options.batch != 1) return absl::InvalidArgumentError("pubsub-publish does not batch");
    return absl::OkStatus();
  }
  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel,
                                          WorkerContext* worker,
                                          const WorkloadOptions& options) override {
    return std::make_unique<PublishOp>(std::move(channel), worker, Payload(options));
  }
  void NextRedisCommands(WorkerContext*, const WorkloadOptions& options,
                         std::vector<RedisCommand>* commands) override {
    commands->push_back({"XADD", kTopic, "*", "p", Payload(options)});
  }
};

// One Subscribe stream reporting each message's arrival.
class Follower final : public grpc::ClientReadReactor<ps::SubscribeResponse> {
 public:
  Follower(ps::PubSubService::Stub* stub, Arrivals* arrivals) : arrivals_(arrivals) {
    request_.set_topic(kTopic);
    request_.set_latest(true);
    Authorize(&context_);
    stub->async()->Subscribe(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    for (const ps::Message& message : response_.messages()) {
      arrivals_->Arrived(SequenceOf(message.payload()));
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status&) override {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  void Stop() {
    context_.TryCancel();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

 private:
  Arrivals* const arrivals_;
  grpc::ClientContext context_;
  ps::SubscribeRequest request_;
  ps::SubscribeResponse response_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

class DeliveryWorkload final : public ArrivalWorkload {
 public:
  DeliveryWorkload() : ArrivalWorkload(kTopic) {}
  // The followers stop first: their arrivals complete operations through arrivals_.
  ~DeliveryWorkload() override {
    for (auto& follower : followers_) follower->Stop();
  }
  std::string name() const override { return "pubsub-delivery"; }
  std::string description() const override {
    return "Publish until the message reached all --subscribers Subscribe streams (hotpath "
           "only)";
  }
  absl::Status PrepareHotpath(const std::shared_ptr<grpc::Channel>& channel,
                              const WorkloadOptions& options) override {
    stub_ = ps::PubSubService::NewStub(channel);
    ps::CreateTopicRequest create;
    create.set_topic(kTopic);
    create.mutable_options()->mutable_retention()->set_max_messages(100'000);
    ps::CreateTopicResponse created;
    (void)stub_->CreateTopic(NewCallContext().get(), create, &created);  // may exist
    arrivals_ = std::make_unique<Arrivals>(options.subscribers);
    for (size_t i = 0; i < options.subscribers; ++i) {
      followers_.push_back(std::make_unique<Follower>(stub_.get(), arrivals_.get()));
    }
    return AwaitListening(channel);
  }

 private:
  std::vector<std::unique_ptr<Follower>> followers_;
};

HP_REGISTER_WORKLOAD(PublishWorkload, "pubsub-publish");
HP_REGISTER_WORKLOAD(DeliveryWorkload, "pubsub-delivery");

}  // namespace
}  // namespace hotpath
