// RunHotpath against a real gRPC server in the test process: every call is counted, an
// operation that names the end of its measured part (HotpathOp::measured_end, as the pub/sub
// delivery workloads do) is timed to it, in a closed and an open loop, and a workload that
// loads data has the server's log compacted before its first operation.
#include "tools/bench/grpc_driver.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "tools/bench/measure_window.h"
#include "tools/bench/workload.h"

namespace hotpath {
namespace {

namespace admin = hotpath::admin::v1;

constexpr int64_t kClaimedNs = 50'000'000;  // far longer than a loopback Ping takes

// Answers Ping, and Rewrite with `rewrite_status`, counting both.
class PingServer {
 public:
  explicit PingServer(grpc::Status rewrite_status = grpc::Status::OK)
      : service_(std::move(rewrite_status)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~PingServer() { server_->Shutdown(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  int rewrites() const { return service_.rewrites.load(); }
  // Pings answered before the first Rewrite arrived (-1: none arrived).
  int pings_before_rewrite() const { return service_.pings_before_rewrite.load(); }

 private:
  struct Service final : public admin::AdminService::CallbackService {
    explicit Service(grpc::Status status) : rewrite_status(std::move(status)) {}
    grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context, const admin::PingRequest*,
                                   admin::PingResponse*) override {
      ++pings;
      grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
    grpc::ServerUnaryReactor* Rewrite(grpc::CallbackServerContext* context,
                                      const admin::RewriteRequest*,
                                      admin::RewriteResponse*) override {
      if (rewrites++ == 0) pings_before_rewrite = pings.load();
      grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(rewrite_status);
      return reactor;
    }
    const grpc::Status rewrite_status;
    std::atomic<int> pings{0};
    std::atomic<int> rewrites{0};
    std::atomic<int> pings_before_rewrite{-1};
  };
  Service service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// An operation of the ping workload whose measured part, it says, ended kClaimedNs after it
// started.
class ClaimingOp final : public HotpathOp {
 public:
  explicit ClaimingOp(std::unique_ptr<HotpathOp> ping) : ping_(std::move(ping)) {}

  void Start(std::function<void(bool)> done) override {
    started_ = MeasureWindow::Now();
    ping_->Start(std::move(done));
  }
  std::optional<int64_t> measured_end() const override { return started_ + kClaimedNs; }

 private:
  std::unique_ptr<HotpathOp> ping_;
  int64_t started_ = 0;
};

// The ping workload (workloads/ping.cc), each operation claiming its end.
class ClaimingWorkload final : public Workload {
 public:
  // `on_queue`: what completes_on_worker_queue says, which picks the open loop's pacer.
  // `items`: what the workload says it loads first (nothing, in fact).
  explicit ClaimingWorkload(bool on_queue = true, uint64_t items = 0)
      : on_queue_(on_queue), items_(items) {}
  std::string name() const override { return "claiming"; }
  std::string description() const override { return "Ping, timed to a claimed end"; }
  absl::Status Validate(const WorkloadOptions& options) const override {
    return ping_->Validate(options);
  }
  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel,
                                          WorkerContext* worker,
                                          const WorkloadOptions& options) override {
    return std::make_unique<ClaimingOp>(ping_->NewHotpathOp(std::move(channel), worker, options));
  }
  void NextRedisCommands(WorkerContext* worker, const WorkloadOptions& options,
                         std::vector<RedisCommand>* commands) override {
    ping_->NextRedisCommands(worker, options, commands);
  }
  bool completes_on_worker_queue() const override { return on_queue_; }
  uint64_t items(const WorkloadOptions&) const override { return items_; }

 private:
  const std::unique_ptr<Workload> ping_ = WorkloadRegistry().at("ping")();
  const bool on_queue_;
  const uint64_t items_;
};

// A closed loop without warm-up that ends after `requests` measured operations.
RunOptions Counted(int connections, int concurrency, uint64_t requests) {
  RunOptions run;
  run.connections = connections;
  run.concurrency = concurrency;
  run.warmup = absl::ZeroDuration();
  run.duration = absl::Seconds(60);  // a bound: the request count ends the run
  run.requests = requests;
  return run;
}

TEST(GrpcDriverTest, ClosedLoopCountsEachRequestAndTimesItToItsMeasuredEnd) {
  PingServer server;
  ClaimingWorkload workload;
  const RunResult result = RunHotpath(workload, server.address(), Counted(2, 4, 200), {}).value();
  EXPECT_EQ(result.operations, 200u);
  EXPECT_EQ(result.errors, 0u);
  // Every Ping answered long before kClaimedNs, yet each counts as taking at least that.
  EXPECT_GE(result.latency.Percentile(0.01), kClaimedNs);
}

TEST(GrpcDriverTest, OpenLoopTimesEachArrivalToItsMeasuredEndWithEitherPacer) {
  PingServer server;
  for (const bool on_queue : {true, false}) {
    SCOPED_TRACE(on_queue ? "polling pacer" : "sleeping pacer");
    ClaimingWorkload workload(on_queue);
    RunOptions run;
    run.connections = 2;
    run.concurrency = 8;
    run.warmup = absl::ZeroDuration();
    run.duration = absl::Milliseconds(500);
    run.rate = 1000;
    const RunResult result = RunHotpath(workload, server.address(), run, {}).value();
    EXPECT_GT(result.operations, 100u);  // about 500 arrive in the window
    EXPECT_EQ(result.errors, 0u);
    EXPECT_GE(result.latency.Percentile(0.01), kClaimedNs);
  }
}

// A load big enough would start hotpathd's automatic rewrite inside the measured window; the
// driver rewrites first, before any operation, and only after a load.
TEST(GrpcDriverTest, CompactsTheLogAfterALoadBeforeTheFirstOperation) {
  PingServer server;
  ClaimingWorkload loads(/*on_queue=*/true, /*items=*/10);
  ASSERT_TRUE(RunHotpath(loads, server.address(), Counted(1, 2, 20), {}).ok());
  EXPECT_EQ(server.rewrites(), 1);
  EXPECT_EQ(server.pings_before_rewrite(), 0);

  PingServer untouched;
  ClaimingWorkload loads_nothing;
  ASSERT_TRUE(RunHotpath(loads_nothing, untouched.address(), Counted(1, 2, 20), {}).ok());
  EXPECT_EQ(untouched.rewrites(), 0);
}

TEST(GrpcDriverTest, ALogThatCannotBeCompactedFailsTheRunUnlessThereIsNone) {
  ClaimingWorkload loads(/*on_queue=*/true, /*items=*/10);
  PingServer no_persistence(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "off"));
  EXPECT_TRUE(RunHotpath(loads, no_persistence.address(), Counted(1, 2, 20), {}).ok());

  PingServer failing(grpc::Status(grpc::StatusCode::UNAVAILABLE, "disk"));
  const absl::StatusOr<RunResult> run = RunHotpath(loads, failing.address(), Counted(1, 2, 20), {});
  EXPECT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("Rewrite"), std::string_view::npos);
}

}  // namespace
}  // namespace hotpath
