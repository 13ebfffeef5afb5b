// DrainGrpc against a real in-process gRPC server whose Ping handler holds calls open.
#include "services/server/drain.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "prometheus/registry.h"
#include "services/common/rpc_metrics.h"
#include "services/common/unary_call.h"

namespace hotpath {
namespace {

using hotpath::admin::v1::AdminService;
using hotpath::admin::v1::PingRequest;
using hotpath::admin::v1::PingResponse;

// Ping calls stay open until Release(); they are metered as hotpathd's handlers meter theirs.
class HeldPingService final : public AdminService::CallbackService {
 public:
  explicit HeldPingService(RpcMetrics* calls) : calls_(calls) {}

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context, const PingRequest*,
                                 PingResponse*) override {
    UnaryCall call(context, calls_, AdminService::service_full_name(), __func__);
    absl::MutexLock lock(&mu_);
    held_.push_back(call);
    return call.reactor();
  }

  bool AwaitHeld(size_t n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return held_.size() == n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(30));
  }

  void Release() {
    std::vector<UnaryCall> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (const UnaryCall& call : held) call.Finish(absl::OkStatus());
  }

 private:
  RpcMetrics* const calls_;
  absl::Mutex mu_;
  std::vector<UnaryCall> held_ ABSL_GUARDED_BY(mu_);
};

class DrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(metrics_.InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(factories));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = AdminService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  // Starts a Ping and waits until the server is handling it.
  void StartHeldPing(grpc::ClientContext* context, PingResponse* response, grpc::Status* status,
                     absl::Notification* done) {
    PingRequest request;
    stub_->async()->Ping(context, &request, response, [status, done](grpc::Status s) {
      *status = std::move(s);
      done->Notify();
    });
    ASSERT_TRUE(service_.AwaitHeld(1));
    ASSERT_EQ(in_flight_.count(), 1);
  }

  prometheus::Registry registry_;
  InFlightCalls in_flight_;
  RpcMetrics metrics_{registry_, {"/hotpath.admin.v1.AdminService/Ping"}, &in_flight_};
  HeldPingService service_{&metrics_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AdminService::Stub> stub_;
};

TEST_F(DrainTest, AnIdleServerWithAConnectedClientStopsLongBeforeTheDeadline) {
  PingResponse response;
  grpc::Status status;
  absl::Notification done;
  grpc::ClientContext context;
  StartHeldPing(&context, &response, &status, &done);
  service_.Release();
  done.WaitForNotification();
  ASSERT_TRUE(status.ok());

  // The client's connection stays open; the drain must not wait for it.
  const absl::Time start = absl::Now();
  DrainGrpc(*server_, in_flight_, absl::Now() + absl::Minutes(10));
  EXPECT_LT(absl::Now() - start, absl::Minutes(5));
}

TEST_F(DrainTest, InFlightCallsFinishNormallyWithinTheDeadline) {
  PingResponse response;
  grpc::Status status;
  absl::Notification done;
  grpc::ClientContext context;
  StartHeldPing(&context, &response, &status, &done);

  absl::Notification drained;
  std::thread drain([&] {
    DrainGrpc(*server_, in_flight_, absl::Now() + absl::Minutes(10));
    drained.Notify();
  });
  // The drain waits for the held call rather than cancelling it.
  EXPECT_FALSE(drained.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  EXPECT_FALSE(done.HasBeenNotified());
  service_.Release();
  done.WaitForNotification();
  EXPECT_TRUE(status.ok()) << status.error_message();
  drain.join();
}

TEST_F(DrainTest, CallsStillRunningAtTheDeadlineAreCancelled) {
  PingResponse response;
  grpc::Status status;
  absl::Notification done;
  grpc::ClientContext context;
  StartHeldPing(&context, &response, &status, &done);

  std::thread drain(
      [&] { DrainGrpc(*server_, in_flight_, absl::Now() + absl::Milliseconds(200)); });
  done.WaitForNotification();
  // The client sees its call cut off (UNAVAILABLE as the connection closes, or CANCELLED).
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAVAILABLE ||
              status.error_code() == grpc::StatusCode::CANCELLED)
      << status.error_code() << " " << status.error_message();
  // A cancelled call's reactor must still be finished before the server can stop.
  service_.Release();
  drain.join();
}

}  // namespace
}  // namespace hotpath
