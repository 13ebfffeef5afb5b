// PushStreams: server-streaming calls that push what a source has next, with at most one
// message in flight per stream (WatchHub's design, for any source: pub/sub subscribers).
//
// Each stream has a key (what it follows) and a PushSource. Poke(key) marks that key's streams
// dirty; the hub's one thread calls Next() on a dirty stream that is not being written, and
// writes what it returns. Changes that come while a message is in flight fold into one Next()
// when the write completes, so a slow reader costs one message of memory, never a backlog.
//
//   PushStreams<v1::SubscribeResponse> streams;
//   streams.Start("hp-subscribers");
//   return streams.Open(key, std::make_unique<MySource>(...));  // from the gRPC handler
//   streams.Poke(key);                                           // when key's data changed
//   streams.Stop();  // ends every stream with UNAVAILABLE
//
// Thread safety: every method may be called from any thread. A source's Next() runs on the
// hub's thread, one call at a time per stream. gRPC must be done with every stream (the server
// stopped) before the hub is destroyed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/thread_name.h"
#include "grpcpp/support/server_callback.h"
#include "services/common/grpc_status.h"

namespace hotpath {

// What a stream sends next.
template <typename Response>
struct PushStep {
  std::optional<Response> message;  // nullopt: nothing to send until the next Poke
  bool more = false;                // call Next() again once this message is written
};

template <typename Response>
class PushSource {
 public:
  virtual ~PushSource() = default;
  // The next message; an error ends the stream with it.
  virtual absl::StatusOr<PushStep<Response>> Next() = 0;
};

template <typename Response>
class PushStreams {
 public:
  PushStreams() = default;
  PushStreams(const PushStreams&) = delete;
  PushStreams& operator=(const PushStreams&) = delete;
  ~PushStreams() { Stop(); }

  // `thread_name` names the thread that pushes (see engine/thread_name.h).
  void Start(const char* thread_name) {
    absl::MutexLock lock(&mu_);
    if (started_ || stopping_) return;
    started_ = true;
    thread_ = NamedThread(thread_name, [this] { Run(); });
  }

  // Ends every stream with UNAVAILABLE and stops the thread; streams opened later end at once.
  void Stop() {
    std::vector<std::pair<Stream*, Action>> actions;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
      for (Stream* stream : streams_) {
        const Action action = NextAction(stream);
        if (action != Action::kNone) actions.emplace_back(stream, action);
      }
    }
    for (auto& [stream, action] : actions) stream->Perform(action);
    if (thread_.joinable()) thread_.join();
  }

  grpc::ServerWriteReactor<Response>* Open(std::string key,
                                           std::unique_ptr<PushSource<Response>> source) {
    auto* stream = new Stream(this, std::move(key), std::move(source));
    Action action;
    {
      absl::MutexLock lock(&mu_);
      streams_.insert(stream);
      by_key_[stream->key_].insert(stream);
      action = NextAction(stream);
    }
    stream->Perform(action);
    return stream;
  }

  // The data behind `key` changed: its streams call Next() again.
  void Poke(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return;
    for (Stream* stream : it->second) {
      if (stream->finished_) continue;
      stream->dirty_ = true;
      if (!stream->busy_) Enqueue(stream);
    }
  }

  // A stream that ends at once with `status` (a refused request); it needs no hub.
  static grpc::ServerWriteReactor<Response>* Refuse(const absl::Status& status) {
    class Refused final : public grpc::ServerWriteReactor<Response> {
     public:
      explicit Refused(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
      void OnDone() override { delete this; }
    };
    return new Refused(status);
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return streams_.size();
  }

 private:
  enum class Action { kNone, kWrite, kFinish };

  // One stream. Its flags are guarded by the hub's mu_. While busy_ (Next() running on the
  // hub's thread, or a write in flight) nobody finishes it, so it stays alive until that
  // completes; it is deleted in OnDone, which gRPC calls only after Finish.
  class Stream final : public grpc::ServerWriteReactor<Response> {
   public:
    Stream(PushStreams* hub, std::string key, std::unique_ptr<PushSource<Response>> source)
        : hub_(hub), key_(std::move(key)), source_(std::move(source)) {}

    void OnWriteDone(bool ok) override {
      Action action;
      {
        absl::MutexLock lock(&hub_->mu_);
        busy_ = false;
        if (!ok) cancelled_ = true;
        action = hub_->NextAction(this);
      }
      Perform(action);
    }
    void OnCancel() override {
      Action action;
      {
        absl::MutexLock lock(&hub_->mu_);
        cancelled_ = true;
        action = hub_->NextAction(this);
      }
      Perform(action);
    }
    void OnDone() override {
      hub_->Unregister(this);
      delete this;
    }
    void Perform(Action action) {
      if (action == Action::kWrite) this->StartWrite(&message_);
      if (action == Action::kFinish) this->Finish(finish_status_);
    }

    PushStreams* const hub_;
    const std::string key_;
    const std::unique_ptr<PushSource<Response>> source_;  // used by the hub's thread only
    // Guarded by hub_->mu_.
    Response message_;  // not touched while a write is in flight
    std::optional<absl::StatusOr<PushStep<Response>>> step_;  // a Next() result to act on
    bool dirty_ = true;
    bool queued_ = false;
    bool busy_ = false;
    bool cancelled_ = false;
    bool finished_ = false;
    grpc::Status finish_status_;
  };

  Action NextAction(Stream* stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (stream->finished_ || stream->busy_) return Action::kNone;
    const auto finish = [this, stream](grpc::Status status) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (stream->queued_) {  // it will be gone before the thread would read it
        queue_.erase(std::remove(queue_.begin(), queue_.end(), stream), queue_.end());
        stream->queued_ = false;
      }
      stream->finished_ = true;
      stream->finish_status_ = std::move(status);
      return Action::kFinish;
    };
    if (stream->cancelled_) return finish(grpc::Status::CANCELLED);
    if (stopping_) {
      return finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    }
    if (stream->step_.has_value()) {
      absl::StatusOr<PushStep<Response>> step = *std::move(stream->step_);
      stream->step_.reset();
      if (!step.ok()) return finish(ToGrpcStatus(step.status()));
      if (step->more) stream->dirty_ = true;
      if (step->message.has_value()) {
        stream->message_ = *std::move(step->message);
        stream->busy_ = true;
        return Action::kWrite;
      }
    }
    if (stream->dirty_) Enqueue(stream);
    return Action::kNone;
  }

  void Enqueue(Stream* stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (stream->queued_) return;
    stream->queued_ = true;
    queue_.push_back(stream);
  }

  void Unregister(Stream* stream) {
    absl::MutexLock lock(&mu_);
    streams_.erase(stream);
    auto it = by_key_.find(stream->key_);
    if (it == by_key_.end()) return;
    it->second.erase(stream);
    if (it->second.empty()) by_key_.erase(it);
  }

  void Run() {
    while (true) {
      std::vector<Stream*> batch;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](PushStreams* hub)
                 ABSL_NO_THREAD_SAFETY_ANALYSIS { return hub->stopping_ || !hub->queue_.empty(); },
            this));
        if (stopping_) return;
        batch.swap(queue_);
        for (Stream* stream : batch) {
          stream->queued_ = false;
          stream->dirty_ = false;
          stream->busy_ = true;
        }
      }
      std::vector<std::pair<Stream*, absl::StatusOr<PushStep<Response>>>> steps;
      steps.reserve(batch.size());
      for (Stream* stream : batch) steps.emplace_back(stream, stream->source_->Next());
      std::vector<std::pair<Stream*, Action>> actions;
      {
        absl::MutexLock lock(&mu_);
        for (auto& [stream, step] : steps) {
          stream->busy_ = false;
          stream->step_ = std::move(step);
          const Action action = NextAction(stream);
          if (action != Action::kNone) actions.emplace_back(stream, action);
        }
      }
      for (auto& [stream, action] : actions) stream->Perform(action);
    }
  }

  mutable absl::Mutex mu_;
  absl::flat_hash_set<Stream*> streams_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_set<Stream*>> by_key_ ABSL_GUARDED_BY(mu_);
  std::vector<Stream*> queue_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace hotpath
