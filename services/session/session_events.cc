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
    // One step per run of a namespace's events, at most kStepEvents long so that a backlog
    // does not hold the stream's shard for long.
    for (size_t begin = 0; begin < batch.size();) {
      size_t end = begin + 1;
      while (end < batch.size() && end - begin < kStepEvents && batch[end].ns == batch[begin].ns) {
        ++end;
      }
      AppendRun(batch, begin, end);
      begin = end;
    }
    absl::MutexLock lock(&mu_);
    appended_ += batch.size();
  }
}

void SessionEvents::AppendRun(std::deque<Pending>& batch, size_t begin, size_t end) {
  const std::string& ns = batch[begin].ns;
  const KeyRef stream{ns, options_.key};
  size_t appended = 0;
  // An append fails when the key holds another type or the fields are refused, and the step
  // for a bad key: nothing to retry either way. The run is trimmed once, after its last
  // append: one trim record for the run instead of one per event, and no reader sees the
  // stream in between (a crash that keeps part of the step's records may leave up to
  // kStepEvents - 1 entries over the length, until the next step trims them).
  auto append = [&](Shard::Access& access) {
    for (size_t i = begin; i < end; ++i) {
      Pending& pending = batch[i];
      const StreamFields fields{{"event", SessionEventName(pending.event)},
                                {"session_id", std::move(pending.session_id)},
                                {"user_id", std::move(pending.user_id)}};
      if (StreamAppendIn(access, std::nullopt, fields, {}).ok()) ++appended;
    }
    if (appended == 0) return;
    StreamTrimIn(access,
                 {.kind = StreamTrimPolicy::Kind::kMaxLength, .max_length = options_.max_length})
        .IgnoreError();
  };
  keyspace_
      ->InShard({stream},
                [&](Shard::Locked& locked) {
                  locked.Apply(stream, append);
                  return absl::OkStatus();
                })
      .IgnoreError();
  if (on_lost_) {
    for (size_t i = begin + appended; i < end; ++i) on_lost_();
  }
  if (appended > 0 && on_appended_) on_appended_(ns);
}

}  // namespace hotpath::session
