// hotpath leaderboard ...: LeaderboardService from the command line.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "hotpath/leaderboard/v1/leaderboard.grpc.pb.h"
#include "tools/cli/cli.h"
#include "tools/cli/format.h"

namespace hotpath::cli {
namespace {

namespace v1 = hotpath::leaderboard::v1;
using Entries = google::protobuf::RepeatedPtrField<v1::Entry>;

OptionSpec SeasonOption() {
  return {"season", true, false, "N: an ended season's number (default: the live one)"};
}

void PrintEntries(Cli& cli, const Entries& entries) {
  Table table({"rank", "member", "score", "metadata"});
  for (const v1::Entry& e : entries) {
    table.AddRow({absl::StrCat(e.rank()), Printable(e.member()), absl::StrCat(e.score()),
                  Printable(e.metadata())});
  }
  table.Print(cli.out());
}

// The namespace, the board (the first argument) and --season of a read.
template <typename Request>
absl::Status SetBoardAndSeason(const Cli& cli, const Args& args, Request* request) {
  request->set_namespace_(cli.ns());
  request->set_board(args.positional()[0]);
  auto season = args.GetUint("season");
  if (!season.ok()) return season.status();
  request->set_season(season->value_or(0));
  return absl::OkStatus();
}

absl::StatusOr<ExitCode> Create(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 1, "BOARD"); !s.ok()) return s;
  v1::CreateBoardRequest request;
  request.set_namespace_(cli.ns());
  request.set_board(args.positional()[0]);
  v1::BoardOptions* options = request.mutable_options();
  for (const auto& [option, field] : {std::pair<const char*, const char*>{"order", "sort_order"},
                                      {"operator", "operator"},
                                      {"tie", "tie_policy"},
                                      {"rank-style", "rank_style"}}) {
    if (absl::Status s = SetEnumFromOption(args, option, field, options); !s.ok()) return s;
  }
  options->set_reset_schedule(args.GetOr("reset", ""));
  auto keep = args.GetUint32("keep-seasons");
  if (!keep.ok()) return keep.status();
  options->set_keep_seasons(keep->value_or(0));
  auto max_members = args.GetUint("max-members");
  if (!max_members.ok()) return max_members.status();
  options->set_max_members(max_members->value_or(0));
  return CallAndPrint(cli, &v1::LeaderboardService::Stub::CreateBoard, request, "CreateBoard");
}

absl::StatusOr<ExitCode> Show(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 1, "BOARD"); !s.ok()) return s;
  v1::GetBoardRequest request;
  request.set_namespace_(cli.ns());
  request.set_board(args.positional()[0]);
  return CallAndPrint(cli, &v1::LeaderboardService::Stub::GetBoard, request, "GetBoard");
}

absl::StatusOr<ExitCode> List(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 0, ""); !s.ok()) return s;
  v1::ListBoardsRequest request;
  request.set_namespace_(cli.ns());
  auto response = Call(cli, &v1::LeaderboardService::Stub::ListBoards, request, "ListBoards");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
    return ExitCode::kOk;
  }
  Table table({"board", "members", "season", "next_reset"});
  for (const v1::Board& board : response->boards()) {
    table.AddRow({board.name(), absl::StrCat(board.live().members()),
                  absl::StrCat(board.live().number()),
                  board.has_next_reset() ? FormatTime(board.next_reset()) : "-"});
  }
  table.Print(cli.out());
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Submit(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 3, "BOARD MEMBER SCORE"); !s.ok()) return s;
  v1::SubmitScoreRequest request;
  request.set_namespace_(cli.ns());
  request.set_board(args.positional()[0]);
  v1::Submission* submission = request.mutable_submission();
  submission->set_member(args.positional()[1]);
  int64_t score = 0;
  if (!absl::SimpleAtoi(args.positional()[2], &score)) {
    return UsageError(absl::StrCat("SCORE must be an integer, not \"", args.positional()[2], "\""));
  }
  submission->set_score(score);
  submission->set_metadata(args.GetOr("metadata", ""));
  return CallAndPrint(cli, &v1::LeaderboardService::Stub::SubmitScore, request, "SubmitScore");
}

absl::StatusOr<ExitCode> Top(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 1, "BOARD"); !s.ok()) return s;
  v1::GetTopRequest request;
  if (absl::Status s = SetBoardAndSeason(cli, args, &request); !s.ok()) return s;
  auto limit = args.GetUint32("limit");
  if (!limit.ok()) return limit.status();
  request.set_limit(limit->value_or(10));
  request.set_cursor(args.GetOr("cursor", ""));
  auto response = Call(cli, &v1::LeaderboardService::Stub::GetTop, request, "GetTop");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
    return ExitCode::kOk;
  }
  PrintEntries(cli, response->entries());
  cli.out() << "total " << response->total();
  if (!response->next_cursor().empty()) {
    cli.out() << "; next page: --cursor=" << response->next_cursor();
  }
  cli.out() << "\n";
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Rank(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 2, "BOARD MEMBER"); !s.ok()) return s;
  v1::GetRankRequest request;
  if (absl::Status s = SetBoardAndSeason(cli, args, &request); !s.ok()) return s;
  request.set_member(args.positional()[1]);
  auto response = Call(cli, &v1::LeaderboardService::Stub::GetRank, request, "GetRank");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
    return ExitCode::kOk;
  }
  Entries entries;
  *entries.Add() = response->entry();
  PrintEntries(cli, entries);
  cli.out() << "total " << response->total() << "\n";
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Around(Cli& cli, const Args& args) {
  if (auto s = ExpectPositional(args, 2, "BOARD MEMBER"); !s.ok()) return s;
  v1::GetAroundRequest request;
  if (absl::Status s = SetBoardAndSeason(cli, args, &request); !s.ok()) return s;
  request.set_member(args.positional()[1]);
  auto above = args.GetUint32("above");
  if (!above.ok()) return above.status();
  auto below = args.GetUint32("below");
  if (!below.ok()) return below.status();
  request.set_above(above->value_or(5));
  request.set_below(below->value_or(5));
  auto response = Call(cli, &v1::LeaderboardService::Stub::GetAround, request, "GetAround");
  if (!response.ok()) return response.status();
  if (cli.json()) {
    cli.PrintMessage(*response);
    return ExitCode::kOk;
  }
  PrintEntries(cli, response->entries());
  cli.out() << "total " << response->total() << "\n";
  return ExitCode::kOk;
}

}  // namespace

std::vector<Command> LeaderboardCommands() {
  return {
      {"leaderboard",
       "create",
       "BOARD",
       "create a board",
       {{"order", true, false, "descending (default) or ascending"},
        {"operator", true, false, "best (default), set, increment or decrement"},
        {"tie", true, false, "earlier-first (default) or member-id"},
        {"rank-style", true, false, "ordinal (default), competition or dense"},
        {"reset", true, false, "SCHEDULE: daily, weekly, monthly or a cron expression (UTC)"},
        {"keep-seasons", true, false, "N ended seasons to keep"},
        {"max-members", true, false, "N members at most (default: no cap)"}},
       Create},
      {"leaderboard", "get", "BOARD", "a board's options, seasons and member count", {}, Show},
      {"leaderboard", "list", "", "the namespace's boards", {}, List},
      {"leaderboard",
       "submit",
       "BOARD MEMBER SCORE",
       "submit a score",
       {{"metadata", true, false, "TEXT kept with the member's entry"}},
       Submit},
      {"leaderboard",
       "top",
       "BOARD",
       "the top of a board, a page at a time",
       {{"limit", true, false, "N entries (default 10)"},
        {"cursor", true, false, "CURSOR of the next page, from the previous one"},
        SeasonOption()},
       Top},
      {"leaderboard", "rank", "BOARD MEMBER", "a member's rank and score", {SeasonOption()}, Rank},
      {"leaderboard",
       "around",
       "BOARD MEMBER",
       "the entries around a member",
       {{"above", true, false, "N entries above (default 5)"},
        {"below", true, false, "N entries below (default 5)"},
        SeasonOption()},
       Around},
  };
}

}  // namespace hotpath::cli
