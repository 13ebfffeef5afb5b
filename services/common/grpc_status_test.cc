#include "services/common/grpc_status.h"

#include "gtest/gtest.h"

namespace hotpath {
namespace {

TEST(ToGrpcStatus, KeepsCodeAndMessage) {
  const grpc::Status status = ToGrpcStatus(absl::InvalidArgumentError("key must not be empty"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "key must not be empty");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(ToGrpcStatus, MapsEveryAbslCodeToTheSameGrpcCode) {
  for (int code = 1; code <= 16; ++code) {
    const grpc::Status status =
        ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(code), "x"));
    EXPECT_EQ(static_cast<int>(status.error_code()), code);
    if (code != 2) {
      EXPECT_STRNE(GrpcCodeName(status.error_code()), "Unknown") << code;
    }
  }
}

TEST(ToGrpcStatus, CutsLongMessagesOnACharacterBoundary) {
  // "é" is two bytes; 1023 'a's put the kMaxStatusMessageBytes-th byte inside the first one.
  const std::string long_name = std::string(kMaxStatusMessageBytes - 1, 'a') + "ééé";
  const grpc::Status status = ToGrpcStatus(absl::NotFoundError(long_name));
  EXPECT_EQ(status.error_message(),
            std::string(kMaxStatusMessageBytes - 1, 'a') + "... (6 more bytes)");
  const std::string fits(kMaxStatusMessageBytes, 'b');
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError(fits)).error_message(), fits);
}

}  // namespace
}  // namespace hotpath
