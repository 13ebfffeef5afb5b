// pubsub-publish and pubsub-delivery.
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

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "tools/bench/workload.h"

namespace hotpath {
namespace {

namespace ps = hotpath::pubsub::v1;

constexpr char kTopic[] = "bench.events";

std::string Payload(const WorkloadOptions& options) {
  return std::string(std::max<size_t>(options.payload_bytes, 16), 'x');
}

class PublishOp final : public HotpathOp {
 public:
  PublishOp(std::shared_ptr<grpc::Channel> channel, std::string payload)
      : stub_(ps::PubSubService::NewStub(std::move(channel))), payload_(std::move(payload)) {}

  void Start(std::function<void(bool)> done) override {
    context_ = NewCallContext();
    request_.set_topic(kTopic);
    request_.mutable_message()->set_payload(payload_);
    stub_->async()->Publish(context_.get(), &request_, &response_,
                            [done = std::move(done)](grpc::Status s) { done(s.ok()); });
  }

 private:
  std::unique_ptr<ps::PubSubService::Stub> stub_;
  const std::string payload_;
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
  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel, WorkerContext*,
                                          const WorkloadOptions& options) override {
    return std::make_unique<PublishOp>(std::move(channel), Payload(options));
  }
  void NextRedisCommands(WorkerContext*, const WorkloadOptions& options,
                         std::vector<RedisCommand>* commands) override {
    commands->push_back({"XADD", kTopic, "*", "p", Payload(options)});
  }
};

// Where each message's arrival is awaited: by sequence number, the callback to run once every
// subscriber has it.
class Arrivals {
 public:
  explicit Arrivals(size_t subscribers) : subscribers_(subscribers) {}

  void Expect(uint64_t sequence, std::function<void(bool)> done) {
    absl::MutexLock lock(&mu_);
    waiting_[sequence] = {std::move(done), 0};
  }
  void Arrived(uint64_t sequence) {
    std::function<void(bool)> done;
    {
      absl::MutexLock lock(&mu_);
      auto it = waiting_.find(sequence);
      if (it == waiting_.end() || ++it->second.second < subscribers_) return;
      done = std::move(it->second.first);
      waiting_.erase(it);
    }
    done(true);
  }
  void Failed(uint64_t sequence) {
    std::function<void(bool)> done;
    {
      absl::MutexLock lock(&mu_);
      auto it = waiting_.find(sequence);
      if (it == waiting_.end()) return;
      done = std::move(it->second.first);
      waiting_.erase(it);
    }
    done(false);
  }

 private:
  const size_t subscribers_;
  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::pair<std::function<void(bool)>, size_t>> waiting_
      ABSL_GUARDED_BY(mu_);
};

// One Subscribe stream reporting each message's arrival.
class Follower final : public grpc::ClientReadReactor<ps::SubscribeResponse> {
 public:
  Follower(ps::PubSubService::Stub* stub, Arrivals* arrivals) : arrivals_(arrivals) {
    request_.set_topic(kTopic);
    request_.set_latest(true);
    stub->async()->Subscribe(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    for (const ps::Message& message : response_.messages()) {
      uint64_t sequence = 0;
      for (int i = 0; i < 8; ++i)
        sequence = sequence << 8 | static_cast<uint8_t>(message.payload()[i]);
      arrivals_->Arrived(sequence);
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

// Runs `done` once two events have happened, with whether both went well.
class Both {
 public:
  explicit Both(std::function<void(bool)> done) : done_(std::move(done)) {}
  void Event(bool ok) {
    if (!ok) ok_ = false;
    if (remaining_.fetch_sub(1) == 1) done_(ok_.load());
  }

 private:
  std::function<void(bool)> done_;
  std::atomic<int> remaining_{2};
  std::atomic<bool> ok_{true};
};

class DeliveryOp final : public HotpathOp {
 public:
  DeliveryOp(std::shared_ptr<grpc::Channel> channel, std::atomic<uint64_t>* sequences,
             Arrivals* arrivals, size_t payload_bytes)
      : stub_(ps::PubSubService::NewStub(std::move(channel))),
        sequences_(sequences),
        arrivals_(arrivals),
        payload_bytes_(payload_bytes) {}

  // The operation ends when both the publish is answered and every subscriber has the
  // message, whichever comes last (the call's buffers are reused by the next operation).
  void Start(std::function<void(bool)> done) override {
    const uint64_t sequence = sequences_->fetch_add(1);
    std::string payload(std::max<size_t>(payload_bytes_, 16), 'x');
    for (int i = 0; i < 8; ++i) payload[i] = static_cast<char>(sequence >> (56 - 8 * i));
    auto both = std::make_shared<Both>(std::move(done));
    arrivals_->Expect(sequence, [both](bool ok) { both->Event(ok); });
    context_ = NewCallContext();
    request_.set_topic(kTopic);
    request_.mutable_message()->set_payload(std::move(payload));
    stub_->async()->Publish(context_.get(), &request_, &response_,
                            [arrivals = arrivals_, both, sequence](grpc::Status s) {
                              if (!s.ok()) arrivals->Failed(sequence);  // it will not arrive
                              both->Event(s.ok());
                            });
  }

 private:
  std::unique_ptr<ps::PubSubService::Stub> stub_;
  std::atomic<uint64_t>* const sequences_;
  Arrivals* const arrivals_;
  const size_t payload_bytes_;
  std::unique_ptr<grpc::ClientContext> context_;
  ps::PublishRequest request_;
  ps::PublishResponse response_;
};

class DeliveryWorkload final : public Workload {
 public:
  ~DeliveryWorkload() override {
    for (auto& follower : followers_) follower->Stop();
  }
  // The followers stop first: their arrivals complete operations through arrivals_.
  std::string name() const override { return "pubsub-delivery"; }
  std::string description() const override {
    return "Publish until the message reached all --subscribers Subscribe streams (hotpath "
           "only)";
  }
  absl::Status Validate(const WorkloadOptions& options) const override {
    if (options.batch != 1) return absl::InvalidArgumentError("pubsub-delivery does not batch");
    return absl::OkStatus();
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
    // A publish that reaches every follower proves they are all listening. Probes stay alive
    // (their calls may complete later) until the workload goes.
    auto heard = std::make_shared<absl::Notification>();
    for (int attempt = 0; attempt < 200 && !heard->HasBeenNotified(); ++attempt) {
      probes_.push_back(
          std::make_unique<DeliveryOp>(channel, &probe_sequences_, arrivals_.get(), 16));
      probes_.back()->Start([heard](bool ok) {
        if (ok && !heard->HasBeenNotified()) heard->Notify();
      });
      if (heard->WaitForNotificationWithTimeout(absl::Milliseconds(50))) break;
    }
    if (!heard->HasBeenNotified()) {
      return absl::UnavailableError("the subscribers never received a published message");
    }
    return absl::OkStatus();
  }
  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel, WorkerContext*,
                                          const WorkloadOptions& options) override {
    return std::make_unique<DeliveryOp>(std::move(channel), &sequences_, arrivals_.get(),
                                        options.payload_bytes);
  }
  // No Redis counterpart: with --vs_redis, Redis answers PING.
  void NextRedisCommands(WorkerContext*, const WorkloadOptions&,
                         std::vector<RedisCommand>* commands) override {
    commands->push_back({"PING"});
  }

 private:
  std::unique_ptr<ps::PubSubService::Stub> stub_;
  std::unique_ptr<Arrivals> arrivals_;
  std::vector<std::unique_ptr<Follower>> followers_;
  std::atomic<uint64_t> sequences_{0};
  std::atomic<uint64_t> probe_sequences_{UINT64_MAX / 2};  // apart from the measured ones
  std::vector<std::unique_ptr<DeliveryOp>> probes_;
};

HP_REGISTER_WORKLOAD(PublishWorkload, "pubsub-publish");
HP_REGISTER_WORKLOAD(DeliveryWorkload, "pubsub-delivery");

}  // namespace
}  // namespace hotpath
