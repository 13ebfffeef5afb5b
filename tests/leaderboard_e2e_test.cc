// hotpath.leaderboard.v1.LeaderboardService against the real hotpathd: boards, submissions and
// every read over gRPC, live updates, metrics, and boards that survive a clean restart and a
// kill -9 with every acknowledged submission.
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "hotpath/leaderboard/v1/leaderboard.grpc.pb.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/http_get.h"

namespace hotpath {
namespace {

using ::hotpath::leaderboard::v1::LeaderboardService;
using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
namespace lb = ::hotpath::leaderboard::v1;

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

std::vector<std::string> Rows(const google::protobuf::RepeatedPtrField<lb::Entry>& entries) {
  std::vector<std::string> rows;
  for (const lb::Entry& e : entries) {
    rows.push_back(absl::StrCat(e.member(), ":", e.score(), "#", e.rank()));
  }
  return rows;
}

class LeaderboardE2eTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--server.grpc_address=127.0.0.1:0",
                                     "--server.metrics_address=127.0.0.1:0",
                                     "--persistence.data_dir=" + data_dir_};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(process_.Start(args)) << process_.last_output();
    boards_ = LeaderboardService::NewStub(
        grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials()));
  }

  void Stop(int signal_number) {
    process_.Signal(signal_number);
    ASSERT_TRUE(process_.WaitForExit(absl::Seconds(30)).has_value());
  }

  lb::SubmitResult Submit(const std::string& member, int64_t score) {
    lb::SubmitScoreRequest request;
    request.set_board("arena");
    request.mutable_submission()->set_member(member);
    request.mutable_submission()->set_score(score);
    lb::SubmitScoreResponse response;
    const grpc::Status status = boards_->SubmitScore(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.result();
  }

  std::vector<std::string> Top(uint32_t limit) {
    lb::GetTopRequest request;
    request.set_board("arena");
    request.set_limit(limit);
    lb::GetTopResponse response;
    EXPECT_TRUE(boards_->GetTop(Context().get(), request, &response).ok());
    return Rows(response.entries());
  }

  void CreateArena() {
    lb::CreateBoardRequest request;
    request.set_board("arena");
    request.mutable_options()->set_rank_style(lb::RANK_STYLE_COMPETITION);
    request.mutable_options()->set_reset_schedule("weekly");
    request.mutable_options()->set_keep_seasons(3);
    lb::CreateBoardResponse response;
    const grpc::Status status = boards_->CreateBoard(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.board().options().operator_(), lb::OPERATOR_BEST);
    EXPECT_TRUE(response.board().has_next_reset());
  }

  std::string data_dir_ = MakeTempDir("leaderboard-e2e");
  HotpathdProcess process_;
  std::unique_ptr<LeaderboardService::Stub> boards_;
};

TEST_F(LeaderboardE2eTest, EveryReadOverGrpcAndTheBoardSurvivesARestart) {
  Start();
  CreateArena();
  Submit("ann", 300);
  Submit("bob", 500);
  Submit("cat", 300);
  lb::SubmitScoresRequest batch;
  batch.set_board("arena");
  for (int i = 0; i < 50; ++i) {
    lb::Submission* s = batch.add_submissions();
    s->set_member(absl::StrCat("p", i));
    s->set_score(i);
  }
  lb::SubmitScoresResponse batched;
  ASSERT_TRUE(boards_->SubmitScores(Context().get(), batch, &batched).ok());
  ASSERT_EQ(batched.results_size(), 50);
  EXPECT_EQ(batched.results(49).rank(), 4);  // 49 ranks after bob, ann and cat

  EXPECT_FALSE(Submit("ann", 100).changed());  // best keeps 300
  EXPECT_THAT(Top(4), ::testing::ElementsAre("bob:500#1", "ann:300#2", "cat:300#2", "p49:49#4"));

  // Pages by cursor cover the board once.
  lb::GetTopRequest page_request;
  page_request.set_board("arena");
  page_request.set_limit(7);
  std::vector<std::string> all;
  for (int pages = 0; pages < 100; ++pages) {
    lb::GetTopResponse page;
    ASSERT_TRUE(boards_->GetTop(Context().get(), page_request, &page).ok());
    for (const std::string& row : Rows(page.entries())) all.push_back(row);
    if (page.next_cursor().empty()) break;
    page_request.set_cursor(page.next_cursor());
  }
  EXPECT_EQ(all.size(), 53);

  lb::GetAroundRequest around;
  around.set_board("arena");
  around.set_member("p10");
  around.set_above(1);
  around.set_below(1);
  lb::GetAroundResponse near;
  ASSERT_TRUE(boards_->GetAround(Context().get(), around, &near).ok());
  EXPECT_THAT(Rows(near.entries()), ::testing::ElementsAre("p11:11#42", "p10:10#43", "p9:9#44"));

  lb::CountByScoreRequest count;
  count.set_board("arena");
  count.set_min_score(10);
  count.set_max_score(300);
  lb::CountByScoreResponse counted;
  ASSERT_TRUE(boards_->CountByScore(Context().get(), count, &counted).ok());
  EXPECT_EQ(counted.count(), 42);

  const auto metrics = HttpGet(process_.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(PrometheusValue(*metrics,
                            "hotpath_leaderboard_members{namespace=\"default\",board=\"arena\"}"),
            53);
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_leaderboard_boards"), 1);
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_leaderboard_submissions_total{result=\"changed\"}"),
            53);

  const std::vector<std::string> before = Top(100);
  Stop(SIGTERM);
  Start();
  EXPECT_EQ(Top(100), before);
  lb::GetBoardRequest get;
  get.set_board("arena");
  lb::GetBoardResponse board;
  ASSERT_TRUE(boards_->GetBoard(Context().get(), get, &board).ok());
  EXPECT_EQ(board.board().options().rank_style(), lb::RANK_STYLE_COMPETITION);
  EXPECT_EQ(board.board().options().keep_seasons(), 3);
  EXPECT_EQ(board.board().live().number(), 1);
  EXPECT_EQ(board.board().live().members(), 53);
}

TEST_F(LeaderboardE2eTest, AcknowledgedSubmissionsSurviveKillNine) {
  Start({"--persistence.fsync=always"});
  CreateArena();
  for (int i = 0; i < 200; ++i) Submit(absl::StrCat("m", i), i * 7 % 101);
  const std::vector<std::string> before = Top(1000);
  Stop(SIGKILL);
  Start();
  EXPECT_EQ(Top(1000), before);
}

TEST_F(LeaderboardE2eTest, WatchPushesTheTopAsItChanges) {
  Start();
  CreateArena();
  lb::WatchRequest watch;
  watch.set_board("arena");
  watch.set_top(2);
  auto context = Context();
  auto reader = boards_->Watch(context.get(), watch);
  lb::WatchResponse update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.entries_size(), 0);
  Submit("ann", 10);
  Submit("bob", 20);
  std::vector<std::string> rows;
  while (rows != std::vector<std::string>{"bob:20#1", "ann:10#2"} && reader->Read(&update)) {
    rows = Rows(update.entries());
  }
  EXPECT_THAT(rows, ::testing::ElementsAre("bob:20#1", "ann:10#2"));
  // A clean stop ends the stream instead of waiting out the drain.
  Stop(SIGTERM);
  while (reader->Read(&update)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace hotpath
