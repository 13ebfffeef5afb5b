// The leaderboard service in-process over real gRPC: the gate, status codes, and Watch streams.
#include "services/leaderboard/leaderboard_service.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace hotpath::leaderboard {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

// (member, score, rank) rows of an update, for comparisons.
std::vector<std::string> Rows(const v1::WatchResponse& update) {
  std::vector<std::string> rows;
  for (const v1::Entry& e : update.entries()) {
    rows.push_back(absl::StrCat(e.member(), ":", e.score(), "#", e.rank()));
  }
  return rows;
}

class LeaderboardServiceTest : public ::testing::Test {
 protected:
  LeaderboardServiceTest()
      : keyspace_(Keyspace::Create({.shards = 4}, SystemClock::Get()).value()),
        boards_(keyspace_.get(), BoardLimits{}),
        hub_(&boards_),
        service_(&boards_, &hub_, nullptr, nullptr, &gate_) {
    boards_.set_on_change(
        [this](const std::string& ns, const std::string& board) { hub_.Changed(ns, board); });
    EXPECT_TRUE(boards_.Start().ok());
    hub_.Start();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::LeaderboardService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~LeaderboardServiceTest() override {
    hub_.Stop();
    server_->Shutdown();
  }

  grpc::Status CreateBoard(const std::string& board) {
    v1::CreateBoardRequest request;
    request.set_board(board);
    v1::CreateBoardResponse response;
    return stub_->CreateBoard(Context().get(), request, &response);
  }

  grpc::Status Submit(const std::string& board, const std::string& member, int64_t score) {
    v1::SubmitScoreRequest request;
    request.set_board(board);
    request.mutable_submission()->set_member(member);
    request.mutable_submission()->set_score(score);
    v1::SubmitScoreResponse response;
    return stub_->SubmitScore(Context().get(), request, &response);
  }

  // Reads updates until one has `rows` (true) or the stream ends (false); every update read
  // goes to `seen`.
  static bool ReadUntil(grpc::ClientReader<v1::WatchResponse>& reader,
                        const std::vector<std::string>& rows,
                        std::vector<v1::WatchResponse>* seen) {
    v1::WatchResponse update;
    while (reader.Read(&update)) {
      seen->push_back(update);
      if (Rows(update) == rows) return true;
    }
    return false;
  }

  ServingGate gate_;
  std::unique_ptr<Keyspace> keyspace_;
  BoardStore boards_;
  WatchHub hub_;
  LeaderboardService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::LeaderboardService::Stub> stub_;
};

TEST_F(LeaderboardServiceTest, NothingIsServedBeforeTheGateOpens) {
  EXPECT_EQ(CreateBoard("b").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Submit("b", "a", 1).error_code(), grpc::StatusCode::UNAVAILABLE);
  v1::GetTopRequest top;
  top.set_board("b");
  v1::GetTopResponse page;
  EXPECT_EQ(stub_->GetTop(Context().get(), top, &page).error_code(), grpc::StatusCode::UNAVAILABLE);
  v1::WatchRequest watch;
  watch.set_board("b");
  watch.set_top(3);
  auto context = Context();
  auto reader = stub_->Watch(context.get(), watch);
  v1::WatchResponse update;
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(LeaderboardServiceTest, ErrorsComeWithTheirCodes) {
  gate_.Open();
  EXPECT_EQ(Submit("nope", "a", 1).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(CreateBoard("b").ok());
  EXPECT_EQ(CreateBoard("b").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  const grpc::Status empty_member = Submit("b", "", 1);
  EXPECT_EQ(empty_member.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(empty_member.error_message(), HasSubstr("submission.member"));
  v1::GetRankRequest rank;
  rank.set_board("b");
  rank.set_member("ghost");
  v1::GetRankResponse ranked;
  EXPECT_EQ(stub_->GetRank(Context().get(), rank, &ranked).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::WatchRequest watch;
  watch.set_board("b");  // neither top nor member
  auto context = Context();
  auto reader = stub_->Watch(context.get(), watch);
  v1::WatchResponse update;
  EXPECT_FALSE(reader->Read(&update));
  const grpc::Status refused = reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("top or member"));

  // A member no submission could have made is refused, as the reads refuse it.
  watch.set_member(std::string(1025, 'm'));
  auto long_context = Context();
  auto long_reader = stub_->Watch(long_context.get(), watch);
  EXPECT_FALSE(long_reader->Read(&update));
  const grpc::Status too_long = long_reader->Finish();
  EXPECT_EQ(too_long.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(too_long.error_message(), HasSubstr("member must be 1 to 1024 bytes"));
}

TEST_F(LeaderboardServiceTest, WatchingTheTopSeesEachNewStateOnce) {
  gate_.Open();
  ASSERT_TRUE(CreateBoard("b").ok());
  ASSERT_TRUE(Submit("b", "a", 10).ok());
  v1::WatchRequest watch;
  watch.set_board("b");
  watch.set_top(2);
  auto context = Context();
  auto reader = stub_->Watch(context.get(), watch);
  std::vector<v1::WatchResponse> seen;
  ASSERT_TRUE(ReadUntil(*reader, {"a:10#1"}, &seen));  // the current state comes first
  ASSERT_TRUE(Submit("b", "b", 20).ok());
  ASSERT_TRUE(ReadUntil(*reader, {"b:20#1", "a:10#2"}, &seen));
  ASSERT_TRUE(Submit("b", "c", 5).ok());  // below the top 2: nothing to send
  ASSERT_TRUE(Submit("b", "c", 30).ok());
  ASSERT_TRUE(ReadUntil(*reader, {"c:30#1", "b:20#2"}, &seen));
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_NE(Rows(seen[i]), Rows(seen[i - 1])) << "an update repeated the one before it";
  }
  EXPECT_EQ(seen.back().total(), 3);
  context->TryCancel();
  reader->Finish();
}

TEST_F(LeaderboardServiceTest, WatchingAMemberFollowsItsRankAndEndsWithTheBoard) {
  gate_.Open();
  ASSERT_TRUE(CreateBoard("b").ok());
  v1::WatchRequest watch;
  watch.set_board("b");
  watch.set_member("me");
  auto context = Context();
  auto reader = stub_->Watch(context.get(), watch);
  std::vector<v1::WatchResponse> seen;
  ASSERT_TRUE(ReadUntil(*reader, {}, &seen));  // not on the board yet
  ASSERT_TRUE(Submit("b", "me", 10).ok());
  ASSERT_TRUE(ReadUntil(*reader, {"me:10#1"}, &seen));
  ASSERT_TRUE(Submit("b", "rival", 50).ok());
  ASSERT_TRUE(ReadUntil(*reader, {"me:10#2"}, &seen));
  v1::DeleteBoardRequest remove;
  remove.set_board("b");
  v1::DeleteBoardResponse removed;
  ASSERT_TRUE(stub_->DeleteBoard(Context().get(), remove, &removed).ok());
  EXPECT_FALSE(ReadUntil(*reader, {"never"}, &seen));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(LeaderboardServiceTest, ChangesToASlowReaderFoldIntoTheLatestState) {
  gate_.Open();
  ASSERT_TRUE(CreateBoard("b").ok());
  // A top 1000 of long names: each update is about a megabyte, far past what the
  // connection's flow-control window lets through before the reader reads.
  v1::SubmitScoresRequest batch;
  batch.set_board("b");
  for (int round = 0; round < 10; ++round) {
    batch.clear_submissions();
    for (int i = 0; i < 100; ++i) {
      v1::Submission* s = batch.add_submissions();
      s->set_member(absl::StrCat(round * 100 + i, std::string(1000, 'x')));
      s->set_score(round * 100 + i);
    }
    v1::SubmitScoresResponse results;
    ASSERT_TRUE(stub_->SubmitScores(Context().get(), batch, &results).ok());
  }
  v1::WatchRequest watch;
  watch.set_board("b");
  watch.set_top(1000);
  auto context = Context();
  auto reader = stub_->Watch(context.get(), watch);
  // 200 changes while the reader reads nothing.
  constexpr int kChanges = 200;
  for (int i = 1; i <= kChanges; ++i) ASSERT_TRUE(Submit("b", "leader", 1000 + i).ok());
  v1::WatchResponse update;
  int messages = 0;
  bool latest = false;
  while (!latest && reader->Read(&update)) {
    ++messages;
    latest = update.entries_size() > 0 && update.entries(0).member() == "leader" &&
             update.entries(0).score() == 1000 + kChanges;
  }
  ASSERT_TRUE(latest);
  // What the connection's window took before it filled, then the folded latest state: never
  // one message per change.
  EXPECT_LE(messages, kChanges / 10) << "messages for " << kChanges << " changes";
  context->TryCancel();
  reader->Finish();
}

TEST_F(LeaderboardServiceTest, StoppingTheHubEndsStreamsAsUnavailable) {
  gate_.Open();
  ASSERT_TRUE(CreateBoard("b").ok());
  v1::WatchRequest watch;
  watch.set_board("b");
  watch.set_top(5);
  auto context = Context();
  auto reader = stub_->Watch(context.get(), watch);
  std::vector<v1::WatchResponse> seen;
  ASSERT_TRUE(ReadUntil(*reader, {}, &seen));
  hub_.Stop();
  EXPECT_FALSE(ReadUntil(*reader, {"never"}, &seen));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace hotpath::leaderboard
