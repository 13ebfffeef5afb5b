#include "tools/bench/grpc_driver.h"

#include <atomic>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "tools/bench/measure_window.h"

namespace hotpath {
namespace {

// Shared by all workers of one run.
struct Shared {
  MeasureWindow window;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> measured{0};
  uint64_t request_limit = 0;
  absl::Notification limit_reached;  // notified by the worker that completes the last request
  std::unique_ptr<absl::BlockingCounter> finished;
};

// One closed loop: starts an operation, records it when it completes, starts the next.
class Worker {
 public:
  Worker(Shared* shared, std::unique_ptr<HotpathOp> op) : shared_(shared), op_(std::move(op)) {}

  void Issue() {
    if (shared_->stop.load(std::memory_order_relaxed)) {
      shared_->finished->DecrementCount();
      return;
    }
    started_ = MeasureWindow::Now();
    op_->Start([this](bool ok) { Completed(ok); });
  }

  const LatencyHistogram& latency() const { return latency_; }
  uint64_t operations() const { return operations_; }
  uint64_t errors() const { return errors_; }

 private:
  void Completed(bool ok) {
    const int64_t now = MeasureWindow::Now();
    if (shared_->window.Counts(started_, now)) {
      if (!ok) {
        ++errors_;
      } else if (shared_->request_limit == 0) {
        Record(now);
      } else {
        // Exactly request_limit operations are measured; the last one ends the window.
        const uint64_t seen = shared_->measured.fetch_add(1);
        if (seen < shared_->request_limit) Record(now);
        if (seen + 1 == shared_->request_limit) shared_->limit_reached.Notify();
      }
    }
    Issue();
  }

  void Record(int64_t now) {
    latency_.Record(now - started_);
    ++operations_;
  }

  Shared* const shared_;
  std::unique_ptr<HotpathOp> op_;
  int64_t started_ = 0;
  LatencyHistogram latency_;
  uint64_t operations_ = 0;
  uint64_t errors_ = 0;
};

}  // namespace

absl::StatusOr<RunResult> RunHotpath(Workload& workload, const std::string& target,
                                     const RunOptions& run, const WorkloadOptions& options) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < run.connections; ++i) {
    grpc::ChannelArguments args;
    // A distinct argument and a local subchannel pool give each channel its own connection.
    args.SetInt("hotpath.bench.channel", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      return absl::UnavailableError(absl::StrCat("cannot connect to hotpathd at ", target));
    }
    channels.push_back(std::move(channel));
  }
  absl::Status prepared = workload.PrepareHotpath(channels.front(), options);
  if (!prepared.ok()) return prepared;

  Shared shared;
  shared.request_limit = run.requests;
  shared.finished = std::make_unique<absl::BlockingCounter>(run.concurrency);
  const KeyChooser keys(options.keys, options.distribution, options.zipf_theta, run.seed);
  std::vector<WorkerContext> contexts;
  contexts.reserve(run.concurrency);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < run.concurrency; ++i) {
    contexts.push_back(WorkerContext{i, keys.ForWorker(i)});
    workers.push_back(std::make_unique<Worker>(
        &shared, workload.NewHotpathOp(channels[i % channels.size()], &contexts.back(), options)));
  }
  for (auto& worker : workers) worker->Issue();

  // The warm-up and the window are the run's pacing: timed waits, not synchronisation.
  absl::Notification().WaitForNotificationWithTimeout(run.warmup);
  shared.window.Open();
  // With a request count the last request ends the window; the duration bounds it anyway.
  shared.limit_reached.WaitForNotificationWithTimeout(run.duration);
  shared.window.Close();
  shared.stop.store(true);
  shared.finished->Wait();

  RunResult result;
  result.target = "hotpath";
  result.connections = run.connections;
  result.concurrency = run.concurrency;
  result.seconds = shared.window.seconds();
  for (const auto& worker : workers) {
    result.latency.Merge(worker->latency());
    result.operations += worker->operations();
    result.errors += worker->errors();
  }
  return result;
}

}  // namespace hotpath
