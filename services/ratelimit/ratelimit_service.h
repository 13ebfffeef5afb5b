// hotpath.ratelimit.v1.RateLimiter over gRPC: converts requests (validating every field, with
// its path in the error), runs them on the RateLimiter, converts the answers.
//
// Check and CheckBatch answer at once: limiter state is recorded lazily (rate_limiter.h), so
// no check waits for the disk. Reset deletes state and answers once the deletion is durable
// under the fsync policy (from the persistence thread), or UNAVAILABLE if the data directory
// cannot be written.
//
// Thread safety: handlers run concurrently on gRPC's callback threads.
#pragma once

#include "hotpath/ratelimit/v1/ratelimit.grpc.pb.h"
#include "persistence/store.h"
#include "services/ratelimit/rate_limiter.h"

namespace hotpath::ratelimit {

class RateLimitService final : public hotpath::ratelimit::v1::RateLimiter::CallbackService {
 public:
  // `limiter` must outlive the service; `store` too, unless null (persistence off).
  RateLimitService(RateLimiter* limiter, Store* store) : limiter_(limiter), store_(store) {}

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
  RateLimiter* const limiter_;
  Store* const store_;
};

}  // namespace hotpath::ratelimit
