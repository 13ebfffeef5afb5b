#include "services/common/unary_call.h"

#include "services/common/grpc_status.h"

namespace hotpath {

grpc::ServerUnaryReactor* UnaryCall::Finish(const absl::Status& status) const {
  meter_.End(static_cast<grpc::StatusCode>(status.code()));
  // Once finished, the call may be freed: only the reactor's address is used afterwards.
  reactor_->Finish(ToGrpcStatus(status));
  return reactor_;
}

grpc::ServerUnaryReactor* UnaryCall::FinishDurable(Store* store, const absl::Status& status,
                                                   bool wait) const {
  if (!wait || store == nullptr) return Finish(status);
  store->WhenDurable([call = *this, status](absl::Status durable) {
    call.Finish(durable.ok() ? status : durable);
  });
  return reactor_;
}

}  // namespace hotpath
