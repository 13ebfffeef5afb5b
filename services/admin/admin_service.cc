#include "services/admin/admin_service.h"

#include "services/common/version.h"

namespace hotpath {

using hotpath::admin::v1::GetInfoRequest;
using hotpath::admin::v1::GetInfoResponse;
using hotpath::admin::v1::PingRequest;
using hotpath::admin::v1::PingResponse;

grpc::ServerUnaryReactor* AdminService::Ping(grpc::CallbackServerContext* context,
                                             const PingRequest* request, PingResponse* response) {
  response->set_payload(request->payload());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::GetInfo(grpc::CallbackServerContext* context,
                                                const GetInfoRequest* /*request*/,
                                                GetInfoResponse* response) {
  const KeyspaceStats stats = keyspace_->Stats();
  response->set_version(kVersion);
  response->set_uptime_seconds(absl::ToInt64Seconds(absl::Now() - started_));
  response->set_shards(keyspace_->shard_count());
  response->set_keys(stats.keys);
  response->set_keys_with_deadline(stats.keys_with_deadline);
  response->set_expired_total(stats.expired_total);
  response->set_memory_bytes(stats.memory_bytes);
  response->set_data_dir(data_dir_);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace hotpath
