// envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit on hotpath's limiter, so Envoy's
// ratelimit filter (and anything else speaking Envoy's API) can call hotpathd with the
// envoyproxy/ratelimit configuration it already has (envoy_config.h).
//
// Semantics, as Envoy and envoyproxy/ratelimit define them: each descriptor gets the limit its
// entries match in the domain's configuration (or the limit Envoy sends with it); hits are the
// descriptor's hits_addend when set (0 only looks), else max(1, the request's); statuses come
// in descriptor order; the overall code is OVER_LIMIT when any enforced descriptor is over its
// limit, OK otherwise (never UNKNOWN). Descriptors without a limit, unlimited or replaced by
// another matched limit's `replaces` are OK. Shadow-mode descriptors are decided and counted
// but never make the answer OVER_LIMIT. Unlike envoyproxy/ratelimit, a request over any
// enforced limit consumes nothing from the others (denied requests do not eat quota).
// With response headers on: RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset of the
// descriptor closest to its limit, and Retry-After (seconds) when over the limit: the latest
// reset among the descriptors over their limits.
//
// State lives in the "envoy" namespace, one key per domain, descriptor entries (with their
// values) and limit; a caller needs ratelimit:check there when authorization is on.
// Thread safety: handlers run concurrently; SetConfig may run at any time.
#pragma once

#include <memory>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "services/common/arena_allocator.h"
#include "services/common/serving_gate.h"
#include "services/common/unary_call.h"
#include "services/ratelimit/envoy_config.h"
#include "services/ratelimit/rate_limiter.h"
#include "services/ratelimit/ratelimit_metrics.h"

namespace hotpath::ratelimit {

inline constexpr std::string_view kEnvoyNamespace = "envoy";

// The answer to one ShouldRateLimit request, as described above, without gRPC: resolves the
// descriptors against `config` (null: no domain is known), checks them on `limiter` and fills
// `response`. InvalidArgument for a request Envoy would never send (no domain, no descriptors,
// more than kMaxChecksPerBatch). `metrics` may be null.
absl::Status AnswerShouldRateLimit(const EnvoyConfig* config, RateLimiter& limiter,
                                   const envoy::service::ratelimit::v3::RateLimitRequest& request,
                                   bool response_headers, RateLimitMetrics* metrics,
                                   envoy::service::ratelimit::v3::RateLimitResponse* response);

class EnvoyRateLimitService final
    : public envoy::service::ratelimit::v3::RateLimitService::CallbackService {
 public:
  // `limiter` must outlive the service. A null config knows no domain: every descriptor is OK.
  // `metrics` (optional) must outlive the service.
  // `gate` must outlive the service; calls answer UNAVAILABLE until it opens.
  // `calls` (optional: null meters no call) must outlive the service.
  EnvoyRateLimitService(RateLimiter* limiter, std::shared_ptr<const EnvoyConfig> config,
                        bool response_headers, RateLimitMetrics* metrics, const ServingGate* gate,
                        RpcMetrics* calls = nullptr)
      : limiter_(limiter),
        response_headers_(response_headers),
        metrics_(metrics),
        gate_(gate),
        calls_(calls),
        config_(std::move(config)) {
    SetMessageAllocatorFor_ShouldRateLimit(&messages_);
  }

  // Replaces the configuration for calls that start afterwards (limiter state is kept).
  void SetConfig(std::shared_ptr<const EnvoyConfig> config) {
    absl::MutexLock lock(&mu_);
    config_ = std::move(config);
  }

  grpc::ServerUnaryReactor* ShouldRateLimit(
      grpc::CallbackServerContext* context,
      const envoy::service::ratelimit::v3::RateLimitRequest* request,
      envoy::service::ratelimit::v3::RateLimitResponse* response) override;

 private:
  // Starts metering a unary call of this service: `method` is the handler's __func__, which
  // is the RPC's name.
  UnaryCall Call(grpc::CallbackServerContext* context, const char* method) const {
    return UnaryCall(context, calls_,
                     envoy::service::ratelimit::v3::RateLimitService::service_full_name(), method);
  }
  std::shared_ptr<const EnvoyConfig> config() const {
    absl::MutexLock lock(&mu_);
    return config_;
  }

  RateLimiter* const limiter_;
  const bool response_headers_;
  RateLimitMetrics* const metrics_;
  const ServingGate* const gate_;
  RpcMetrics* const calls_;  // null: calls not metered
  mutable absl::Mutex mu_;
  std::shared_ptr<const EnvoyConfig> config_ ABSL_GUARDED_BY(mu_);
  ArenaAllocator<envoy::service::ratelimit::v3::RateLimitRequest,
                 envoy::service::ratelimit::v3::RateLimitResponse>
      messages_;
};

}  // namespace hotpath::ratelimit
