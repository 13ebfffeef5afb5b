// pubsub-consume: one operation is a Publish to a topic with a consumer group, followed by its
// delivery to one of --subscribers Consume streams of the group, which acknowledge each
// response as it arrives. Measures publish-to-consumer time and the group's throughput.
// hotpath only (Redis streams have no push delivery to compare with).
#include <atomic>
#include <deque>
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

constexpr char kTopic[] = "bench.jobs";
constexpr char kGroup[] = "bench";
constexpr uint32_t kWindow = 1000;

// One consumer of the group: reports each delivery's arrival and acknowledges it.
class GroupConsumer final
    : public grpc::ClientBidiReactor<ps::ConsumeRequest, ps::ConsumeResponse> {
 public:
  GroupConsumer(ps::PubSubService::Stub* stub, Arrivals* arrivals, int index)
      : arrivals_(arrivals) {
    Authorize(&context_);
    stub->async()->Consume(&context_, this);
    ps::ConsumeRequest start;
    start.mutable_start()->set_topic(kTopic);
    start.mutable_start()->set_group(kGroup);
    start.mutable_start()->set_consumer(absl::StrCat("bench-", index));
    start.mutable_start()->set_max_outstanding(kWindow);
    Send(std::move(start));
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    ps::ConsumeRequest acks;
    for (const ps::Delivery& delivery : response_.deliveries()) {
      arrivals_->Arrived(SequenceOf(delivery.message().payload()));
      acks.add_ack_ids(delivery.message().id());
    }
    if (acks.ack_ids_size() > 0) Send(std::move(acks));
    StartRead(&response_);
  }
  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) return;
    if (!queue_.empty()) WriteNextLocked();
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
  // One write in flight at a time; the rest wait here.
  void Send(ps::ConsumeRequest request) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(request));
    if (!writing_) WriteNextLocked();
  }
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    request_ = std::move(queue_.front());
    queue_.pop_front();
    StartWrite(&request_);
  }

  Arrivals* const arrivals_;
  grpc::ClientContext context_;
  ps::ConsumeResponse response_;
  absl::Mutex mu_;
  ps::ConsumeRequest request_ ABSL_GUARDED_BY(mu_);
  std::deque<ps::ConsumeRequest> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

class ConsumeWorkload final : public ArrivalWorkload {
 public:
  ConsumeWorkload() : ArrivalWorkload(kTopic) {}
  // The consumers stop first: their arrivals complete operations through arrivals_.
  ~ConsumeWorkload() override {
    for (auto& consumer : consumers_) consumer->Stop();
  }
  std::string name() const override { return "pubsub-consume"; }
  std::string description() const override {
    return "Publish until one of --subscribers consumers of a group received (and acked) it "
           "(hotpath only)";
  }
  absl::Status PrepareHotpath(const std::shared_ptr<grpc::Channel>& channel,
                              const WorkloadOptions& options) override {
    stub_ = ps::PubSubService::NewStub(channel);
    ps::CreateTopicRequest topic;
    topic.set_topic(kTopic);
    topic.mutable_options()->mutable_retention()->set_max_messages(1'000'000);
    ps::CreateTopicResponse made;
    (void)stub_->CreateTopic(NewCallContext().get(), topic, &made);  // may exist
    ps::CreateGroupRequest group;
    group.set_topic(kTopic);
    group.set_group(kGroup);
    ps::CreateGroupResponse created;
    (void)stub_->CreateGroup(NewCallContext().get(), group, &created);  // may exist
    // Each message reaches one consumer.
    arrivals_ = std::make_unique<Arrivals>(1);
    for (size_t i = 0; i < options.subscribers; ++i) {
      consumers_.push_back(
          std::make_unique<GroupConsumer>(stub_.get(), arrivals_.get(), static_cast<int>(i)));
    }
    return AwaitListening(channel);
  }

 private:
  std::vector<std::unique_ptr<GroupConsumer>> consumers_;
};

HP_REGISTER_WORKLOAD(ConsumeWorkload, "pubsub-consume");

}  // namespace
}  // namespace hotpath
