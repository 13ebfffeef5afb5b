#include "tools/bench/grpc_driver.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpc/support/time.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "tools/bench/measure_window.h"

namespace hotpath {
namespace {

class Worker;

// Open-loop bookkeeping: workers without a call in flight, and arrivals waiting for one.
struct Pacer {
  absl::Mutex mu;
  std::vector<Worker*> idle ABSL_GUARDED_BY(mu);
  std::deque<int64_t> waiting ABSL_GUARDED_BY(mu);  // arrival times
  bool stopped ABSL_GUARDED_BY(mu) = false;
};

// Shared by all workers of one run.
struct Shared {
  MeasureWindow window;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> measured{0};
  uint64_t request_limit = 0;
  absl::Notification limit_reached;  // notified by the worker that completes the last request
  std::unique_ptr<absl::BlockingCounter> finished;
  Pacer* pacer = nullptr;  // open loop only
};

// One closed loop: starts an operation, records it when it completes, starts the next. In an
// open loop it starts one per arrival the pacer hands it, timed from the arrival.
class Worker {
 public:
  Worker(Shared* shared, std::unique_ptr<HotpathOp> op) : shared_(shared), op_(std::move(op)) {}

  void Issue() {
    if (shared_->stop.load(std::memory_order_relaxed)) {
      shared_->finished->DecrementCount();
      return;
    }
    IssueAt(MeasureWindow::Now());
  }
  // Starts an operation whose latency counts from `arrival`.
  void IssueAt(int64_t arrival) {
    started_ = arrival;
    op_->Start([this](bool ok) { Completed(ok); });
  }

  const LatencyHistogram& latency() const { return latency_; }
  uint64_t operations() const { return operations_; }
  uint64_t errors() const { return errors_; }

 private:
  void Completed(bool ok) {
    const int64_t now = op_->measured_end().value_or(MeasureWindow::Now());
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
    if (shared_->pacer == nullptr) {
      Issue();
      return;
    }
    // Open loop: take the oldest waiting arrival, or go idle (or finish once stopped).
    Pacer& pacer = *shared_->pacer;
    int64_t arrival = 0;
    bool finished = false;
    {
      absl::MutexLock lock(&pacer.mu);
      if (pacer.stopped) {
        finished = true;
      } else if (pacer.waiting.empty()) {
        pacer.idle.push_back(this);
        return;
      } else {
        arrival = pacer.waiting.front();
        pacer.waiting.pop_front();
      }
    }
    // Counted down only once the pacer's lock is released: the last count lets the run end
    // and the pacer go.
    if (finished) {
      shared_->finished->DecrementCount();
      return;
    }
    IssueAt(arrival);
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

// An arrival at time `at`: to an idle worker, or waiting for the next one to finish.
void Arrive(Pacer& pacer, int64_t at) {
  Worker* worker = nullptr;
  {
    absl::MutexLock lock(&pacer.mu);
    if (pacer.idle.empty()) {
      pacer.waiting.push_back(at);
      return;
    }
    worker = pacer.idle.back();
    pacer.idle.pop_back();
  }
  worker->IssueAt(at);
}

// No more arrivals: idle workers finish now, busy ones when their call completes.
void StopArrivals(Pacer& pacer, Shared& shared) {
  size_t idle = 0;
  {
    absl::MutexLock lock(&pacer.mu);
    pacer.stopped = true;
    idle = pacer.idle.size();
    pacer.idle.clear();
  }
  for (size_t i = 0; i < idle; ++i) shared.finished->DecrementCount();
}

// The completion queues the workers' unary calls go on, one polling thread each; a completed
// call's tag runs on that thread, which also starts the worker's next call. One queue per CPU
// the process may run on: a load generator pinned to one core polls with one thread.
class Queues {
 public:
  Queues() {
    cpu_set_t cpus;
    const int count = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
    for (int i = 0; i < std::clamp(count, 1, 16); ++i) {
      queues_.push_back(std::make_unique<grpc::CompletionQueue>());
    }
  }
  // Call once no call is in flight any more.
  ~Queues() {
    for (auto& queue : queues_) queue->Shutdown();
    for (std::thread& thread : threads_) thread.join();
  }

  grpc::CompletionQueue* For(int worker) const {
    return queues_[static_cast<size_t>(worker) % queues_.size()].get();
  }

  // Closed loop: each thread waits for what completes on its queue.
  void Poll() {
    for (auto& queue : queues_) {
      threads_.emplace_back([queue = queue.get()] {
        void* tag = nullptr;
        bool ok = false;
        while (queue->Next(&tag, &ok)) static_cast<CallTag*>(tag)->Complete(ok);
      });
    }
  }

  // Open loop: arrivals at `rate` per second from `begin` until `end` (or the request limit),
  // handed to `pacer`'s idle workers; whoever issues the last one stops `pacer`.
  //
  // `on_queues` (every operation completes on its worker's queue): each queue's thread issues
  // every queues-th arrival itself and polls its queue without blocking until its last one, so
  // each arrival starts on time and each completion is seen at once. Sleeping between arrivals
  // (a wakeup per call; gRPC's own waits are millisecond-grained) doubled the client's cost per
  // call and made it, not the server, the limit at about 40K calls/s. An idle thread yields.
  //
  // Otherwise (operations complete on gRPC's callback threads, as streams do) one more thread
  // sleeps until each arrival is due, leaving the core to those threads in between: a spinning
  // client delayed them.
  void Pace(Shared* shared, Pacer* pacer, double rate, int64_t begin, int64_t end, bool on_queues) {
    const auto arrival = [begin, rate](uint64_t n, size_t lane, size_t lanes) {
      return begin + static_cast<int64_t>(1e9 * static_cast<double>(n * lanes + lane) / rate);
    };
    const auto over = [shared, end](int64_t at) {
      return at >= end || shared->limit_reached.HasBeenNotified();
    };
    if (!on_queues) {
      Poll();
      threads_.emplace_back([=] {
        for (uint64_t n = 0;; ++n) {
          const int64_t at = arrival(n, 0, 1);
          if (over(at)) break;
          absl::SleepFor(absl::Nanoseconds(at - MeasureWindow::Now()));  // none if negative
          Arrive(*pacer, at);
        }
        StopArrivals(*pacer, *shared);
      });
      return;
    }
    issuing_ = queues_.size();
    for (size_t lane = 0; lane < queues_.size(); ++lane) {
      threads_.emplace_back([=, this, queue = queues_[lane].get(), lanes = queues_.size()] {
        bool issuing = true;
        uint64_t n = 0;
        while (true) {
          const int64_t now = MeasureWindow::Now();
          while (issuing) {
            const int64_t at = arrival(n, lane, lanes);
            if (over(at)) {
              issuing = false;
              if (issuing_.fetch_sub(1) == 1) StopArrivals(*pacer, *shared);
            } else if (at <= now) {
              Arrive(*pacer, at);
              ++n;
            } else {
              break;
            }
          }
          void* tag = nullptr;
          bool ok = false;
          switch (queue->AsyncNext(
              &tag, &ok,
              issuing ? gpr_time_0(GPR_CLOCK_MONOTONIC) : gpr_inf_future(GPR_CLOCK_MONOTONIC))) {
            case grpc::CompletionQueue::SHUTDOWN:
              return;
            case grpc::CompletionQueue::GOT_EVENT:
              static_cast<CallTag*>(tag)->Complete(ok);
              break;
            case grpc::CompletionQueue::TIMEOUT:
              std::this_thread::yield();
              break;
          }
        }
      });
    }
  }

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> issuing_{0};  // open loop: threads still issuing arrivals
};

// Rewrites hotpathd's log (AdminService/Rewrite, which answers once the rewrite is done). A
// load that crosses persistence.rewrite_min_bytes would otherwise start the automatic rewrite
// inside the measured window: a one-off compaction of the load, not the steady state. An
// operator compacts after a bulk import the same way; Redis gets BGREWRITEAOF (redis_driver).
absl::Status CompactHotpathLog(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = admin::v1::AdminService::NewStub(channel);
  grpc::ClientContext context;
  Authorize(&context);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(1));
  admin::v1::RewriteResponse response;
  const grpc::Status status = stub->Rewrite(&context, admin::v1::RewriteRequest(), &response);
  // FAILED_PRECONDITION: persistence is off, so there is no log to compact.
  if (status.ok() || status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("AdminService/Rewrite after the load failed: ", status.error_message()));
}

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
  if (prepared.ok() && workload.items(options) > 0) prepared = CompactHotpathLog(channels.front());
  if (!prepared.ok()) return prepared;

  Pacer pacer;  // open loop only; declared first, so it outlives every use of `shared`
  Shared shared;
  auto queues = std::make_unique<Queues>();
  shared.request_limit = run.requests;
  shared.finished = std::make_unique<absl::BlockingCounter>(run.concurrency);
  const KeyChooser keys(options.keys, options.distribution, options.zipf_theta, run.seed);
  std::vector<WorkerContext> contexts;
  contexts.reserve(run.concurrency);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < run.concurrency; ++i) {
    contexts.push_back(WorkerContext{i, keys.ForWorker(i), queues->For(i)});
    workers.push_back(std::make_unique<Worker>(
        &shared, workload.NewHotpathOp(channels[i % channels.size()], &contexts.back(), options)));
  }
  // The warm-up and the window are the run's pacing: timed waits, not synchronisation.
  if (run.rate > 0) {
    {
      absl::MutexLock lock(&pacer.mu);
      for (const auto& worker : workers) pacer.idle.push_back(worker.get());
    }
    shared.pacer = &pacer;
    const int64_t begin = MeasureWindow::Now();
    const int64_t open_at = begin + absl::ToInt64Nanoseconds(run.warmup);
    const int64_t end = open_at + absl::ToInt64Nanoseconds(run.duration);
    queues->Pace(&shared, &pacer, run.rate, begin, end, workload.completes_on_worker_queue());
    absl::SleepFor(absl::Nanoseconds(open_at - MeasureWindow::Now()));
    shared.window.Open();
    shared.limit_reached.WaitForNotificationWithTimeout(
        absl::Nanoseconds(end - MeasureWindow::Now()));
  } else {
    queues->Poll();
    for (auto& worker : workers) worker->Issue();
    absl::Notification().WaitForNotificationWithTimeout(run.warmup);
    shared.window.Open();
    // With a request count the last request ends the window; the duration bounds it anyway.
    shared.limit_reached.WaitForNotificationWithTimeout(run.duration);
  }
  shared.window.Close();
  shared.stop.store(true);
  shared.finished->Wait();
  queues.reset();  // every call has completed; the polling threads end

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
