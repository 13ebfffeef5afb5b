#include "services/pubsub/consumer_hub.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "engine/thread_name.h"
#include "services/common/grpc_status.h"
#include "services/common/namespace.h"
#include "services/pubsub/topic_layout.h"

namespace hotpath::pubsub {
namespace {

constexpr uint32_t kMaxWindow = 10'000;
constexpr uint32_t kDefaultBatch = 100;
constexpr uint32_t kMaxBatch = 1000;
// Most bytes of messages in one response (at least one goes whatever its size): under the
// 4 MiB a gRPC client accepts by default.
constexpr size_t kMaxResponseBytes = 3 << 20;

std::string TopicKey(const std::string& ns, const std::string& topic) {
  return absl::StrCat(ns, "\n", topic);
}

absl::StatusOr<std::vector<StreamId>> ParseIds(
    const google::protobuf::RepeatedPtrField<std::string>& texts, const char* field) {
  std::vector<StreamId> ids;
  ids.reserve(texts.size());
  for (int i = 0; i < texts.size(); ++i) {
    HP_ASSIGN_OR_RETURN(StreamId id, ParseId(texts[i], absl::StrCat(field, "[", i, "]")));
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

// One Consume stream. Its state is guarded by the hub's mu_, except the request buffer (the
// read in progress) and the names, which are set once before `started_` and never change.
// While `handling_` (requests being applied: a new read may complete before the last one's
// handler returns), `pulling_` (the hub's thread pulling for it) or
// `writing_`, nobody finishes it, so it outlives them; gRPC deletes it in OnDone, after Finish.
class ConsumerHub::Consumer final
    : public grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse> {
 public:
  enum class Action { kNone, kWrite, kFinish };

  Consumer(ConsumerHub* hub, NamespaceCheck check) : hub_(hub), check_(std::move(check)) {}

  void OnReadDone(bool ok) override {
    {
      absl::MutexLock lock(&hub_->mu_);
      if (finished_) return;  // the read Finish cut short
      ++handling_;
    }
    const absl::Status handled = ok ? Handle(request_) : absl::OkStatus();
    bool read_more = false;
    {
      absl::MutexLock lock(&hub_->mu_);
      if (!ok) client_done_ = true;
      if (!handled.ok() && error_.ok()) error_ = handled;
      read_more =
          ok && handled.ok() && error_.ok() && !finished_ && !cancelled_ && !hub_->stopping_;
    }
    if (read_more) this->StartRead(&request_);
    Action action;
    {
      absl::MutexLock lock(&hub_->mu_);
      --handling_;
      action = NextAction();
    }
    Perform(action);
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&hub_->mu_);
      writing_ = false;
      if (!ok) cancelled_ = true;
      action = NextAction();
    }
    Perform(action);
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&hub_->mu_);
      cancelled_ = true;
      action = NextAction();
    }
    Perform(action);
  }

  void OnDone() override {
    hub_->Unregister(this);
    delete this;
  }

  void Perform(Action action) {
    if (action == Action::kWrite) this->StartWrite(&response_);
    if (action == Action::kFinish) this->Finish(finish_status_);
  }

  // What to do next; called after every change.
  Action NextAction() ABSL_EXCLUSIVE_LOCKS_REQUIRED(hub_->mu_) {
    if (finished_ || writing_ || pulling_ || handling_ > 0) return Action::kNone;
    const auto finish = [this](grpc::Status status) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (queued_) {
        auto& queue = hub_->queue_;
        queue.erase(std::remove(queue.begin(), queue.end(), this), queue.end());
        queued_ = false;
      }
      finished_ = true;
      finish_status_ = std::move(status);
      return Action::kFinish;
    };
    if (cancelled_) return finish(grpc::Status::CANCELLED);
    if (!error_.ok()) return finish(ToGrpcStatus(error_));
    if (hub_->stopping_) {
      return finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    }
    if (client_done_) return finish(grpc::Status::OK);
    if (hello_ || !unsent_.empty()) {
      response_.Clear();
      if (hello_) response_.set_consumer(name_);
      hello_ = false;
      size_t bytes = 0;
      while (!unsent_.empty()) {
        const size_t size = unsent_.front().ByteSizeLong();
        if (response_.deliveries_size() > 0 && bytes + size > kMaxResponseBytes) break;
        bytes += size;
        *response_.add_deliveries() = std::move(unsent_.front());
        unsent_.pop_front();
      }
      writing_ = true;
      return Action::kWrite;
    }
    if (dirty_ && started_) hub_->Enqueue(this);
    return Action::kNone;
  }

  // Messages the stream may take now: the window less what is outstanding (forgetting what
  // passed its deadline), at most a response's worth. Zero while a response is pending.
  uint32_t Room(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(hub_->mu_) {
    if (!started_ || finished_ || writing_ || pulling_ || !unsent_.empty()) return 0;
    for (auto it = outstanding_.begin(); it != outstanding_.end();) {
      it = it->second <= now_ms ? outstanding_.erase(it) : std::next(it);
    }
    if (outstanding_.size() >= window_) return 0;
    return std::min<uint32_t>(window_ - static_cast<uint32_t>(outstanding_.size()), max_batch_);
  }

  // The hub's thread pulled for this stream.
  void Pulled(absl::StatusOr<pubsub::Pulled> pulled, uint32_t room)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(hub_->mu_) {
    pulling_ = false;
    if (!pulled.ok()) {
      if (error_.ok()) error_ = pulled.status();
      return;
    }
    for (Delivery& delivery : pulled->deliveries) {
      outstanding_[delivery.id] = delivery.deadline_ms;
      v1::Delivery& out = unsent_.emplace_back();
      *out.mutable_message() = std::move(delivery.message);
      out.set_delivery_count(delivery.delivery_count);
      out.mutable_ack_deadline()->set_seconds(delivery.deadline_ms / 1000);
      out.mutable_ack_deadline()->set_nanos(static_cast<int32_t>(delivery.deadline_ms % 1000) *
                                            1'000'000);
    }
    // A full pull may have left more behind.
    if (pulled->deliveries.size() >= room) dirty_ = true;
  }

  ConsumerHub* const hub_;
  const NamespaceCheck check_;
  v1::ConsumeRequest request_;  // the read in progress
  // Set once, before started_.
  std::string ns_;
  std::string topic_;
  std::string group_;
  std::string name_;
  uint32_t max_batch_ = kDefaultBatch;

  // Guarded by hub_->mu_.
  bool started_ = false;
  uint32_t window_ = 0;
  std::map<StreamId, int64_t> outstanding_;  // ID -> its ack deadline (ms)
  std::deque<v1::Delivery> unsent_;
  v1::ConsumeResponse response_;  // not touched while a write is in flight
  bool hello_ = false;            // the consumer's name is still to be sent
  bool dirty_ = false;            // may have something to pull
  bool claim_due_ = false;        // pull pending messages past their deadline too
  bool queued_ = false;
  int handling_ = 0;
  bool pulling_ = false;
  bool writing_ = false;
  bool cancelled_ = false;
  bool client_done_ = false;
  bool finished_ = false;
  absl::Status error_;
  grpc::Status finish_status_;

 private:
  // Applies one request: the start, a new window, acks and nacks.
  absl::Status Handle(const v1::ConsumeRequest& request) {
    bool started;
    {
      absl::MutexLock lock(&hub_->mu_);
      started = started_;
    }
    if (!started) {
      HP_RETURN_IF_ERROR(Begin(request));
    } else if (request.has_start()) {
      return absl::InvalidArgumentError("start belongs in the first request only");
    }
    if (request.has_max_outstanding() && request.max_outstanding() > kMaxWindow) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_outstanding must be at most ", kMaxWindow));
    }
    HP_ASSIGN_OR_RETURN(const std::vector<StreamId> acks, ParseIds(request.ack_ids(), "ack_ids"));
    HP_ASSIGN_OR_RETURN(const std::vector<StreamId> nacks,
                        ParseIds(request.nack_ids(), "nack_ids"));
    absl::Duration delay;
    if (request.has_nack_delay()) {
      HP_ASSIGN_OR_RETURN(const int64_t ms, MillisOf(request.nack_delay(), "nack_delay"));
      delay = absl::Milliseconds(ms);
    }
    // Nacks first: they are the part that can be refused (nack_delay), and then nothing of the
    // request has taken effect.
    if (!nacks.empty()) {
      HP_RETURN_IF_ERROR(hub_->groups_->Nack(ns_, topic_, group_, name_, nacks, delay).status());
    }
    if (!acks.empty()) HP_RETURN_IF_ERROR(hub_->groups_->Ack(ns_, topic_, group_, acks).status());
    absl::MutexLock lock(&hub_->mu_);
    if (request.has_max_outstanding()) window_ = request.max_outstanding();
    for (StreamId id : acks) outstanding_.erase(id);
    for (StreamId id : nacks) outstanding_.erase(id);
    if (!nacks.empty()) claim_due_ = true;
    dirty_ = true;
    return absl::OkStatus();
  }

  absl::Status Begin(const v1::ConsumeRequest& request) {
    if (!request.has_start()) {
      return absl::InvalidArgumentError("the first request must carry start");
    }
    const v1::ConsumeStart& start = request.start();
    // Authorized before anything else is looked at.
    ns_ = NamespaceOf(start.namespace_());
    HP_RETURN_IF_ERROR(check_(ns_));
    HP_RETURN_IF_ERROR(CheckTopicName(start.topic(), "start.topic"));
    HP_RETURN_IF_ERROR(CheckTopicName(start.group(), "start.group"));
    if (!start.consumer().empty()) {
      HP_RETURN_IF_ERROR(CheckTopicName(start.consumer(), "start.consumer"));
    }
    if (start.max_outstanding() > kMaxWindow) {
      return absl::InvalidArgumentError(
          absl::StrCat("start.max_outstanding must be at most ", kMaxWindow));
    }
    if (start.max_batch() > kMaxBatch) {
      return absl::InvalidArgumentError(
          absl::StrCat("start.max_batch must be at most ", kMaxBatch));
    }
    topic_ = start.topic();
    group_ = start.group();
    name_ = start.consumer();
    if (name_.empty()) {
      absl::BitGen random;
      name_ =
          absl::StrCat("consumer-", absl::Hex(absl::Uniform<uint64_t>(random), absl::kZeroPad16));
    }
    max_batch_ = start.max_batch() == 0 ? kDefaultBatch : start.max_batch();
    HP_RETURN_IF_ERROR(hub_->groups_->GetGroup(ns_, topic_, group_).status());
    absl::MutexLock lock(&hub_->mu_);
    window_ = start.max_outstanding();
    started_ = true;
    hello_ = true;
    claim_due_ = true;
    hub_->Register(this);
    return absl::OkStatus();
  }
};

void ConsumerHub::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = NamedThread("hp-consumers", [this] { Run(); });
}

void ConsumerHub::Stop() {
  std::vector<std::pair<Consumer*, Consumer::Action>> actions;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (Consumer* consumer : all_) {
      consumer->hub_->mu_.AssertHeld();  // the same mutex, for the analysis
      const Consumer::Action action = consumer->NextAction();
      if (action != Consumer::Action::kNone) actions.emplace_back(consumer, action);
    }
  }
  for (auto& [consumer, action] : actions) consumer->Perform(action);
  if (thread_.joinable()) thread_.join();
}

grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse>* ConsumerHub::Open(
    NamespaceCheck check) {
  auto consumer = std::make_unique<Consumer>(this, std::move(check));
  bool refused = false;
  {
    // Checked and registered together, so Stop either sees the stream or it is refused.
    absl::MutexLock lock(&mu_);
    refused = stopping_;
    if (!refused) all_.insert(consumer.get());
  }
  if (refused) return Refuse(absl::UnavailableError("the server is shutting down"));
  consumer->StartRead(&consumer->request_);
  return consumer.release();
}

grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse>* ConsumerHub::Refuse(
    const absl::Status& status) {
  class Refused final : public grpc::ServerBidiReactor<v1::ConsumeRequest, v1::ConsumeResponse> {
   public:
    explicit Refused(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
    void OnDone() override { delete this; }
  };
  return new Refused(status);
}

void ConsumerHub::Published(const std::string& ns, const std::string& topic) {
  absl::MutexLock lock(&mu_);
  auto it = by_topic_.find(TopicKey(ns, topic));
  if (it == by_topic_.end()) return;
  for (Consumer* consumer : it->second) {
    consumer->dirty_ = true;
    Enqueue(consumer);
  }
}

std::map<std::string, uint32_t> ConsumerHub::OpenStreams(const std::string& ns,
                                                         const std::string& topic,
                                                         const std::string& group) const {
  std::map<std::string, uint32_t> open;
  absl::MutexLock lock(&mu_);
  auto it = by_topic_.find(TopicKey(ns, topic));
  if (it == by_topic_.end()) return open;
  for (const Consumer* consumer : it->second) {
    if (consumer->group_ == group && !consumer->finished_) ++open[consumer->name_];
  }
  return open;
}

size_t ConsumerHub::streams() const {
  absl::MutexLock lock(&mu_);
  return all_.size();
}

void ConsumerHub::Enqueue(Consumer* consumer) {
  if (consumer->queued_ || consumer->finished_) return;
  consumer->queued_ = true;
  queue_.push_back(consumer);
}

void ConsumerHub::Register(Consumer* consumer) {
  by_topic_[TopicKey(consumer->ns_, consumer->topic_)].insert(consumer);
}

void ConsumerHub::Unregister(Consumer* consumer) {
  bool last = false;  // the last open stream of its consumer name
  {
    absl::MutexLock lock(&mu_);
    all_.erase(consumer);
    auto it = by_topic_.find(TopicKey(consumer->ns_, consumer->topic_));
    if (it == by_topic_.end()) return;  // never started
    it->second.erase(consumer);
    last = std::none_of(it->second.begin(), it->second.end(), [&](const Consumer* other) {
      return other->group_ == consumer->group_ && other->name_ == consumer->name_;
    });
    if (it->second.empty()) by_topic_.erase(it);
  }
  // Its name leaves the group, so reconnecting clients do not pile up consumers; what it still
  // holds stays pending until its deadline (GroupStore::Forget).
  if (last) {
    groups_->Forget(consumer->ns_, consumer->topic_, consumer->group_, consumer->name_)
        .IgnoreError();  // the group or topic may be gone
  }
}

void ConsumerHub::Gone(const std::string& ns, const std::string& topic, const std::string& group) {
  std::vector<std::pair<Consumer*, Consumer::Action>> actions;
  {
    absl::MutexLock lock(&mu_);
    auto it = by_topic_.find(TopicKey(ns, topic));
    if (it == by_topic_.end()) return;
    for (Consumer* consumer : it->second) {
      if (!group.empty() && consumer->group_ != group) continue;
      consumer->hub_->mu_.AssertHeld();
      if (consumer->error_.ok()) {
        consumer->error_ =
            absl::NotFoundError(group.empty() ? absl::StrCat("topic \"", topic, "\" was deleted")
                                              : absl::StrCat("group \"", group, "\" was deleted"));
      }
      const Consumer::Action action = consumer->NextAction();
      if (action != Consumer::Action::kNone) actions.emplace_back(consumer, action);
    }
  }
  for (auto& [consumer, action] : actions) consumer->Perform(action);
}

void ConsumerHub::Run() {
  struct Job {
    Consumer* consumer;
    uint32_t room;
    bool claim_due;
    absl::StatusOr<Pulled> pulled;
  };
  absl::Time next_tick = clock_->Now() + tick_;
  while (true) {
    std::vector<Job> jobs;
    bool retry_dead_letters = false;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](ConsumerHub* hub) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return hub->stopping_ || !hub->queue_.empty();
                               },
                               this),
                           std::max(absl::ZeroDuration(), next_tick - clock_->Now()));
      if (stopping_) return;
      const absl::Time now = clock_->Now();
      if (now >= next_tick) {
        retry_dead_letters = true;
        // Pending messages may have passed their deadline: every stream looks.
        next_tick = now + tick_;
        for (Consumer* consumer : all_) {
          if (!consumer->started_) continue;
          consumer->claim_due_ = true;
          consumer->dirty_ = true;
          Enqueue(consumer);
        }
      }
      std::vector<Consumer*> queue;
      queue.swap(queue_);
      const int64_t now_ms = absl::ToUnixMillis(now);
      for (Consumer* consumer : queue) {
        consumer->queued_ = false;
        consumer->hub_->mu_.AssertHeld();
        const uint32_t room = consumer->Room(now_ms);
        if (room == 0) continue;  // stays dirty: an ack, a write or a tick brings it back
        consumer->dirty_ = false;
        consumer->pulling_ = true;
        jobs.push_back(Job{consumer, room, consumer->claim_due_, Pulled{}});
        consumer->claim_due_ = false;
      }
    }
    if (retry_dead_letters) groups_->RetryDeadLetters();
    for (Job& job : jobs) {
      Consumer* c = job.consumer;
      job.pulled = groups_->Pull(c->ns_, c->topic_, c->group_, c->name_, job.room, job.claim_due);
      if (job.pulled.ok()) {
        delivered_.fetch_add(job.pulled->deliveries.size(), std::memory_order_relaxed);
        redelivered_.fetch_add(job.pulled->redelivered, std::memory_order_relaxed);
        dead_lettered_.fetch_add(job.pulled->dead_lettered, std::memory_order_relaxed);
      }
    }
    std::vector<std::pair<Consumer*, Consumer::Action>> actions;
    {
      absl::MutexLock lock(&mu_);
      for (Job& job : jobs) {
        job.consumer->hub_->mu_.AssertHeld();
        job.consumer->Pulled(std::move(job.pulled), job.room);
        const Consumer::Action action = job.consumer->NextAction();
        if (action != Consumer::Action::kNone) actions.emplace_back(job.consumer, action);
      }
    }
    for (auto& [consumer, action] : actions) consumer->Perform(action);
  }
}

}  // namespace hotpath::pubsub
