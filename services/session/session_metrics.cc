#include "services/session/session_metrics.h"

#include "prometheus/family.h"

namespace hotpath::session {

SessionMetrics::SessionMetrics(prometheus::Registry& registry) {
  auto& events = prometheus::BuildCounter()
                     .Name("hotpath_session_events_total")
                     .Help("Sessions created, updated, rotated, revoked, evicted and expired.")
                     .Register(registry);
  const char* names[] = {"created", "updated", "rotated", "revoked", "evicted", "expired"};
  for (int i = 0; i < 6; ++i) events_[i] = &events.Add({{"event", names[i]}});
  active_ = &prometheus::BuildGauge()
                 .Name("hotpath_sessions_active")
                 .Help("Live sessions.")
                 .Register(registry)
                 .Add({});
  lost_ = &prometheus::BuildCounter()
               .Name("hotpath_session_events_lost_total")
               .Help("Session lifecycle events that never reached their stream.")
               .Register(registry)
               .Add({});
  auto& gets = prometheus::BuildCounter()
                   .Name("hotpath_session_gets_total")
                   .Help("Session lookups by result: hit, or miss (not found).")
                   .Register(registry);
  hits_ = &gets.Add({{"result", "hit"}});
  misses_ = &gets.Add({{"result", "miss"}});
}

void SessionMetrics::Count(Event event, uint64_t n) {
  if (n == 0) return;
  events_[static_cast<int>(event)]->Increment(static_cast<double>(n));
  if (event == Event::kCreated) active_->Increment(static_cast<double>(n));
  if (event == Event::kRevoked || event == Event::kEvicted || event == Event::kExpired) {
    active_->Decrement(static_cast<double>(n));
  }
}

}  // namespace hotpath::session
