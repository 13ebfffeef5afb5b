// What the pub/sub delivery workloads share: an operation that publishes a message carrying a
// sequence number, timed from the publish until the message has arrived where the workload
// listens (Subscribe streams for pubsub-delivery, a group's consumers for pubsub-consume).
//
// Thread safety: Arrivals may be called from any thread; an ArrivalOp is used by one worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "tools/bench/measure_window.h"
#include "tools/bench/workload.h"

namespace hotpath {

// The sequence number in a payload's first 8 bytes (big-endian).
inline uint64_t SequenceOf(std::string_view payload) {
  uint64_t sequence = 0;
  for (int i = 0; i < 8 && i < static_cast<int>(payload.size()); ++i) {
    sequence = sequence << 8 | static_cast<uint8_t>(payload[i]);
  }
  return sequence;
}

// Where each message's arrival is awaited: by sequence number, the callback to run once
// `listeners` of them have it.
class Arrivals {
 public:
  explicit Arrivals(size_t listeners) : listeners_(listeners) {}

  void Expect(uint64_t sequence, std::function<void(bool)> done) {
    absl::MutexLock lock(&mu_);
    waiting_[sequence] = {std::move(done), 0};
  }
  void Arrived(uint64_t sequence) {
    std::function<void(bool)> done;
    {
      absl::MutexLock lock(&mu_);
      auto it = waiting_.find(sequence);
      if (it == waiting_.end() || ++it->second.second < listeners_) return;
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
  const size_t listeners_;
  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::pair<std::function<void(bool)>, size_t>> waiting_
      ABSL_GUARDED_BY(mu_);
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

// Publishes a message numbered from `sequences`, timed until the message arrived. It ends
// when the publish is answered too, whichever comes last (the next one reuses the call's
// buffers), but how long the publisher waits for its answer is not what it measures.
class ArrivalOp final : public HotpathOp {
 public:
  ArrivalOp(std::shared_ptr<grpc::Channel> channel, std::string topic,
            std::atomic<uint64_t>* sequences, Arrivals* arrivals, size_t payload_bytes)
      : stub_(pubsub::v1::PubSubService::NewStub(std::move(channel))),
        topic_(std::move(topic)),
        sequences_(sequences),
        arrivals_(arrivals),
        payload_bytes_(payload_bytes) {}

  void Start(std::function<void(bool)> done) override {
    const uint64_t sequence = sequences_->fetch_add(1);
    std::string payload(std::max<size_t>(payload_bytes_, 16), 'x');
    for (int i = 0; i < 8; ++i) payload[i] = static_cast<char>(sequence >> (56 - 8 * i));
    auto both = std::make_shared<Both>(std::move(done));
    arrived_ns_.store(0);
    arrivals_->Expect(sequence, [this, both](bool ok) {
      if (ok) arrived_ns_.store(MeasureWindow::Now());
      both->Event(ok);
    });
    context_ = NewCallContext();
    request_.set_topic(topic_);
    request_.mutable_message()->set_payload(std::move(payload));
    stub_->async()->Publish(context_.get(), &request_, &response_,
                            [arrivals = arrivals_, both, sequence](grpc::Status s) {
                              if (!s.ok()) arrivals->Failed(sequence);  // it will not arrive
                              both->Event(s.ok());
                            });
  }

  std::optional<int64_t> measured_end() const override {
    const int64_t arrived = arrived_ns_.load();
    if (arrived == 0) return std::nullopt;
    return arrived;
  }

 private:
  std::unique_ptr<pubsub::v1::PubSubService::Stub> stub_;
  const std::string topic_;
  std::atomic<uint64_t>* const sequences_;
  Arrivals* const arrivals_;
  const size_t payload_bytes_;
  std::atomic<int64_t> arrived_ns_{0};  // 0 until the current message arrived
  std::unique_ptr<grpc::ClientContext> context_;
  pubsub::v1::PublishRequest request_;
  pubsub::v1::PublishResponse response_;
};

// A workload whose operation publishes and ends when the message has arrived where it
// listens. Subclasses create the topic, arrivals_ and their listeners in PrepareHotpath, end it
// with AwaitListening, and stop their listeners in their destructor (before arrivals_ goes).
class ArrivalWorkload : public Workload {
 public:
  explicit ArrivalWorkload(std::string topic) : topic_(std::move(topic)) {}

  absl::Status Validate(const WorkloadOptions& options) const override {
    if (options.batch != 1) return absl::InvalidArgumentError(name() + " does not batch");
    return absl::OkStatus();
  }
  // The message's arrival completes an operation, on a stream's callback thread.
  bool completes_on_worker_queue() const override { return false; }
  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel, WorkerContext*,
                                          const WorkloadOptions& options) override {
    return std::make_unique<ArrivalOp>(std::move(channel), topic_, &sequences_, arrivals_.get(),
                                       options.payload_bytes);
  }
  // No Redis counterpart: with --vs_redis, Redis answers PING.
  void NextRedisCommands(WorkerContext*, const WorkloadOptions&,
                         std::vector<RedisCommand>* commands) override {
    commands->push_back({"PING"});
  }

 protected:
  // Publishes probes until one arrives (the listeners are all in place), for up to 10 s. The
  // probes stay alive (their calls may complete later) until the workload goes.
  absl::Status AwaitListening(const std::shared_ptr<grpc::Channel>& channel) {
    auto heard = std::make_shared<absl::Notification>();
    for (int attempt = 0; attempt < 200 && !heard->HasBeenNotified(); ++attempt) {
      probes_.push_back(
          std::make_unique<ArrivalOp>(channel, topic_, &probe_sequences_, arrivals_.get(), 16));
      probes_.back()->Start([heard](bool ok) {
        if (ok && !heard->HasBeenNotified()) heard->Notify();
      });
      if (heard->WaitForNotificationWithTimeout(absl::Milliseconds(50))) break;
    }
    if (!heard->HasBeenNotified()) {
      return absl::UnavailableError("the listeners never received a published message");
    }
    return absl::OkStatus();
  }

  const std::string topic_;
  std::unique_ptr<pubsub::v1::PubSubService::Stub> stub_;
  std::unique_ptr<Arrivals> arrivals_;

 private:
  std::atomic<uint64_t> sequences_{0};
  std::atomic<uint64_t> probe_sequences_{UINT64_MAX / 2};  // apart from the measured ones
  std::vector<std::unique_ptr<ArrivalOp>> probes_;
};

}  // namespace hotpath
