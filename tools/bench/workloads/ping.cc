// ping: the empty call, hotpath's ceiling. hotpath: AdminService/Ping with --payload bytes echoed;
// Redis: PING, or ECHO with the same payload.
#include "absl/strings/str_cat.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "tools/bench/workload.h"

namespace hotpath {
namespace {

class PingOp final : public HotpathOp {
 public:
  PingOp(std::shared_ptr<grpc::Channel> channel, WorkerContext* worker, size_t payload_bytes)
      : stub_(hotpath::admin::v1::AdminService::NewStub(std::move(channel))), worker_(worker) {
    request_.set_payload(std::string(payload_bytes, 'p'));
  }

  void Start(std::function<void(bool)> done) override {
    context_ = NewCallContext();
    ping_.Start(stub_->PrepareAsyncPing(context_.get(), request_, worker_->queue), &response_,
                std::move(done));
  }

 private:
  std::unique_ptr<hotpath::admin::v1::AdminService::Stub> stub_;
  WorkerContext* const worker_;
  UnaryCall<hotpath::admin::v1::PingResponse> ping_;
  std::unique_ptr<grpc::ClientContext> context_;
  hotpath::admin::v1::PingRequest request_;
  hotpath::admin::v1::PingResponse response_;
};

class PingWorkload final : public Workload {
 public:
  std::string name() const override { return "ping"; }
  std::string description() const override {
    return "empty call: AdminService/Ping vs PING (ECHO with --payload)";
  }
  absl::Status Validate(const WorkloadOptions& options) const override {
    if (options.batch != 1) return absl::InvalidArgumentError("ping does not batch (--batch=1)");
    return absl::OkStatus();
  }
  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel,
                                          WorkerContext* worker,
                                          const WorkloadOptions& options) override {
    return std::make_unique<PingOp>(std::move(channel), worker, options.payload_bytes);
  }
  void NextRedisCommands(WorkerContext*, const WorkloadOptions& options,
                         std::vector<RedisCommand>* commands) override {
    if (options.payload_bytes == 0) {
      commands->push_back({"PING"});
    } else {
      commands->push_back({"ECHO", std::string(options.payload_bytes, 'p')});
    }
  }
};

HP_REGISTER_WORKLOAD(PingWorkload, "ping");

}  // namespace
}  // namespace hotpath
