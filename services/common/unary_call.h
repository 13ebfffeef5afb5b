// UnaryCall: a unary call being handled, from the start of its handler to its status.
//
// Every unary handler starts with one, which meters the call (services/common/rpc_metrics.h),
// and ends with exactly one of its Finish or FinishDurable, which record the status and hand it
// to gRPC:
//
//   grpc::ServerUnaryReactor* BoardService::SubmitScore(grpc::CallbackServerContext* context,
//                                                       const Request* request, Response* out) {
//     UnaryCall call = Call(context, __func__);  // the service's helper: its RpcMetrics, its name
//     ...
//     if (!admitted.ok()) return call.Finish(admitted);
//     ...
//     return call.FinishDurable(store_, absl::OkStatus());
//   }
//
// A plain value: a call finished later, from another thread, carries a copy there. Once a copy
// has finished the call, gRPC may free the call's context and reactor: no copy may be used
// again.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "persistence/store.h"
#include "services/common/rpc_metrics.h"

namespace hotpath {

class UnaryCall {
 public:
  // Meters the call as `method` of `service` in `metrics`; not at all when `metrics` is null.
  UnaryCall(grpc::CallbackServerContext* context, RpcMetrics* metrics, absl::string_view service,
            absl::string_view method)
      : reactor_(context->DefaultReactor()),
        meter_(metrics != nullptr ? metrics->StartUnary(service, method) : CallMeter()) {}

  // Finishes the call at once with `status`; returns the reactor to hand to gRPC.
  grpc::ServerUnaryReactor* Finish(const absl::Status& status) const;

  // Finishes the call with `status` once everything the store has been given so far is
  // durable under its fsync policy (from the persistence thread), or with UNAVAILABLE if the
  // disk fails first. At once when `store` is null (persistence off) or `wait` is false.
  grpc::ServerUnaryReactor* FinishDurable(Store* store, const absl::Status& status,
                                          bool wait = true) const;

  // The call's reactor, for a handler that finishes the call later, from a callback.
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }

 private:
  grpc::ServerUnaryReactor* reactor_;  // the context's default reactor (gRPC makes it once)
  CallMeter meter_;
};

}  // namespace hotpath
