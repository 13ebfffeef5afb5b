// ratelimit: one rate-limit check per operation (or --batch checks per call), a token bucket
// on one of --keys keys. hotpath: RateLimiterService/Check (CheckBatch with --batch > 1); Redis:
// the usual token-bucket Lua script, EVALSHA (pipelined --batch deep), the way teams limit with
// Redis today. The limit is high enough that almost every check is allowed: the work measured
// is a decision and a state update, not a denial.
//
// ratelimit-envoy: the same check as Envoy's rate limit filter asks it, through
// envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit: domain "hotpath-bench", one
// descriptor {user: <key>}. hotpathd must serve tools/bench/ratelimit_envoy.yaml
// (--ratelimit.envoy_config), which gives that descriptor the same token bucket; Redis runs the
// same script.
#include <hiredis/hiredis.h>

#include "absl/strings/str_cat.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "hotpath/ratelimit/v1/ratelimit.grpc.pb.h"
#include "tools/bench/workload.h"

namespace hotpath {
namespace {

namespace rl = hotpath::ratelimit::v1;

constexpr uint64_t kRate = 1'000'000;  // tokens per second, and the burst

// KEYS[1] the bucket; ARGV capacity, rate per second, cost. State in a hash, TTL until full.
constexpr char kTokenBucketLua[] = R"lua(
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1)
return allowed
)lua";

void FillCheck(uint64_t key, rl::CheckRequest* check) {
  check->set_key(absl::StrCat("user:", key));
  rl::Limit* limit = check->add_limits();
  limit->set_algorithm(rl::ALGORITHM_TOKEN_BUCKET);
  limit->set_limit(kRate);
  limit->mutable_period()->set_seconds(1);
  limit->set_burst(kRate);
}

class CheckOp final : public HotpathOp {
 public:
  CheckOp(std::shared_ptr<grpc::Channel> channel, WorkerContext* worker, size_t batch)
      : stub_(rl::RateLimiterService::NewStub(std::move(channel))),
        worker_(worker),
        batch_(batch) {}

  void Start(std::function<void(bool)> done) override {
    context_ = NewCallContext();
    if (batch_ == 1) {
      check_.Clear();
      FillCheck(worker_->keys.Next(), &check_);
      check_call_.Start(stub_->PrepareAsyncCheck(context_.get(), check_, worker_->queue),
                        &check_response_, std::move(done));
      return;
    }
    batch_request_.Clear();
    for (size_t i = 0; i < batch_; ++i)
      FillCheck(worker_->keys.Next(), batch_request_.add_checks());
    batch_call_.Start(stub_->PrepareAsyncCheckBatch(context_.get(), batch_request_, worker_->queue),
                      &batch_response_, std::move(done));
  }

 private:
  std::unique_ptr<rl::RateLimiterService::Stub> stub_;
  WorkerContext* const worker_;
  const size_t batch_;
  UnaryCall<rl::CheckResponse> check_call_;
  UnaryCall<rl::CheckBatchResponse> batch_call_;
  std::unique_ptr<grpc::ClientContext> context_;
  rl::CheckRequest check_;
  rl::CheckResponse check_response_;
  rl::CheckBatchRequest batch_request_;
  rl::CheckBatchResponse batch_response_;
};

namespace rls = envoy::service::ratelimit::v3;

constexpr char kEnvoyDomain[] = "hotpath-bench";

void FillEnvoyRequest(uint64_t key, rls::RateLimitRequest* request) {
  request->set_domain(kEnvoyDomain);
  auto* entry = request->add_descriptors()->add_entries();
  entry->set_key("user");
  entry->set_value(absl::StrCat("user:", key));
}

class EnvoyCheckOp final : public HotpathOp {
 public:
  EnvoyCheckOp(std::shared_ptr<grpc::Channel> channel, WorkerContext* worker)
      : stub_(rls::RateLimitService::NewStub(std::move(channel))), worker_(worker) {}

  void Start(std::function<void(bool)> done) override {
    context_ = NewCallContext();
    request_.Clear();
    FillEnvoyRequest(worker_->keys.Next(), &request_);
    call_.Start(stub_->PrepareAsyncShouldRateLimit(context_.get(), request_, worker_->queue),
                &response_, std::move(done));
  }

 private:
  std::unique_ptr<rls::RateLimitService::Stub> stub_;
  WorkerContext* const worker_;
  UnaryCall<rls::RateLimitResponse> call_;
  std::unique_ptr<grpc::ClientContext> context_;
  rls::RateLimitRequest request_;
  rls::RateLimitResponse response_;
};

// What both workloads share: the options they take and the Redis side, the Lua script.
class TokenBucketWorkload : public Workload {
 public:
  absl::Status PrepareRedis(redisContext* redis, const WorkloadOptions&) override {
    auto* reply = static_cast<redisReply*>(redisCommand(redis, "SCRIPT LOAD %s", kTokenBucketLua));
    if (reply == nullptr || reply->type != REDIS_REPLY_STRING) {
      if (reply != nullptr) freeReplyObject(reply);
      return absl::UnavailableError("SCRIPT LOAD of the token-bucket script failed");
    }
    sha_ = std::string(reply->str, reply->len);
    freeReplyObject(reply);
    return absl::OkStatus();
  }
  void NextRedisCommands(WorkerContext* worker, const WorkloadOptions& options,
                         std::vector<RedisCommand>* commands) override {
    for (size_t i = 0; i < options.batch; ++i) {
      commands->push_back({"EVALSHA", sha_, "1", absl::StrCat("user:", worker->keys.Next()),
                           absl::StrCat(kRate), absl::StrCat(kRate), "1"});
    }
  }

 private:
  std::string sha_;
};

class RateLimitWorkload final : public TokenBucketWorkload {
 public:
  std::string name() const override { return "ratelimit"; }
  std::string description() const override {
    return "token-bucket check: RateLimiterService/Check (CheckBatch with --batch) vs EVALSHA of a "
           "token-bucket Lua script (pipelined --batch deep)";
  }
  absl::Status Validate(const WorkloadOptions& options) const override {
    if (options.batch < 1 || options.batch > 1000) {
      return absl::InvalidArgumentError("ratelimit batches 1 to 1000 checks");
    }
    return absl::OkStatus();
  }
  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel,
                                          WorkerContext* worker,
                                          const WorkloadOptions& options) override {
    return std::make_unique<CheckOp>(std::move(channel), worker, options.batch);
  }
};

class EnvoyRateLimitWorkload final : public TokenBucketWorkload {
 public:
  std::string name() const override { return "ratelimit-envoy"; }
  std::string description() const override {
    return "token-bucket check as Envoy asks it: RateLimitService/ShouldRateLimit (hotpathd "
           "serving tools/bench/ratelimit_envoy.yaml) vs EVALSHA of a token-bucket Lua script";
  }
  absl::Status Validate(const WorkloadOptions& options) const override {
    if (options.batch != 1) {
      return absl::InvalidArgumentError("ratelimit-envoy does not batch (--batch=1)");
    }
    return absl::OkStatus();
  }
  // One call up front: without the bench's configuration, hotpathd answers OK with no limit,
  // and the run would measure a lookup that finds nothing.
  absl::Status PrepareHotpath(const std::shared_ptr<grpc::Channel>& channel,
                              const WorkloadOptions&) override {
    auto stub = rls::RateLimitService::NewStub(channel);
    rls::RateLimitRequest request;
    FillEnvoyRequest(0, &request);
    request.mutable_descriptors(0)->mutable_hits_addend()->set_value(0);  // look only
    rls::RateLimitResponse response;
    std::unique_ptr<grpc::ClientContext> context = NewCallContext();
    const grpc::Status status = stub->ShouldRateLimit(context.get(), request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("ShouldRateLimit failed: ", status.error_message()));
    }
    if (response.statuses_size() != 1 ||
        response.statuses(0).current_limit().requests_per_unit() != kRate) {
      return absl::FailedPreconditionError(
          absl::StrCat("hotpathd has no limit of ", kRate, " a second for domain ", kEnvoyDomain,
                       ", descriptor user: start it with "
                       "--ratelimit.envoy_config=tools/bench/ratelimit_envoy.yaml"));
    }
    return absl::OkStatus();
  }
  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel,
                                          WorkerContext* worker, const WorkloadOptions&) override {
    return std::make_unique<EnvoyCheckOp>(std::move(channel), worker);
  }
};

HP_REGISTER_WORKLOAD(RateLimitWorkload, "ratelimit");
HP_REGISTER_WORKLOAD(EnvoyRateLimitWorkload, "ratelimit-envoy");

}  // namespace
}  // namespace hotpath
