// hotpath.leaderboard.v1.LeaderboardService over gRPC: checks the gate, runs calls on the
// BoardStore, and converts the answers. Writes (CreateBoard, DeleteBoard, SubmitScore(s),
// RemoveMember) answer once their records are durable under the fsync policy (UNAVAILABLE,
// before anything changes, while the data directory cannot be written); reads answer at once.
// Watch streams are the WatchHub's.
//
// Thread safety: handlers run concurrently on gRPC's callback threads.
#pragma once

#include <string>

#include "hotpath/leaderboard/v1/leaderboard.grpc.pb.h"
#include "persistence/store.h"
#include "services/common/serving_gate.h"
#include "services/common/unary_call.h"
#include "services/leaderboard/board_store.h"
#include "services/leaderboard/leaderboard_metrics.h"
#include "services/leaderboard/watch_hub.h"

namespace hotpath::leaderboard {

class LeaderboardService final : public v1::LeaderboardService::CallbackService {
 public:
  // `boards`, `hub` and `gate` must outlive the service; `store`, `metrics` and `calls` too,
  // unless null (persistence off, no metrics, calls not metered). Calls answer UNAVAILABLE
  // until the gate opens.
  LeaderboardService(BoardStore* boards, WatchHub* hub, Store* store, LeaderboardMetrics* metrics,
                     const ServingGate* gate, RpcMetrics* calls = nullptr)
      : boards_(boards), hub_(hub), store_(store), metrics_(metrics), gate_(gate), calls_(calls) {}

  grpc::ServerUnaryReactor* CreateBoard(grpc::CallbackServerContext* context,
                                        const v1::CreateBoardRequest* request,
                                        v1::CreateBoardResponse* response) override;
  grpc::ServerUnaryReactor* GetBoard(grpc::CallbackServerContext* context,
                                     const v1::GetBoardRequest* request,
                                     v1::GetBoardResponse* response) override;
  grpc::ServerUnaryReactor* ListBoards(grpc::CallbackServerContext* context,
                                       const v1::ListBoardsRequest* request,
                                       v1::ListBoardsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteBoard(grpc::CallbackServerContext* context,
                                        const v1::DeleteBoardRequest* request,
                                        v1::DeleteBoardResponse* response) override;
  grpc::ServerUnaryReactor* SubmitScore(grpc::CallbackServerContext* context,
                                        const v1::SubmitScoreRequest* request,
                                        v1::SubmitScoreResponse* response) override;
  grpc::ServerUnaryReactor* SubmitScores(grpc::CallbackServerContext* context,
                                         const v1::SubmitScoresRequest* request,
                                         v1::SubmitScoresResponse* response) override;
  grpc::ServerUnaryReactor* RemoveMember(grpc::CallbackServerContext* context,
                                         const v1::RemoveMemberRequest* request,
                                         v1::RemoveMemberResponse* response) override;
  grpc::ServerUnaryReactor* GetTop(grpc::CallbackServerContext* context,
                                   const v1::GetTopRequest* request,
                                   v1::GetTopResponse* response) override;
  grpc::ServerUnaryReactor* GetRank(grpc::CallbackServerContext* context,
                                    const v1::GetRankRequest* request,
                                    v1::GetRankResponse* response) override;
  grpc::ServerUnaryReactor* GetAround(grpc::CallbackServerContext* context,
                                      const v1::GetAroundRequest* request,
                                      v1::GetAroundResponse* response) override;
  grpc::ServerUnaryReactor* GetRange(grpc::CallbackServerContext* context,
                                     const v1::GetRangeRequest* request,
                                     v1::GetRangeResponse* response) override;
  grpc::ServerUnaryReactor* GetByScore(grpc::CallbackServerContext* context,
                                       const v1::GetByScoreRequest* request,
                                       v1::GetByScoreResponse* response) override;
  grpc::ServerUnaryReactor* CountByScore(grpc::CallbackServerContext* context,
                                         const v1::CountByScoreRequest* request,
                                         v1::CountByScoreResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(grpc::CallbackServerContext* context,
                                                     const v1::WatchRequest* request) override;

 private:
  // Starts metering a unary call of this service: `method` is the handler's __func__, which
  // is the RPC's name.
  UnaryCall Call(grpc::CallbackServerContext* context, const char* method) const {
    return UnaryCall(context, calls_, v1::LeaderboardService::service_full_name(), method);
  }
  // Whether a call may go on: the gate's admission (deadline, credentials for `scope` in
  // namespace `ns`, empty meaning the default; loading; and the memory cap when it `grows`),
  // then for calls that `writes`, whether the data directory takes writes.
  absl::Status Admit(const grpc::ServerContextBase& context, auth::Scope scope,
                     const std::string& ns, bool writes, bool grows = false) const;
  void CountSubmissions(const std::vector<v1::SubmitResult>& results);

  BoardStore* const boards_;
  WatchHub* const hub_;
  Store* const store_;
  LeaderboardMetrics* const metrics_;
  const ServingGate* const gate_;
  RpcMetrics* const calls_;  // null: calls not metered
};

}  // namespace hotpath::leaderboard
