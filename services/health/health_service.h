// grpc.health.v1.Health, with the readiness hotpath needs.
//
// Every service starts NOT_SERVING (hotpathd is loading); SetServing(true) flips them all once
// the node is ready, and Shutdown() flips them back and ends every Watch stream, so load
// balancers and Kubernetes' grpc probe stop sending traffic before the server drains. gRPC's
// built-in health service cannot be used for this: it reports SERVING from the moment the
// server starts, before loading has finished.
//
// Check answers NOT_FOUND for an unknown service; Watch reports SERVICE_UNKNOWN for it and keeps
// watching, as the protocol asks.
//
// With authorization on and health not exempt (auth.exempt_health), callers need the scope
// health:check.
//
// Thread safety: all public methods are safe to call from any thread. Internally one mutex
// guards the statuses and every watcher's state; reactor operations (StartWrite, Finish) are
// always started after it is released, because gRPC may run reactions inline.
#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/auth/authorizer.h"
#include "services/common/rpc_metrics.h"

namespace hotpath {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // `services` are the fully qualified names to report on, besides "" (the whole server).
  // `authorizer` and `calls`, when not null, must outlive the service (null `calls` meters no
  // call).
  explicit HealthService(const std::vector<std::string>& services,
                         const auth::Authorizer* authorizer = nullptr, RpcMetrics* calls = nullptr);

  // Sets every service SERVING or NOT_SERVING. Ignored after Shutdown.
  void SetServing(bool serving);
  // Sets every service NOT_SERVING for good and ends Watch streams once they have been told.
  void Shutdown();

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class Watcher;
  enum class Action { kNone, kWrite, kFinish };

  // Decides a watcher's next step; the caller performs it after releasing mu_.
  Action NextAction(Watcher* watcher) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ServingStatus StatusOf(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies a status to all services and tells every watcher.
  void Broadcast(ServingStatus status, bool shutdown);
  void Unregister(Watcher* watcher);

  absl::Status Allowed(const grpc::CallbackServerContext& context) const;

  const auth::Authorizer* const authorizer_;
  RpcMetrics* const calls_;  // null: calls not metered
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hotpath
