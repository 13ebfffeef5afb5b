// hotpath.admin.v1.Admin: Ping (the cost of one round trip), GetInfo (a node snapshot) and
// Rewrite (a new base snapshot and log segment, answered from the store's thread when done).
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

namespace hotpath {

class AdminService final : public hotpath::admin::v1::Admin::CallbackService {
 public:
  // `keyspace` and `store` must outlive the service. With persistence off, `store` is null
  // and `data_dir` empty.
  AdminService(const Keyspace* keyspace, Store* store, std::string data_dir, std::string fsync)
      : keyspace_(keyspace),
        store_(store),
        data_dir_(std::move(data_dir)),
        fsync_(std::move(fsync)),
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

 private:
  const Keyspace* const keyspace_;
  Store* const store_;
  const std::string data_dir_;
  const std::string fsync_;
  const absl::Time started_;
};

}  // namespace hotpath
