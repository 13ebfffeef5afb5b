// hotpath.session.v1.SessionService over gRPC: converts requests (naming the field at fault),
// runs them on the SessionStore, converts the answers.
//
// Writes (Create, Update, Rotate, Revoke, RevokeUserSessions) answer once their records are
// durable under the fsync policy, from the persistence thread (UNAVAILABLE, before anything
// changes, while the data directory cannot be written). Get answers at once: a touch is recorded
// but not waited for, as a crash that forgets a touch only shortens a session's idle time. The
// token never reaches a log line.
//
// Thread safety: handlers run concurrently on gRPC's callback threads.
#pragma once

#include "hotpath/session/v1/session.grpc.pb.h"
#include "persistence/store.h"
#include "services/common/arena_allocator.h"
#include "services/common/serving_gate.h"
#include "services/common/unary_call.h"
#include "services/session/session_metrics.h"
#include "services/session/session_store.h"

namespace hotpath::session {

class SessionService final : public v1::SessionService::CallbackService {
 public:
  // `sessions` and `gate` must outlive the service; `store`, `metrics` and `calls` too,
  // unless null (persistence off, no metrics, calls not metered). Calls answer UNAVAILABLE
  // until the gate opens.
  SessionService(SessionStore* sessions, Store* store, SessionMetrics* metrics,
                 const ServingGate* gate, RpcMetrics* calls = nullptr)
      : sessions_(sessions), store_(store), metrics_(metrics), gate_(gate), calls_(calls) {
    SetMessageAllocatorFor_Create(&create_messages_);
    SetMessageAllocatorFor_Get(&get_messages_);
  }

  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* context,
                                   const v1::CreateRequest* request,
                                   v1::CreateResponse* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context, const v1::GetRequest* request,
                                v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* context,
                                   const v1::UpdateRequest* request,
                                   v1::UpdateResponse* response) override;
  grpc::ServerUnaryReactor* Rotate(grpc::CallbackServerContext* context,
                                   const v1::RotateRequest* request,
                                   v1::RotateResponse* response) override;
  grpc::ServerUnaryReactor* Revoke(grpc::CallbackServerContext* context,
                                   const v1::RevokeRequest* request,
                                   v1::RevokeResponse* response) override;
  grpc::ServerUnaryReactor* RevokeUserSessions(grpc::CallbackServerContext* context,
                                               const v1::RevokeUserSessionsRequest* request,
                                               v1::RevokeUserSessionsResponse* response) override;
  grpc::ServerUnaryReactor* ListUserSessions(grpc::CallbackServerContext* context,
                                             const v1::ListUserSessionsRequest* request,
                                             v1::ListUserSessionsResponse* response) override;

 private:
  // Starts metering a unary call of this service: `method` is the handler's __func__, which
  // is the RPC's name.
  UnaryCall Call(grpc::CallbackServerContext* context, const char* method) const {
    return UnaryCall(context, calls_, v1::SessionService::service_full_name(), method);
  }
  // Finishes the call with `status` once everything before it is durable (at once for errors
  // other than NOT_FOUND, or with persistence off).
  grpc::ServerUnaryReactor* FinishDurable(const UnaryCall& call, const absl::Status& status);
  // Whether a call may go on: the gate's admission (deadline, credentials for `scope` in
  // namespace `ns`, empty meaning the default; loading; and the memory cap when it `grows`),
  // a non-empty `token` if one is given, then for calls that `writes`, whether the data directory
  // takes writes.
  absl::Status Admit(const grpc::ServerContextBase& context, auth::Scope scope,
                     const std::string& ns, const std::string* token, bool writes,
                     bool grows = false) const;

  // Counts `n` of `event` when metrics are on.
  void Count(SessionMetrics::Event event, uint64_t n = 1) {
    if (metrics_ != nullptr) metrics_->Count(event, n);
  }

  SessionStore* const sessions_;
  Store* const store_;
  SessionMetrics* const metrics_;
  const ServingGate* const gate_;
  RpcMetrics* const calls_;  // null: calls not metered
  ArenaAllocator<v1::CreateRequest, v1::CreateResponse> create_messages_;
  ArenaAllocator<v1::GetRequest, v1::GetResponse> get_messages_;
};

}  // namespace hotpath::session
