#include "services/pubsub/subscriber_hub.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace hotpath::pubsub {
namespace {

// Most bytes of messages in one response (at least one message goes whatever its size):
// under the 4 MiB a gRPC client accepts by default.
constexpr size_t kMaxResponseBytes = 3 << 20;

std::string TopicKey(const std::string& ns, const std::string& topic) {
  return absl::StrCat("t", ns.size(), ":", ns, topic);
}

std::string PatternKey(const std::string& ns, const std::string& pattern) {
  return absl::StrCat("p", ns.size(), ":", ns, pattern);
}

}  // namespace

// One subscriber's reads. Cursors are the hub thread's alone; topics a pattern gains arrive
// through `joined_`, under its own lock.
class SubscriberHub::Source final : public PushSource<v1::SubscribeResponse> {
 public:
  Source(SubscriberHub* hub, std::string ns, std::string pattern, bool live_only,
         uint32_t max_batch)
      : hub_(hub),
        ns_(std::move(ns)),
        pattern_(std::move(pattern)),
        live_only_(live_only),
        max_batch_(max_batch) {}

  // Where each topic starts; before the stream opens.
  void SetCursors(std::map<std::string, StreamId> cursors) { cursors_ = std::move(cursors); }

  ~Source() override {
    if (!pattern_.empty()) hub_->Unregister(this);
  }

  const std::string& ns() const { return ns_; }
  const std::string& pattern() const { return pattern_; }

  // A topic created after the subscription began, followed from its first message.
  void Join(const std::string& topic) {
    absl::MutexLock lock(&joined_mu_);
    joined_.push_back(topic);
  }

  absl::StatusOr<PushStep<v1::SubscribeResponse>> Next() override {
    std::vector<std::string> joined;
    {
      absl::MutexLock lock(&joined_mu_);
      joined.swap(joined_);
    }
    for (const std::string& topic : joined) {
      // From the new topic's earliest retained message, however much retention took already.
      absl::StatusOr<StreamId> begin =
          hub_->store_->Begin(ns_, topic, {.kind = StartPoint::Kind::kEarliest});
      if (begin.ok()) cursors_.emplace(topic, *begin);
    }
    if (live_only_ && behind_) {
      for (const auto& [topic, cursor] : cursors_) {
        absl::StatusOr<uint64_t> lag =
            hub_->store_->CountAfter(ns_, topic, cursor, hub_->max_lag_ + 1);
        if (lag.ok() && *lag > hub_->max_lag_) {
          return absl::ResourceExhaustedError(
              absl::StrCat("this live-only subscriber fell more than ", hub_->max_lag_,
                           " messages behind on topic \"", topic, "\"",
                           pattern_.empty() ? absl::StrCat("; resume after ", IdText(cursor))
                                            : absl::StrCat(", at ", IdText(cursor))));
        }
      }
    }
    PushStep<v1::SubscribeResponse> step;
    v1::SubscribeResponse response;
    uint32_t room = max_batch_;
    size_t bytes = 0;
    bool full = false;
    // Round robin over a pattern's topics: a pass starts where the last one stopped, so a
    // busy topic cannot keep the others waiting.
    auto it = cursors_.lower_bound(next_topic_);
    for (size_t visited = 0; visited < cursors_.size() && !full; ++visited) {
      if (it == cursors_.end()) it = cursors_.begin();
      absl::StatusOr<std::vector<v1::Message>> read =
          hub_->store_->Read(ns_, it->first, it->second, room);
      if (absl::IsNotFound(read.status()) && !pattern_.empty()) {
        it = cursors_.erase(it);  // a matched topic was deleted
        continue;
      }
      if (!read.ok()) return read.status();
      for (v1::Message& message : *read) {
        const size_t size = message.ByteSizeLong();
        if (response.messages_size() > 0 && bytes + size > kMaxResponseBytes) {
          full = true;
          break;
        }
        bytes += size;
        it->second = StreamId::Parse(message.id()).value_or(it->second);
        *response.add_messages() = std::move(message);
        if (--room == 0) full = true;
      }
      ++it;
      if (full) next_topic_ = it == cursors_.end() ? "" : it->first;
    }
    hub_->delivered_.fetch_add(static_cast<uint64_t>(response.messages_size()),
                               std::memory_order_relaxed);
    behind_ = full;
    step.more = full;
    if (response.messages_size() > 0) step.message = std::move(response);
    return step;
  }

 private:
  SubscriberHub* const hub_;
  const std::string ns_;
  const std::string pattern_;  // empty for a single topic
  const bool live_only_;
  const uint32_t max_batch_;
  std::map<std::string, StreamId> cursors_;  // topic -> the last ID sent
  bool behind_ = false;                      // the last read filled a response
  std::string next_topic_;                   // where the next pass starts
  absl::Mutex joined_mu_;
  std::vector<std::string> joined_ ABSL_GUARDED_BY(joined_mu_);
};

grpc::ServerWriteReactor<v1::SubscribeResponse>* SubscriberHub::Open(
    const std::string& ns, const v1::SubscribeRequest& request, const StartPoint& start,
    uint32_t max_batch) {
  using Streams = PushStreams<v1::SubscribeResponse>;
  const bool by_pattern = request.target_case() == v1::SubscribeRequest::kPattern;
  auto source = std::make_unique<Source>(this, ns, by_pattern ? request.pattern() : "",
                                         request.live_only(), max_batch);
  // Registered first, so a topic created from here on joins (Created) rather than slips by.
  if (by_pattern) Register(source.get());
  std::map<std::string, StreamId> cursors;
  const std::vector<std::string> topics =
      by_pattern ? store_->Matching(ns, request.pattern()) : std::vector{request.topic()};
  for (const std::string& topic : topics) {
    absl::StatusOr<StreamId> begin = store_->Begin(ns, topic, start);
    if (by_pattern && absl::IsNotFound(begin.status())) continue;  // deleted meanwhile
    if (!begin.ok()) return Streams::Refuse(begin.status());
    cursors.emplace(topic, *begin);
  }
  source->SetCursors(std::move(cursors));
  return streams_.Open(
      by_pattern ? PatternKey(ns, request.pattern()) : TopicKey(ns, request.topic()),
      std::move(source));
}

void SubscriberHub::Published(const std::string& ns, const std::string& topic) {
  streams_.Poke(TopicKey(ns, topic));
  std::vector<std::string> patterns;
  {
    absl::MutexLock lock(&mu_);
    auto it = patterns_.find(ns);
    if (it == patterns_.end()) return;
    for (auto p = it->second.begin(); p != it->second.end(); p = it->second.upper_bound(p->first)) {
      if (Matches(p->first, topic)) patterns.push_back(p->first);
    }
  }
  for (const std::string& pattern : patterns) streams_.Poke(PatternKey(ns, pattern));
}

void SubscriberHub::Created(const std::string& ns, const std::string& topic) {
  {
    absl::MutexLock lock(&mu_);
    auto it = patterns_.find(ns);
    if (it == patterns_.end()) return;
    for (auto& [pattern, source] : it->second) {
      if (Matches(pattern, topic)) source->Join(topic);
    }
  }
  Published(ns, topic);
}

void SubscriberHub::Register(Source* source) {
  absl::MutexLock lock(&mu_);
  patterns_[source->ns()].emplace(source->pattern(), source);
}

void SubscriberHub::Unregister(Source* source) {
  absl::MutexLock lock(&mu_);
  auto it = patterns_.find(source->ns());
  if (it == patterns_.end()) return;
  auto [first, last] = it->second.equal_range(source->pattern());
  for (auto p = first; p != last; ++p) {
    if (p->second == source) {
      it->second.erase(p);
      break;
    }
  }
  if (it->second.empty()) patterns_.erase(it);
}

}  // namespace hotpath::pubsub
