// Session activity in Prometheus:
//
//   hotpath_session_events_total{event}   counter
//     event  created, updated, rotated, revoked (one per session ended by Revoke or
//            RevokeUserSessions), evicted (ended by the per-user cap), expired
//   hotpath_sessions_active                gauge
//     live sessions: counted at start, then up with every Create and down with every end
//   hotpath_session_events_lost_total      counter
//     lifecycle events that never reached their stream (a full queue, a refused append)
//   hotpath_session_gets_total{result}    counter
//     result hit (a live session), miss (NOT_FOUND: unknown, ended or malformed token)
//
// Every label value is fixed here: nothing from traffic (no user or token) becomes a label.
// Thread safety: every method may be called from any thread (the counters are atomic).
#pragma once

#include <cstdint>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace hotpath::session {

class SessionMetrics {
 public:
  enum class Event { kCreated, kUpdated, kRotated, kRevoked, kEvicted, kExpired };

  // The registry must outlive this object.
  explicit SessionMetrics(prometheus::Registry& registry);

  // Counts `n` events, and moves the active gauge for creations and ends.
  void Count(Event event, uint64_t n = 1);
  void SetActive(uint64_t sessions) { active_->Set(static_cast<double>(sessions)); }
  void EventLost() { lost_->Increment(); }
  void Get(bool hit) { (hit ? hits_ : misses_)->Increment(); }

 private:
  prometheus::Counter* events_[6] = {};
  prometheus::Gauge* active_ = nullptr;
  prometheus::Counter* lost_ = nullptr;
  prometheus::Counter* hits_ = nullptr;
  prometheus::Counter* misses_ = nullptr;
};

}  // namespace hotpath::session
