// hotpath.admin.v1.Admin: Ping (the cost of one round trip) and GetInfo (a node snapshot).
//
// Thread safety: handlers run concurrently on gRPC's callback threads; the service holds only
// immutable state and reads the keyspace through its thread-safe Stats().
#pragma once

#include <string>
#include <utility>

#include "absl/time/time.h"
#include "engine/keyspace.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"

namespace hotpath {

class AdminService final : public hotpath::admin::v1::Admin::CallbackService {
 public:
  // `keyspace` must outlive the service. `data_dir` is empty when persistence is off.
  AdminService(const Keyspace* keyspace, std::string data_dir)
      : keyspace_(keyspace), data_dir_(std::move(data_dir)), started_(absl::Now()) {}

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const hotpath::admin::v1::PingRequest* request,
                                 hotpath::admin::v1::PingResponse* response) override;
  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* context,
                                    const hotpath::admin::v1::GetInfoRequest* request,
                                    hotpath::admin::v1::GetInfoResponse* response) override;

 private:
  const Keyspace* const keyspace_;
  const std::string data_dir_;
  const absl::Time started_;
};

}  // namespace hotpath
