// Rate-limit decisions in Prometheus:
//
//   hotpath_ratelimit_decisions_total{api, policy, outcome}   counter
//     api      "hotpath" (RateLimiter) or "envoy" (ShouldRateLimit)
//     policy   the policy name, "inline" for limits sent in the request, or for Envoy the
//              domain; "unknown" for an Envoy domain the configuration does not have
//     outcome  allowed, denied, cost_too_high, shadow_denied (a shadow policy would have
//              denied; the call was allowed)
//   hotpath_ratelimit_near_limit_total{api, policy}           counter
//     allowed decisions that left at most 20% of the limit (envoyproxy/ratelimit's near_limit)
//
// Label values come from the configuration, never from traffic (no per-key labels).
// Thread safety: every method may be called from every thread; SeriesFor takes a short lock
// to find the (api, policy) series, creating them the first time.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "services/ratelimit/rate_limiter.h"

namespace hotpath::ratelimit {

class RateLimitMetrics {
 public:
  enum class Api { kHotpath, kEnvoy };

  // The registry must outlive this object.
  explicit RateLimitMetrics(prometheus::Registry& registry);

  // The counters of one (api, policy), valid as long as this object: found once, recorded
  // into by many decisions (a batch's).
  struct Series {
    std::array<prometheus::Counter*, 4> outcomes{};  // allowed, denied, too high, shadow denied
    prometheus::Counter* near_limit = nullptr;
  };
  const Series& SeriesFor(Api api, std::string_view policy);

  // One decision; `shadow` when the policy is in shadow mode.
  void Record(Api api, std::string_view policy, const CheckResult& result, bool shadow) {
    Record(SeriesFor(api, policy), result, shadow);
  }
  static void Record(const Series& series, const CheckResult& result, bool shadow);

 private:
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& near_limit_;
  absl::Mutex mu_;
  // By api (hotpath, envoy), then policy.
  std::array<absl::flat_hash_map<std::string, std::unique_ptr<Series>>, 2> series_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace hotpath::ratelimit
