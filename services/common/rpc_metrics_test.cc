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
  metrics.StartUnary("hotpath.admin.v1.AdminService", "Ping").End(grpc::StatusCode::OK);
  metrics.StartUnary("hotpath.admin.v1.AdminService", "Ping")
      .End(grpc::StatusCode::INVALID_ARGUMENT);

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
  metrics.StartUnary("a.B", "C").End(grpc::StatusCode::UNIMPLEMENTED);
  metrics.StartUnary("hotpath.admin.v1.AdminService", "Pong").End(grpc::StatusCode::UNIMPLEMENTED);
  metrics.StartUnary("unknown", "unknown").End(grpc::StatusCode::UNIMPLEMENTED);
  const std::string text = Render(registry);
  EXPECT_THAT(text, HasSubstr("grpc_code=\"Unimplemented\",grpc_method=\"unknown\","
                              "grpc_service=\"unknown\",grpc_type=\"unknown\"} 3"));
  EXPECT_THAT(text, Not(HasSubstr("a.B")));
  EXPECT_THAT(text, Not(HasSubstr("Pong")));
}

TEST(RpcMetrics, ACallIsInFlightUntilItEndsAndASlowOneIsLogged) {
  prometheus::Registry registry;
  InFlightCalls in_flight;
  SlowLog slow_log(absl::ZeroDuration(), 8);  // every call counts as slow
  RpcMetrics metrics(registry, {"/hotpath.admin.v1.AdminService/Ping"}, &in_flight, &slow_log);
  const CallMeter first = metrics.StartUnary("hotpath.admin.v1.AdminService", "Ping");
  const CallMeter second = metrics.StartUnary("hotpath.admin.v1.AdminService", "Ping");
  EXPECT_EQ(in_flight.count(), 2);
  first.End(grpc::StatusCode::OK);
  EXPECT_EQ(in_flight.count(), 1);
  second.End(grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(in_flight.count(), 0);
  const std::vector<SlowCall> slow = slow_log.Newest(8, /*reset=*/false);
  ASSERT_EQ(slow.size(), 2u);
  EXPECT_EQ(slow[0].method, "/hotpath.admin.v1.AdminService/Ping");
  EXPECT_EQ(slow[0].code, static_cast<int>(grpc::StatusCode::NOT_FOUND));  // newest first
}

TEST(CallMeter, ADefaultMadeOneRecordsNothing) {
  CallMeter().End(grpc::StatusCode::OK);  // must not crash: no metrics behind it
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
