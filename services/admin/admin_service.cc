#include "services/admin/admin_service.h"

#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/grpc_status.h"
#include "services/common/namespace.h"
#include "services/common/version.h"

namespace hotpath {

using google::protobuf::util::TimeUtil;
using hotpath::admin::v1::GetInfoRequest;
using hotpath::admin::v1::GetInfoResponse;
using hotpath::admin::v1::PingRequest;
using hotpath::admin::v1::PingResponse;
using hotpath::admin::v1::RewriteRequest;
using hotpath::admin::v1::RewriteResponse;

grpc::ServerUnaryReactor* AdminService::Ping(grpc::CallbackServerContext* context,
                                             const PingRequest* request, PingResponse* response) {
  UnaryCall call = Call(context, __func__);
  const absl::Status allowed = Allowed(*context, auth::Scope::kAuthenticated);
  if (allowed.ok()) response->set_payload(request->payload());
  return call.Finish(allowed);
}

grpc::ServerUnaryReactor* AdminService::GetInfo(grpc::CallbackServerContext* context,
                                                const GetInfoRequest* /*request*/,
                                                GetInfoResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status allowed = Allowed(*context, auth::Scope::kAdminRead); !allowed.ok()) {
    return call.Finish(allowed);
  }
  const KeyspaceStats stats = keyspace_->Stats();
  response->set_version(kVersion);
  response->set_uptime_seconds(absl::ToInt64Seconds(absl::Now() - started_));
  response->set_shards(keyspace_->shard_count());
  response->set_keys(stats.keys);
  response->set_keys_with_deadline(stats.keys_with_deadline);
  response->set_expired_total(stats.expired_total);
  response->set_memory_bytes(stats.memory_bytes);
  response->set_data_dir(data_dir_);
  for (size_t type = 0; type < kValueTypes; ++type) {
    // Named as hotpath_engine_keys_by_type's label values are.
    (*response->mutable_keys_by_type())[absl::StrReplaceAll(
        ValueTypeName(static_cast<ValueType>(type)), {{" ", "_"}})] = stats.keys_by_type[type];
  }
  response->set_calls_in_flight(in_flight_->count());
  response->set_slow_calls_total(slow_log_->total());
  if (store_ != nullptr) {
    const StoreStats store = store_->stats();
    auto* persistence = response->mutable_persistence();
    persistence->set_fsync(fsync_);
    persistence->set_writable(store.writer.healthy);
    persistence->set_last_error(store.writer.last_error);
    persistence->set_segment_bytes(store.segment_bytes);
    persistence->set_base_bytes(store.base_bytes);
    persistence->set_rewrites_completed(store.rewrite.completed);
    persistence->set_rewrites_failed(store.rewrite.failed);
    persistence->set_rewrite_running(store.rewrite.running);
    if (store.rewrite.last_finished != absl::InfinitePast()) {
      *persistence->mutable_last_rewrite_time() =
          TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(store.rewrite.last_finished));
      *persistence->mutable_last_rewrite_duration() =
          TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(store.rewrite.last_duration));
      persistence->set_last_rewrite_error(std::string(store.rewrite.last_status.message()));
    }
  }
  return call.Finish(absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::Rewrite(grpc::CallbackServerContext* context,
                                                const RewriteRequest* /*request*/,
                                                RewriteResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status allowed = Allowed(*context, auth::Scope::kAdminWrite); !allowed.ok()) {
    return call.Finish(allowed);
  }
  if (store_ == nullptr) return call.Finish(absl::FailedPreconditionError("persistence is off"));
  const absl::Time started = absl::Now();
  Store* store = store_;
  // Finished from the store's thread: no gRPC thread waits for the disk.
  store_->RequestRewrite([call, response, store, started](absl::Status status) {
    if (status.ok()) {
      *response->mutable_duration() =
          TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(absl::Now() - started));
      response->set_base_bytes(store->stats().base_bytes);
    }
    call.Finish(status);
  });
  return call.reactor();
}

grpc::ServerUnaryReactor* AdminService::GetSlowlog(
    grpc::CallbackServerContext* context, const hotpath::admin::v1::GetSlowlogRequest* request,
    hotpath::admin::v1::GetSlowlogResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status allowed =
          Allowed(*context, request->reset() ? auth::Scope::kAdminWrite : auth::Scope::kAdminRead);
      !allowed.ok()) {
    return call.Finish(allowed);
  }
  for (const SlowCall& slow : slow_log_->Newest(request->max_entries(), request->reset())) {
    hotpath::admin::v1::SlowCall* out = response->add_calls();
    out->set_id(slow.id);
    out->set_method(slow.method);
    out->set_code(GrpcCodeName(static_cast<grpc::StatusCode>(slow.code)));
    *out->mutable_started() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(slow.started));
    *out->mutable_duration() =
        TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(slow.duration));
  }
  *response->mutable_threshold() =
      TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(slow_log_->threshold()));
  response->set_slow_calls_total(slow_log_->total());
  return call.Finish(absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::GetNamespace(
    grpc::CallbackServerContext* context, const hotpath::admin::v1::GetNamespaceRequest* request,
    hotpath::admin::v1::GetNamespaceResponse* response) {
  UnaryCall call = Call(context, __func__);
  const std::string ns = NamespaceOf(request->namespace_());
  if (absl::Status allowed = Allowed(*context, auth::Scope::kAdminRead, ns); !allowed.ok()) {
    return call.Finish(allowed);
  }
  if (absl::Status valid = ValidateNamespace(ns); !valid.ok()) {
    return call.Finish(valid);
  }
  const NamespaceUsage usage = keyspace_->UsageOf(ns);
  response->set_namespace_(ns);
  response->set_keys(static_cast<uint64_t>(usage.keys));
  response->set_memory_bytes(static_cast<uint64_t>(usage.bytes));
  if (authorizer_ != nullptr) {
    if (const std::shared_ptr<const auth::AccessRules> rules = authorizer_->rules()) {
      const auth::Quota quota = rules->QuotaOf(ns);
      response->set_max_keys(quota.max_keys);
      response->set_max_memory_bytes(quota.max_memory);
    }
  }
  return call.Finish(absl::OkStatus());
}

}  // namespace hotpath
