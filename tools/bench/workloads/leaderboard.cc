// leaderboard-submit, leaderboard-top and leaderboard-rank: a board of --keys members
// ("player:N", integer scores) loaded first on each side, then one call per operation:
//   submit  LeaderboardService/SubmitScore (set, answered once durable)  vs  ZADD
//   top     GetTop(10)                                                   vs  ZREVRANGE 0 9
//   WITHSCORES rank    GetRank (rank, score and board size)                         vs  ZREVRANK
// Memory per item is memory per member.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "hotpath/leaderboard/v1/leaderboard.grpc.pb.h"
#include "tools/bench/workload.h"

namespace hotpath {
namespace {

namespace lb = hotpath::leaderboard::v1;

constexpr char kBoard[] = "bench";
constexpr uint64_t kLoadBatch = 1000;

std::string MemberOf(uint64_t key) { return absl::StrCat("player:", key); }
// A spread of scores with ties, the same on both sides.
int64_t ScoreOf(uint64_t key, uint64_t round) {
  return static_cast<int64_t>((key * 2654435761u + round * 40503u) % 1'000'000);
}

enum class Kind { kSubmit, kTop, kRank };

class LeaderboardOp final : public HotpathOp {
 public:
  LeaderboardOp(Kind kind, std::shared_ptr<grpc::Channel> channel, WorkerContext* worker)
      : kind_(kind), stub_(lb::LeaderboardService::NewStub(std::move(channel))), worker_(worker) {}

  void Start(std::function<void(bool)> done) override {
    context_ = NewCallContext();
    grpc::CompletionQueue* const queue = worker_->queue;
    const uint64_t key = worker_->keys.Next();
    switch (kind_) {
      case Kind::kSubmit:
        submit_.set_board(kBoard);
        submit_.mutable_submission()->set_member(MemberOf(key));
        submit_.mutable_submission()->set_score(ScoreOf(key, ++round_));
        submit_call_.Start(stub_->PrepareAsyncSubmitScore(context_.get(), submit_, queue),
                           &submitted_, std::move(done));
        break;
      case Kind::kTop:
        top_.set_board(kBoard);
        top_.set_limit(10);
        top_call_.Start(stub_->PrepareAsyncGetTop(context_.get(), top_, queue), &page_,
                        std::move(done));
        break;
      case Kind::kRank:
        rank_.set_board(kBoard);
        rank_.set_member(MemberOf(key));
        rank_call_.Start(stub_->PrepareAsyncGetRank(context_.get(), rank_, queue), &ranked_,
                         std::move(done));
        break;
    }
  }

 private:
  const Kind kind_;
  std::unique_ptr<lb::LeaderboardService::Stub> stub_;
  WorkerContext* const worker_;
  uint64_t round_ = 0;
  UnaryCall<lb::SubmitScoreResponse> submit_call_;
  UnaryCall<lb::GetTopResponse> top_call_;
  UnaryCall<lb::GetRankResponse> rank_call_;
  std::unique_ptr<grpc::ClientContext> context_;
  lb::SubmitScoreRequest submit_;
  lb::SubmitScoreResponse submitted_;
  lb::GetTopRequest top_;
  lb::GetTopResponse page_;
  lb::GetRankRequest rank_;
  lb::GetRankResponse ranked_;
};

class LeaderboardWorkload : public Workload {
 public:
  LeaderboardWorkload(Kind kind, std::string name, std::string description)
      : kind_(kind), name_(std::move(name)), description_(std::move(description)) {}

  std::string name() const override { return name_; }
  std::string description() const override { return description_; }
  absl::Status Validate(const WorkloadOptions& options) const override {
    if (options.batch != 1) return absl::InvalidArgumentError(name_ + " does not batch");
    return absl::OkStatus();
  }
  uint64_t items(const WorkloadOptions& options) const override { return options.keys; }

  absl::Status PrepareHotpath(const std::shared_ptr<grpc::Channel>& channel,
                              const WorkloadOptions& options) override {
    auto stub = lb::LeaderboardService::NewStub(channel);
    lb::DeleteBoardRequest remove;
    remove.set_board(kBoard);
    lb::DeleteBoardResponse removed;
    (void)stub->DeleteBoard(NewCallContext().get(), remove, &removed);
    lb::CreateBoardRequest create;
    create.set_board(kBoard);
    create.mutable_options()->set_operator_(lb::OPERATOR_SET);
    lb::CreateBoardResponse created;
    grpc::Status status = stub->CreateBoard(NewCallContext().get(), create, &created);
    if (!status.ok()) return Failed("CreateBoard", status);
    for (uint64_t first = 0; first < options.keys; first += kLoadBatch) {
      lb::SubmitScoresRequest batch;
      batch.set_board(kBoard);
      for (uint64_t key = first; key < std::min(options.keys, first + kLoadBatch); ++key) {
        lb::Submission* s = batch.add_submissions();
        s->set_member(MemberOf(key));
        s->set_score(ScoreOf(key, 0));
      }
      lb::SubmitScoresResponse results;
      status = stub->SubmitScores(NewCallContext().get(), batch, &results);
      if (!status.ok()) return Failed("SubmitScores", status);
    }
    return absl::OkStatus();
  }

  absl::Status PrepareRedis(redisContext* redis, const WorkloadOptions& options) override {
    freeReplyObject(redisCommand(redis, "DEL %s", kBoard));
    uint64_t pending = 0;
    for (uint64_t key = 0; key < options.keys; ++key) {
      const std::string score = absl::StrCat(ScoreOf(key, 0));
      const std::string member = MemberOf(key);
      const char* argv[] = {"ZADD", kBoard, score.c_str(), member.c_str()};
      const size_t lengths[] = {4, sizeof(kBoard) - 1, score.size(), member.size()};
      redisAppendCommandArgv(redis, 4, argv, lengths);
      if (++pending == kLoadBatch || key + 1 == options.keys) {
        for (; pending > 0; --pending) {
          void* reply = nullptr;
          if (redisGetReply(redis, &reply) != REDIS_OK || reply == nullptr) {
            return absl::UnavailableError("loading the board into Redis failed");
          }
          freeReplyObject(reply);
        }
      }
    }
    return absl::OkStatus();
  }

  std::unique_ptr<HotpathOp> NewHotpathOp(std::shared_ptr<grpc::Channel> channel,
                                          WorkerContext* worker, const WorkloadOptions&) override {
    return std::make_unique<LeaderboardOp>(kind_, std::move(channel), worker);
  }

  void NextRedisCommands(WorkerContext* worker, const WorkloadOptions&,
                         std::vector<RedisCommand>* commands) override {
    const uint64_t key = worker->keys.Next();
    switch (kind_) {
      case Kind::kSubmit:
        commands->push_back(
            {"ZADD", kBoard, absl::StrCat(ScoreOf(key, ++redis_round_)), MemberOf(key)});
        break;
      case Kind::kTop:
        commands->push_back({"ZREVRANGE", kBoard, "0", "9", "WITHSCORES"});
        break;
      case Kind::kRank:
        commands->push_back({"ZREVRANK", kBoard, MemberOf(key)});
        break;
    }
  }

 private:
  static absl::Status Failed(const char* call, const grpc::Status& status) {
    return absl::UnavailableError(absl::StrCat(call, " failed: ", status.error_message()));
  }

  const Kind kind_;
  const std::string name_;
  const std::string description_;
  std::atomic<uint64_t> redis_round_{0};
};

class SubmitWorkload final : public LeaderboardWorkload {
 public:
  SubmitWorkload()
      : LeaderboardWorkload(Kind::kSubmit, "leaderboard-submit",
                            "SubmitScore (set; answered once durable) vs ZADD, on a board of "
                            "--keys members") {}
};
class TopWorkload final : public LeaderboardWorkload {
 public:
  TopWorkload()
      : LeaderboardWorkload(
            Kind::kTop, "leaderboard-top",
            "GetTop(10) vs ZREVRANGE 0 9 WITHSCORES, on a board of --keys members") {}
};
class RankWorkload final : public LeaderboardWorkload {
 public:
  RankWorkload()
      : LeaderboardWorkload(Kind::kRank, "leaderboard-rank",
                            "GetRank vs ZREVRANK, on a board of --keys members") {}
};

HP_REGISTER_WORKLOAD(SubmitWorkload, "leaderboard-submit");
HP_REGISTER_WORKLOAD(TopWorkload, "leaderboard-top");
HP_REGISTER_WORKLOAD(RankWorkload, "leaderboard-rank");

}  // namespace
}  // namespace hotpath
