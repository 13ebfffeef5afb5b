// BoardStore: leaderboards on the engine. Boards with options, seasons that end on a schedule
// and stay queryable, exact ranks in every rank style, and pages by cursor.
//
// Layout: board_layout.h. Every operation on a board is one Keyspace::InShard step over the
// board's keys, so no call sees a submission half done. A step that finds the board's reset
// due ends the season first (resets are exact to the schedule however late they are noticed);
// RunDueResets ends seasons when no call comes (the ResetScheduler runs it), and Start ends
// those that fell due while the server was down. A reset writes the board's record before
// deleting a dropped season's keys; a crash between them leaves keys no board refers to,
// which Start deletes. Seasons that would have started and ended while nobody looked (the
// server was down across several resets) hold no submissions and are not recorded: the live
// season then starts at the latest scheduled time.
//
// Ties under TIE_POLICY_EARLIER_FIRST order by when a member reached its current score: a
// tie-break from the clock in nanoseconds, kept increasing within the process so two
// submissions in one clock tick still order.
//
// Errors: InvalidArgument naming the field; NotFound for an unknown board, member or season
// (naming which); AlreadyExists for a board name taken; OutOfRange when a score would
// overflow int64; ResourceExhausted past leaderboard.max_boards; DataLoss for a board
// record that cannot be read.
// Thread safety: every method may be called concurrently. The keyspace and clock must outlive
// the store.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/keyspace.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "hotpath/leaderboard/v1/leaderboard.pb.h"
#include "hotpath/leaderboard/v1/storage.pb.h"
#include "services/leaderboard/board_layout.h"
#include "services/leaderboard/board_steps.h"
#include "services/leaderboard/ranking.h"

namespace hotpath::leaderboard {

struct BoardLimits {
  size_t max_board_bytes = 200;
  size_t max_member_bytes = 1024;
  size_t max_metadata_bytes = 1024;
  uint32_t max_page = 1000;
  uint32_t max_batch = 1000;
  uint32_t max_kept_seasons = 100;
  // Boards in all namespaces together; it also bounds the board label of the metrics.
  size_t max_boards = 10'000;
};

// A page of entries. next_cursor is empty after the last page.
struct Page {
  std::vector<v1::Entry> entries;
  std::string next_cursor;
  uint64_t total = 0;     // members in the season read
  uint64_t season = 0;    // the season read
  uint64_t in_range = 0;  // CountByScore's answer
};

class BoardStore {
 public:
  static constexpr uint32_t kDefaultPage = 10;

  BoardStore(Keyspace* keyspace, const BoardLimits& limits)
      : keyspace_(keyspace), limits_(limits) {}

  // Learns the boards from the keyspace, deletes keys no board refers to, and ends seasons
  // that fell due while the server was down. Once, after recovery, before any other call.
  absl::Status Start();

  absl::StatusOr<v1::Board> CreateBoard(const std::string& ns, const std::string& board,
                                        const v1::BoardOptions& options);
  absl::StatusOr<v1::Board> GetBoard(const std::string& ns, const std::string& board);
  absl::StatusOr<std::vector<v1::Board>> ListBoards(const std::string& ns);
  absl::Status DeleteBoard(const std::string& ns, const std::string& board);

  // Applies the submissions in order, as one step, to the live season. Nothing changes when
  // one is invalid or would overflow. Results in request order. `field` names the list in
  // errors ("submissions", or "submission" for a single one).
  absl::StatusOr<std::vector<v1::SubmitResult>> Submit(
      const std::string& ns, const std::string& board,
      const google::protobuf::RepeatedPtrField<v1::Submission>& submissions, const char* field);
  // Whether the member was on the live season.
  absl::StatusOr<bool> RemoveMember(const std::string& ns, const std::string& board,
                                    const std::string& member);

  // Reads. `season` 0 is the live season, otherwise a kept one's number. A limit of 0 means
  // kDefaultPage.
  absl::StatusOr<Page> Top(const std::string& ns, const std::string& board, uint64_t season,
                           uint32_t limit, std::string_view cursor);
  // One entry (NotFound for a member not on the board).
  absl::StatusOr<Page> Rank(const std::string& ns, const std::string& board, uint64_t season,
                            const std::string& member);
  // The member's entry in the live season, or no entry when it is not on the board (a Watch
  // of one member). NotFound only for the board.
  absl::StatusOr<Page> LiveEntry(const std::string& ns, const std::string& board,
                                 const std::string& member);
  absl::StatusOr<Page> Around(const std::string& ns, const std::string& board, uint64_t season,
                              const std::string& member, uint32_t above, uint32_t below);
  // From 1-based position `start`.
  absl::StatusOr<Page> Range(const std::string& ns, const std::string& board, uint64_t season,
                             uint64_t start, uint32_t count);
  absl::StatusOr<Page> ByScore(const std::string& ns, const std::string& board, uint64_t season,
                               int64_t min_score, int64_t max_score, uint32_t limit,
                               std::string_view cursor);
  absl::StatusOr<uint64_t> CountByScore(const std::string& ns, const std::string& board,
                                        uint64_t season, int64_t min_score, int64_t max_score);

  // Ends every season due by now. Returns the earliest next reset of any board in Unix ms, 0
  // if no board has a schedule.
  int64_t RunDueResets();

  // Runs after every change to a board (submissions, removals, resets, deletion), outside the
  // store's locks, on the thread that made it. Set before Start.
  void set_on_change(std::function<void(const std::string& ns, const std::string& board)> fn) {
    on_change_ = std::move(fn);
  }
  // Counts resets, for metrics. Set before Start.
  void set_on_reset(std::function<void()> fn) { on_reset_ = std::move(fn); }

  // Every board with its live member count, for metrics.
  struct Summary {
    std::string ns;
    std::string board;
    uint64_t members = 0;
  };
  std::vector<Summary> Summaries();

  const BoardLimits& limits() const { return limits_; }
  // InvalidArgument naming `field` unless the member name is 1 to max_member_bytes long.
  absl::Status CheckMember(std::string_view member, std::string_view field) const;

 private:
  using BoardId = std::pair<std::string, std::string>;  // namespace, board

  // The next tie-break: the clock in ns, kept strictly increasing.
  uint64_t NextTiebreak(int64_t now_ns);
  absl::Status CheckBoardName(const std::string& board) const;
  absl::StatusOr<uint32_t> PageLimit(uint32_t limit, const char* field) const;
  // One season of a board as a read sees it, inside the board's step.
  struct SeasonView {
    uint64_t season = 0;
    SortedSetOptions order;
    RankSource source;
  };
  // Runs `read` on one season (0: the live one) in the board's step.
  absl::StatusOr<Page> ReadSeason(
      const std::string& ns, const std::string& board, uint64_t season,
      const std::function<absl::StatusOr<Page>(const SeasonView&)>& read);
  // After a step: counts and notes a reset it made, and tells watchers of a change.
  void AfterStep(const std::string& ns, const std::string& board, const StepNotes& notes,
                 bool changed);
  // Records `next_reset_ms` as the board's next reset in the catalogue, if it is still there.
  void NoteNextReset(const BoardId& id, int64_t next_reset_ms);

  Keyspace* const keyspace_;
  const BoardLimits limits_;
  std::function<void(const std::string&, const std::string&)> on_change_;
  std::function<void()> on_reset_;
  std::atomic<uint64_t> last_tiebreak_{0};

  // The boards and their next reset (0: none). Create and Delete hold it across their step,
  // so the catalogue and the keyspace agree on which boards exist.
  absl::Mutex mu_;
  absl::btree_map<BoardId, int64_t> boards_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hotpath::leaderboard
