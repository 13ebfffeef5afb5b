// The one place where absl::Status becomes grpc::Status. Codes map 1:1 (absl's codes are
// gRPC's); the message is kept, cut to kMaxStatusMessageBytes: messages may quote what a
// client sent, and a status message travels in a trailer, which clients refuse beyond their
// metadata limit (8 KiB by default) by closing the whole connection. Services return
// ToGrpcStatus(status) and never build a grpc::Status from an engine error by hand.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace hotpath {

inline constexpr size_t kMaxStatusMessageBytes = 1024;

// `message`, or its first kMaxStatusMessageBytes (whole UTF-8 characters) and how much was cut.
std::string BoundedMessage(std::string_view message);

grpc::Status ToGrpcStatus(const absl::Status& status);

// The gRPC code's name as the Prometheus gRPC ecosystem writes it: "OK", "InvalidArgument", ...
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace hotpath
