// The one place where absl::Status becomes grpc::Status. Codes map 1:1 (absl's codes are
// gRPC's); the message is kept as is. Services return ToGrpcStatus(status) and never build a
// grpc::Status from an engine error by hand.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"
#include "persistence/store.h"

namespace hotpath {

grpc::Status ToGrpcStatus(const absl::Status& status);

// Finishes a unary callback call at once with `status`; returns the reactor to hand to gRPC.
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status);

// Finishes a unary callback call with `status` once everything the store has been given so far
// is durable under its fsync policy (from the persistence thread), or with UNAVAILABLE if the
// disk fails first. At once when `store` is null (persistence off) or `wait` is false.
grpc::ServerUnaryReactor* FinishDurable(grpc::CallbackServerContext* context, Store* store,
                                        const absl::Status& status, bool wait = true);

// The gRPC code's name as the Prometheus gRPC ecosystem writes it: "OK", "InvalidArgument", ...
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace hotpath
