#include "services/ratelimit/ratelimit_metrics.h"

namespace hotpath::ratelimit {

RateLimitMetrics::RateLimitMetrics(prometheus::Registry& registry)
    : decisions_(prometheus::BuildCounter()
                     .Name("hotpath_ratelimit_decisions_total")
                     .Help("Rate-limit decisions, by API, policy and outcome.")
                     .Register(registry)),
      near_limit_(prometheus::BuildCounter()
                      .Name("hotpath_ratelimit_near_limit_total")
                      .Help("Allowed rate-limit decisions that left at most 20% of the limit.")
                      .Register(registry)) {}

const RateLimitMetrics::Series& RateLimitMetrics::SeriesFor(Api api, std::string_view policy) {
  const char* api_name = api == Api::kHotpath ? "hotpath" : "envoy";
  const absl::string_view name(policy.data(), policy.size());
  absl::MutexLock lock(&mu_);
  auto& by_policy = series_[api == Api::kHotpath ? 0 : 1];
  // Found without building a string: the common case on every decision.
  if (auto found = by_policy.find(name); found != by_policy.end()) return *found->second;
  auto series = std::make_unique<Series>();
  const std::string label(name);
  const char* outcomes[] = {"allowed", "denied", "cost_too_high", "shadow_denied"};
  for (size_t i = 0; i < series->outcomes.size(); ++i) {
    series->outcomes[i] =
        &decisions_.Add({{"api", api_name}, {"policy", label}, {"outcome", outcomes[i]}});
  }
  series->near_limit = &near_limit_.Add({{"api", api_name}, {"policy", label}});
  return *by_policy.emplace(label, std::move(series)).first->second;
}

void RateLimitMetrics::Record(const Series& series, const CheckResult& result, bool shadow) {
  size_t outcome = 0;
  if (result.outcome == Outcome::kDenied) outcome = 1;
  if (result.outcome == Outcome::kCostTooHigh) outcome = 2;
  if (shadow && outcome != 0) outcome = 3;
  series.outcomes[outcome]->Increment();
  if (result.outcome == Outcome::kAllowed && result.remaining * 5 <= result.limit) {
    series.near_limit->Increment();
  }
}

}  // namespace hotpath::ratelimit
