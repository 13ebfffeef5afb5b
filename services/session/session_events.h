// SessionEvents: the lifecycle of sessions (created, rotated, revoked, evicted, expired) as a
// durable stream in the engine, so that gateways can drop ended sessions promptly; the PubSub
// service exposes streams to subscribers.
//
// Each event is one stream entry with fields event, session_id and user_id (never a token),
// appended to the stream `key` ("_sys:session-events") of the session's own namespace, so a
// tenant's events stay with the tenant; the stream keeps its newest `max_length` entries. The
// store publishes inside the step that makes the change (so one session's events come in the
// order of its changes) and a background thread appends them in that order: a crash can lose
// the last events of changes that were made, never announce one that was not. The thread
// lingers: woken by the first event, it waits up to `linger` (or until `linger_events` wait)
// before appending, so one wakeup carries many events; waking it per event cost a context
// switch per Create, a quarter of a Create's time on one core.
// It appends a namespace's waiting events as one step (Keyspace::InShard) and trims the stream
// once at the end of the step: one lock and one trim record for many events, where appending
// them one by one took the lock and wrote a trim record for every event.
//
// Expirations come from the engine (KeyspaceObserver::OnExpire), which this class is: pass it
// to Keyspace::Create, then Start it with that keyspace.
//
// Thread safety: Publish and OnExpire may be called from any thread; Start and Stop from one.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/keyspace.h"
#include "hotpath/session/v1/storage.pb.h"

namespace hotpath::session {

enum class SessionEvent { kCreated, kRotated, kRevoked, kEvicted, kExpired };
const char* SessionEventName(SessionEvent event);

struct SessionEventsOptions {
  std::string key = "_sys:session-events";
  uint64_t max_length = 100'000;
  // Events waiting to be appended; past this the oldest waiting ones are dropped (counted).
  size_t max_queued = 100'000;
  // How long the first waiting event may wait for others, and how many end the wait early.
  absl::Duration linger = absl::Milliseconds(1);
  size_t linger_events = 1024;
};

class SessionEvents final : public KeyspaceObserver {
 public:
  explicit SessionEvents(SessionEventsOptions options) : options_(std::move(options)) {}
  ~SessionEvents() override { Stop(); }

  // Appends to `keyspace` (which must outlive Stop) from now on.
  void Start(Keyspace* keyspace);
  // Appends what is queued, then stops the thread.
  void Stop();

  void Publish(SessionEvent event, const std::string& ns, const v1::StoredSession& session);
  // Called for every expiry that removes a session (see observer.h), e.g. to count them, with
  // a shard lock held. Set it before the keyspace is used by more than one thread.
  void set_on_expired(std::function<void()> on_expired) { on_expired_ = std::move(on_expired); }
  // Called for every event lost: dropped from a full queue, or refused by the stream (a key of
  // another type). Set it before Start.
  void set_on_lost(std::function<void()> on_lost) { on_lost_ = std::move(on_lost); }

  // Called after events are appended to a namespace's stream (once for a step's events),
  // outside any lock, to wake the stream's subscribers. Set it before Start.
  void set_on_appended(std::function<void(const std::string& ns)> on_appended) {
    on_appended_ = std::move(on_appended);
  }

  void OnExpire(const KeyRef& key, const Value& value) override;

  uint64_t dropped() const {
    absl::MutexLock lock(&mu_);
    return dropped_;
  }
  // Blocks until every event published so far is appended. Only between Start and Stop.
  void Flush() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Pending {
    SessionEvent event;
    std::string ns;
    std::string session_id;
    std::string user_id;
  };
  // Most events appended under one hold of a stream's shard lock.
  static constexpr size_t kStepEvents = 256;

  void Enqueue(Pending pending) ABSL_LOCKS_EXCLUDED(mu_);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  // Appends batch[begin, end), events of one namespace, as one step, and trims the stream.
  void AppendRun(std::deque<Pending>& batch, size_t begin, size_t end);

  const SessionEventsOptions options_;
  std::function<void()> on_expired_;
  std::function<void()> on_lost_;
  std::function<void(const std::string&)> on_appended_;
  Keyspace* keyspace_ = nullptr;  // set by Start, before the thread runs
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t published_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;  // or dropped
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t flush_target_ ABSL_GUARDED_BY(mu_) = 0;  // a Flush waits for this many appended
};

}  // namespace hotpath::session
