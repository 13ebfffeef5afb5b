#include "services/leaderboard/leaderboard_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "services/common/namespace.h"

namespace hotpath::leaderboard {
namespace {

template <typename Response>
void MoveEntries(Page& page, Response* response) {
  for (v1::Entry& entry : page.entries) *response->add_entries() = std::move(entry);
}

}  // namespace

absl::Status LeaderboardService::Admit(const grpc::ServerContextBase& context, auth::Scope scope,
                                       const std::string& ns, bool writes, bool grows) const {
  HP_RETURN_IF_ERROR(gate_->Admit(context, scope, NamespaceOf(ns), grows));
  if (writes && store_ != nullptr) return store_->CheckWritable();
  return absl::OkStatus();
}

void LeaderboardService::CountSubmissions(const std::vector<v1::SubmitResult>& results) {
  if (metrics_ == nullptr) return;
  for (const v1::SubmitResult& result : results) metrics_->Submitted(result.changed());
}

grpc::ServerUnaryReactor* LeaderboardService::CreateBoard(grpc::CallbackServerContext* context,
                                                          const v1::CreateBoardRequest* request,
                                                          v1::CreateBoardResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kLeaderboardAdmin, request->namespace_(),
                                    /*writes=*/true, /*grows=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<v1::Board> board = boards_->CreateBoard(NamespaceOf(request->namespace_()),
                                                         request->board(), request->options());
  if (board.ok()) *response->mutable_board() = *std::move(board);
  return call.FinishDurable(store_, board.status(), board.ok());
}

grpc::ServerUnaryReactor* LeaderboardService::GetBoard(grpc::CallbackServerContext* context,
                                                       const v1::GetBoardRequest* request,
                                                       v1::GetBoardResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardRead, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<v1::Board> board =
      boards_->GetBoard(NamespaceOf(request->namespace_()), request->board());
  if (board.ok()) *response->mutable_board() = *std::move(board);
  return call.Finish(board.status());
}

grpc::ServerUnaryReactor* LeaderboardService::ListBoards(grpc::CallbackServerContext* context,
                                                         const v1::ListBoardsRequest* request,
                                                         v1::ListBoardsResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardRead, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<std::vector<v1::Board>> boards =
      boards_->ListBoards(NamespaceOf(request->namespace_()));
  if (boards.ok()) {
    for (v1::Board& board : *boards) *response->add_boards() = std::move(board);
  }
  return call.Finish(boards.status());
}

grpc::ServerUnaryReactor* LeaderboardService::DeleteBoard(grpc::CallbackServerContext* context,
                                                          const v1::DeleteBoardRequest* request,
                                                          v1::DeleteBoardResponse* /*response*/) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardAdmin, request->namespace_(), /*writes=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  const absl::Status deleted =
      boards_->DeleteBoard(NamespaceOf(request->namespace_()), request->board());
  return call.FinishDurable(store_, deleted, deleted.ok());
}

grpc::ServerUnaryReactor* LeaderboardService::SubmitScore(grpc::CallbackServerContext* context,
                                                          const v1::SubmitScoreRequest* request,
                                                          v1::SubmitScoreResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kLeaderboardWrite, request->namespace_(),
                                    /*writes=*/true, /*grows=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  google::protobuf::RepeatedPtrField<v1::Submission> one;
  *one.Add() = request->submission();
  absl::StatusOr<std::vector<v1::SubmitResult>> results =
      boards_->Submit(NamespaceOf(request->namespace_()), request->board(), one, "submission");
  if (!results.ok()) return call.Finish(results.status());
  CountSubmissions(*results);
  const bool changed = results->front().changed();
  *response->mutable_result() = std::move(results->front());
  return call.FinishDurable(store_, absl::OkStatus(), changed);
}

grpc::ServerUnaryReactor* LeaderboardService::SubmitScores(grpc::CallbackServerContext* context,
                                                           const v1::SubmitScoresRequest* request,
                                                           v1::SubmitScoresResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = Admit(*context, auth::Scope::kLeaderboardWrite, request->namespace_(),
                                    /*writes=*/true, /*grows=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<std::vector<v1::SubmitResult>> results = boards_->Submit(
      NamespaceOf(request->namespace_()), request->board(), request->submissions(), "submissions");
  if (!results.ok()) return call.Finish(results.status());
  CountSubmissions(*results);
  for (v1::SubmitResult& result : *results) *response->add_results() = std::move(result);
  return call.FinishDurable(store_, absl::OkStatus());
}

grpc::ServerUnaryReactor* LeaderboardService::RemoveMember(grpc::CallbackServerContext* context,
                                                           const v1::RemoveMemberRequest* request,
                                                           v1::RemoveMemberResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardWrite, request->namespace_(), /*writes=*/true);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<bool> removed = boards_->RemoveMember(NamespaceOf(request->namespace_()),
                                                       request->board(), request->member());
  if (!removed.ok()) return call.Finish(removed.status());
  response->set_removed(*removed);
  return call.FinishDurable(store_, absl::OkStatus(), *removed);
}

grpc::ServerUnaryReactor* LeaderboardService::GetTop(grpc::CallbackServerContext* context,
                                                     const v1::GetTopRequest* request,
                                                     v1::GetTopResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardRead, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<Page> page = boards_->Top(NamespaceOf(request->namespace_()), request->board(),
                                           request->season(), request->limit(), request->cursor());
  if (page.ok()) {
    MoveEntries(*page, response);
    response->set_next_cursor(std::move(page->next_cursor));
    response->set_total(page->total);
  }
  return call.Finish(page.status());
}

grpc::ServerUnaryReactor* LeaderboardService::GetRank(grpc::CallbackServerContext* context,
                                                      const v1::GetRankRequest* request,
                                                      v1::GetRankResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardRead, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<Page> page = boards_->Rank(NamespaceOf(request->namespace_()), request->board(),
                                            request->season(), request->member());
  if (page.ok() && !page->entries.empty()) {
    *response->mutable_entry() = std::move(page->entries.front());
    response->set_total(page->total);
  }
  return call.Finish(page.status());
}

grpc::ServerUnaryReactor* LeaderboardService::GetAround(grpc::CallbackServerContext* context,
                                                        const v1::GetAroundRequest* request,
                                                        v1::GetAroundResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardRead, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<Page> page =
      boards_->Around(NamespaceOf(request->namespace_()), request->board(), request->season(),
                      request->member(), request->above(), request->below());
  if (page.ok()) {
    MoveEntries(*page, response);
    response->set_total(page->total);
  }
  return call.Finish(page.status());
}

grpc::ServerUnaryReactor* LeaderboardService::GetRange(grpc::CallbackServerContext* context,
                                                       const v1::GetRangeRequest* request,
                                                       v1::GetRangeResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardRead, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<Page> page = boards_->Range(NamespaceOf(request->namespace_()), request->board(),
                                             request->season(), request->start(), request->count());
  if (page.ok()) {
    MoveEntries(*page, response);
    response->set_total(page->total);
  }
  return call.Finish(page.status());
}

grpc::ServerUnaryReactor* LeaderboardService::GetByScore(grpc::CallbackServerContext* context,
                                                         const v1::GetByScoreRequest* request,
                                                         v1::GetByScoreResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardRead, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<Page> page = boards_->ByScore(
      NamespaceOf(request->namespace_()), request->board(), request->season(), request->min_score(),
      request->max_score(), request->limit(), request->cursor());
  if (page.ok()) {
    MoveEntries(*page, response);
    response->set_next_cursor(std::move(page->next_cursor));
  }
  return call.Finish(page.status());
}

grpc::ServerUnaryReactor* LeaderboardService::CountByScore(grpc::CallbackServerContext* context,
                                                           const v1::CountByScoreRequest* request,
                                                           v1::CountByScoreResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          Admit(*context, auth::Scope::kLeaderboardRead, request->namespace_(), /*writes=*/false);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<uint64_t> count =
      boards_->CountByScore(NamespaceOf(request->namespace_()), request->board(), request->season(),
                            request->min_score(), request->max_score());
  if (count.ok()) response->set_count(*count);
  return call.Finish(count.status());
}

grpc::ServerWriteReactor<v1::WatchResponse>* LeaderboardService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  absl::Status admitted =
      Admit(*context, auth::Scope::kLeaderboardRead, request->namespace_(), /*writes=*/false);
  if (admitted.ok() && request->target_case() == v1::WatchRequest::TARGET_NOT_SET) {
    admitted = absl::InvalidArgumentError("one of top or member must be set");
  }
  const uint32_t max_page = boards_->limits().max_page;
  if (admitted.ok() && request->target_case() == v1::WatchRequest::kTop &&
      (request->top() == 0 || request->top() > max_page)) {
    admitted = absl::InvalidArgumentError(
        absl::StrCat("top must be 1 to ", max_page, " (leaderboard.max_page)"));
  }
  if (admitted.ok() && request->target_case() == v1::WatchRequest::kMember) {
    admitted = boards_->CheckMember(request->member(), "member");
  }
  if (!admitted.ok()) return PushStreams<v1::WatchResponse>::Refuse(admitted);
  return hub_->Open(NamespaceOf(request->namespace_()), *request);
}

}  // namespace hotpath::leaderboard
