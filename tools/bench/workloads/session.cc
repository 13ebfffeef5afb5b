// session-create and session-get: the two calls every authenticated request path makes.
//
// A session is a user id, an IP, a user agent and its creation time, with a 30-minute idle
// expiry, in the user's index. hotpath: SessionService/Create and Get (touching). Redis: the
// usual hash + EXPIRE + SADD index, as Spring Session keeps them:
//   create  HSET s:<id> user .. ip .. ua .. created ..; EXPIRE s:<id> 1800; SADD u:<user> <id>
//   get     HGETALL s:<id>; EXPIRE s:<id> 1800
// pipelined as one operation. session-get first creates --keys sessions on each side and
// reports memory per session.
#include <hiredis/hiredis.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "hotpath/session/v1/session.grpc.pb.h"
#include "tools/bench/workload.h"

namespace hotpath {
namespace {

namespace sv = hotpath::session::v1;

constexpr char kUserAgent[] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0";
constexpr int kIdleSeconds = 1800;

std::string UserOf(uint64_t key) { return absl::StrCat("user:", key); }
std::string IpOf(uint64_t key) { return absl::StrCat("198.51.", key / 250 % 250, ".", key % 250); }

void FillCreate(uint64_t key, sv::CreateRequest* request) {
  request->set_user_id(UserOf(key));
  request->mutable_device()->set_ip(IpOf(key));
  request->mutable_device()->set_user_agent(kUserAgent);
  request->mutable_idle_timeout()->set_seconds(kIdleSeconds);
}

std::vector<RedisCommand> RedisCreate(const std::string& id, uint64_t key) {
  const std::string session = "s:" + id;
  return {{"HSET", session, "user", UserOf(key), "ip", IpOf(key), "ua", kUserAgent, "created",
           absl::StrCat(absl::ToUnixMillis(absl::Now()))},
          {"EXPIRE", session, absl::StrCat(kIdleSeconds)},
          {"SADD", "u:" + UserOf(key), id}};
}

class CreateOp final : public HotpathOp {
 public:
  CreateOp(std::shared_ptr<grpc::Channel> channel, WorkerContext* worker)
      : stub_(sv::SessionService::NewStub(std::move(channel))), worker_(worker) {}

  void Start(std::function<void(bool)> done) override {
    context_ = NewCallContext();
    request_.Clear();
    FillCreate(worker_->keys.Next(), &request_);
    create_.Start(stub_->PrepareAsyncCreate(context_.get(), request_, worker_->queue), &response_,
                  std::move(done));
  }

 private:
  std::unique_ptr<sv::SessionService::Stub> stub_;
  WorkerContext* const worker_;
  UnaryCall<sv::CreateResponse> create_;
  std::unique_ptr<grpc::ClientContext> context_;
  sv::CreateRequest request_;
  sv::CreateResponse response_;
};

class GetOp final : public HotpathOp {
 public:
  GetOp(std::shared_ptr<grpc::Channel> channel, WorkerContext* worker,
        const std::vector<std::string>* tokens)
      : stub_(sv::SessionService::NewStub(std::move(channel))), worker_(worker), tokens_(tokens) {}

  void Start(std::function<void(bool)> done) override {
    context_ = NewCallContext();
    request_.set_token((*tokens_)[worker_->keys.Next() % tokens_->size()]);
    get_.Start(stub_->PrepareAsyncGet(context_.get(), request_, worker_->queue), &response_,
               std::move(done));
  }

 private:
  std::unique_ptr<sv::SessionService::Stub> stub_;
  WorkerContext* const worker_;
  const std::vector<std::string>* const tokens_;
  UnaryCall<sv::GetResponse> get_;
  std::unique_ptr<grpc::ClientContext> context_;
  sv::GetRequest request_;
  sv::GetResponse response_;
};

absl::Status NoBatch(const WorkloadOptions& options, const char* name) {
  if (options.batch != 1) return absl::InvalidArgumentError(absl::StrCat(name, " does not batch"));
  return absl::OkStatus();
}

class SessionCreateWorkload final : public Workload {
 public:
  std::string name() const override { return "session-create"; }
  std::string description() const override {
    return "new session: SessionService/Create (answered once durable) vs HSET + EXPIRE + SADD";
  }
  absl::Status Validate(const WorkloadOptions& options) const override {
    return NoBatch(options, "session-create");
  }
  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel,
                                          WorkerContext* worker, const WorkloadOptions&) override {
    return std::make_unique<CreateOp>(std::move(channel), worker);
  }
  void NextRedisCommands(WorkerContext* worker, const WorkloadOptions&,
                         std::vector<RedisCommand>* commands) override {
    const std::string id = absl::StrCat(worker->index, ":", next_id_.fetch_add(1));
    for (RedisCommand& command : RedisCreate(id, worker->keys.Next())) {
      commands->push_back(std::move(command));
    }
  }

 private:
  std::atomic<uint64_t> next_id_{0};
};

class SessionGetWorkload final : public Workload {
 public:
  std::string name() const override { return "session-get"; }
  std::string description() const override {
    return "session lookup: SessionService/Get (touching) vs HGETALL + EXPIRE, over --keys "
           "sessions created first";
  }
  absl::Status Validate(const WorkloadOptions& options) const override {
    return NoBatch(options, "session-get");
  }
  uint64_t items(const WorkloadOptions& options) const override { return options.keys; }

  absl::Status PrepareHotpath(const std::shared_ptr<grpc::Channel>& channel,
                              const WorkloadOptions& options) override {
    auto stub = sv::SessionService::NewStub(channel);
    tokens_.clear();
    for (uint64_t key = 0; key < options.keys; ++key) {
      sv::CreateRequest request;
      FillCreate(key, &request);
      sv::CreateResponse response;
      const grpc::Status status = stub->Create(NewCallContext().get(), request, &response);
      if (!status.ok()) {
        return absl::UnavailableError(absl::StrCat("Create failed: ", status.error_message()));
      }
      tokens_.push_back(response.token());
    }
    return absl::OkStatus();
  }

  absl::Status PrepareRedis(redisContext* redis, const WorkloadOptions& options) override {
    for (uint64_t key = 0; key < options.keys; ++key) {
      for (const RedisCommand& command : RedisCreate(absl::StrCat(key), key)) {
        std::vector<const char*> argv;
        std::vector<size_t> lengths;
        for (const std::string& arg : command) {
          argv.push_back(arg.data());
          lengths.push_back(arg.size());
        }
        redisAppendCommandArgv(redis, static_cast<int>(argv.size()), argv.data(), lengths.data());
      }
    }
    for (uint64_t reply_count = 0; reply_count < 3 * options.keys; ++reply_count) {
      void* reply = nullptr;
      if (redisGetReply(redis, &reply) != REDIS_OK || reply == nullptr) {
        return absl::UnavailableError("loading sessions into Redis failed");
      }
      freeReplyObject(reply);
    }
    return absl::OkStatus();
  }

  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel,
                                          WorkerContext* worker, const WorkloadOptions&) override {
    return std::make_unique<GetOp>(std::move(channel), worker, &tokens_);
  }
  void NextRedisCommands(WorkerContext* worker, const WorkloadOptions& options,
                         std::vector<RedisCommand>* commands) override {
    const std::string session = absl::StrCat("s:", worker->keys.Next() % options.keys);
    commands->push_back({"HGETALL", session});
    commands->push_back({"EXPIRE", session, absl::StrCat(kIdleSeconds)});
  }

 private:
  std::vector<std::string> tokens_;  // written by PrepareHotpath, read-only during the run
};

HP_REGISTER_WORKLOAD(SessionCreateWorkload, "session-create");
HP_REGISTER_WORKLOAD(SessionGetWorkload, "session-get");

}  // namespace
}  // namespace hotpath
