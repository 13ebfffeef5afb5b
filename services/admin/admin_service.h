// hotpath.admin.v1.AdminService: Ping (the cost of one round trip), GetInfo (a node snapshot),
// Rewrite (a new base snapshot and log segment, answered from the store's thread when done) and
// GetSlowlog (the newest slow calls).
//
// Every call needs credentials when authorization is on: Ping any valid ones, GetInfo and
// GetSlowlog admin:read, Rewrite and a slowlog reset admin:write; these are server-wide.
// GetNamespace needs admin:read in the namespace it asks about.
//
// Thread safety: handlers run concurrently on gRPC's callback threads; the service holds only
// immutable state and reads the keyspace and store through their thread-safe methods.
#pragma once

#include <string>
#include <utility>

#include "absl/time/time.h"
#include "engine/keyspace.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "persistence/store.h"
#include "services/auth/authorizer.h"
#include "services/common/in_flight_calls.h"
#include "services/common/slow_log.h"
#include "services/common/unary_call.h"

namespace hotpath {

class AdminService final : public hotpath::admin::v1::AdminService::CallbackService {
 public:
  // `keyspace`, `store`, `slow_log`, `in_flight`, `authorizer` and `calls` must outlive the
  // service. With persistence off, `store` is null and `data_dir` empty; a null `authorizer`
  // admits every caller; null `calls` meters no call.
  AdminService(const Keyspace* keyspace, Store* store, std::string data_dir, std::string fsync,
               SlowLog* slow_log, const InFlightCalls* in_flight,
               const auth::Authorizer* authorizer = nullptr, RpcMetrics* calls = nullptr)
      : keyspace_(keyspace),
        store_(store),
        data_dir_(std::move(data_dir)),
        fsync_(std::move(fsync)),
        slow_log_(slow_log),
        in_flight_(in_flight),
        authorizer_(authorizer),
        calls_(calls),
        started_(absl::Now()) {}

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const hotpath::admin::v1::PingRequest* request,
                                 hotpath::admin::v1::PingResponse* response) override;
  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* context,
                                    const hotpath::admin::v1::GetInfoRequest* request,
                                    hotpath::admin::v1::GetInfoResponse* response) override;
  grpc::ServerUnaryReactor* Rewrite(grpc::CallbackServerContext* context,
                                    const hotpath::admin::v1::RewriteRequest* request,
                                    hotpath::admin::v1::RewriteResponse* response) override;
  grpc::ServerUnaryReactor* GetSlowlog(grpc::CallbackServerContext* context,
                                       const hotpath::admin::v1::GetSlowlogRequest* request,
                                       hotpath::admin::v1::GetSlowlogResponse* response) override;
  grpc::ServerUnaryReactor* GetNamespace(
      grpc::CallbackServerContext* context, const hotpath::admin::v1::GetNamespaceRequest* request,
      hotpath::admin::v1::GetNamespaceResponse* response) override;

 private:
  // Starts metering a unary call of this service: `method` is the handler's __func__, which
  // is the RPC's name.
  UnaryCall Call(grpc::CallbackServerContext* context, const char* method) const {
    return UnaryCall(context, calls_, hotpath::admin::v1::AdminService::service_full_name(),
                     method);
  }
  absl::Status Allowed(const grpc::CallbackServerContext& context, auth::Scope scope,
                       std::optional<std::string_view> ns = std::nullopt) const {
    return authorizer_ == nullptr ? absl::OkStatus() : authorizer_->Authorize(context, scope, ns);
  }

  const Keyspace* const keyspace_;
  Store* const store_;
  const std::string data_dir_;
  const std::string fsync_;
  SlowLog* const slow_log_;
  const InFlightCalls* const in_flight_;
  const auth::Authorizer* const authorizer_;
  RpcMetrics* const calls_;  // null: calls not metered
  const absl::Time started_;
};

}  // namespace hotpath
