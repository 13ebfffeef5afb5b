#include "services/health/health_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/grpc_status.h"
#include "services/common/unary_call.h"

namespace hotpath {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream. Its fields are guarded by the service's mu_; it is deleted in OnDone, which
// gRPC calls only after Finish, and Finish is only ever decided while no write is in flight, so
// a watcher that NextAction told to write is alive until that write completes.
class HealthService::Watcher final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* service, std::string name) : service_(service), name_(std::move(name)) {}

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&service_->mu_);
      writing_ = false;
      if (!ok) cancelled_ = true;
      action = service_->NextAction(this);
    }
    Perform(action);
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&service_->mu_);
      cancelled_ = true;
      action = service_->NextAction(this);
    }
    Perform(action);
  }

  void OnDone() override {
    service_->Unregister(this);
    delete this;
  }

  void Perform(Action action) {
    if (action == Action::kWrite) StartWrite(&response_);
    if (action == Action::kFinish) Finish(finish_status_);
  }

 private:
  friend class HealthService;

  HealthService* const service_;
  const std::string name_;
  // Guarded by service_->mu_.
  HealthCheckResponse response_;  // not touched while writing_
  bool sent_any_ = false;
  ServingStatus sent_ = HealthCheckResponse::UNKNOWN;
  bool writing_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
  grpc::Status finish_status_;
};

namespace {

// A Watch refused before it starts: it ends at once with the refusal.
class RefusedWatch final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  explicit RefusedWatch(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

absl::Status HealthService::Allowed(const grpc::CallbackServerContext& context) const {
  if (authorizer_ == nullptr) return absl::OkStatus();
  return authorizer_->Authorize(context, auth::Scope::kHealthCheck, std::nullopt);
}

HealthService::HealthService(const std::vector<std::string>& services,
                             const auth::Authorizer* authorizer, RpcMetrics* calls)
    : authorizer_(authorizer), calls_(calls) {
  absl::MutexLock lock(&mu_);
  statuses_[""] = HealthCheckResponse::NOT_SERVING;
  for (const std::string& service : services) statuses_[service] = HealthCheckResponse::NOT_SERVING;
}

HealthService::ServingStatus HealthService::StatusOf(const std::string& service) const {
  auto it = statuses_.find(service);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

HealthService::Action HealthService::NextAction(Watcher* watcher) {
  if (watcher->finished_ || watcher->writing_) return Action::kNone;
  if (watcher->cancelled_) {
    watcher->finished_ = true;
    watcher->finish_status_ = grpc::Status::CANCELLED;
    return Action::kFinish;
  }
  const ServingStatus current = StatusOf(watcher->name_);
  if (!watcher->sent_any_ || watcher->sent_ != current) {
    watcher->response_.set_status(current);
    watcher->sent_ = current;
    watcher->sent_any_ = true;
    watcher->writing_ = true;
    return Action::kWrite;
  }
  if (shutdown_) {
    watcher->finished_ = true;
    watcher->finish_status_ = grpc::Status::OK;
    return Action::kFinish;
  }
  return Action::kNone;
}

void HealthService::Broadcast(ServingStatus status, bool shutdown) {
  std::vector<std::pair<Watcher*, Action>> actions;
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_) return;
    shutdown_ = shutdown;
    for (auto& [name, current] : statuses_) current = status;
    // Only watchers given something to do are touched after the lock is released: one with
    // nothing pending may finish and be deleted meanwhile.
    for (Watcher* watcher : watchers_) {
      const Action action = NextAction(watcher);
      if (action != Action::kNone) actions.emplace_back(watcher, action);
    }
  }
  for (auto& [watcher, action] : actions) watcher->Perform(action);
}

void HealthService::SetServing(bool serving) {
  Broadcast(serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING, false);
}

void HealthService::Shutdown() { Broadcast(HealthCheckResponse::NOT_SERVING, true); }

void HealthService::Unregister(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  UnaryCall call(context, calls_, grpc::health::v1::Health::service_full_name(), __func__);
  if (absl::Status allowed = Allowed(*context); !allowed.ok()) return call.Finish(allowed);
  ServingStatus status;
  {
    absl::MutexLock lock(&mu_);
    status = StatusOf(request->service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    return call.Finish(
        absl::NotFoundError(absl::StrCat("unknown service \"", request->service(), "\"")));
  }
  response->set_status(status);
  return call.Finish(absl::OkStatus());
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request) {
  if (absl::Status allowed = Allowed(*context); !allowed.ok()) return new RefusedWatch(allowed);
  auto* watcher = new Watcher(this, request->service());
  Action action;
  {
    absl::MutexLock lock(&mu_);
    watchers_.insert(watcher);
    action = NextAction(watcher);
  }
  watcher->Perform(action);
  return watcher;
}

}  // namespace hotpath
