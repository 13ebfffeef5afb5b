// hotpath.ratelimit.v1.RateLimiterService over gRPC: converts requests (validating every field,
// with its path in the error), runs them on the RateLimiter, converts the answers.
//
// Check and CheckBatch answer at once: limiter state is recorded lazily (rate_limiter.h), so
// no check waits for the disk. Reset deletes state and answers once the deletion is durable
// under the fsync policy (from the persistence thread), or UNAVAILABLE if the data directory
// cannot be written.
//
// A request names a policy (policies.h) or carries its limits. A policy in shadow mode is
// decided and counted but answered OUTCOME_ALLOWED, with the real outcome in shadow_outcome; shadow
// checks of a batch run on their own, outside its all-or-nothing step.
//
// Thread safety: handlers run concurrently on gRPC's callback threads; SetPolicies at any
// time (calls that started keep the policies they began with).
#pragma once

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "hotpath/ratelimit/v1/ratelimit.grpc.pb.h"
#include "persistence/store.h"
#include "services/common/arena_allocator.h"
#include "services/common/serving_gate.h"
#include "services/common/unary_call.h"
#include "services/ratelimit/policies.h"
#include "services/ratelimit/rate_limiter.h"
#include "services/ratelimit/ratelimit_metrics.h"

namespace hotpath::ratelimit {

class RateLimitService final : public hotpath::ratelimit::v1::RateLimiterService::CallbackService {
 public:
  // `limiter` must outlive the service; `store` too, unless null (persistence off).
  // A null policy set knows no policy.
  // `metrics` (optional) must outlive the service.
  // `gate` must outlive the service; calls answer UNAVAILABLE until it opens.
  // `calls` (optional: null meters no call) must outlive the service.
  RateLimitService(RateLimiter* limiter, Store* store, std::shared_ptr<const PolicySet> policies,
                   RateLimitMetrics* metrics, const ServingGate* gate, RpcMetrics* calls = nullptr)
      : limiter_(limiter),
        store_(store),
        metrics_(metrics),
        gate_(gate),
        calls_(calls),
        policies_(std::move(policies)) {
    SetMessageAllocatorFor_Check(&check_messages_);
    SetMessageAllocatorFor_CheckBatch(&batch_messages_);
  }

  void SetPolicies(std::shared_ptr<const PolicySet> policies) {
    absl::MutexLock lock(&mu_);
    policies_ = std::move(policies);
  }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const v1::CheckRequest* request,
                                  v1::CheckResponse* response) override;
  grpc::ServerUnaryReactor* CheckBatch(grpc::CallbackServerContext* context,
                                       const v1::CheckBatchRequest* request,
                                       v1::CheckBatchResponse* response) override;
  grpc::ServerUnaryReactor* Reset(grpc::CallbackServerContext* context,
                                  const v1::ResetRequest* request,
                                  v1::ResetResponse* response) override;

 private:
  // Starts metering a unary call of this service: `method` is the handler's __func__, which
  // is the RPC's name.
  UnaryCall Call(grpc::CallbackServerContext* context, const char* method) const {
    return UnaryCall(context, calls_,
                     hotpath::ratelimit::v1::RateLimiterService::service_full_name(), method);
  }
  std::shared_ptr<const PolicySet> policies() const {
    absl::MutexLock lock(&mu_);
    return policies_;
  }

  RateLimiter* const limiter_;
  Store* const store_;
  RateLimitMetrics* const metrics_;
  const ServingGate* const gate_;
  RpcMetrics* const calls_;  // null: calls not metered
  mutable absl::Mutex mu_;
  std::shared_ptr<const PolicySet> policies_ ABSL_GUARDED_BY(mu_);
  ArenaAllocator<v1::CheckRequest, v1::CheckResponse> check_messages_;
  ArenaAllocator<v1::CheckBatchRequest, v1::CheckBatchResponse> batch_messages_;
};

}  // namespace hotpath::ratelimit
