#include "services/common/rpc_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Render(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(RpcMetrics, KnownMethodsGetTheirOwnSeriesByCode) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry, {"/hotpath.admin.v1.AdminService/Ping"});
  const size_t ping = metrics.MethodIndex("/hotpath.admin.v1.AdminService/Ping");
  metrics.RecordStart(ping, "unary");
  metrics.RecordEnd(ping, grpc::StatusCode::OK, 0.001);
  metrics.RecordStart(ping, "unary");
  metrics.RecordEnd(ping, grpc::StatusCode::INVALID_ARGUMENT, 0.002);

  const std::string text = Render(registry);
  EXPECT_THAT(text,
              HasSubstr("hotpath_grpc_server_started_total{grpc_method=\"Ping\","
                        "grpc_service=\"hotpath.admin.v1.AdminService\",grpc_type=\"unary\"} 2"));
  EXPECT_THAT(text, HasSubstr("grpc_code=\"InvalidArgument\",grpc_method=\"Ping\""));
  EXPECT_THAT(text,
              HasSubstr("hotpath_grpc_server_handling_seconds_count{grpc_method=\"Ping\","
                        "grpc_service=\"hotpath.admin.v1.AdminService\",grpc_type=\"unary\"} 2"));
}

TEST(RpcMetrics, UnknownMethodsShareOneSeriesSoTrafficCannotGrowLabels) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry, {"/hotpath.admin.v1.AdminService/Ping"});
  for (const char* method : {"/a.B/C", "/x.Y/Z", "garbage"}) {
    const size_t index = metrics.MethodIndex(method);
    EXPECT_EQ(index, metrics.MethodIndex(nullptr));
    metrics.RecordStart(index, "unary");
    metrics.RecordEnd(index, grpc::StatusCode::UNIMPLEMENTED, 0.0);
  }
  const std::string text = Render(registry);
  EXPECT_THAT(text, HasSubstr("grpc_code=\"Unimplemented\",grpc_method=\"unknown\","
                              "grpc_service=\"unknown\",grpc_type=\"unary\"} 3"));
  EXPECT_THAT(text, Not(HasSubstr("a.B")));
}

TEST(InFlightCalls, CountsBeginMinusEnd) {
  InFlightCalls calls;
  calls.Begin();
  calls.Begin();
  EXPECT_EQ(calls.count(), 2);
  calls.End();
  calls.End();
  EXPECT_EQ(calls.count(), 0);
}

}  // namespace
}  // namespace hotpath
