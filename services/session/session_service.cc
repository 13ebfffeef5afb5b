#include "services/session/session_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "services/common/namespace.h"

namespace hotpath::session {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

absl::StatusOr<absl::Duration> DurationOf(const google::protobuf::Duration& d, const char* field) {
  if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() >= kNanosPerSecond) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not a valid positive duration"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void SetTimestamp(int64_t unix_ms, google::protobuf::Timestamp* out) {
  out->set_seconds(unix_ms / 1000);
  out->set_nanos(static_cast<int32_t>(unix_ms % 1000) * 1'000'000);
}

void SetTimestampNs(int64_t unix_ns, google::protobuf::Timestamp* out) {
  out->set_seconds(unix_ns / kNanosPerSecond);
  out->set_nanos(static_cast<int32_t>(unix_ns % kNanosPerSecond));
}

void Fill(const v1::StoredSession& stored, bool with_attributes, v1::Session* out) {
  out->set_session_id(stored.session_id());
  out->set_user_id(stored.user_id());
  if (with_attributes) *out->mutable_attributes() = stored.attributes();
  *out->mutable_device() = stored.device();
  out->set_version(stored.version());
  SetTimestampNs(stored.created_ns(), out->mutable_created());
  SetTimestamp(stored.last_seen_ms(), out->mutable_last_seen());
  SetTimestamp(SessionStore::ExpiresMs(stored), out->mutable_expires());
  SetTimestamp(stored.absolute_expiry_ms(), out->mutable_absolute_expiry());
  out->mutable_idle_timeout()->set_seconds(stored.idle_ms() / 1000);
  out->mutable_idle_timeout()->set_nanos(static_cast<int32_t>(stored.idle_ms() % 1000) * 1'000'000);
}

absl::StatusOr<NewSession> NewSessionOf(const v1::CreateRequest& request) {
  NewSession session{
      .user_id = request.user_id(), .attributes = request.attributes(), .device = request.device()};
  if (request.has_idle_timeout()) {
    HP_ASSIGN_OR_RETURN(session.idle_timeout, DurationOf(request.idle_timeout(), "idle_timeout"));
  }
  if (request.has_absolute_lifetime()) {
    HP_ASSIGN_OR_RETURN(session.absolute_lifetime,
                        DurationOf(request.absolute_lifetime(), "absolute_lifetime"));
  }
  return session;
}

}  // namespace

grpc::ServerUnaryReactor* SessionService::FinishDurable(const UnaryCall& call,
                                                        const absl::Status& status) {
  // NOT_FOUND waits too: it may rest on a deletion (a first Revoke) not yet durable, and a
  // client must not take "gone" for granted before a crash could no longer bring it back.
  return call.FinishDurable(store_, status, /*wait=*/status.ok() || absl::IsNotFound(status));
}

absl::Status SessionService::Admit(const grpc::ServerContextBase& context, auth::Scope scope,
                                   const std::string& ns, const std::string* token, bool writes,
                                   bool grows) const {
  HP_RETURN_IF_ERROR(gate_->Admit(context, scope, NamespaceOf(ns), grows));
  if (token != nullptr && token->empty()) {
    return absl::InvalidArgumentError("token must not be empty");
  }
  if (writes && store_ != nullptr) return store_->CheckWritable();
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* SessionService::Create(grpc::CallbackServerContext* context,
                                                 const v1::CreateRequest* request,
                                                 v1::CreateResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kSessionWrite, request->namespace_(),
                                    nullptr, /*writes=*/true, /*grows=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<NewSession> session = NewSessionOf(*request);
  if (!session.ok()) return call.Finish(session.status());
  const std::string ns = NamespaceOf(request->namespace_());
  absl::StatusOr<CreatedSession> created = sessions_->Create(ns, *session);
  if (!created.ok()) return call.Finish(created.status());
  Count(SessionMetrics::Event::kCreated);
  Count(SessionMetrics::Event::kEvicted, created->evicted.size());
  response->set_token(created->token);
  Fill(created->session, /*with_attributes=*/true, response->mutable_session());
  return FinishDurable(call, absl::OkStatus());
}

grpc::ServerUnaryReactor* SessionService::Get(grpc::CallbackServerContext* context,
                                              const v1::GetRequest* request,
                                              v1::GetResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kSessionRead, request->namespace_(),
                                    &request->token(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<v1::StoredSession> stored = sessions_->Get(
      NamespaceOf(request->namespace_()), request->token(), /*touch=*/!request->no_touch());
  if (stored.ok()) Fill(*stored, /*with_attributes=*/true, response->mutable_session());
  if (metrics_ != nullptr && (stored.ok() || absl::IsNotFound(stored.status()))) {
    metrics_->Get(stored.ok());
  }
  return call.Finish(stored.status());
}

grpc::ServerUnaryReactor* SessionService::Revoke(grpc::CallbackServerContext* context,
                                                 const v1::RevokeRequest* request,
                                                 v1::RevokeResponse* /*response*/) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kSessionWrite, request->namespace_(),
                                    &request->token(), /*writes=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  const std::string ns = NamespaceOf(request->namespace_());
  const absl::StatusOr<v1::StoredSession> revoked = sessions_->Revoke(ns, request->token());
  if (revoked.ok()) {
    Count(SessionMetrics::Event::kRevoked);
  }
  return FinishDurable(call, revoked.status());
}

grpc::ServerUnaryReactor* SessionService::Update(grpc::CallbackServerContext* context,
                                                 const v1::UpdateRequest* request,
                                                 v1::UpdateResponse* response) {
  UnaryCall call = Call(context, __func__);
  // Only setting attributes adds data: an Update that deletes goes on at the memory cap.
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kSessionWrite, request->namespace_(), &request->token(),
                /*writes=*/true, /*grows=*/!request->set().empty());
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  AttributeChanges changes{.set = request->set(),
                           .remove = {request->delete_().begin(), request->delete_().end()}};
  if (request->has_expected_version()) changes.expected_version = request->expected_version();
  absl::StatusOr<v1::StoredSession> updated =
      sessions_->Update(NamespaceOf(request->namespace_()), request->token(), changes);
  if (updated.ok()) {
    Count(SessionMetrics::Event::kUpdated);
    Fill(*updated, /*with_attributes=*/true, response->mutable_session());
  }
  return FinishDurable(call, updated.status());
}

grpc::ServerUnaryReactor* SessionService::Rotate(grpc::CallbackServerContext* context,
                                                 const v1::RotateRequest* request,
                                                 v1::RotateResponse* response) {
  UnaryCall call = Call(context, __func__);
  // Not refused at the memory cap: a rotation (a privilege change) replaces the token, adding
  // only the old one's short grace entry.
  if (absl::Status admitted = Admit(*context, auth::Scope::kSessionWrite, request->namespace_(),
                                    &request->token(), /*writes=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  const std::string ns = NamespaceOf(request->namespace_());
  absl::StatusOr<CreatedSession> rotated = sessions_->Rotate(ns, request->token());
  if (rotated.ok()) {
    Count(SessionMetrics::Event::kRotated);
    response->set_token(rotated->token);
    Fill(rotated->session, /*with_attributes=*/true, response->mutable_session());
  }
  return FinishDurable(call, rotated.status());
}

grpc::ServerUnaryReactor* SessionService::RevokeUserSessions(
    grpc::CallbackServerContext* context, const v1::RevokeUserSessionsRequest* request,
    v1::RevokeUserSessionsResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kSessionAdmin, request->namespace_(),
                                    nullptr, /*writes=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  const std::string ns = NamespaceOf(request->namespace_());
  absl::StatusOr<std::vector<v1::StoredSession>> revoked =
      sessions_->RevokeUser(ns, request->user_id(), request->except_token());
  if (revoked.ok()) {
    Count(SessionMetrics::Event::kRevoked, revoked->size());
    response->set_revoked(revoked->size());
  }
  return FinishDurable(call, revoked.status());
}

grpc::ServerUnaryReactor* SessionService::ListUserSessions(
    grpc::CallbackServerContext* context, const v1::ListUserSessionsRequest* request,
    v1::ListUserSessionsResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kSessionRead, request->namespace_(),
                                    nullptr, /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<std::vector<v1::StoredSession>> sessions =
      sessions_->List(NamespaceOf(request->namespace_()), request->user_id());
  if (!sessions.ok()) return call.Finish(sessions.status());
  for (const v1::StoredSession& stored : *sessions) {
    Fill(stored, /*with_attributes=*/false, response->add_sessions());
  }
  return call.Finish(absl::OkStatus());
}

}  // namespace hotpath::session
