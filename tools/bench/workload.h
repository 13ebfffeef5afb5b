// Workload: one kind of operation, measured against hotpath and, for comparison, Redis.
//
// A workload is one file under workloads/: a class implementing this interface and a
// HP_REGISTER_WORKLOAD line. The drivers (grpc_driver.h, redis_driver.h) run it closed-loop:
// every worker keeps one operation in flight and starts the next when it completes. With a
// rate, grpc_driver.h runs it open-loop instead: operations start at fixed arrival times, on
// whichever worker is free.
//
//   class PingWorkload : public Workload { ... };
//   HP_REGISTER_WORKLOAD(PingWorkload, "ping");
//
// Thread safety: Prepare* and New* are called from the main thread before the run; each
// HotpathOp and the RedisCommand calls for one worker are used by one worker at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/support/async_unary_call.h"
#include "grpcpp/support/status.h"
#include "tools/bench/key_chooser.h"

struct redisContext;

namespace hotpath {

struct WorkloadOptions {
  uint64_t keys = 100'000;
  Distribution distribution = Distribution::kUniform;
  double zipf_theta = 0.99;
  size_t payload_bytes = 0;
  size_t batch = 1;        // operations per call (hotpath) or per pipeline (Redis)
  size_t subscribers = 1;  // pubsub-delivery: streams following the topic
};

// What one worker owns: its index, its own key sequence, and the completion queue its unary
// calls go on (UnaryCall below; the gRPC driver polls it).
struct WorkerContext {
  int index = 0;
  KeyChooser keys;
  grpc::CompletionQueue* queue = nullptr;
};

// Every call a workload makes carries this deadline, so a stuck server fails the run instead of
// hanging it.
inline constexpr absl::Duration kCallDeadline = absl::Seconds(10);

// The API key every call sends (--api_key, for a hotpathd with an access file); empty for
// none. Set once, before any workload starts.
std::string& ApiKey();

// Adds the API key's authorization metadata, when there is one, to a call's context.
inline void Authorize(grpc::ClientContext* context) {
  if (!ApiKey().empty()) context->AddMetadata("authorization", "Bearer " + ApiKey());
}

// A fresh context for one call, with kCallDeadline set and the API key.
inline std::unique_ptr<grpc::ClientContext> NewCallContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  Authorize(context.get());
  return context;
}

// A tag on the gRPC driver's completion queues: the driver's polling thread calls Complete
// with the queue's `ok` when the operation the tag stands for has finished.
class CallTag {
 public:
  virtual ~CallTag() = default;
  virtual void Complete(bool ok) = 0;
};

// One unary call at a time on a worker's completion queue, e.g.
//   ping_.Start(stub_->PrepareAsyncPing(context_.get(), request_, worker->queue), &response_,
//               std::move(done));
// The completion-queue API costs the load generator less per call than the callback API, whose
// completions hop between gRPC's threads: at 256 calls in flight on one core, the callback
// client ran out of CPU before an empty gRPC server did.
template <typename Response>
class UnaryCall final : public CallTag {
 public:
  // Starts the call `reader` stands for and calls done(ok) once it has ended, on the polling
  // thread; ok means an OK status. Start again only once done runs (done itself may).
  void Start(std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader, Response* response,
             std::function<void(bool ok)> done) {
    reader_ = std::move(reader);
    done_ = std::move(done);
    reader_->StartCall();
    reader_->Finish(response, &status_, this);
  }

  void Complete(bool ok) override {
    std::function<void(bool)> done = std::move(done_);  // done may Start the next call
    done(ok && status_.ok());
  }

 private:
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader_;
  std::function<void(bool)> done_;
  grpc::Status status_;
};

// Issues one hotpath operation at a time for one worker.
class HotpathOp {
 public:
  virtual ~HotpathOp() = default;
  // Starts an operation; `done(ok)` is called exactly once, on any thread.
  virtual void Start(std::function<void(bool ok)> done) = 0;
  // When the measured part of the operation ended, in MeasureWindow::Now() time, for an
  // operation that goes on after it (nullopt: when done ran). Read by the driver inside done.
  virtual std::optional<int64_t> measured_end() const { return std::nullopt; }
};

// One Redis command as its arguments.
using RedisCommand = std::vector<std::string>;

class Workload {
 public:
  virtual ~Workload() = default;

  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  // InvalidArgument for options the workload cannot honour (for example batch > 1).
  virtual absl::Status Validate(const WorkloadOptions& options) const = 0;
  // How many items the workload stores (for memory per item); 0 if it stores none.
  virtual uint64_t items(const WorkloadOptions& /*options*/) const { return 0; }

  // Called once before the run, e.g. to preload keys.
  virtual absl::Status PrepareHotpath(const std::shared_ptr<grpc::Channel>& /*channel*/,
                                      const WorkloadOptions& /*options*/) {
    return absl::OkStatus();
  }
  virtual absl::Status PrepareRedis(redisContext* /*redis*/, const WorkloadOptions& /*options*/) {
    return absl::OkStatus();
  }

  // Whether each operation completes on its worker's completion queue (UnaryCall). An open
  // loop then polls the queues without sleeping between arrivals; one whose operations complete
  // on gRPC's callback threads (streams) gets a pacer that sleeps, leaving the core to them.
  virtual bool completes_on_worker_queue() const { return true; }

  virtual std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel,
                                                  WorkerContext* worker,
                                                  const WorkloadOptions& options) = 0;
  // The commands of one operation; more than one are pipelined and count as one operation.
  virtual void NextRedisCommands(WorkerContext* worker, const WorkloadOptions& options,
                                 std::vector<RedisCommand>* commands) = 0;
};

using WorkloadFactory = std::function<std::unique_ptr<Workload>()>;

// Workloads by name, filled by HP_REGISTER_WORKLOAD at static initialisation.
std::map<std::string, WorkloadFactory>& WorkloadRegistry();

struct WorkloadRegistration {
  WorkloadRegistration(const std::string& name, WorkloadFactory factory) {
    WorkloadRegistry()[name] = std::move(factory);
  }
};

#define HP_REGISTER_WORKLOAD(type, name)                                        \
  static const ::hotpath::WorkloadRegistration hp_workload_registration_##type( \
      name, [] { return std::make_unique<type>(); })

}  // namespace hotpath
