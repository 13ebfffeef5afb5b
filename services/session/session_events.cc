#include "services/session/session_events.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/thread_name.h"

namespace hotpath::session {

const char* SessionEventName(SessionEvent event) {
  switch (event) {
    case SessionEvent::kCreated:
      return "created";
    case SessionEvent::kRotated:
      return "rotated";
    case SessionEvent::kRevoked:
      return "revoked";
    case SessionEvent::kEvicted:
      return "evicted";
    case SessionEvent::kExpired:
      return "expired";
  }
  return "unknown";
}

void SessionEvents::Start(Keyspace* keyspace) {
  if (thread_.joinable()) return;
  keyspace_ = keyspace;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  thread_ = NamedThread("hp-sess-events", [this] { Loop(); });
}

void SessionEvents::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void SessionEvents::Publish(SessionEvent event, const std::string& ns,
                            const v1::StoredSession& session) {
  Enqueue({event, ns, session.session_id(), session.user_id()});
}

void SessionEvents::OnExpire(const KeyRef& key, const Value& value) {
  // Only sessions: "s:{" keys holding a StoredSession that is not a rotated token's forward.
  if (key.key.substr(0, 3) != "s:{" || value.type() != ValueType::kString) return;
  v1::StoredSession stored;
  if (!stored.ParseFromString(value.string()) || !stored.rotated_to().empty()) return;
  Enqueue({SessionEvent::kExpired, std::string(key.ns), stored.session_id(), stored.user_id()});
  if (on_expired_) on_expired_();
}

void SessionEvents::Enqueue(Pending pending) {
  absl::MutexLock lock(&mu_);
  ++published_;
  if (queue_.size() >= std::max<size_t>(options_.max_queued, 1)) {
    queue_.pop_front();
    ++dropped_;
    ++appended_;
    if (on_lost_) on_lost_();
  }
  queue_.push_back(std::move(pending));
}

void SessionEvents::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = published_;
  flush_target_ = std::max(flush_target_, target);  // ends the thread's linger
  auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return appended_ >= target; };
  mu_.Await(absl::Condition(&done));
}

void SessionEvents::Loop() {
  const StreamTrimPolicy trim{.kind = StreamTrimPolicy::Kind::kMaxLength,
                              .max_length = options_.max_length};
  while (true) {
    std::deque<Pending> batch;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&work));
      auto enough = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || queue_.size() >= options_.linger_events || flush_target_ > appended_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&enough), options_.linger);
      if (queue_.empty()) return;  // stopping, and everything is appended
      batch.swap(queue_);
    }
    for (Pending& pending : batch) {
      // An append fails only on a bad key or a key of another type: nothing to retry.
      const absl::StatusOr<StreamId> appended =
          keyspace_->StreamAppend(KeyRef{pending.ns, options_.key}, std::nullopt,
                                  StreamFields{{"event", SessionEventName(pending.event)},
                                               {"session_id", std::move(pending.session_id)},
                                               {"user_id", std::move(pending.user_id)}},
                                  trim);
      if (!appended.ok() && on_lost_) on_lost_();
    }
    absl::MutexLock lock(&mu_);
    appended_ += batch.size();
  }
}

}  // namespace hotpath::session
